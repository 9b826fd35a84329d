/* Strict JSON input: one object per body, no duplicate keys, a depth cap, unknown fields and
 * wrong types refused with the field named, and instants as JSON. */
#include "../unit.h"

#include "base/arena.h"
#include "base/error.h"
#include "base/json.h"

static int parse(json_t **out, const char *text, struct usher_error *err)
{
    usher_error_clear(err);
    return json_body_parse(out, text, text ? strlen(text) : 0, err);
}

/* An object holding `levels` nested arrays: {"a":[[...]]}. */
static char *nested(int levels)
{
    size_t len = (size_t)levels * 2 + 16;
    char *s = malloc(len);
    assert_non_null(s);
    size_t n = (size_t)snprintf(s, len, "{\"a\":");
    for (int i = 0; i < levels; i++)
        s[n++] = '[';
    for (int i = 0; i < levels; i++)
        s[n++] = ']';
    s[n++] = '}';
    s[n] = '\0';
    return s;
}

static void test_json_body__parses_one_object(void **state)
{
    (void)state;
    struct usher_error err;
    json_t *v = NULL;
    assert_int_equal(parse(&v, "{\"name\":\"Acme\",\"n\":3,\"ok\":true,\"list\":[1,2]}", &err), 0);
    assert_true(json_is_object(v));
    assert_string_equal(json_string_value(json_object_get(v, "name")), "Acme");
    json_decref(v);
    assert_int_equal(parse(&v, " \n{}\n ", &err), 0);
    json_decref(v);
}

static void test_json_body__refuses_empty_and_non_objects(void **state)
{
    (void)state;
    struct usher_error err;
    json_t *v = (json_t *)1;
    assert_int_equal(parse(&v, NULL, &err), USHER_EINVAL);
    assert_null(v);
    assert_string_equal(err.message, "request body must be a JSON object");
    assert_int_equal(parse(&v, "", &err), USHER_EINVAL);
    const char *not_objects[] = {"[]", "[{}]", "\"text\"", "1", "true", "null"};
    for (size_t i = 0; i < sizeof(not_objects) / sizeof(not_objects[0]); i++) {
        assert_int_equal(parse(&v, not_objects[i], &err), USHER_EINVAL);
        assert_null(v);
        assert_string_equal(err.message, "request body must be a JSON object");
    }
}

static void test_json_body__refuses_malformed_text(void **state)
{
    (void)state;
    struct usher_error err;
    json_t *v = NULL;
    const char *bad[] = {"{",
                         "{\"a\":}",
                         "{'a':1}",
                         "{\"a\":1,}",
                         "{} {}",
                         "{} x",
                         "{\"a\":\"\\u0000\"}",
                         "{\"a\":\"\xC0\xAF\"}",
                         "{\"a\":NaN}"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(parse(&v, bad[i], &err), USHER_EINVAL);
        assert_null(v);
        assert_string_equal(err.problem, "invalid_input");
    }
    assert_int_equal(parse(&v, "{\n  \"a\": ,\n}", &err), USHER_EINVAL);
    assert_string_equal(err.message, "malformed JSON at line 2 column 8");
}

static void test_json_body__refuses_duplicate_keys(void **state)
{
    (void)state;
    struct usher_error err;
    json_t *v = NULL;
    assert_int_equal(parse(&v, "{\"email\":\"a@x.io\",\"email\":\"b@x.io\"}", &err), USHER_EINVAL);
    assert_null(v);
    assert_int_equal(parse(&v, "{\"g\":{\"r\":1,\"r\":2}}", &err), USHER_EINVAL);
    assert_null(v);
}

static void test_json_body__caps_the_depth(void **state)
{
    (void)state;
    struct usher_error err;
    json_t *v = NULL;
    char *ok = nested(JSON_DEPTH_MAX);
    assert_int_equal(parse(&v, ok, &err), 0);
    json_decref(v);
    free(ok);
    char *deep = nested(JSON_DEPTH_MAX + 1);
    assert_int_equal(parse(&v, deep, &err), USHER_EINVAL);
    assert_null(v);
    assert_string_equal(err.message, "request body is nested too deeply");
    free(deep);
    /* Far past the cap: refused, without exhausting the stack. */
    char *abyss = nested(200000);
    assert_int_equal(parse(&v, abyss, &err), USHER_EINVAL);
    assert_null(v);
    free(abyss);
}

static void test_json_fields__names_the_unknown_field(void **state)
{
    (void)state;
    struct usher_error err;
    json_t *v = NULL;
    static const char *const allowed[] = {"email", "password", NULL};
    assert_int_equal(parse(&v, "{\"email\":\"a@x.io\",\"password\":\"p\"}", &err), 0);
    assert_int_equal(json_fields_check(v, allowed, NULL, &err), 0);
    json_decref(v);

    assert_int_equal(parse(&v, "{\"email\":\"a@x.io\",\"is_admin\":true}", &err), 0);
    assert_int_equal(json_fields_check(v, allowed, NULL, &err), USHER_EINVAL);
    assert_string_equal(err.field, "is_admin");
    assert_string_equal(err.message, "unknown field is_admin");
    assert_string_equal(err.problem, "invalid_input");
    json_decref(v);
}

