/* The HTTP server with routes of its own: request accessors (params, query, JSON body), the
 * error mapping, the authenticator hook, security headers and body caps, over real sockets. */
#include "../unit.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "base/log.h"
#include "http/http.h"

/* --- routes under test --- */

static int route_echo(struct http_request *req, struct http_response *res)
{
    http_response_json(res, req, 200,
                       json_pack("{s:s, s:s, s:s}", "a", req->params[0], "b", req->params[1],
                                 "route", req->route));
    return 0;
}

static int query_calls; /* how many times route_query ran */

static int route_query(struct http_request *req, struct http_response *res)
{
    const char *x = NULL;
    query_calls++;
    int rc = http_query(&x, req, "x");
    if (rc)
        return rc;
    http_response_json(res, req, 200, json_pack("{s:s?}", "x", x));
    return 0;
}

static int route_json(struct http_request *req, struct http_response *res)
{
    static const char *const allowed[] = {"name", "n", NULL};
    json_t *body = NULL;
    int rc = http_json_body(&body, req, allowed);
    if (rc)
        return rc;
    http_response_json(res, req, 201, json_pack("{s:O?}", "name", json_object_get(body, "name")));
    return 0;
}

static int route_internal(struct http_request *req, struct http_response *res)
{
    (void)res;
    return usher_error_set(&req->err, USHER_EINTERNAL, NULL, NULL, "table secrets is corrupt");
}

static int route_conflict(struct http_request *req, struct http_response *res)
{
    (void)res;
    return usher_error_set(&req->err, USHER_ECONFLICT, "account_exists", "email",
                           "an account with this email exists");
}

static int route_private(struct http_request *req, struct http_response *res)
{
    http_response_json(res, req, 200, json_pack("{s:s}", "user_id", req->principal.user_id));
    return 0;
}

static int route_cacheable(struct http_request *req, struct http_response *res)
{
    http_response_text(res, req, 200, "text/plain", "static", 6);
    http_response_header(res, req, "X-Test", "yes");
    res->is_cacheable = true;
    return 0;
}

static int route_empty(struct http_request *req, struct http_response *res)
{
    (void)req;
    http_response_empty(res, 204);
    return 0;
}

static const char *const query_params[] = {"x", "y", NULL};

/* Answers how many parameters it was given: every one gets through. */
static int route_any(struct http_request *req, struct http_response *res)
{
    const char *code = NULL;
    int rc = http_query(&code, req, "code");
    if (rc) {
        usher_error_clear(&req->err);
        code = "(judged by the handler)";
    }
    http_response_json(res, req, 200, json_pack("{s:s?}", "code", code));
    return 0;
}

static const struct http_route routes[] = {
    {"GET", "/echo/{a}/{b}", route_echo, HTTP_PUBLIC, NULL},
    {"GET", "/query", route_query, HTTP_PUBLIC, query_params},
    {"GET", "/any", route_any, HTTP_PUBLIC, http_query_any},
    {"POST", "/json", route_json, HTTP_PUBLIC, NULL},
    {"GET", "/internal", route_internal, HTTP_PUBLIC, NULL},
    {"GET", "/conflict", route_conflict, HTTP_PUBLIC, NULL},
    {"GET", "/private", route_private, HTTP_AUTHENTICATED, NULL},
    {"GET", "/cacheable", route_cacheable, HTTP_PUBLIC, NULL},
    {"DELETE", "/empty", route_empty, HTTP_PUBLIC, NULL},
    {NULL, NULL, NULL, HTTP_PUBLIC, NULL},
};
static const struct http_route_table table = {"test", routes};
static const struct http_route_table *const tables[] = {&table, NULL};

