/* The listener: libmicrohttpd with epoll and a thread pool, request assembly with capped bodies,
 * dispatch through the route tables, security headers, one log line and metrics per request,
 * and a draining stop. */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/ipnet.h"
#include "base/json_writer.h"
#include "base/log.h"
#include "http/http.h"
#include "http/http_int.h"
#include "http/metrics.h"

/* Memory libmicrohttpd gives each connection for the request line, headers and read buffer.
 * It clears this memory between the requests of a keep-alive connection, so its size is paid
 * on every request: 32 KiB (the library's default) holds headers well past
 * HTTP_HEADER_VALUE_MAX, while bodies are copied out as they arrive. */
#define HTTP_CONNECTION_MEMORY (32 * 1024)

struct http_server {
    struct MHD_Daemon *daemon;
    struct http_server_options opts;
    struct http_deadlines *deadlines; /* request_timeout_seconds */
    int port;
    atomic_long in_flight; /* requests started and not yet completed */
};

/* Each worker thread keeps a few finished requests, arena first block included, for the next
 * ones on its connections: a request then costs no allocation of its own. */
#define REQUEST_POOL_MAX 16

struct request_pool {
    struct http_request *items[REQUEST_POOL_MAX];
    size_t count;
};

static pthread_key_t pool_key;
static pthread_once_t pool_once = PTHREAD_ONCE_INIT;

static void pool_destroy(void *p)
{
    struct request_pool *pool = p;
    for (size_t i = 0; i < pool->count; i++) {
        arena_dispose(&pool->items[i]->arena);
        free(pool->items[i]);
    }
    free(pool);
}

static void pool_key_make(void)
{
    pthread_key_create(&pool_key, pool_destroy);
}

static struct request_pool *pool_get(void)
{
    pthread_once(&pool_once, pool_key_make);
    struct request_pool *pool = pthread_getspecific(pool_key);
    if (!pool) {
        pool = xcalloc(1, sizeof(*pool));
        pthread_setspecific(pool_key, pool);
    }
    return pool;
}

/* A zeroed request with an empty arena. */
static struct http_request *request_new(void)
{
    struct request_pool *pool = pool_get();
    if (pool->count == 0) {
        struct http_request *req = xcalloc(1, sizeof(*req));
        arena_init(&req->arena);
        return req;
    }
    struct http_request *req = pool->items[--pool->count];
    struct arena kept = req->arena;
    memset(req, 0, sizeof(*req));
    req->arena = kept;
    return req;
}

static void request_free(struct http_request *req)
{
    if (!req)
        return;
    json_decref(req->json);
    free(req->body);
    struct request_pool *pool = pool_get();
    if (pool->count < REQUEST_POOL_MAX) {
        arena_reset(&req->arena);
        pool->items[pool->count++] = req;
        return;
    }
    arena_dispose(&req->arena);
    free(req);
}

/* 16 hex digits: a per-thread counter under a per-thread random key (SipHash), so ids are
 * unpredictable and distinct without asking the kernel for randomness on every request. */
static void request_id_new(char out[24])
{
    static _Thread_local unsigned char key[crypto_shorthash_KEYBYTES];
    static _Thread_local uint64_t counter;
    static _Thread_local bool is_keyed;
    if (!is_keyed) {
        randombytes_buf(key, sizeof(key));
        is_keyed = true;
    }
    static const char hex[] = "0123456789abcdef";
    unsigned char raw[crypto_shorthash_BYTES];
    counter++;
    crypto_shorthash(raw, (const unsigned char *)&counter, sizeof(counter), key);
    for (size_t i = 0; i < sizeof(raw); i++) {
        out[2 * i] = hex[raw[i] >> 4];
        out[2 * i + 1] = hex[raw[i] & 15];
    }
    out[2 * sizeof(raw)] = '\0';
}

