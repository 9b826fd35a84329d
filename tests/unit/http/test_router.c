/* The router: literal and {param} patterns, 404 against 405, HEAD served by GET, the Allow
 * list, and several tables searched in order. */
#include "../unit.h"

#include "http/http.h"

static int handler_a(struct http_request *req, struct http_response *res)
{
    (void)req;
    (void)res;
    return 0;
}

static int handler_b(struct http_request *req, struct http_response *res)
{
    (void)req;
    (void)res;
    return 1;
}

static const struct http_route agency_routes[] = {
    {"GET", "/api/v1/agencies", handler_a, HTTP_AUTHENTICATED, NULL},
    {"POST", "/api/v1/agencies", handler_b, HTTP_AUTHENTICATED, NULL},
    {"GET", "/api/v1/agencies/{id}", handler_a, HTTP_AUTHENTICATED, NULL},
    {"GET", "/api/v1/agencies/{id}/environments", handler_a, HTTP_AUTHENTICATED, NULL},
    {"DELETE", "/api/v1/agencies/{id}/users/{user_id}", handler_b, HTTP_AUTHENTICATED, NULL},
    {"PATCH", "/api/v1/agencies/{id}/users/{user_id}", handler_a, HTTP_AUTHENTICATED, NULL},
    {NULL, NULL, NULL, HTTP_PUBLIC, NULL},
};

static const struct http_route session_routes[] = {
    {"POST", "/api/v1/sessions", handler_a, HTTP_PUBLIC, NULL},
    {"DELETE", "/api/v1/sessions/current", handler_b, HTTP_AUTHENTICATED, NULL},
    {"PUT", "/api/v1/agencies/{id}", handler_b, HTTP_AUTHENTICATED, NULL},
    {"GET", "/a/{p1}/{p2}/{p3}/{p4}/{p5}", handler_a, HTTP_PUBLIC, NULL},
    {NULL, NULL, NULL, HTTP_PUBLIC, NULL},
};

static const struct http_route_table agency_table = {"agencies", agency_routes};
static const struct http_route_table session_table = {"sessions", session_routes};
static const struct http_route_table *const tables[] = {&agency_table, &session_table, NULL};

struct match {
    const struct http_route *route;
    const char *params[HTTP_PARAMS_MAX];
    size_t count;
    bool mismatch;
};

static struct match match(struct arena *a, const char *method, const char *path)
{
    struct match m;
    memset(&m, 0, sizeof(m));
    m.count = 99;
    m.route = http_route_match(tables, method, path, m.params, &m.count, a, &m.mismatch);
    return m;
}

static void test_router_match__finds_a_literal_route(void **state)
{
    (void)state;
    struct arena a;
    arena_init(&a);
    struct match m = match(&a, "GET", "/api/v1/agencies");
    assert_non_null(m.route);
    assert_ptr_equal(m.route, &agency_routes[0]);
    assert_int_equal(m.count, 0);
    m = match(&a, "POST", "/api/v1/agencies");
    assert_ptr_equal(m.route, &agency_routes[1]);
    assert_ptr_equal(m.route->handler, handler_b);
    arena_dispose(&a);
}

static void test_router_match__captures_params_in_order(void **state)
{
    (void)state;
    struct arena a;
    arena_init(&a);
    struct match m = match(&a, "GET", "/api/v1/agencies/agy_123");
    assert_ptr_equal(m.route, &agency_routes[2]);
    assert_int_equal(m.count, 1);
    assert_string_equal(m.params[0], "agy_123");
    m = match(&a, "GET", "/api/v1/agencies/agy_9/environments");
    assert_ptr_equal(m.route, &agency_routes[3]);
    assert_string_equal(m.params[0], "agy_9");
    m = match(&a, "DELETE", "/api/v1/agencies/agy_1/users/usr_2");
    assert_ptr_equal(m.route, &agency_routes[4]);
    assert_int_equal(m.count, 2);
    assert_string_equal(m.params[0], "agy_1");
    assert_string_equal(m.params[1], "usr_2");
    arena_dispose(&a);
}