static void test_json_fields__prefixes_the_enclosing_path(void **state)
{
    (void)state;
    struct usher_error err;
    json_t *v = NULL;
    static const char *const allowed[] = {"roles", NULL};
    assert_int_equal(parse(&v, "{\"roles\":[],\"agency_id\":\"x\"}", &err), 0);
    assert_int_equal(json_fields_check(v, allowed, "grants[0]", &err), USHER_EINVAL);
    assert_string_equal(err.field, "grants[0].agency_id");
    json_decref(v);
}

static void test_json_fields__refuses_everything_when_nothing_is_allowed(void **state)
{
    (void)state;
    struct usher_error err;
    json_t *v = NULL;
    static const char *const none[] = {NULL};
    assert_int_equal(parse(&v, "{}", &err), 0);
    assert_int_equal(json_fields_check(v, none, NULL, &err), 0);
    json_decref(v);
    assert_int_equal(parse(&v, "{\"x\":1}", &err), 0);
    assert_int_equal(json_fields_check(v, none, NULL, &err), USHER_EINVAL);
    assert_string_equal(err.field, "x");
    json_decref(v);
}

static void test_json_string__reads_and_names_wrong_types(void **state)
{
    (void)state;
    struct usher_error err;
    json_t *v = NULL;
    assert_int_equal(
        parse(&v, "{\"s\":\"text\",\"n\":5,\"b\":true,\"z\":null,\"a\":[\"x\"],\"o\":{}}", &err),
        0);
    const char *out = NULL;
    assert_int_equal(json_member_string(&out, v, "s", true, 100, &err), 0);
    assert_string_equal(out, "text");
    const char *wrong[] = {"n", "b", "a", "o"};
    for (size_t i = 0; i < 4; i++) {
        usher_error_clear(&err);
        out = "unchanged";
        assert_int_equal(json_member_string(&out, v, wrong[i], false, 100, &err), USHER_EINVAL);
        assert_null(out);
        assert_string_equal(err.field, wrong[i]);
        char expect[64];
        snprintf(expect, sizeof(expect), "%s must be a string", wrong[i]);
        assert_string_equal(err.message, expect);
    }
    json_decref(v);
}

static void test_json_string__treats_missing_and_null_alike(void **state)
{
    (void)state;
    struct usher_error err;
    json_t *v = NULL;
    assert_int_equal(parse(&v, "{\"z\":null}", &err), 0);
    const char *out = "unchanged";
    assert_int_equal(json_member_string(&out, v, "missing", false, 10, &err), 0);
    assert_null(out);
    assert_int_equal(json_member_string(&out, v, "z", false, 10, &err), 0);
    assert_null(out);
    assert_int_equal(json_member_string(&out, v, "z", true, 10, &err), USHER_EINVAL);
    assert_string_equal(err.field, "z");
    assert_string_equal(err.message, "z is required");
    usher_error_clear(&err);
    assert_int_equal(json_member_string(&out, v, "missing", true, 10, &err), USHER_EINVAL);
    assert_string_equal(err.field, "missing");
    json_decref(v);
}

static void test_json_string__caps_the_length_in_bytes(void **state)
{
    (void)state;
    struct usher_error err;
    json_t *v = NULL;
    assert_int_equal(parse(&v, "{\"s\":\"abcde\",\"u\":\"\xC3\xA9\xC3\xA9\xC3\xA9\"}", &err), 0);
    const char *out = NULL;
    assert_int_equal(json_member_string(&out, v, "s", true, 5, &err), 0);
    assert_int_equal(json_member_string(&out, v, "s", true, 4, &err), USHER_EINVAL);
    assert_string_equal(err.message, "s must be at most 4 bytes");
    usher_error_clear(&err);
    assert_int_equal(json_member_string(&out, v, "u", true, 5, &err), USHER_EINVAL);
    assert_int_equal(json_member_string(&out, v, "u", true, 6, &err), 0);
    json_decref(v);
}