/* The X-Forwarded-For lines of a request, the last HTTP_FORWARDED_LINES_MAX of them. */
struct forwarded_lines {
    const char *values[HTTP_FORWARDED_LINES_MAX];
    size_t count;
};

static enum MHD_Result forwarded_line_add(void *cls, enum MHD_ValueKind kind, const char *key,
                                          const char *value)
{
    (void)kind;
    struct forwarded_lines *lines = cls;
    if (!key || !value || strcasecmp(key, "X-Forwarded-For") != 0)
        return MHD_YES;
    /* The walk starts at the right, so the earliest lines are the ones to drop. */
    if (lines->count == HTTP_FORWARDED_LINES_MAX) {
        memmove(lines->values, lines->values + 1, sizeof(lines->values[0]) * (lines->count - 1));
        lines->count--;
    }
    lines->values[lines->count++] = value;
    return MHD_YES;
}

/* The client's address: the TCP peer, or the client a trusted peer names in X-Forwarded-For.
 * With no trusted proxies (the default) nothing beyond the peer is looked at. */
static void remote_addr_fill(struct http_request *req, const struct ipnet_list *trusted)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    memcpy(req->remote_addr, "unknown", sizeof("unknown"));
    req->peer_addr[0] = '\0';
    if (!ci || !ci->client_addr)
        return;
    const struct sockaddr *sa = ci->client_addr;
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr,
                  req->remote_addr, sizeof(req->remote_addr));
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr,
                  req->remote_addr, sizeof(req->remote_addr));
    if (!trusted)
        return;
    struct ipnet_addr peer, client;
    if (!ipnet_addr_from_sockaddr(&peer, sa) || !ipnet_list_contains(trusted, &peer))
        return;
    struct forwarded_lines lines = {.count = 0};
    MHD_get_connection_values(req->conn, MHD_HEADER_KIND, forwarded_line_add, &lines);
    if (!http_forwarded_client(&client, trusted, lines.values, lines.count))
        return;
    memcpy(req->peer_addr, req->remote_addr, sizeof(req->peer_addr));
    ipnet_addr_format(req->remote_addr, &client);
}

/* Adapts a streamed body to libmicrohttpd's reader callback. */
struct stream_box {
    long (*stream)(void *ctx, char *buf, size_t max);
    void *ctx;
    void (*free)(void *ctx);
};

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    struct stream_box *box = cls;
    long n = box->stream(box->ctx, buf, max);
    if (n > 0)
        return (ssize_t)n;
    return n == 0 ? MHD_CONTENT_READER_END_OF_STREAM : MHD_CONTENT_READER_END_WITH_ERROR;
}

static void stream_done(void *cls)
{
    struct stream_box *box = cls;
    if (box->free)
        box->free(box->ctx);
    free(box);
}

static struct MHD_Response *response_new(const struct http_request *req, struct http_response *res)
{
    if (res->stream && strcmp(req->method, "HEAD") == 0) {
        /* libmicrohttpd would end a streamed answer to HEAD with a chunk terminator: a body
         * where none may be, which desynchronises a kept-alive connection. */
        if (res->stream_free)
            res->stream_free(res->stream_ctx);
        res->stream = NULL;
        res->stream_free = NULL;
        res->body = "";
        res->body_len = 0;
    }
    if (!res->stream)
        return MHD_create_response_from_buffer(res->body_len, (void *)res->body,
                                               MHD_RESPMEM_MUST_COPY);
    struct stream_box *box = xmalloc(sizeof(*box));
    box->stream = res->stream;
    box->ctx = res->stream_ctx;
    box->free = res->stream_free;
    res->stream = NULL;
    res->stream_free = NULL;
    struct MHD_Response *r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 32 * 1024,
                                                               stream_read, box, stream_done);
    if (!r)
        stream_done(box);
    return r;
}

/* The request's log line, written as text: it is written for every request. The duration is
 * in milliseconds to the microsecond. */
