/* What the oidc unit tests share: keys made with libjose, ID tokens signed with them the way an
 * IdP does (or an attacker would), and a small HTTP/1.1 server on 127.0.0.1 in a thread that
 * answers from a table of canned responses and counts the requests per path. */
#ifndef USHER_TESTS_UNIT_OIDC_TEST_H
#define USHER_TESTS_UNIT_OIDC_TEST_H

#include "../unit.h"

#include <arpa/inet.h>
#include <jose/jose.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <time.h>

/* ---- keys and tokens ---- */

/* A new private key for alg ("RS256", "PS256", "ES256") with kid (NULL for none). */
static inline json_t *test_key_new(const char *alg, const char *kid)
{
    json_t *jwk = json_pack("{s:s}", "alg", alg);
    assert_true(jose_jwk_gen(NULL, jwk));
    if (kid)
        json_object_set_new(jwk, "kid", json_string(kid));
    return jwk;
}

/* The public half of key, as an IdP publishes it; drop_alg leaves "alg" out. */
static inline json_t *test_key_public(const json_t *key, bool drop_alg)
{
    json_t *pub = json_deep_copy(key);
    assert_true(jose_jwk_pub(NULL, pub));
    json_object_del(pub, "key_ops");
    if (drop_alg)
        json_object_del(pub, "alg");
    json_object_set_new(pub, "use", json_string("sig"));
    return pub;
}

/* A JWKS document (heap text) of the public halves of a NULL-terminated list of keys. */
static inline char *test_jwks_text(bool drop_alg, json_t *const *keys)
{
    json_t *arr = json_array();
    for (size_t i = 0; keys[i]; i++)
        json_array_append_new(arr, test_key_public(keys[i], drop_alg));
    json_t *doc = json_pack("{s:o}", "keys", arr);
    char *text = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    return text;
}

static inline char *test_b64(const void *data, size_t len)
{
    json_t *enc = jose_b64_enc(data, len);
    assert_non_null(enc);
    char *s = strdup(json_string_value(enc));
    json_decref(enc);
    return s;
}

/* A compact JWS of payload (JSON text) with the protected header header (JSON text), signed
 * with jwk by libjose. Heap string. */
static inline char *test_token_sign(const char *header, const char *payload, const json_t *jwk)
{
    json_t *hdr = json_loads(header, 0, NULL);
    assert_non_null(hdr);
    char *payload_b64 = test_b64(payload, strlen(payload));
    json_t *jws = json_pack("{s:s}", "payload", payload_b64);
    json_t *sig = json_pack("{s:O}", "protected", hdr);
    assert_true(jose_jws_sig(NULL, jws, sig, jwk));
    const char *p = json_string_value(json_object_get(jws, "protected"));
    const char *s = json_string_value(json_object_get(jws, "signature"));
    assert_non_null(p);
    assert_non_null(s);
    size_t len = strlen(p) + strlen(payload_b64) + strlen(s) + 3;
    char *out = malloc(len);
    snprintf(out, len, "%s.%s.%s", p, payload_b64, s);
    free(payload_b64);
    json_decref(sig);
    json_decref(jws);
    json_decref(hdr);
    return out;
}

/* An unsigned token b64(header).b64(payload).signature, for what no honest signer makes. */
static inline char *test_token_raw(const char *header, const char *payload, const char *signature)
{
    char *h = test_b64(header, strlen(header));
    char *p = test_b64(payload, strlen(payload));
    size_t len = strlen(h) + strlen(p) + strlen(signature) + 3;
    char *out = malloc(len);
    snprintf(out, len, "%s.%s.%s", h, p, signature);
    free(h);
    free(p);
    return out;
}

/* ---- the HTTP server ---- */

#define TEST_ROUTES_MAX 8

struct test_route {
    char path[128];
    int status;
    char headers[512]; /* extra header lines, each ending in \r\n */
    char *body;        /* heap, owned by the server */
    size_t body_len;
    int delay_ms; /* wait this long before answering */
    unsigned hits;
};

struct test_server {
    int fd;
    int port;
    pthread_t thread;
    pthread_mutex_t mu;
    bool stop;
    struct test_route routes[TEST_ROUTES_MAX];
    size_t route_count;
    char last_request[16384]; /* request line, headers and body of the last request */
};

/* Sets (or replaces) the answer for path. body is copied. */
static inline void test_server_route(struct test_server *s, const char *path, int status,
                                     const char *headers, const char *body, size_t body_len,
                                     int delay_ms)
{
    pthread_mutex_lock(&s->mu);
    struct test_route *r = NULL;
    for (size_t i = 0; i < s->route_count; i++) {
        if (strcmp(s->routes[i].path, path) == 0)
            r = &s->routes[i];
    }
    if (!r) {
        assert_true(s->route_count < TEST_ROUTES_MAX);
        r = &s->routes[s->route_count++];
        memset(r, 0, sizeof(*r));
        snprintf(r->path, sizeof(r->path), "%s", path);
    }
    free(r->body);
    r->status = status;
    snprintf(r->headers, sizeof(r->headers), "%s", headers ? headers : "");
    r->body = malloc(body_len + 1);
    memcpy(r->body, body, body_len);
    r->body_len = body_len;
    r->delay_ms = delay_ms;
    pthread_mutex_unlock(&s->mu);
}

