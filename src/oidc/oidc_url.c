/* The URL rule for issuers and endpoints, and the algorithm allow-list: names, bits, parsing. */
#include <string.h>
#include <strings.h>

#include "base/error.h"
#include "oidc/oidc.h"

static const struct {
    unsigned bit;
    const char *name;
} alg_names[] = {
    {OIDC_ALG_RS256, "RS256"},
    {OIDC_ALG_PS256, "PS256"},
    {OIDC_ALG_ES256, "ES256"},
};

unsigned oidc_alg_from_name(const char *name)
{
    for (size_t i = 0; name && i < sizeof(alg_names) / sizeof(alg_names[0]); i++) {
        if (strcmp(alg_names[i].name, name) == 0)
            return alg_names[i].bit;
    }
    return 0;
}

const char *oidc_alg_name(unsigned alg)
{
    for (size_t i = 0; i < sizeof(alg_names) / sizeof(alg_names[0]); i++) {
        if (alg_names[i].bit == alg)
            return alg_names[i].name;
    }
    return NULL;
}

int oidc_algs_parse(unsigned *out, const char *list, struct usher_error *err)
{
    unsigned algs = 0;
    const char *p = list ? list : "";
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        while (len && (*p == ' ' || *p == '\t')) {
            p++;
            len--;
        }
        while (len && (p[len - 1] == ' ' || p[len - 1] == '\t'))
            len--;
        char name[16];
        if (len == 0 || len >= sizeof(name)) {
            if (len || comma)
                return usher_error_set(err, USHER_EINVAL, "oidc_alg_unknown", "algorithms",
                                       "algorithms must be a comma-separated list of RS256, "
                                       "PS256 and ES256");
        } else {
            memcpy(name, p, len);
            name[len] = '\0';
            if (strcasecmp(name, "none") == 0 || strncasecmp(name, "HS", 2) == 0)
                return usher_error_set(err, USHER_EINVAL, "oidc_alg_refused", "algorithms",
                                       "algorithm %s is never accepted", name);
            unsigned bit = oidc_alg_from_name(name);
            if (!bit)
                return usher_error_set(err, USHER_EINVAL, "oidc_alg_unknown", "algorithms",
                                       "unknown algorithm %s; known: RS256, PS256, ES256", name);
            algs |= bit;
        }
        if (!comma)
            break;
        p = comma + 1;
    }
    if (!algs)
        return usher_error_set(err, USHER_EINVAL, "oidc_alg_unknown", "algorithms",
                               "algorithms must name at least one of RS256, PS256, ES256");
    *out = algs;
    return 0;
}

/* Whether host (len bytes, brackets kept for IPv6) is localhost, 127.0.0.0/8 or [::1]. */
static bool host_is_loopback(const char *host, size_t len)
{
    if ((len == 9 && strncasecmp(host, "localhost", 9) == 0) ||
        (len == 5 && memcmp(host, "[::1]", 5) == 0))
        return true;
    if (len < 7 || memcmp(host, "127.", 4) != 0)
        return false;
    /* Four dotted decimal parts of 0..255, the first being 127. */
    int parts = 0, value = -1;
    for (size_t i = 0; i <= len; i++) {
        if (i == len || host[i] == '.') {
            if (value < 0 || value > 255)
                return false;
            parts++;
            value = -1;
        } else if (host[i] >= '0' && host[i] <= '9') {
            value = (value < 0 ? 0 : value * 10) + (host[i] - '0');
            if (value > 255)
                return false;
        } else {
            return false;
        }
    }
    return parts == 4;
}

/* Whether s[0..len) is a decimal port of 1..65535. */
static bool port_ok(const char *s, size_t len)
{
    if (len == 0 || len > 5)
        return false;
    long port = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        port = port * 10 + (s[i] - '0');
    }
    return port >= 1 && port <= 65535;
}

bool oidc_url_allowed(const char *url, bool allow_insecure_loopback)
{
    if (!url)
        return false;
    size_t len = strlen(url);
    if (len == 0 || len > OIDC_URL_MAX)
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)url[i];
        if (c <= 0x20 || c == 0x7f || c == '#' || c == '\\')
            return false;
    }
    const char *rest;
    bool is_http = false;
    if (strncmp(url, "https://", 8) == 0) {
        rest = url + 8;
    } else if (strncmp(url, "http://", 7) == 0) {
        rest = url + 7;
        is_http = true;
    } else {
        return false;
    }
    size_t auth_len = strcspn(rest, "/?");
    if (auth_len == 0 || memchr(rest, '@', auth_len))
        return false;
    /* Split host and optional port. */
    size_t host_len = auth_len;
    if (rest[0] == '[') {
        const char *close = memchr(rest, ']', auth_len);
        if (!close)
            return false;
        host_len = (size_t)(close - rest) + 1;
    } else {
        const char *colon = memchr(rest, ':', auth_len);
        if (colon)
            host_len = (size_t)(colon - rest);
    }
    if (host_len == 0)
        return false;
    if (host_len < auth_len &&
        (rest[host_len] != ':' || !port_ok(rest + host_len + 1, auth_len - host_len - 1)))
        return false;
    /* A name or IPv4 address of letters, digits, '.' and '-', or an IPv6 address in brackets
     * of hex digits, ':' and '.'. */
    bool is_v6 = rest[0] == '[';
    for (size_t i = is_v6; i < host_len - is_v6; i++) {
        char c = rest[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || (c == '-' && !is_v6) || (c == ':' && is_v6);
        if (!ok || (is_v6 && c > 'f' && c <= 'z') || (is_v6 && c > 'F' && c <= 'Z'))
            return false;
    }
    if (is_v6 && host_len < 4)
        return false;
    if (is_http)
        return allow_insecure_loopback && host_is_loopback(rest, host_len);
    return true;
}
