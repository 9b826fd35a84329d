/* The console's file server: exact files, index.html for the console's own paths, caching and
 * security headers, refusals for the API and missing assets; and the server's fallback that
 * sends unrouted GET and HEAD requests there without authenticating them, over real sockets. */
#include "../unit.h"

#include <arpa/inet.h>
#include <strings.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "base/log.h"
#include "http/static.h"

static const unsigned char index_html[] = "<!doctype html><div id=app></div>";
static const unsigned char app_js[] = "console.log(1)";
static const unsigned char icon_svg[] = "<svg/>";

static const struct http_static_file files[] = {
    {"/assets/index-AbCd1234.js", app_js, sizeof(app_js) - 1},
    {"/favicon.svg", icon_svg, sizeof(icon_svg) - 1},
    {"/index.html", index_html, sizeof(index_html) - 1},
    {NULL, NULL, 0},
};

static const struct http_static_file no_files[] = {{NULL, NULL, 0}};

/* --- the handler on its own ---------------------------------------------------------------- */

struct answer {
    struct http_request req;
    struct http_response res;
    int rc;
};

static void answer(struct answer *a, const struct http_static_file *table, const char *path)
{
    memset(a, 0, sizeof(*a));
    arena_init(&a->req.arena);
    a->req.method = "GET";
    a->req.path = path;
    a->rc = http_static_answer(&a->req, &a->res, table);
}

static void answer_dispose(struct answer *a)
{
    arena_dispose(&a->req.arena);
}

static const char *res_header(const struct http_response *res, const char *name)
{
    for (size_t i = 0; i < res->header_count; i++) {
        if (strcasecmp(res->headers[i].name, name) == 0)
            return res->headers[i].value;
    }
    return NULL;
}

static void test_static_answer__serves_a_hashed_asset_for_a_year(void **state)
{
    (void)state;
    struct answer a;
    answer(&a, files, "/assets/index-AbCd1234.js");
    assert_int_equal(a.rc, 0);
    assert_int_equal(a.res.status, 200);
    assert_true(a.res.is_cacheable);
    assert_string_equal(a.res.content_type, "text/javascript; charset=utf-8");
    assert_int_equal(a.res.body_len, sizeof(app_js) - 1);
    assert_memory_equal(a.res.body, app_js, a.res.body_len);
    assert_string_equal(res_header(&a.res, "Cache-Control"), "public, max-age=31536000, immutable");
    assert_string_equal(res_header(&a.res, "Content-Security-Policy"), HTTP_STATIC_CSP);
    answer_dispose(&a);
}

static void test_static_answer__serves_index_for_the_consoles_paths(void **state)
{
    (void)state;
    const char *paths[] = {"/", "/signin", "/invitations/accept", "/agencies/agy_1/users/usr_2",
                           "/index.html"};
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        struct answer a;
        answer(&a, files, paths[i]);
        assert_int_equal(a.rc, 0);
        assert_string_equal(a.res.content_type, "text/html; charset=utf-8");
        assert_memory_equal(a.res.body, index_html, sizeof(index_html) - 1);
        assert_string_equal(res_header(&a.res, "Cache-Control"), "no-cache");
        assert_string_equal(res_header(&a.res, "Content-Security-Policy"), HTTP_STATIC_CSP);
        assert_string_equal(res_header(&a.res, "X-Frame-Options"), "DENY");
        answer_dispose(&a);
    }
}

static void test_static_answer__asks_again_for_files_outside_assets(void **state)
{
    (void)state;
    struct answer a;
    answer(&a, files, "/favicon.svg");
    assert_int_equal(a.rc, 0);
    assert_string_equal(a.res.content_type, "image/svg+xml");
    assert_string_equal(res_header(&a.res, "Cache-Control"), "no-cache");
    answer_dispose(&a);
}

static void test_static_answer__refuses_the_api_missing_assets_and_file_names(void **state)
{
    (void)state;
    const char *paths[] = {"/api/v1/agencies", "/api", "/assets/gone-00000000.js", "/robots.txt",
                           "/agencies/x.json"};
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        struct answer a;
        answer(&a, files, paths[i]);
        assert_int_equal(a.rc, USHER_ENOTFOUND);
        assert_int_equal(a.req.err.code, USHER_ENOTFOUND);
        assert_int_equal(a.res.header_count, 0);
        answer_dispose(&a);
    }
}

static void test_static_answer__says_when_the_build_has_no_console(void **state)
{
    (void)state;
    struct answer a;
    answer(&a, no_files, "/");
    assert_int_equal(a.rc, USHER_ENOTFOUND);
    assert_non_null(strstr(a.req.err.message, "no web console"));
    answer_dispose(&a);
}

