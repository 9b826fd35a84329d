/* The web console's files, embedded into the binary at build time (cmake/console.cmake turns
 * web/dist into build/gen/console_assets.c), and the handler that serves them. */
#ifndef USHER_HTTP_STATIC_H
#define USHER_HTTP_STATIC_H

#include <stddef.h>

#include "http/http.h"

/* The policy of every console page: scripts and styles from usher itself only (no inline
 * script or style), no framing, no plugins, forms and requests to usher only. */
#define HTTP_STATIC_CSP                                                                            \
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "              \
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; "            \
    "object-src 'none'"

/* Content-hashed build output lives here; its files never change under one name. */
#define HTTP_STATIC_IMMUTABLE_PREFIX "/assets/"

/* One embedded file. */
struct http_static_file {
    const char *path; /* "/index.html", "/assets/index-BnL3Qz8c.js" */
    const unsigned char *data;
    size_t len;
};

/* The console's files, ending with an entry whose path is NULL; generated, so a build without
 * the console holds only the terminator. Static storage. */
extern const struct http_static_file http_static_files[];

/* The file at exactly path in files (a NULL-path-terminated table), or NULL. */
const struct http_static_file *http_static_find(const struct http_static_file *files,
                                                const char *path);

/* The Content-Type of a file, from the extension of path (static string;
 * application/octet-stream when unknown). */
const char *http_static_content_type(const char *path);

/* Answers a GET or HEAD request for req->path from files: the file of that path; for any other
 * path that is not under /api/ or /assets/ and does not name a file (no dot in its last
 * segment), /index.html, so the console's router shows the page. index.html and other files
 * outside /assets/ are sent with "Cache-Control: no-cache", files under /assets/ with a year's
 * immutable caching; every answer carries HTTP_STATIC_CSP. Returns 0, or USHER_ENOTFOUND with
 * req->err set (no such file, or no console in this build). */
int http_static_answer(struct http_request *req, struct http_response *res,
                       const struct http_static_file *files);

/* The server's fallback handler: http_static_answer over http_static_files. */
int http_static_serve(struct http_request *req, struct http_response *res);

#endif