/* "Bearer good" signs in as usr_test; "Bearer refuse" is refused by the authenticator. */
static int authenticate(struct http_request *req)
{
    const char *auth = http_header(req, "Authorization");
    if (!auth)
        return 0;
    if (strcmp(auth, "Bearer refuse") == 0)
        return usher_error_set(&req->err, USHER_EFORBIDDEN, "csrf_failed", NULL,
                               "the CSRF token is missing or wrong");
    if (strcmp(auth, "Bearer good") == 0) {
        req->principal.is_authenticated = true;
        req->principal.user_id = arena_strdup(&req->arena, "usr_test");
    }
    return 0;
}

/* --- a raw HTTP/1.1 client --- */

struct reply {
    int status;
    char head[4096];
    char *body;
    json_t *json;
    char raw[65536];
};

static int server_port;

/* Sends request (which should say Connection: close) and reads the whole answer. */
static void call(struct reply *r, const char *request, size_t len)
{
    memset(r, 0, sizeof(*r));
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)server_port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
    for (size_t off = 0; off < len;) {
        ssize_t w = send(fd, request + off, len - off, MSG_NOSIGNAL);
        if (w <= 0)
            break; /* the server may answer and close before reading everything */
        off += (size_t)w;
    }
    size_t got = 0;
    for (;;) {
        ssize_t n = recv(fd, r->raw + got, sizeof(r->raw) - 1 - got, 0);
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(fd);
    r->raw[got] = '\0';
    assert_int_equal(sscanf(r->raw, "HTTP/1.1 %d", &r->status), 1);
    char *split = strstr(r->raw, "\r\n\r\n");
    assert_non_null(split);
    size_t head_len = (size_t)(split - r->raw);
    if (head_len >= sizeof(r->head))
        head_len = sizeof(r->head) - 1;
    memcpy(r->head, r->raw, head_len);
    r->body = split + 4;
    r->json = json_loads(r->body, JSON_DECODE_ANY, NULL);
}

static void get(struct reply *r, const char *path, const char *extra_headers)
{
    char req[8192];
    int n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: t\r\nConnection: close\r\n%s\r\n",
                     path, extra_headers ? extra_headers : "");
    call(r, req, (size_t)n);
}

static void post(struct reply *r, const char *path, const char *content_type, const char *body)
{
    char req[8192];
    int n = snprintf(req, sizeof(req),
                     "POST %s HTTP/1.1\r\nHost: t\r\nConnection: close\r\n"
                     "Content-Type: %s\r\nContent-Length: %zu\r\n\r\n%s",
                     path, content_type, strlen(body), body);
    call(r, req, (size_t)n);
}

static void reply_dispose(struct reply *r)
{
    json_decref(r->json);
    r->json = NULL;
}

/* The value of header name in r (case-insensitive name), or NULL; copied into buf. */
static const char *header(struct reply *r, const char *name, char *buf, size_t size)
{
    size_t nlen = strlen(name);
    for (const char *line = strstr(r->head, "\r\n"); line; line = strstr(line, "\r\n")) {
        line += 2;
        if (strncasecmp(line, name, nlen) == 0 && line[nlen] == ':') {
            const char *v = line + nlen + 1;
            while (*v == ' ')
                v++;
            const char *end = strstr(v, "\r\n");
            size_t vlen = end ? (size_t)(end - v) : strlen(v);
            if (vlen >= size)
                vlen = size - 1;
            memcpy(buf, v, vlen);
            buf[vlen] = '\0';
            return buf;
        }
    }
    return NULL;
}

static const char *member(struct reply *r, const char *key)
{
    return json_string_value(json_object_get(r->json, key));
}

static void assert_problem(struct reply *r, int status, const char *code)
{
    char ct[128];
    assert_int_equal(r->status, status);
    assert_non_null(header(r, "Content-Type", ct, sizeof(ct)));
    assert_string_equal(ct, "application/problem+json");
    assert_non_null(r->json);
    assert_int_equal(json_integer_value(json_object_get(r->json, "status")), status);
    assert_string_equal(member(r, "code"), code);
    char id[64];
    assert_non_null(header(r, "X-Request-Id", id, sizeof(id)));
    assert_string_equal(member(r, "request_id"), id);
}