static inline unsigned test_server_hits(struct test_server *s, const char *path)
{
    unsigned n = 0;
    pthread_mutex_lock(&s->mu);
    for (size_t i = 0; i < s->route_count; i++) {
        if (strcmp(s->routes[i].path, path) == 0)
            n = s->routes[i].hits;
    }
    pthread_mutex_unlock(&s->mu);
    return n;
}

static inline void test_send_all(int fd, const char *data, size_t len)
{
    while (len) {
        ssize_t n = send(fd, data, len, MSG_NOSIGNAL);
        if (n <= 0)
            return;
        data += n;
        len -= (size_t)n;
    }
}

static inline void test_server_serve(struct test_server *s, int c)
{
    char req[16384];
    size_t len = 0;
    /* Read the head, then as much body as Content-Length says. */
    for (;;) {
        ssize_t n = recv(c, req + len, sizeof(req) - 1 - len, 0);
        if (n <= 0)
            return;
        len += (size_t)n;
        req[len] = '\0';
        char *end = strstr(req, "\r\n\r\n");
        if (!end)
            continue;
        char *cl = strcasestr(req, "Content-Length:");
        size_t want = cl && cl < end ? strtoul(cl + 15, NULL, 10) : 0;
        if (len >= (size_t)(end + 4 - req) + want || len == sizeof(req) - 1)
            break;
    }
    char path[128] = "";
    sscanf(req, "%*s %127s", path);
    pthread_mutex_lock(&s->mu);
    snprintf(s->last_request, sizeof(s->last_request), "%s", req);
    struct test_route *r = NULL;
    for (size_t i = 0; i < s->route_count; i++) {
        if (strcmp(s->routes[i].path, path) == 0)
            r = &s->routes[i];
    }
    int status = 404, delay = 0;
    char headers[512] = "";
    char *body = NULL;
    size_t body_len = 0;
    if (r) {
        r->hits++;
        status = r->status;
        delay = r->delay_ms;
        snprintf(headers, sizeof(headers), "%s", r->headers);
        body = malloc(r->body_len + 1);
        memcpy(body, r->body, r->body_len);
        body_len = r->body_len;
    }
    pthread_mutex_unlock(&s->mu);
    if (delay) {
        struct timespec ts = {delay / 1000, (long)(delay % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    }
    char head[1024];
    int n = snprintf(head, sizeof(head),
                     "HTTP/1.1 %d Test\r\nContent-Length: %zu\r\nConnection: close\r\n%s\r\n",
                     status, body_len, headers);
    test_send_all(c, head, (size_t)n);
    if (body)
        test_send_all(c, body, body_len);
    free(body);
}

static inline void *test_server_main(void *arg)
{
    struct test_server *s = arg;
    for (;;) {
        pthread_mutex_lock(&s->mu);
        bool stop = s->stop;
        pthread_mutex_unlock(&s->mu);
        if (stop)
            break;
        struct pollfd pfd = {.fd = s->fd, .events = POLLIN};
        if (poll(&pfd, 1, 50) <= 0)
            continue;
        int c = accept(s->fd, NULL, NULL);
        if (c < 0)
            continue;
        test_server_serve(s, c);
        close(c);
    }
    return NULL;
}

/* Starts a server on 127.0.0.1 and a free port. */
static inline struct test_server *test_server_start(void)
{
    struct test_server *s = calloc(1, sizeof(*s));
    pthread_mutex_init(&s->mu, NULL);
    s->fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(s->fd >= 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(s->fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
    assert_int_equal(listen(s->fd, 16), 0);
    socklen_t alen = sizeof(addr);
    getsockname(s->fd, (struct sockaddr *)&addr, &alen);
    s->port = ntohs(addr.sin_port);
    assert_int_equal(pthread_create(&s->thread, NULL, test_server_main, s), 0);
    return s;
}

static inline void test_server_stop(struct test_server *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->mu);
    s->stop = true;
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->thread, NULL);
    close(s->fd);
    for (size_t i = 0; i < s->route_count; i++)
        free(s->routes[i].body);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

/* "http://127.0.0.1:PORT" + path into out. */
static inline void test_server_url(char *out, size_t cap, const struct test_server *s,
                                   const char *path)
{
    snprintf(out, cap, "http://127.0.0.1:%d%s", s->port, path);
}

#endif