static void request_log(const struct http_request *req, int status, const char *route,
                        int64_t elapsed_ns)
{
    enum log_level level = status >= 500 ? LOG_ERROR : LOG_INFO;
    if (!log_enabled(level))
        return;
    char storage[1024];
    struct json_writer w;
    json_writer_init(&w, storage, sizeof(storage));
    json_writer_lit(&w, "\"request_id\":");
    json_writer_string(&w, req->request_id);
    json_writer_lit(&w, ",\"method\":");
    json_writer_string(&w, req->method);
    json_writer_lit(&w, ",\"route\":");
    json_writer_string(&w, route);
    json_writer_lit(&w, ",\"remote\":");
    json_writer_string(&w, req->remote_addr);
    if (req->peer_addr[0]) {
        json_writer_lit(&w, ",\"peer\":");
        json_writer_string(&w, req->peer_addr);
    }
    json_writer_lit(&w, ",\"status\":");
    json_writer_int(&w, status);
    json_writer_lit(&w, ",\"duration_ms\":");
    json_writer_decimal(&w, (elapsed_ns + 500) / 1000, 3);
    json_writer_lit(&w, ",\"error\":");
    json_writer_string(&w, status >= 400 ? req->err.problem : NULL);
    json_writer_lit(&w, ",\"user_id\":");
    json_writer_string(&w, req->principal.user_id);
    json_writer_lit(&w, ",\"token_id\":");
    json_writer_string(&w, req->principal.token_id);
    log_line(level, "http.request", w.data, w.len);
    json_writer_dispose(&w);
}

static enum MHD_Result send_response(struct http_request *req, struct http_response *res)
{
    struct MHD_Response *r = response_new(req, res);
    if (!r)
        return MHD_NO;
    if (res->content_type)
        MHD_add_response_header(r, "Content-Type", res->content_type);
    MHD_add_response_header(r, "X-Request-Id", req->request_id);
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
    if (!res->is_cacheable) {
        MHD_add_response_header(r, "Cache-Control", "no-store");
        MHD_add_response_header(r, "Content-Security-Policy",
                                "default-src 'none'; frame-ancestors 'none'");
    }
    for (size_t i = 0; i < res->header_count; i++)
        MHD_add_response_header(r, res->headers[i].name, res->headers[i].value);
    enum MHD_Result ok = MHD_queue_response(req->conn, (unsigned int)res->status, r);
    MHD_destroy_response(r);

    int64_t elapsed_ns = clock_mono_ns() - req->started_ns;
    const char *route = req->route ? req->route : "unmatched";
    metrics_request_observe(route, req->method, res->status, (double)elapsed_ns / 1e9);
    request_log(req, res->status, route, elapsed_ns);
    return ok;
}

/* The request deadline slot of conn (NULL without deadlines). */
static struct http_deadline_slot *deadline_slot(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci ? ci->socket_context : NULL;
}

