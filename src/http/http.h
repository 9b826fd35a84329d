/* The HTTP layer: requests, responses, route tables and the server.
 *
 * A handler receives a request whose arena lives until the response is sent, and fills a
 * response. It returns 0, or a negative USHER_E* code with req->err set, in which case the
 * one error mapping (http_problem) writes the problem+json answer. */
#ifndef USHER_HTTP_HTTP_H
#define USHER_HTTP_HTTP_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/error.h"

#define HTTP_PARAMS_MAX       4
#define HTTP_HEADERS_MAX      12
#define HTTP_QUERY_VALUE_MAX  1024
#define HTTP_HEADER_VALUE_MAX 8192

/* X-Forwarded-For from a trusted proxy: at most this many entries are examined, from the
 * right, over at most this many header lines (the last ones) of at most this many bytes in
 * all; past the byte cap the header is ignored. */
#define HTTP_FORWARDED_ENTRIES_MAX 32
#define HTTP_FORWARDED_LINES_MAX   16
#define HTTP_FORWARDED_LEN_MAX     HTTP_HEADER_VALUE_MAX

struct app;
struct ipnet_addr;
struct ipnet_list;
struct MHD_Connection;

/* Who is calling, filled by the authenticator before the handler runs. */
struct http_principal {
    bool is_authenticated;
    bool via_cookie; /* authenticated by the session cookie, not a Bearer token */
    bool is_platform_admin;
    const char *user_id;         /* arena-owned */
    const char *email;           /* arena-owned */
    const char *session_hash;    /* keyed hash of the presented session token, arena-owned */
    bool is_service;             /* an API token, not a person: only HTTP_SERVICE routes */
    const char *token_id;        /* the API token's id, arena-owned */
    const char *token_agency_id; /* the API token's agency; NULL for a platform token */
    const char *impersonator_id; /* "view as": the person viewing as user_id, else NULL */
    const char *impersonation_agency_id; /* "view as": the one agency the session sees */
    bool second_factor_required;         /* a person's session held back until they enrol one */
    /* A person's own session: "password" or "oidc" (NULL for API tokens and "view as"), and
     * the connection an "oidc" session signed in through. Arena-owned. */
    const char *session_method;
    const char *session_connection_id;
    int64_t session_started_at; /* when that session was made (Unix ms); 0 for anything else */
};

struct http_request {
    struct arena arena;
    struct app *app;
    struct MHD_Connection *conn;
    const char *method;
    const char *path;
    const char *route; /* the matched pattern, "unmatched" otherwise (metrics, logs) */
    const char *params[HTTP_PARAMS_MAX]; /* {…} segments of the pattern, in order */
    size_t param_count;
    char *body;
    size_t body_len;
    bool body_too_large;
    char request_id[24];
    char remote_addr[64]; /* the client: the TCP peer, or X-Forwarded-For's from a trusted peer */
    char peer_addr[64]; /* the trusted proxy when remote_addr came from X-Forwarded-For, else "" */
    struct http_principal principal;
    struct usher_error err;
    int64_t started_ns;
    json_t *json; /* the parsed body, released with the request */
};

struct http_header {
    const char *name;
    const char *value;
};

struct http_response {
    int status;
    const char *content_type;
    const char *body; /* arena-owned or static */
    size_t body_len;
    struct http_header headers[HTTP_HEADERS_MAX];
    size_t header_count;
    bool is_cacheable; /* default false: Cache-Control: no-store */
    /* A streamed body instead of body: stream writes up to max bytes into buf and returns how
     * many, 0 at the end, or a negative value on failure (the connection is then closed).
     * It runs after the handler returned, on the server's thread, while the request (and its
     * arena) lives; stream_free releases stream_ctx once the answer is done. */
    long (*stream)(void *ctx, char *buf, size_t max);
    void *stream_ctx;
    void (*stream_free)(void *ctx);
};

typedef int (*http_handler)(struct http_request *req, struct http_response *res);

/* Who may call a route. An API token (a service principal) may call only HTTP_SERVICE routes:
 * anything else answers 403. */
enum http_access {
    HTTP_PUBLIC = 0,        /* anyone */
    HTTP_AUTHENTICATED = 1, /* a signed-in user; 401 otherwise */
    HTTP_SERVICE = 2,       /* a signed-in user or an API token; 401 otherwise */
};

struct http_route {
    const char *method;
    const char *pattern; /* "/api/v1/agencies/{id}/environments" */
    http_handler handler;
    enum http_access access;
    /* The query parameters the route reads, ending with NULL; NULL when it reads none. Any
     * other parameter, or one given twice, is refused before the handler runs
     * (http_query_check). http_query_any lets every parameter through, for a route whose
     * caller is another party's redirect (an identity provider adds parameters of its own)
     * and which judges its query itself. */
    const char *const *query;
};

/* The query list of a route that takes any parameter: {"*", NULL}. */
extern const char *const http_query_any[];

/* A route table ends with an entry whose method is NULL. */
struct http_route_table {
    const char *name;
    const struct http_route *routes;
};

/* Fills req->principal from the Authorization header or the session cookie. Returns 0 when the
 * request may go on (authenticated or anonymous), or an error (bad CSRF token: 403). */
typedef int (*http_authenticator)(struct http_request *req);