/* --- fixture --- */

static struct http_server *server;

static int start(void **state)
{
    (void)state;
    log_set_level(LOG_ERROR);
    struct http_server_options opts = {
        .listen = "127.0.0.1:0",
        .threads = 2,
        .max_connections = 16,
        .connection_timeout_seconds = 5,
        .max_body_bytes = 2048,
        .app = NULL,
        .tables = tables,
        .authenticate = authenticate,
    };
    struct usher_error err = {0};
    if (http_server_start(&server, &opts, &err) != 0)
        return -1;
    server_port = http_server_port(server);
    return server_port > 0 ? 0 : -1;
}

static int stop(void **state)
{
    (void)state;
    http_server_stop(server, 1000);
    server = NULL;
    return 0;
}

/* --- tests --- */

static void test_server_dispatch__passes_params_and_the_route_pattern(void **state)
{
    (void)state;
    struct reply r;
    get(&r, "/echo/first/second", NULL);
    assert_int_equal(r.status, 200);
    assert_string_equal(member(&r, "a"), "first");
    assert_string_equal(member(&r, "b"), "second");
    assert_string_equal(member(&r, "route"), "/echo/{a}/{b}");
    char ct[128];
    assert_string_equal(header(&r, "Content-Type", ct, sizeof(ct)), "application/json");
    reply_dispose(&r);
}

static void test_server_answer__carries_the_security_headers(void **state)
{
    (void)state;
    struct reply r;
    get(&r, "/echo/a/b", NULL);
    char v[256];
    assert_non_null(header(&r, "X-Request-Id", v, sizeof(v)));
    assert_int_equal(strlen(v), 16);
    assert_string_equal(header(&r, "X-Content-Type-Options", v, sizeof(v)), "nosniff");
    assert_string_equal(header(&r, "Referrer-Policy", v, sizeof(v)), "no-referrer");
    assert_string_equal(header(&r, "Cache-Control", v, sizeof(v)), "no-store");
    assert_non_null(header(&r, "Content-Security-Policy", v, sizeof(v)));
    reply_dispose(&r);
}

static void test_server_answer__may_be_cacheable_only_when_anonymous(void **state)
{
    (void)state;
    struct reply r;
    char v[256];
    get(&r, "/cacheable", NULL);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "static");
    assert_null(header(&r, "Cache-Control", v, sizeof(v)));
    assert_string_equal(header(&r, "X-Test", v, sizeof(v)), "yes");
    reply_dispose(&r);
    get(&r, "/cacheable", "Authorization: Bearer good\r\n");
    assert_string_equal(header(&r, "Cache-Control", v, sizeof(v)), "no-store");
    reply_dispose(&r);
}

static void test_server_answer__sends_an_empty_204(void **state)
{
    (void)state;
    struct reply r;
    const char *del = "DELETE /empty HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
    call(&r, del, strlen(del));
    assert_int_equal(r.status, 204);
    assert_string_equal(r.body, "");
    reply_dispose(&r);
}

static void test_server_query__reads_one_value(void **state)
{
    (void)state;
    struct reply r;
    get(&r, "/query?x=hello&y=1", NULL);
    assert_int_equal(r.status, 200);
    assert_string_equal(member(&r, "x"), "hello");
    reply_dispose(&r);
    get(&r, "/query", NULL);
    assert_int_equal(r.status, 200);
    assert_true(json_is_null(json_object_get(r.json, "x")));
    reply_dispose(&r);
}

static void test_server_query__refuses_a_repeated_parameter(void **state)
{
    (void)state;
    struct reply r;
    get(&r, "/query?x=a&x=b", NULL);
    assert_problem(&r, 400, "invalid_input");
    assert_string_equal(member(&r, "field"), "x");
    assert_string_equal(member(&r, "detail"), "x is given more than once");
    reply_dispose(&r);
}

