/* Writing JSON as text: strings escaped exactly as jansson's compact dumps escape them (checked
 * against jansson itself), invalid UTF-8 kept valid, integers and decimals, and growth from
 * caller storage to the heap. */
#include "../unit.h"

#include <jansson.h>

#include "base/json_writer.h"

/* The writer's text as a NUL-terminated heap string. */
static char *text_of(const struct json_writer *w)
{
    char *s = malloc(w->len + 1);
    assert_non_null(s);
    memcpy(s, w->data, w->len);
    s[w->len] = '\0';
    return s;
}

static char *written_string(const char *value)
{
    struct json_writer w;
    char storage[16];
    json_writer_init(&w, storage, sizeof(storage));
    json_writer_string(&w, value);
    char *s = text_of(&w);
    json_writer_dispose(&w);
    return s;
}

static void test_json_writer_string__escapes_as_jansson_does(void **state)
{
    (void)state;
    const char *values[] = {
        "",
        "plain text",
        "quote \" and backslash \\ and slash /",
        "controls \b\f\n\r\t \x01 \x1f end",
        "delete \x7f stays",
        "accents caf\xc3\xa9 and \xe2\x82\xac and \xf0\x9f\x98\x80",
        "a long run of ordinary characters that is longer than the writer's sixteen bytes",
    };
    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        json_t *j = json_string(values[i]);
        assert_non_null(j);
        char *expected = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
        char *got = written_string(values[i]);
        assert_string_equal(got, expected);
        free(got);
        free(expected);
        json_decref(j);
    }
}

static void test_json_writer_string__keeps_invalid_utf8_valid_json(void **state)
{
    (void)state;
    const char *bad[] = {"lone \x80 byte", "cut \xc3", "overlong \xc0\xaf",
                         "surrogate \xed\xa0\x80", "past the end \xf4\x90\x80\x80"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char *got = written_string(bad[i]);
        json_error_t err;
        json_t *back = json_loads(got, JSON_DECODE_ANY, &err);
        assert_non_null(back);
        assert_true(json_is_string(back));
        json_decref(back);
        free(got);
    }
    char *got = written_string("a\x80z");
    assert_string_equal(got, "\"a\\u0080z\"");
    free(got);
}

static void test_json_writer_string__writes_null_for_no_string(void **state)
{
    (void)state;
    char *got = written_string(NULL);
    assert_string_equal(got, "null");
    free(got);
}

static void test_json_writer_int__writes_every_int64(void **state)
{
    (void)state;
    const int64_t values[] = {0, 7, -7, 200, 1234567890123LL, INT64_MAX, INT64_MIN};
    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        struct json_writer w;
        json_writer_init(&w, NULL, 0);
        json_writer_int(&w, values[i]);
        char *got = text_of(&w);
        char expected[32];
        snprintf(expected, sizeof(expected), "%lld", (long long)values[i]);
        assert_string_equal(got, expected);
        free(got);
        json_writer_dispose(&w);
    }
}

static void test_json_writer_decimal__writes_fixed_decimals(void **state)
{
    (void)state;
    const struct {
        int64_t units;
        int decimals;
        const char *text;
    } cases[] = {
        {3469, 3, "3.469"},           {5, 3, "0.005"},   {0, 3, "0.000"},
        {1000, 3, "1.000"},           {-42, 2, "-0.42"}, {12, 1, "1.2"},
        {123456789, 6, "123.456789"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct json_writer w;
        json_writer_init(&w, NULL, 0);
        json_writer_decimal(&w, cases[i].units, cases[i].decimals);
        char *got = text_of(&w);
        assert_string_equal(got, cases[i].text);
        json_t *back = json_loads(got, JSON_DECODE_ANY, NULL);
        assert_non_null(back);
        json_decref(back);
        free(got);
        json_writer_dispose(&w);
    }
}

static void test_json_writer__moves_to_the_heap_and_keeps_the_text(void **state)
{
    (void)state;
    char storage[8];
    struct json_writer w;
    json_writer_init(&w, storage, sizeof(storage));
    json_writer_lit(&w, "{\"k\":");
    assert_ptr_equal(w.data, storage);
    for (int i = 0; i < 1000; i++)
        json_writer_int(&w, i);
    json_writer_raw(&w, "}", 1);
    assert_true(w.is_heap);
    assert_memory_equal(w.data, "{\"k\":0123", 9);
    assert_int_equal(w.data[w.len - 1], '}');
    json_writer_dispose(&w);
    assert_null(w.data);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_writer_string__escapes_as_jansson_does),
        cmocka_unit_test(test_json_writer_string__keeps_invalid_utf8_valid_json),
        cmocka_unit_test(test_json_writer_string__writes_null_for_no_string),
        cmocka_unit_test(test_json_writer_int__writes_every_int64),
        cmocka_unit_test(test_json_writer_decimal__writes_fixed_decimals),
        cmocka_unit_test(test_json_writer__moves_to_the_heap_and_keeps_the_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
