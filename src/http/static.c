/* Serves the embedded web console: exact files, index.html for the console's own paths, the
 * caching rules of content-hashed assets, and the console's Content-Security-Policy. */
#include "http/static.h"

#include <string.h>
#include <strings.h>

static bool has_prefix(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

const struct http_static_file *http_static_find(const struct http_static_file *files,
                                                const char *path)
{
    for (const struct http_static_file *f = files; f->path; f++) {
        if (strcmp(f->path, path) == 0)
            return f;
    }
    return NULL;
}

const char *http_static_content_type(const char *path)
{
    static const struct {
        const char *ext;
        const char *type;
    } types[] = {
        {".html", "text/html; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".svg", "image/svg+xml"},
        {".png", "image/png"},
        {".ico", "image/x-icon"},
        {".json", "application/json"},
        {".webmanifest", "application/manifest+json"},
        {".txt", "text/plain; charset=utf-8"},
        {".woff2", "font/woff2"},
    };
    const char *slash = strrchr(path, '/');
    const char *dot = strrchr(slash ? slash : path, '.');
    if (dot) {
        for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
            if (strcasecmp(dot, types[i].ext) == 0)
                return types[i].type;
        }
    }
    return "application/octet-stream";
}

/* A path the console's router owns: not the API, not the hashed assets, not a file name. */
static bool is_console_route(const char *path)
{
    if (has_prefix(path, "/api/") || strcmp(path, "/api") == 0 ||
        has_prefix(path, HTTP_STATIC_IMMUTABLE_PREFIX))
        return false;
    const char *last = strrchr(path, '/');
    return last && !strchr(last, '.');
}

int http_static_answer(struct http_request *req, struct http_response *res,
                       const struct http_static_file *files)
{
    const struct http_static_file *f = http_static_find(files, req->path);
    if (!f && is_console_route(req->path)) {
        f = http_static_find(files, "/index.html");
        if (!f)
            return usher_error_set(&req->err, USHER_ENOTFOUND, NULL, NULL,
                                   "this build of usher has no web console");
    }
    if (!f)
        return usher_error_set(&req->err, USHER_ENOTFOUND, NULL, NULL, "no such resource");
    res->status = 200;
    res->content_type = http_static_content_type(f->path);
    res->body = (const char *)f->data;
    res->body_len = f->len;
    /* The server's defaults (no-store and a CSP that allows nothing) suit the API; a page
     * needs its own policy, and only content-hashed files may be cached without asking. */
    res->is_cacheable = true;
    http_response_header(res, req, "Cache-Control",
                         has_prefix(f->path, HTTP_STATIC_IMMUTABLE_PREFIX)
                             ? "public, max-age=31536000, immutable"
                             : "no-cache");
    http_response_header(res, req, "Content-Security-Policy", HTTP_STATIC_CSP);
    http_response_header(res, req, "X-Frame-Options", "DENY");
    http_response_header(res, req, "Cross-Origin-Opener-Policy", "same-origin");
    http_response_header(res, req, "Permissions-Policy",
                         "camera=(), microphone=(), geolocation=(), payment=()");
    return 0;
}

int http_static_serve(struct http_request *req, struct http_response *res)
{
    return http_static_answer(req, res, http_static_files);
}