static void test_server_query__refuses_a_parameter_the_route_does_not_read(void **state)
{
    (void)state;
    struct reply r;
    int calls = query_calls;
    get(&r, "/query?x=a&dry_run=1", NULL);
    assert_problem(&r, 400, "unknown_parameter");
    assert_string_equal(member(&r, "field"), "dry_run");
    reply_dispose(&r);
    /* A route that reads no parameter refuses every one, and a repeated unread one. */
    get(&r, "/echo/1/2?x=1", NULL);
    assert_problem(&r, 400, "unknown_parameter");
    assert_string_equal(member(&r, "field"), "x");
    reply_dispose(&r);
    get(&r, "/query?y=1&y=2", NULL);
    assert_problem(&r, 400, "invalid_input");
    assert_string_equal(member(&r, "field"), "y");
    reply_dispose(&r);
    /* A name that is not short printable text is not echoed back. */
    get(&r, "/query?%01%02=1", NULL);
    assert_problem(&r, 400, "unknown_parameter");
    assert_string_equal(member(&r, "field"), "(unreadable name)");
    reply_dispose(&r);
    assert_int_equal(query_calls, calls);
    /* A route taking any parameter sees them all, repeated ones too, and judges itself. */
    get(&r, "/any?code=c1&iss=https%3A%2F%2Fidp&session_state=s", NULL);
    assert_int_equal(r.status, 200);
    assert_string_equal(member(&r, "code"), "c1");
    reply_dispose(&r);
    get(&r, "/any?code=a&code=b", NULL);
    assert_int_equal(r.status, 200);
    assert_string_equal(member(&r, "code"), "(judged by the handler)");
    reply_dispose(&r);
}

static void test_server_query__reads_empty_pairs_as_nothing(void **state)
{
    (void)state;
    static const char *const paths[] = {"/query?&x=a", "/query?x=a&", "/query?x=a&&",
                                        "/query?&&x=a&&"};
    struct reply r;
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        get(&r, paths[i], NULL);
        if (r.status != 200)
            fail_msg("%s: %d", paths[i], r.status);
        assert_string_equal(member(&r, "x"), "a");
        reply_dispose(&r);
    }
    /* A route that reads no parameter takes a query of empty pairs alone. */
    get(&r, "/echo/1/2?&&", NULL);
    assert_int_equal(r.status, 200);
    reply_dispose(&r);
    /* An empty name with a value is a parameter, and a known name without one is refused. */
    get(&r, "/query?=a", NULL);
    assert_problem(&r, 400, "unknown_parameter");
    reply_dispose(&r);
    get(&r, "/query?&x", NULL);
    assert_problem(&r, 400, "invalid_input");
    assert_string_equal(member(&r, "field"), "x");
    reply_dispose(&r);
}

static void test_server_query__refuses_an_overlong_value(void **state)
{
    (void)state;
    char path[2100] = "/query?x=";
    memset(path + 9, 'v', HTTP_QUERY_VALUE_MAX + 1);
    path[9 + HTTP_QUERY_VALUE_MAX + 1] = '\0';
    struct reply r;
    get(&r, path, NULL);
    assert_problem(&r, 400, "invalid_input");
    assert_string_equal(member(&r, "detail"), "x is too long");
    reply_dispose(&r);
}

static void test_server_json_body__accepts_a_valid_object(void **state)
{
    (void)state;
    struct reply r;
    post(&r, "/json", "application/json; charset=utf-8", "{\"name\":\"Acme\",\"n\":1}");
    assert_int_equal(r.status, 201);
    assert_string_equal(member(&r, "name"), "Acme");
    reply_dispose(&r);
}

static void test_server_json_body__names_an_unknown_field(void **state)
{
    (void)state;
    struct reply r;
    post(&r, "/json", "application/json", "{\"name\":\"Acme\",\"is_admin\":true}");
    assert_problem(&r, 400, "invalid_input");
    assert_string_equal(member(&r, "field"), "is_admin");
    reply_dispose(&r);
}

