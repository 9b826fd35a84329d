/* IP addresses and CIDR ranges: list parsing with validation (once, at start) and the
 * allocation-free membership test the listener runs per request. */
#include "base/ipnet.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "base/arena.h"
#include "base/error.h"

static const uint8_t v4_mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

/* Longest entry worth parsing: an IPv6 address and "/128". */
#define IPNET_ENTRY_MAX (IPNET_ADDR_TEXT_MAX + 4)

static void addr_set_v4(struct ipnet_addr *out, const uint8_t v4[4])
{
    memcpy(out->bytes, v4_mapped_prefix, sizeof(v4_mapped_prefix));
    memcpy(out->bytes + 12, v4, 4);
}

bool ipnet_addr_parse(struct ipnet_addr *out, const char *text, size_t len)
{
    char buf[IPNET_ADDR_TEXT_MAX];
    if (len == 0 || len >= sizeof(buf))
        return false;
    memcpy(buf, text, len);
    buf[len] = '\0';
    if (memchr(buf, '\0', len))
        return false;
    if (!memchr(buf, ':', len)) {
        uint8_t v4[4];
        if (inet_pton(AF_INET, buf, v4) != 1)
            return false;
        addr_set_v4(out, v4);
        return true;
    }
    return inet_pton(AF_INET6, buf, out->bytes) == 1;
}

bool ipnet_addr_from_sockaddr(struct ipnet_addr *out, const struct sockaddr *sa)
{
    if (!sa)
        return false;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *a4 = (const struct sockaddr_in *)(const void *)sa;
        addr_set_v4(out, (const uint8_t *)&a4->sin_addr);
        return true;
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)(const void *)sa;
        memcpy(out->bytes, &a6->sin6_addr, sizeof(out->bytes));
        return true;
    }
    return false;
}

bool ipnet_addr_is_v4(const struct ipnet_addr *addr)
{
    return memcmp(addr->bytes, v4_mapped_prefix, sizeof(v4_mapped_prefix)) == 0;
}

void ipnet_addr_format(char out[IPNET_ADDR_TEXT_MAX], const struct ipnet_addr *addr)
{
    if (ipnet_addr_is_v4(addr))
        inet_ntop(AF_INET, addr->bytes + 12, out, IPNET_ADDR_TEXT_MAX);
    else
        inet_ntop(AF_INET6, addr->bytes, out, IPNET_ADDR_TEXT_MAX);
}

/* Whether addr lies in the prefix_len leading bits of base. */
static bool range_holds(const struct ipnet_range *r, const struct ipnet_addr *addr)
{
    unsigned whole = r->prefix_len / 8, rest = r->prefix_len % 8;
    if (memcmp(r->base.bytes, addr->bytes, whole) != 0)
        return false;
    if (rest == 0)
        return true;
    uint8_t mask = (uint8_t)(0xff << (8 - rest));
    return (addr->bytes[whole] & mask) == r->base.bytes[whole];
}

/* Parses "addr" or "addr/len" (len in decimal, of the address's own family). */
static bool range_parse(struct ipnet_range *out, const char *text, size_t len, bool *host_bits)
{
    *host_bits = false;
    const char *slash = memchr(text, '/', len);
    size_t addr_len = slash ? (size_t)(slash - text) : len;
    if (!ipnet_addr_parse(&out->base, text, addr_len))
        return false;
    bool is_v4 = !memchr(text, ':', addr_len);
    unsigned max = is_v4 ? 32 : 128;
    unsigned prefix = max;
    if (slash) {
        const char *digits = slash + 1;
        size_t n = len - addr_len - 1;
        if (n == 0 || n > 3)
            return false;
        prefix = 0;
        for (size_t i = 0; i < n; i++) {
            if (digits[i] < '0' || digits[i] > '9')
                return false;
            prefix = prefix * 10 + (unsigned)(digits[i] - '0');
        }
        if (prefix > max || (n > 1 && digits[0] == '0'))
            return false;
    }
    out->prefix_len = is_v4 ? 96 + prefix : prefix;
    struct ipnet_range masked = {.prefix_len = out->prefix_len};
    unsigned whole = out->prefix_len / 8, rest = out->prefix_len % 8;
    memcpy(masked.base.bytes, out->base.bytes, whole);
    if (rest)
        masked.base.bytes[whole] = out->base.bytes[whole] & (uint8_t)(0xff << (8 - rest));
    *host_bits = memcmp(masked.base.bytes, out->base.bytes, sizeof(masked.base.bytes)) != 0;
    return !*host_bits;
}

