/* Matches a method and path against route tables; {name} segments capture one path segment. */
#include <string.h>

#include "http/http.h"

/* Compares one pattern against path; returns true and fills params on a match. */
static bool pattern_match(const char *pattern, const char *path, const char **params, size_t *count,
                          struct arena *a)
{
    size_t n = 0;
    const char *p = pattern, *s = path;
    while (*p && *s) {
        if (*p == '{') {
            const char *close = strchr(p, '}');
            const char *seg_end = strchr(s, '/');
            size_t seg_len = seg_end ? (size_t)(seg_end - s) : strlen(s);
            if (!close || seg_len == 0 || n >= HTTP_PARAMS_MAX)
                return false;
            params[n++] = arena_strndup(a, s, seg_len);
            p = close + 1;
            s += seg_len;
            continue;
        }
        if (*p != *s)
            return false;
        p++;
        s++;
    }
    if (*p || *s)
        return false;
    *count = n;
    return true;
}

const struct http_route *http_route_match(const struct http_route_table *const *tables,
                                          const char *method, const char *path, const char **params,
                                          size_t *param_count, struct arena *a,
                                          bool *method_mismatch)
{
    *method_mismatch = false;
    *param_count = 0;
    for (const struct http_route_table *const *t = tables; *t; t++) {
        for (const struct http_route *r = (*t)->routes; r->method; r++) {
            size_t n = 0;
            const char *captured[HTTP_PARAMS_MAX];
            if (!pattern_match(r->pattern, path, captured, &n, a))
                continue;
            if (strcmp(r->method, method) != 0) {
                *method_mismatch = true;
                continue;
            }
            memcpy(params, captured, n * sizeof(*params));
            *param_count = n;
            return r;
        }
    }
    return NULL;
}