static void test_server_json_body__refuses_bad_bodies(void **state)
{
    (void)state;
    struct reply r;
    const char *bodies[] = {"{\"name\":\"a\",\"name\":\"b\"}", "[1]", "{", "\"x\""};
    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        post(&r, "/json", "application/json", bodies[i]);
        assert_problem(&r, 400, "invalid_input");
        reply_dispose(&r);
    }
    post(&r, "/json", "text/plain", "{\"name\":\"a\"}");
    assert_problem(&r, 400, "invalid_input");
    assert_string_equal(member(&r, "detail"), "request body must be application/json");
    reply_dispose(&r);
    const char *empty = "POST /json HTTP/1.1\r\nHost: t\r\nConnection: close\r\n"
                        "Content-Length: 0\r\n\r\n";
    call(&r, empty, strlen(empty));
    assert_problem(&r, 400, "invalid_input");
    reply_dispose(&r);
}

static void test_server_body__over_the_cap_is_413(void **state)
{
    (void)state;
    char body[3000];
    memset(body, ' ', sizeof(body) - 3);
    body[0] = '{';
    body[sizeof(body) - 2] = '}';
    body[sizeof(body) - 1] = '\0';
    struct reply r;
    post(&r, "/json", "application/json", body);
    assert_problem(&r, 413, "payload_too_large");
    reply_dispose(&r);
    /* The cap itself is accepted. */
    char fits[2049];
    memset(fits, ' ', 2048);
    fits[0] = '{';
    fits[2047] = '}';
    fits[2048] = '\0';
    post(&r, "/json", "application/json", fits);
    assert_int_equal(r.status, 201);
    reply_dispose(&r);
}

static void test_server_body__chunked_over_the_cap_is_413(void **state)
{
    (void)state;
    char req[8192];
    int n = snprintf(req, sizeof(req),
                     "POST /json HTTP/1.1\r\nHost: t\r\nConnection: close\r\n"
                     "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n");
    for (int i = 0; i < 3; i++) {
        n += snprintf(req + n, sizeof(req) - (size_t)n, "400\r\n");
        memset(req + n, ' ', 0x400);
        n += 0x400;
        n += snprintf(req + n, sizeof(req) - (size_t)n, "\r\n");
    }
    n += snprintf(req + n, sizeof(req) - (size_t)n, "0\r\n\r\n");
    struct reply r;
    call(&r, req, (size_t)n);
    assert_problem(&r, 413, "payload_too_large");
    reply_dispose(&r);
}

static void test_server_problem__hides_internal_detail(void **state)
{
    (void)state;
    struct reply r;
    get(&r, "/internal", NULL);
    assert_problem(&r, 500, "internal");
    assert_string_equal(member(&r, "detail"), "an internal error occurred");
    assert_null(strstr(r.body, "secrets"));
    reply_dispose(&r);
}

static void test_server_problem__keeps_a_specific_code_and_field(void **state)
{
    (void)state;
    struct reply r;
    get(&r, "/conflict", NULL);
    assert_problem(&r, 409, "account_exists");
    assert_string_equal(member(&r, "field"), "email");
    assert_string_equal(member(&r, "detail"), "an account with this email exists");
    assert_string_equal(member(&r, "title"), "account_exists");
    reply_dispose(&r);
}

static void test_server_access__asks_for_sign_in_on_an_authenticated_route(void **state)
{
    (void)state;
    struct reply r;
    get(&r, "/private", NULL);
    assert_problem(&r, 401, "unauthenticated");
    reply_dispose(&r);
    get(&r, "/private", "Authorization: Bearer good\r\n");
    assert_int_equal(r.status, 200);
    assert_string_equal(member(&r, "user_id"), "usr_test");
    reply_dispose(&r);
}

