/* Fuzzes the client address behind a trusted proxy: ipnet_list_new on a trusted_proxies value
 * and http_forwarded_client on up to four X-Forwarded-For lines. Input: list NUL line NUL line
 * NUL line NUL line. Properties: a refused list names the setting; an accepted one contains
 * each of its ranges' first addresses; the walk agrees with a plain model of it (split every
 * line, drop blanks, walk from the right with the same caps); a client found is never a trusted
 * address and survives a round trip through its text form. */
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/ipnet.h"
#include "fuzz.h"
#include "http/http.h"

#define LINES 4

static const char *const fallback_list = "127.0.0.1,10.0.0.0/8,fd00::/8,::ffff:192.0.2.0/120";

struct entry {
    const char *text;
    size_t len;
};

/* The model: every non-blank entry of every line, left to right. */
static size_t entries_collect(struct entry *out, const char *const *lines, size_t count)
{
    size_t n = 0;
    for (size_t i = 0; i < count; i++) {
        const char *p = lines[i];
        for (;;) {
            const char *comma = strchr(p, ',');
            size_t len = comma ? (size_t)(comma - p) : strlen(p);
            const char *a = p, *b = p + len;
            while (a < b && (*a == ' ' || *a == '\t'))
                a++;
            while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
                b--;
            if (b > a)
                out[n++] = (struct entry){a, (size_t)(b - a)};
            if (!comma)
                break;
            p = comma + 1;
        }
    }
    return n;
}

static bool model_client(struct ipnet_addr *out, const struct ipnet_list *trusted,
                         const char *const *lines, size_t count)
{
    size_t total = 0, slots = 1;
    for (size_t i = 0; i < count; i++) {
        total += strlen(lines[i]);
        slots += strlen(lines[i]) + 1;
    }
    if (total > HTTP_FORWARDED_LEN_MAX)
        return false;
    struct entry *entries = calloc(slots, sizeof(*entries));
    FUZZ_CHECK(entries != NULL);
    size_t n = entries_collect(entries, lines, count);
    bool found = false;
    for (size_t k = 0; k < n && k < HTTP_FORWARDED_ENTRIES_MAX; k++) {
        const struct entry *e = &entries[n - 1 - k];
        struct ipnet_addr a;
        if (!ipnet_addr_parse(&a, e->text, e->len))
            break;
        if (!ipnet_list_contains(trusted, &a)) {
            *out = a;
            found = true;
            break;
        }
    }
    free(entries);
    return found;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *f[1 + LINES];
    fuzz_fields_split(f, 1 + LINES, data, size);
    struct ipnet_list *list = NULL;
    struct usher_error err = {0};
    int rc = ipnet_list_new(&list, f[0], "trusted_proxies", &err);
    if (rc) {
        FUZZ_CHECK(rc == USHER_EINVAL && list == NULL);
        FUZZ_CHECK(strcmp(err.field, "trusted_proxies") == 0 && err.message[0]);
        usher_error_clear(&err);
        FUZZ_CHECK(ipnet_list_new(&list, fallback_list, "trusted_proxies", &err) == 0);
    }
    if (list) {
        FUZZ_CHECK(list->count >= 1 && list->count <= IPNET_LIST_MAX);
        for (size_t i = 0; i < list->count; i++)
            FUZZ_CHECK(ipnet_list_contains(list, &list->ranges[i].base));
    }

    const char *lines[LINES];
    for (size_t i = 0; i < LINES; i++)
        lines[i] = f[1 + i];
    for (size_t count = 0; count <= LINES; count++) {
        struct ipnet_addr got, want;
        bool has = http_forwarded_client(&got, list, lines, count);
        bool model = model_client(&want, list, lines, count);
        FUZZ_CHECK(has == model);
        if (!has)
            continue;
        FUZZ_CHECK(memcmp(got.bytes, want.bytes, sizeof(got.bytes)) == 0);
        FUZZ_CHECK(!ipnet_list_contains(list, &got));
        char text[IPNET_ADDR_TEXT_MAX];
        ipnet_addr_format(text, &got);
        struct ipnet_addr again;
        FUZZ_CHECK(ipnet_addr_parse(&again, text, strlen(text)));
        FUZZ_CHECK(memcmp(again.bytes, got.bytes, sizeof(got.bytes)) == 0);
    }
    ipnet_list_free(list);
    fuzz_fields_free(f, 1 + LINES);
    return 0;
}