static enum MHD_Result dispatch(struct http_server *s, struct http_request *req)
{
    struct http_response res = {0};
    res.status = 200;
    int rc = 0;
    if (req->body_too_large) {
        usher_error_set(&req->err, USHER_ELIMIT, "payload_too_large", NULL,
                        "request body exceeds %zu bytes", s->opts.max_body_bytes);
        req->err.http_status = 413;
        http_problem(&res, req, USHER_ELIMIT);
        return send_response(req, &res);
    }
    bool method_mismatch = false;
    const struct http_route *route =
        http_route_match(s->opts.tables, req->method, req->path, req->params, &req->param_count,
                         &req->arena, &method_mismatch);
    if (!route && !method_mismatch && s->opts.fallback &&
        (strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0)) {
        /* Pages and their files: public, so no authentication and no store access. */
        req->route = "static";
        rc = s->opts.fallback(req, &res);
        if (rc != 0) {
            req->route = "unmatched"; /* nothing answered it: counted as any unknown path */
            http_problem(&res, req, rc);
        }
        return send_response(req, &res);
    }
    if (!route) {
        if (method_mismatch) {
            usher_error_set(&req->err, USHER_EINVAL, "method_not_allowed", NULL,
                            "method %s is not allowed here", req->method);
            req->err.http_status = 405;
        } else {
            usher_error_set(&req->err, USHER_ENOTFOUND, NULL, NULL, "no such resource");
        }
        http_problem(&res, req, req->err.code);
        const char *allow =
            method_mismatch ? http_route_allow(s->opts.tables, req->path, &req->arena) : NULL;
        if (allow)
            http_response_header(&res, req, "Allow", allow);
        return send_response(req, &res);
    }
    req->route = route->pattern;
    if (s->opts.authenticate)
        rc = s->opts.authenticate(req);
    if (rc == 0 && route->access != HTTP_PUBLIC && !req->principal.is_authenticated)
        rc = usher_error_set(&req->err, USHER_EUNAUTH, NULL, NULL, "sign in first");
    if (rc == 0 && req->principal.is_service && route->access != HTTP_SERVICE)
        rc = usher_error_set(&req->err, USHER_EFORBIDDEN, NULL, NULL,
                             "API tokens may only call the decision endpoints");
    if (rc == 0)
        rc = http_query_check(req, route->query);
    if (rc == 0)
        rc = route->handler(req, &res);
    if (rc != 0) {
        if (res.stream_free)
            res.stream_free(res.stream_ctx);
        res.stream = NULL;
        res.stream_free = NULL;
        http_problem(&res, req, rc);
    }
    if (req->principal.is_authenticated)
        res.is_cacheable = false;
    return send_response(req, &res);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    (void)version;
    struct http_server *s = cls;
    struct http_request *req = *con_cls;
    if (!req) {
        req = request_new();
        req->app = s->opts.app;
        req->conn = conn;
        req->started_ns = clock_mono_ns();
        req->method = arena_strdup(&req->arena, method);
        req->path = arena_strdup(&req->arena, url);
        request_id_new(req->request_id);
        remote_addr_fill(req, s->opts.trusted_proxies);
        *con_cls = req;
        atomic_fetch_add(&s->in_flight, 1);
        const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
        if (cl) {
            char *end;
            unsigned long long n = strtoull(cl, &end, 10);
            if (*end || n > s->opts.max_body_bytes)
                req->body_too_large = true;
        }
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        if (req->body_too_large || req->body_len + n > s->opts.max_body_bytes) {
            req->body_too_large = true;
            return MHD_YES;
        }
        req->body = xrealloc(req->body, req->body_len + n + 1);
        memcpy(req->body + req->body_len, upload_data, n);
        req->body_len += n;
        req->body[req->body_len] = '\0';
        return MHD_YES;
    }
    http_deadline_answering(s->deadlines, deadline_slot(conn), true);
    return dispatch(s, req);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct http_server *s = cls;
    (void)toe;
    if (*con_cls)
        atomic_fetch_sub(&s->in_flight, 1);
    http_deadline_answering(s->deadlines, deadline_slot(conn), false);
    request_free(*con_cls);
    *con_cls = NULL;
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
    struct http_server *s = cls;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        *socket_context = ci ? http_deadline_open(s->deadlines, ci->connect_fd) : NULL;
    } else {
        http_deadline_close(s->deadlines, *socket_context);
        *socket_context = NULL;
    }
    metrics_connections_add(toe == MHD_CONNECTION_NOTIFY_STARTED ? 1 : -1);
}

__attribute__((format(printf, 2, 0))) static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char msg[512];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    size_t len = strlen(msg);
    while (len > 0 && (msg[len - 1] == '\n' || msg[len - 1] == '\r'))
        msg[--len] = '\0';
    log_msg(LOG_WARN, "http.server", "{s:s}", "message", msg);
}