static void test_server_access__lets_the_authenticator_refuse(void **state)
{
    (void)state;
    struct reply r;
    get(&r, "/echo/a/b", "Authorization: Bearer refuse\r\n");
    assert_problem(&r, 403, "csrf_failed");
    reply_dispose(&r);
}

static void test_server_router__answers_404_and_405_with_allow(void **state)
{
    (void)state;
    struct reply r;
    get(&r, "/nowhere", NULL);
    assert_problem(&r, 404, "not_found");
    reply_dispose(&r);
    post(&r, "/query", "application/json", "{}");
    assert_problem(&r, 405, "method_not_allowed");
    char allow[64];
    assert_string_equal(header(&r, "Allow", allow, sizeof(allow)), "GET, HEAD");
    reply_dispose(&r);
}

static void test_server_start__refuses_bad_listen_addresses(void **state)
{
    (void)state;
    const char *bad[] = {"nohost",         "127.0.0.1:", "127.0.0.1:99999", "127.0.0.1:-1",
                         "example.com:80", "[::1:80",    "1.2.3:80"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct http_server_options opts = {.listen = bad[i],
                                           .threads = 1,
                                           .max_connections = 4,
                                           .connection_timeout_seconds = 1,
                                           .max_body_bytes = 1024,
                                           .tables = tables};
        struct http_server *s = (struct http_server *)1;
        struct usher_error err = {0};
        assert_int_equal(http_server_start(&s, &opts, &err), USHER_EINVAL);
        assert_null(s);
        assert_string_equal(err.field, "listen");
    }
}

static void test_server_start__reports_a_port_in_use(void **state)
{
    (void)state;
    char listen[32];
    snprintf(listen, sizeof(listen), "127.0.0.1:%d", server_port);
    struct http_server_options opts = {.listen = listen,
                                       .threads = 1,
                                       .max_connections = 4,
                                       .connection_timeout_seconds = 1,
                                       .max_body_bytes = 1024,
                                       .tables = tables};
    struct http_server *s = NULL;
    struct usher_error err = {0};
    assert_int_equal(http_server_start(&s, &opts, &err), USHER_EUNAVAIL);
    assert_null(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_server_dispatch__passes_params_and_the_route_pattern),
        cmocka_unit_test(test_server_answer__carries_the_security_headers),
        cmocka_unit_test(test_server_answer__may_be_cacheable_only_when_anonymous),
        cmocka_unit_test(test_server_answer__sends_an_empty_204),
        cmocka_unit_test(test_server_query__reads_one_value),
        cmocka_unit_test(test_server_query__refuses_a_repeated_parameter),
        cmocka_unit_test(test_server_query__refuses_an_overlong_value),
        cmocka_unit_test(test_server_query__reads_empty_pairs_as_nothing),
        cmocka_unit_test(test_server_query__refuses_a_parameter_the_route_does_not_read),
        cmocka_unit_test(test_server_json_body__accepts_a_valid_object),
        cmocka_unit_test(test_server_json_body__names_an_unknown_field),
        cmocka_unit_test(test_server_json_body__refuses_bad_bodies),
        cmocka_unit_test(test_server_body__over_the_cap_is_413),
        cmocka_unit_test(test_server_body__chunked_over_the_cap_is_413),
        cmocka_unit_test(test_server_problem__hides_internal_detail),
        cmocka_unit_test(test_server_problem__keeps_a_specific_code_and_field),
        cmocka_unit_test(test_server_access__asks_for_sign_in_on_an_authenticated_route),
        cmocka_unit_test(test_server_access__lets_the_authenticator_refuse),
        cmocka_unit_test(test_server_router__answers_404_and_405_with_allow),
        cmocka_unit_test(test_server_start__refuses_bad_listen_addresses),
        cmocka_unit_test(test_server_start__reports_a_port_in_use),
    };
    return cmocka_run_group_tests(tests, start, stop);
}
