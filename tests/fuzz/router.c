/* Fuzzes the router with every route table of the API: http_route_match and
 * http_route_allow. Input: method NUL path. Properties: a matched route has the method (or GET
 * for HEAD) and as many non-empty, slash-free parameters as its pattern has {…} segments, and
 * substituting them into the pattern gives the path back; a 405 always has an Allow list. */
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "fuzz.h"

static void rebuild_check(const char *pattern, const char *path, const char **params, size_t n)
{
    char buf[8192];
    size_t len = 0, k = 0;
    for (const char *p = pattern; *p;) {
        const char *piece;
        size_t plen;
        if (*p == '{') {
            const char *close = strchr(p, '}');
            FUZZ_CHECK(close && k < n);
            piece = params[k++];
            plen = strlen(piece);
            FUZZ_CHECK(plen > 0 && strchr(piece, '/') == NULL);
            p = close + 1;
        } else {
            piece = p;
            plen = 1;
            p++;
        }
        if (len + plen >= sizeof(buf))
            return;
        memcpy(buf + len, piece, plen);
        len += plen;
    }
    buf[len] = '\0';
    FUZZ_CHECK(k == n);
    FUZZ_CHECK(strcmp(buf, path) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *f[2];
    fuzz_fields_split(f, 2, data, size);
    struct arena a;
    arena_init(&a);
    const char *params[HTTP_PARAMS_MAX];
    size_t n = 0;
    bool mismatch = false;
    const struct http_route *r =
        http_route_match(api_route_tables, f[0], f[1], params, &n, &a, &mismatch);
    const char *allow = http_route_allow(api_route_tables, f[1], &a);
    if (r) {
        FUZZ_CHECK(strcmp(r->method, f[0]) == 0 ||
                   (strcmp(f[0], "HEAD") == 0 && strcmp(r->method, "GET") == 0));
        FUZZ_CHECK(n <= HTTP_PARAMS_MAX);
        rebuild_check(r->pattern, f[1], params, n);
        FUZZ_CHECK(allow != NULL && strstr(allow, r->method) != NULL);
    } else if (mismatch) {
        FUZZ_CHECK(allow != NULL && *allow);
    }
    arena_dispose(&a);
    fuzz_fields_free(f, 2);
    return 0;
}