static int parse_listen(const char *listen, struct sockaddr_storage *out, socklen_t *out_len,
                        struct usher_error *err)
{
    const char *colon = strrchr(listen, ':');
    if (!colon)
        return usher_error_set(err, USHER_EINVAL, NULL, "listen", "listen must be host:port");
    char host[128];
    size_t hlen = (size_t)(colon - listen);
    if (hlen >= sizeof(host))
        return usher_error_set(err, USHER_EINVAL, NULL, "listen", "listen host is too long");
    memcpy(host, listen, hlen);
    host[hlen] = '\0';
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (*end || port < 0 || port > 65535 || colon[1] == '\0')
        return usher_error_set(err, USHER_EINVAL, NULL, "listen", "listen port must be 0..65535");
    memset(out, 0, sizeof(*out));
    if (host[0] == '[' && hlen > 2 && host[hlen - 1] == ']') {
        host[hlen - 1] = '\0';
        struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)out;
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)port);
        if (inet_pton(AF_INET6, host + 1, &a6->sin6_addr) != 1)
            return usher_error_set(err, USHER_EINVAL, NULL, "listen", "bad IPv6 address");
        *out_len = sizeof(*a6);
        return 0;
    }
    struct sockaddr_in *a4 = (struct sockaddr_in *)out;
    a4->sin_family = AF_INET;
    a4->sin_port = htons((uint16_t)port);
    if (strcmp(host, "localhost") == 0)
        snprintf(host, sizeof(host), "127.0.0.1");
    if (host[0] == '\0' || strcmp(host, "*") == 0)
        a4->sin_addr.s_addr = htonl(INADDR_ANY);
    else if (inet_pton(AF_INET, host, &a4->sin_addr) != 1)
        return usher_error_set(err, USHER_EINVAL, NULL, "listen",
                               "listen host must be an IP address, got \"%s\"", host);
    *out_len = sizeof(*a4);
    return 0;
}

int http_server_start(struct http_server **out, const struct http_server_options *opts,
                      struct usher_error *err)
{
    *out = NULL;
    struct sockaddr_storage addr;
    socklen_t addr_len;
    int rc = parse_listen(opts->listen, &addr, &addr_len, err);
    if (rc)
        return rc;
    struct http_server *s = xcalloc(1, sizeof(*s));
    s->opts = *opts;
    s->deadlines = http_deadlines_new(opts->request_timeout_seconds);
    unsigned int flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ITC | MHD_USE_ERROR_LOG;
    if (addr.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    s->daemon = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, s, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, s,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr, MHD_OPTION_THREAD_POOL_SIZE,
        (unsigned int)opts->threads, MHD_OPTION_CONNECTION_LIMIT,
        (unsigned int)opts->max_connections, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned int)opts->connection_timeout_seconds, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
        (unsigned int)opts->max_connections_per_address, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        (size_t)HTTP_CONNECTION_MEMORY, MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
        MHD_OPTION_NOTIFY_CONNECTION, on_connection, s, MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024u,
        MHD_OPTION_END);
    if (!s->daemon) {
        http_deadlines_free(s->deadlines);
        free(s);
        return usher_error_set(err, USHER_EUNAVAIL, NULL, "listen", "cannot listen on %s",
                               opts->listen);
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
    s->port = info ? info->port : 0;
    *out = s;
    return 0;
}

int http_server_port(const struct http_server *s)
{
    return s->port;
}

void http_server_stop(struct http_server *s, int grace_ms)
{
    if (!s)
        return;
    MHD_socket listen_fd = MHD_quiesce_daemon(s->daemon);
    int64_t deadline = clock_mono_ns() + (int64_t)grace_ms * 1000000;
    while (atomic_load(&s->in_flight) > 0 && clock_mono_ns() < deadline)
        usleep(10000);
    MHD_stop_daemon(s->daemon);
    if (listen_fd != MHD_INVALID_SOCKET)
        close(listen_fd);
    http_deadlines_free(s->deadlines);
    free(s);
}