static bool is_blank(char c)
{
    return c == ' ' || c == '\t';
}

int ipnet_list_new(struct ipnet_list **out, const char *text, const char *field,
                   struct usher_error *err)
{
    *out = NULL;
    int rc = 0;
    struct ipnet_list *list = NULL;
    const char *p = text;
    while (is_blank(*p))
        p++;
    if (*p == '\0')
        goto done;
    size_t slots = 1;
    for (const char *c = p; *c; c++)
        slots += *c == ',';
    if (slots > IPNET_LIST_MAX) {
        rc = usher_error_set(err, USHER_EINVAL, NULL, field, "%s holds more than %d entries", field,
                             IPNET_LIST_MAX);
        goto done;
    }
    list = xcalloc(1, sizeof(*list) + slots * sizeof(list->ranges[0]));
    for (;;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        const char *start = p;
        while (len > 0 && is_blank(*start)) {
            start++;
            len--;
        }
        while (len > 0 && is_blank(start[len - 1]))
            len--;
        bool host_bits = false;
        if (len == 0) {
            rc = usher_error_set(err, USHER_EINVAL, NULL, field, "%s has an empty entry", field);
            goto done;
        }
        if (len > IPNET_ENTRY_MAX ||
            !range_parse(&list->ranges[list->count], start, len, &host_bits)) {
            rc = usher_error_set(
                err, USHER_EINVAL, NULL, field, "%s entry \"%.*s\" %s", field,
                (int)(len > IPNET_ENTRY_MAX ? IPNET_ENTRY_MAX : len), start,
                host_bits ? "has bits set after its prefix length (write the range's first address)"
                          : "is not an IPv4 or IPv6 address or CIDR range");
            goto done;
        }
        list->count++;
        if (!end)
            break;
        p = end + 1;
    }
    *out = list;
    list = NULL;
done:
    ipnet_list_free(list);
    return rc;
}

void ipnet_list_free(struct ipnet_list *list)
{
    free(list);
}

bool ipnet_list_contains(const struct ipnet_list *list, const struct ipnet_addr *addr)
{
    if (!list)
        return false;
    for (size_t i = 0; i < list->count; i++) {
        if (range_holds(&list->ranges[i], addr))
            return true;
    }
    return false;
}

/* Addresses no outbound fetch may reach: "this network", private (RFC 1918), shared (RFC 6598),
 * loopback, link-local, IETF protocol assignments, benchmarking, multicast and reserved IPv4;
 * unspecified, loopback and IPv4-compatible, NAT64 (it leads to IPv4 inside), unique local,
 * link-local and multicast IPv6. IPv4-mapped IPv6 is tested as the IPv4 address it holds. */
static const char internal_ranges[] =
    "0.0.0.0/8, 10.0.0.0/8, 100.64.0.0/10, 127.0.0.0/8, 169.254.0.0/16, 172.16.0.0/12,"
    "192.0.0.0/24, 192.168.0.0/16, 198.18.0.0/15, 224.0.0.0/4, 240.0.0.0/4,"
    "::/96, 64:ff9b::/96, fc00::/7, fe80::/10, ff00::/8";

bool ipnet_addr_is_internal(const struct ipnet_addr *addr)
{
    struct ipnet_list *list = NULL;
    if (ipnet_list_new(&list, internal_ranges, "internal_ranges", NULL))
        return true; /* cannot happen with the constant above; refuse rather than allow */
    bool internal = ipnet_list_contains(list, addr);
    ipnet_list_free(list);
    return internal;
}

bool ipnet_addr_is_loopback(const struct ipnet_addr *addr)
{
    static const uint8_t v6_loopback[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    if (ipnet_addr_is_v4(addr))
        return addr->bytes[12] == 127;
    return memcmp(addr->bytes, v6_loopback, sizeof(v6_loopback)) == 0;
}
