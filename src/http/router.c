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

/* HEAD is answered by the GET route; the server sends the headers without the body. */
static bool route_method_matches(const char *route_method, const char *method)
{
    return strcmp(route_method, method) == 0 ||
           (strcmp(method, "HEAD") == 0 && strcmp(route_method, "GET") == 0);
}

/* Each thread remembers its last match of a route without parameters: services call the same
 * endpoint over and over, and the tables never change, so the same method and path always find
 * the same route. */
#define ROUTE_MEMO_PATH 64

struct route_memo {
    const struct http_route_table *const *tables;
    const struct http_route *route;
    char method[8];
    char path[ROUTE_MEMO_PATH];
};

static bool memo_hit(const struct route_memo *m, const struct http_route_table *const *tables,
                     const char *method, const char *path)
{
    return m->route && m->tables == tables && strcmp(m->method, method) == 0 &&
           strcmp(m->path, path) == 0;
}

static void memo_keep(struct route_memo *m, const struct http_route_table *const *tables,
                      const char *method, const char *path, const struct http_route *route)
{
    size_t mlen = strlen(method), plen = strlen(path);
    if (strchr(route->pattern, '{') || mlen >= sizeof(m->method) || plen >= sizeof(m->path))
        return;
    memcpy(m->method, method, mlen + 1);
    memcpy(m->path, path, plen + 1);
    m->tables = tables;
    m->route = route;
}

const struct http_route *http_route_match(const struct http_route_table *const *tables,
                                          const char *method, const char *path, const char **params,
                                          size_t *param_count, struct arena *a,
                                          bool *method_mismatch)
{
    static _Thread_local struct route_memo memo;
    *method_mismatch = false;
    *param_count = 0;
    if (memo_hit(&memo, tables, method, path))
        return memo.route;
    for (const struct http_route_table *const *t = tables; *t; t++) {
        for (const struct http_route *r = (*t)->routes; r->method; r++) {
            size_t n = 0;
            const char *captured[HTTP_PARAMS_MAX];
            if (!pattern_match(r->pattern, path, captured, &n, a))
                continue;
            if (!route_method_matches(r->method, method)) {
                *method_mismatch = true;
                continue;
            }
            memcpy(params, captured, n * sizeof(*params));
            *param_count = n;
            memo_keep(&memo, tables, method, path, r);
            return r;
        }
    }
    return NULL;
}

/* True when the comma-separated list holds method as a whole item. */
static bool allow_has(const char *list, const char *method)
{
    size_t mlen = strlen(method);
    for (const char *p = list; *p;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == mlen && strncmp(p, method, mlen) == 0)
            return true;
        if (!end)
            break;
        p = end + 2;
    }
    return false;
}

const char *http_route_allow(const struct http_route_table *const *tables, const char *path,
                             struct arena *a)
{
    char allow[128] = "";
    size_t len = 0;
    bool has_get = false, has_head = false;
    for (const struct http_route_table *const *t = tables; *t; t++) {
        for (const struct http_route *r = (*t)->routes; r->method; r++) {
            const char *captured[HTTP_PARAMS_MAX];
            size_t n = 0;
            if (!pattern_match(r->pattern, path, captured, &n, a))
                continue;
            has_get = has_get || strcmp(r->method, "GET") == 0;
            has_head = has_head || strcmp(r->method, "HEAD") == 0;
            size_t mlen = strlen(r->method);
            if (allow_has(allow, r->method) || len + mlen + 3 > sizeof(allow))
                continue;
            if (len > 0) {
                memcpy(allow + len, ", ", 2);
                len += 2;
            }
            memcpy(allow + len, r->method, mlen + 1);
            len += mlen;
        }
    }
    if (has_get && !has_head && len + 7 < sizeof(allow)) {
        memcpy(allow + len, ", HEAD", 7);
        len += 6;
    }
    return len ? arena_strndup(a, allow, len) : NULL;
}