/* --- request helpers --- */

/* A query-string value, NULL if absent; a parameter given more than once, given without a
 * value (`?dry_run`), or with a value longer than HTTP_QUERY_VALUE_MAX gives USHER_EINVAL
 * naming the parameter. */
int http_query(const char **out, struct http_request *req, const char *name);

/* Refuses a query string holding a parameter not in accepted (a NULL-terminated list; NULL
 * accepts none; http_query_any accepts everything, checking nothing) with USHER_EINVAL
 * "unknown_parameter" naming it, and a parameter given more than once with USHER_EINVAL naming it.
 * Empty pairs (`?&limit=1`, `?limit=1&&`, `?&`) are nothing, as in URLSearchParams; an empty
 * name with a value (`?=1`) is unknown. Returns 0 when every parameter is known and single. */
int http_query_check(struct http_request *req, const char *const *accepted);

/* A request header, NULL if absent or longer than HTTP_HEADER_VALUE_MAX. */
const char *http_header(struct http_request *req, const char *name);

/* A cookie value, NULL if absent. */
const char *http_cookie(struct http_request *req, const char *name);

/* Parses the body as a JSON object once (req->json); refuses fields not in allowed. */
int http_json_body(json_t **out, struct http_request *req, const char *const *allowed);

/* True for POST, PUT, PATCH and DELETE. */
bool http_method_is_unsafe(const char *method);

/* --- response helpers --- */

/* Serialises value into the response and releases the reference. */
void http_response_json(struct http_response *res, struct http_request *req, int status,
                        json_t *value);

/* A response without body. */
void http_response_empty(struct http_response *res, int status);

/* Plain text body (copied into the arena). */
void http_response_text(struct http_response *res, struct http_request *req, int status,
                        const char *content_type, const char *text, size_t len);

/* Adds a header; name and value are copied into the arena. Extra headers past the cap are
 * dropped with an assertion. */
void http_response_header(struct http_response *res, struct http_request *req, const char *name,
                          const char *value);

/* Answers with a streamed body (see struct http_response); stream_free is called exactly once,
 * also when the answer never starts. */
void http_response_stream(struct http_response *res, int status, const char *content_type,
                          long (*stream)(void *ctx, char *buf, size_t max), void *ctx,
                          void (*stream_free)(void *ctx));

/* The one mapping from req->err (or code, when err is unset) to a problem+json response. */
void http_problem(struct http_response *res, struct http_request *req, int code);

/* --- client address --- */

/* The client named by X-Forwarded-For, for a request whose TCP peer is a trusted proxy. lines
 * are the header's values in the order received (several header lines form one list). The
 * entries are walked from the right: entries that are trusted proxies are skipped; the first
 * other entry is the client when it is an IPv4 or IPv6 address, and ends the walk either way
 * (what lies left of it was written by the client and cannot be believed). Returns true and
 * fills *out, or false when there is no such entry (the caller keeps the peer): no lines,
 * only blank or trusted entries, a first untrusted entry that is not an address, more than
 * HTTP_FORWARDED_ENTRIES_MAX entries examined, or more than HTTP_FORWARDED_LEN_MAX bytes in
 * all. Makes no allocation. */
bool http_forwarded_client(struct ipnet_addr *out, const struct ipnet_list *trusted,
                           const char *const *lines, size_t count);

/* --- router --- */

/* Finds the route for method and path among tables (a NULL-terminated array). Fills params.
 * HEAD matches a GET route. Returns the route, or NULL; *method_mismatch tells 405 from 404. */
const struct http_route *http_route_match(const struct http_route_table *const *tables,
                                          const char *method, const char *path, const char **params,
                                          size_t *param_count, struct arena *a,
                                          bool *method_mismatch);

/* The methods routed for path, as an Allow header value ("GET, HEAD, POST"), in the arena;
 * NULL when no route has this path. HEAD is listed whenever GET is. */
const char *http_route_allow(const struct http_route_table *const *tables, const char *path,
                             struct arena *a);

/* --- server --- */

struct http_server_options {
    const char *listen; /* host:port */
    int threads;
    int max_connections;
    int connection_timeout_seconds;
    int max_connections_per_address; /* 0: no limit */
    int request_timeout_seconds;     /* to send a whole request; 0: no deadline */
    /* Peers whose X-Forwarded-For names the client (http_forwarded_client); NULL trusts none.
     * Owned by the caller; it must outlive the server. */
    const struct ipnet_list *trusted_proxies;
    size_t max_body_bytes;
    struct app *app;
    const struct http_route_table *const *tables;
    http_authenticator authenticate;
    /* Answers GET and HEAD requests that match no route (the web console), without
     * authentication; NULL answers them 404. */
    http_handler fallback;
};

struct http_server;

/* Binds and starts serving. Returns 0 or USHER_EUNAVAIL (cannot bind) / USHER_EINVAL. */
int http_server_start(struct http_server **out, const struct http_server_options *opts,
                      struct usher_error *err);

/* The port actually bound (useful with port 0). */
int http_server_port(const struct http_server *s);

/* Stops accepting, waits up to grace_ms for in-flight requests, then stops. Accepts NULL. */
void http_server_stop(struct http_server *s, int grace_ms);

#endif