static void test_json_bool__reads_and_names_wrong_types(void **state)
{
    (void)state;
    struct usher_error err;
    json_t *v = NULL;
    assert_int_equal(parse(&v, "{\"t\":true,\"f\":false,\"s\":\"true\",\"n\":1}", &err), 0);
    bool b = false;
    assert_int_equal(json_member_bool(&b, v, "t", true, &err), 0);
    assert_true(b);
    assert_int_equal(json_member_bool(&b, v, "f", true, &err), 0);
    assert_false(b);
    b = true;
    assert_int_equal(json_member_bool(&b, v, "missing", false, &err), 0);
    assert_true(b);
    assert_int_equal(json_member_bool(&b, v, "s", false, &err), USHER_EINVAL);
    assert_string_equal(err.field, "s");
    assert_string_equal(err.message, "s must be a boolean");
    usher_error_clear(&err);
    assert_int_equal(json_member_bool(&b, v, "n", false, &err), USHER_EINVAL);
    assert_string_equal(err.field, "n");
    usher_error_clear(&err);
    assert_int_equal(json_member_bool(&b, v, "missing", true, &err), USHER_EINVAL);
    assert_string_equal(err.message, "missing is required");
    json_decref(v);
}

static void test_json_int__reads_within_range_and_names_wrong_types(void **state)
{
    (void)state;
    struct usher_error err;
    json_t *v = NULL;
    assert_int_equal(
        parse(&v, "{\"i\":604800,\"neg\":-1,\"real\":5.0,\"s\":\"5\",\"big\":9999999999}", &err),
        0);
    int64_t out = 7;
    bool present = false;
    assert_int_equal(json_member_int(&out, &present, v, "i", true, 1, 2592000, &err), 0);
    assert_int_equal(out, 604800);
    assert_true(present);
    out = 7;
    assert_int_equal(json_member_int(&out, &present, v, "missing", false, 1, 10, &err), 0);
    assert_int_equal(out, 7);
    assert_false(present);
    assert_int_equal(json_member_int(&out, NULL, v, "neg", false, 1, 10, &err), USHER_EINVAL);
    assert_string_equal(err.field, "neg");
    assert_string_equal(err.message, "neg must be between 1 and 10");
    assert_int_equal(out, 7);
    usher_error_clear(&err);
    assert_int_equal(json_member_int(&out, &present, v, "big", false, 1, 2592000, &err),
                     USHER_EINVAL);
    assert_false(present);
    const char *wrong[] = {"real", "s"};
    for (size_t i = 0; i < 2; i++) {
        usher_error_clear(&err);
        assert_int_equal(json_member_int(&out, NULL, v, wrong[i], false, 0, 10, &err),
                         USHER_EINVAL);
        assert_string_equal(err.field, wrong[i]);
        char expect[64];
        snprintf(expect, sizeof(expect), "%s must be an integer", wrong[i]);
        assert_string_equal(err.message, expect);
    }
    json_decref(v);
}

static void test_json_dump__is_compact_and_keeps_key_order(void **state)
{
    (void)state;
    json_t *v = json_pack("{s:s, s:i, s:[i,i]}", "zeta", "last", "alpha", 1, "list", 1, 2);
    char *text = json_dump_compact(v);
    assert_string_equal(text, "{\"zeta\":\"last\",\"alpha\":1,\"list\":[1,2]}");
    free(text);
    json_decref(v);
    json_t *s = json_string("bare");
    text = json_dump_compact(s);
    assert_string_equal(text, "\"bare\"");
    free(text);
    json_decref(s);
}

static void test_json_time__formats_utc_milliseconds_and_null_when_unset(void **state)
{
    (void)state;
    struct arena a;
    arena_init(&a);
    json_t *t = json_time_ms(&a, INT64_C(1714555800123));
    assert_true(json_is_string(t));
    assert_string_equal(json_string_value(t), "2024-05-01T09:30:00.123Z");
    json_decref(t);
    json_t *none = json_time_ms(&a, 0);
    assert_true(json_is_null(none));
    json_decref(none);
    none = json_time_ms(&a, -5);
    assert_true(json_is_null(none));
    json_decref(none);
    arena_dispose(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_body__parses_one_object),
        cmocka_unit_test(test_json_body__refuses_empty_and_non_objects),
        cmocka_unit_test(test_json_body__refuses_malformed_text),
        cmocka_unit_test(test_json_body__refuses_duplicate_keys),
        cmocka_unit_test(test_json_body__caps_the_depth),
        cmocka_unit_test(test_json_fields__names_the_unknown_field),
        cmocka_unit_test(test_json_fields__prefixes_the_enclosing_path),
        cmocka_unit_test(test_json_fields__refuses_everything_when_nothing_is_allowed),
        cmocka_unit_test(test_json_string__reads_and_names_wrong_types),
        cmocka_unit_test(test_json_string__treats_missing_and_null_alike),
        cmocka_unit_test(test_json_string__caps_the_length_in_bytes),
        cmocka_unit_test(test_json_bool__reads_and_names_wrong_types),
        cmocka_unit_test(test_json_int__reads_within_range_and_names_wrong_types),
        cmocka_unit_test(test_json_dump__is_compact_and_keeps_key_order),
        cmocka_unit_test(test_json_time__formats_utc_milliseconds_and_null_when_unset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