static void test_router_match__answers_404_for_an_unknown_path(void **state)
{
    (void)state;
    struct arena a;
    arena_init(&a);
    const char *paths[] = {
        "/",
        "/api/v1",
        "/api/v1/agency",
        "/api/v1/agenciesx",
        "/api/v1/agencies/",              /* empty {id} */
        "/api/v1/agencies//environments", /* empty {id} */
        "/api/v1/agencies/a/b",           /* {id} holds one segment only */
        "/api/v1/agencies/a/environments/",
        "/API/V1/AGENCIES",
        "",
    };
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        struct match m = match(&a, "GET", paths[i]);
        if (m.route)
            fail_msg("%s matched", paths[i]);
        assert_false(m.mismatch);
        assert_int_equal(m.count, 0);
    }
    arena_dispose(&a);
}

static void test_router_match__answers_405_for_a_known_path_with_another_method(void **state)
{
    (void)state;
    struct arena a;
    arena_init(&a);
    struct match m = match(&a, "DELETE", "/api/v1/agencies");
    assert_null(m.route);
    assert_true(m.mismatch);
    m = match(&a, "GET", "/api/v1/sessions/current");
    assert_null(m.route);
    assert_true(m.mismatch);
    m = match(&a, "get", "/api/v1/agencies");
    assert_null(m.route);
    assert_true(m.mismatch);
    arena_dispose(&a);
}

static void test_router_match__searches_later_tables_for_the_method(void **state)
{
    (void)state;
    struct arena a;
    arena_init(&a);
    /* The first table knows the path with GET only; the second has PUT. */
    struct match m = match(&a, "PUT", "/api/v1/agencies/agy_7");
    assert_ptr_equal(m.route, &session_routes[2]);
    assert_string_equal(m.params[0], "agy_7");
    m = match(&a, "POST", "/api/v1/sessions");
    assert_ptr_equal(m.route, &session_routes[0]);
    arena_dispose(&a);
}

static void test_router_match__serves_head_with_the_get_route(void **state)
{
    (void)state;
    struct arena a;
    arena_init(&a);
    struct match m = match(&a, "HEAD", "/api/v1/agencies/agy_1");
    assert_ptr_equal(m.route, &agency_routes[2]);
    m = match(&a, "HEAD", "/api/v1/sessions");
    assert_null(m.route);
    assert_true(m.mismatch);
    arena_dispose(&a);
}

static void test_router_match__refuses_more_params_than_the_cap(void **state)
{
    (void)state;
    struct arena a;
    arena_init(&a);
    struct match m = match(&a, "GET", "/a/1/2/3/4/5");
    assert_null(m.route);
    arena_dispose(&a);
}

static void test_router_match__keeps_params_verbatim(void **state)
{
    (void)state;
    struct arena a;
    arena_init(&a);
    struct match m = match(&a, "GET", "/api/v1/agencies/%41%20b?c=d");
    assert_non_null(m.route);
    assert_string_equal(m.params[0], "%41%20b?c=d");
    arena_dispose(&a);
}

static void test_router_allow__lists_the_methods_of_a_path(void **state)
{
    (void)state;
    struct arena a;
    arena_init(&a);
    assert_string_equal(http_route_allow(tables, "/api/v1/agencies", &a), "GET, POST, HEAD");
    assert_string_equal(http_route_allow(tables, "/api/v1/agencies/x", &a), "GET, PUT, HEAD");
    assert_string_equal(http_route_allow(tables, "/api/v1/agencies/x/users/y", &a),
                        "DELETE, PATCH");
    assert_string_equal(http_route_allow(tables, "/api/v1/sessions", &a), "POST");
    assert_null(http_route_allow(tables, "/nowhere", &a));
    arena_dispose(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_router_match__finds_a_literal_route),
        cmocka_unit_test(test_router_match__captures_params_in_order),
        cmocka_unit_test(test_router_match__answers_404_for_an_unknown_path),
        cmocka_unit_test(test_router_match__answers_405_for_a_known_path_with_another_method),
        cmocka_unit_test(test_router_match__searches_later_tables_for_the_method),
        cmocka_unit_test(test_router_match__serves_head_with_the_get_route),
        cmocka_unit_test(test_router_match__refuses_more_params_than_the_cap),
        cmocka_unit_test(test_router_match__keeps_params_verbatim),
        cmocka_unit_test(test_router_allow__lists_the_methods_of_a_path),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
