/* The flat-object reader: what it reads must be read the same way by jansson, and anything
 * outside its subset (escapes, other types, nesting, bad syntax, other bytes) must be left to
 * the full parser rather than misread. */
#include "../unit.h"

#include <jansson.h>

#include "base/json_flat.h"

static bool read_whole(struct json_flat_member *m, size_t max, size_t *count, const char *text)
{
    size_t len = strlen(text), pos = 0;
    return json_flat_object(m, max, count, text, len, &pos) &&
           json_flat_space(text, len, pos) == len;
}

static void test_json_flat_object__reads_what_jansson_reads(void **state)
{
    (void)state;
    const char *bodies[] = {
        "{}",
        "{\"user_id\":\"usr_1\",\"permission\":\"crm.read\",\"environment_id\":\"env_2\"}",
        " \t\r\n{ \"a\" : \"x y\" ,\n\"b\":\"\" } \n",
        "{\"odd\":\"[]{}:,'~`!@#$%^&*()_+=-|;<>?/\"}",
    };
    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        struct json_flat_member m[8];
        size_t count = 0;
        assert_true(read_whole(m, 8, &count, bodies[i]));
        json_t *j = json_loads(bodies[i], JSON_REJECT_DUPLICATES, NULL);
        assert_non_null(j);
        assert_int_equal(count, json_object_size(j));
        for (size_t k = 0; k < count; k++) {
            char key[64];
            snprintf(key, sizeof(key), "%.*s", (int)m[k].key_len, m[k].key);
            json_t *v = json_object_get(j, key);
            assert_non_null(v);
            assert_int_equal(json_string_length(v), m[k].value_len);
            assert_memory_equal(json_string_value(v), m[k].value, m[k].value_len);
        }
        json_decref(j);
    }
}

static void test_json_flat_object__leaves_everything_else_to_the_full_parser(void **state)
{
    (void)state;
    const char *bodies[] = {
        "",
        "[]",
        "{",
        "{\"a\"}",
        "{\"a\":}",
        "{\"a\":\"x\",}",
        "{\"a\":\"x\" \"b\":\"y\"}",
        "{\"a\":1}",
        "{\"a\":null}",
        "{\"a\":true}",
        "{\"a\":{}}",
        "{\"a\":[\"x\"]}",
        "{\"a\":\"esc\\\"aped\"}",
        "{\"u\\u0073er_id\":\"x\"}",
        "{\"a\":\"tab\there\"}",
        "{\"a\":\"caf\xc3\xa9\"}",
        "{\"a\":\"del\x7f\"}",
        "{'a':'x'}",
        "{\"a\":\"x\"} trailing",
        "{\"a\":\"x\"}{}",
        "{\"a\":\"unterminated}",
    };
    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        struct json_flat_member m[8];
        size_t count = 0;
        if (read_whole(m, 8, &count, bodies[i]))
            fail_msg("read %s as flat", bodies[i]);
    }
}

static void test_json_flat_object__stops_at_max_members(void **state)
{
    (void)state;
    struct json_flat_member m[2];
    size_t count = 0;
    assert_true(read_whole(m, 2, &count, "{\"a\":\"1\",\"b\":\"2\"}"));
    assert_int_equal(count, 2);
    assert_false(read_whole(m, 2, &count, "{\"a\":\"1\",\"b\":\"2\",\"c\":\"3\"}"));
}

static void test_json_flat_key_and_char__walk_an_envelope(void **state)
{
    (void)state;
    const char *text = " { \"checks\" : [ {\"a\":\"1\"} , {\"b\":\"2\"} ] } ";
    size_t len = strlen(text), pos = 0, count = 0;
    struct json_flat_member m[4];
    assert_true(json_flat_char('{', text, len, &pos));
    assert_false(json_flat_key("check", text, len, &(size_t){pos}));
    assert_true(json_flat_key("checks", text, len, &pos));
    assert_true(json_flat_char('[', text, len, &pos));
    assert_true(json_flat_object(m, 4, &count, text, len, &pos));
    assert_int_equal(count, 1);
    assert_true(json_flat_char(',', text, len, &pos));
    assert_true(json_flat_object(m, 4, &count, text, len, &pos));
    assert_memory_equal(m[0].key, "b", 1);
    assert_true(json_flat_char(']', text, len, &pos));
    assert_true(json_flat_char('}', text, len, &pos));
    assert_int_equal(json_flat_space(text, len, pos), len);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_flat_object__reads_what_jansson_reads),
        cmocka_unit_test(test_json_flat_object__leaves_everything_else_to_the_full_parser),
        cmocka_unit_test(test_json_flat_object__stops_at_max_members),
        cmocka_unit_test(test_json_flat_key_and_char__walk_an_envelope),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