static void test_static_content_type__maps_extensions(void **state)
{
    (void)state;
    assert_string_equal(http_static_content_type("/a/b.CSS"), "text/css; charset=utf-8");
    assert_string_equal(http_static_content_type("/x.woff2"), "font/woff2");
    assert_string_equal(http_static_content_type("/x.png"), "image/png");
    assert_string_equal(http_static_content_type("/noext"), "application/octet-stream");
    assert_string_equal(http_static_content_type("/dir.d/noext"), "application/octet-stream");
}

static void test_static_files__hold_the_built_console_or_nothing(void **state)
{
    (void)state;
    /* The generated table ends with its terminator and, when it holds files, index.html. */
    size_t n = 0;
    while (http_static_files[n].path)
        n++;
    if (n > 0)
        assert_non_null(http_static_find(http_static_files, "/index.html"));
}

/* --- the server's fallback, over sockets ------------------------------------------------------ */

static int authenticated_count;

static int authenticate(struct http_request *req)
{
    (void)req;
    authenticated_count++;
    return 0;
}

static int route_ping(struct http_request *req, struct http_response *res)
{
    http_response_text(res, req, 200, "text/plain", "pong", 4);
    return 0;
}

static int fallback(struct http_request *req, struct http_response *res)
{
    return http_static_answer(req, res, files);
}

static const struct http_route routes[] = {
    {"GET", "/api/v1/ping", route_ping, HTTP_PUBLIC, NULL},
    {NULL, NULL, NULL, HTTP_PUBLIC, NULL},
};
static const struct http_route_table table = {"test", routes};
static const struct http_route_table *const tables[] = {&table, NULL};

static int server_port;

/* Sends one request (with Connection: close) and reads the whole answer into out. */
static int call(char *out, size_t size, const char *method, const char *path)
{
    char request[512];
    int n = snprintf(request, sizeof(request),
                     "%s %s HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                     method, path);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)server_port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
    assert_int_equal(send(fd, request, (size_t)n, MSG_NOSIGNAL), n);
    size_t got = 0;
    for (;;) {
        ssize_t r = recv(fd, out + got, size - 1 - got, 0);
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    out[got] = '\0';
    int status = 0;
    assert_int_equal(sscanf(out, "HTTP/1.1 %d", &status), 1);
    return status;
}

static void test_server_fallback__serves_unrouted_gets_without_authenticating(void **state)
{
    (void)state;
    struct http_server *server = NULL;
    struct usher_error err = {0};
    struct http_server_options opts = {
        .listen = "127.0.0.1:0",
        .threads = 1,
        .max_connections = 16,
        .connection_timeout_seconds = 5,
        .max_body_bytes = 1024,
        .tables = tables,
        .authenticate = authenticate,
        .fallback = fallback,
    };
    assert_int_equal(http_server_start(&server, &opts, &err), 0);
    server_port = http_server_port(server);
    char buf[8192];

    authenticated_count = 0;
    assert_int_equal(call(buf, sizeof(buf), "GET", "/agencies/agy_1"), 200);
    assert_non_null(strstr(buf, "<div id=app>"));
    assert_non_null(strstr(buf, "Content-Security-Policy: default-src 'self'; script-src 'self'"));
    assert_non_null(strstr(buf, "Cache-Control: no-cache"));
    assert_null(strstr(buf, "no-store"));
    assert_int_equal(call(buf, sizeof(buf), "HEAD", "/assets/index-AbCd1234.js"), 200);
    assert_null(strstr(buf, "console.log"));
    assert_int_equal(authenticated_count, 0);

    /* Routes still win, unsafe methods are not pages, and missing files are problems. */
    assert_int_equal(call(buf, sizeof(buf), "GET", "/api/v1/ping"), 200);
    assert_int_equal(authenticated_count, 1);
    assert_int_equal(call(buf, sizeof(buf), "POST", "/agencies"), 404);
    assert_non_null(strstr(buf, "application/problem+json"));
    assert_int_equal(call(buf, sizeof(buf), "GET", "/assets/missing-1.js"), 404);
    assert_non_null(strstr(buf, "Cache-Control: no-store"));
    assert_non_null(strstr(buf, "default-src 'none'"));
    assert_int_equal(call(buf, sizeof(buf), "POST", "/api/v1/ping"), 405);

    http_server_stop(server, 1000);
}

int main(void)
{
    log_set_level(LOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_static_answer__serves_a_hashed_asset_for_a_year),
        cmocka_unit_test(test_static_answer__serves_index_for_the_consoles_paths),
        cmocka_unit_test(test_static_answer__asks_again_for_files_outside_assets),
        cmocka_unit_test(test_static_answer__refuses_the_api_missing_assets_and_file_names),
        cmocka_unit_test(test_static_answer__says_when_the_build_has_no_console),
        cmocka_unit_test(test_static_content_type__maps_extensions),
        cmocka_unit_test(test_static_files__hold_the_built_console_or_nothing),
        cmocka_unit_test(test_server_fallback__serves_unrouted_gets_without_authenticating),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
