/* The JSON-lines logger: one object per line with ts, level and event, level filtering, and
 * whole lines under concurrent writers. */
#include "../unit.h"

#include <jansson.h>
#include <pthread.h>

#include "base/error.h"
#include "base/log.h"

struct fixture {
    FILE *file;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    f->file = tmpfile();
    if (!f->file)
        return -1;
    log_set_fd(fileno(f->file));
    log_set_level(LOG_INFO);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    log_set_fd(2);
    log_set_level(LOG_INFO);
    fclose(f->file);
    free(f);
    return 0;
}

/* Reads every line written so far; returns them as a JSON array of parsed objects. */
static json_t *lines(struct fixture *f)
{
    json_t *all = json_array();
    rewind(f->file);
    char buf[8192];
    while (fgets(buf, sizeof(buf), f->file)) {
        size_t len = strlen(buf);
        assert_true(len > 0 && buf[len - 1] == '\n');
        json_error_t jerr;
        json_t *v = json_loads(buf, 0, &jerr);
        if (!v)
            fail_msg("not JSON: %s", buf);
        json_array_append_new(all, v);
    }
    return all;
}

static void test_log_msg__writes_one_json_object_per_line(void **state)
{
    struct fixture *f = *state;
    log_msg(LOG_INFO, "test.event", "{s:s, s:i, s:b}", "name", "value", "count", 3, "ok", 1);
    log_msg(LOG_WARN, "test.bare", NULL);
    json_t *all = lines(f);
    assert_int_equal(json_array_size(all), 2);
    json_t *first = json_array_get(all, 0);
    assert_string_equal(json_string_value(json_object_get(first, "event")), "test.event");
    assert_string_equal(json_string_value(json_object_get(first, "level")), "info");
    assert_string_equal(json_string_value(json_object_get(first, "name")), "value");
    assert_int_equal(json_integer_value(json_object_get(first, "count")), 3);
    assert_true(json_is_true(json_object_get(first, "ok")));
    const char *ts = json_string_value(json_object_get(first, "ts"));
    assert_non_null(ts);
    assert_int_equal(strlen(ts), 24); /* 2026-11-26T06:53:09.608Z */
    assert_int_equal(ts[10], 'T');
    assert_int_equal(ts[23], 'Z');
    json_t *second = json_array_get(all, 1);
    assert_string_equal(json_string_value(json_object_get(second, "level")), "warn");
    assert_int_equal(json_object_size(second), 3);
    json_decref(all);
}

static void test_log_msg__escapes_hostile_text(void **state)
{
    struct fixture *f = *state;
    log_msg(LOG_INFO, "test.escape", "{s:s}", "text", "line\nbreak \"quoted\" \x01");
    json_t *all = lines(f);
    assert_int_equal(json_array_size(all), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(all, 0), "text")),
                        "line\nbreak \"quoted\" \x01");
    json_decref(all);
}

static void test_log_msg__rounds_reals_to_six_digits(void **state)
{
    struct fixture *f = *state;
    log_msg(LOG_INFO, "test.real", "{s:f}", "duration_ms", 0.050695999999999998);
    rewind(f->file);
    char buf[512];
    assert_non_null(fgets(buf, sizeof(buf), f->file));
    assert_non_null(strstr(buf, "\"duration_ms\":0.050696,"));
}

static void test_log_msg__skips_levels_below_the_minimum(void **state)
{
    struct fixture *f = *state;
    log_set_level(LOG_WARN);
    log_msg(LOG_DEBUG, "test.debug", NULL);
    log_msg(LOG_INFO, "test.info", NULL);
    log_msg(LOG_WARN, "test.warn", NULL);
    log_msg(LOG_ERROR, "test.error", NULL);
    json_t *all = lines(f);
    assert_int_equal(json_array_size(all), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(all, 0), "event")),
                        "test.warn");
    json_decref(all);
}

static void test_log_msg__writes_long_lines_whole(void **state)
{
    struct fixture *f = *state;
    char *big = malloc(5000);
    memset(big, 'x', 4999);
    big[4999] = '\0';
    log_msg(LOG_INFO, "test.long", "{s:s}", "text", big);
    json_t *all = lines(f);
    assert_int_equal(json_array_size(all), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(all, 0), "text")), big);
    json_decref(all);
    free(big);
}

static void *writer(void *arg)
{
    int id = (int)(intptr_t)arg;
    char text[3000];
    memset(text, 'a' + id, sizeof(text) - 1);
    text[sizeof(text) - 1] = '\0';
    for (int i = 0; i < 50; i++)
        log_msg(LOG_INFO, "test.concurrent", "{s:i, s:i, s:s}", "writer", id, "n", i, "text",
                i % 2 ? text : "short");
    return NULL;
}

static void test_log_msg__never_interleaves_concurrent_lines(void **state)
{
    struct fixture *f = *state;
    pthread_t threads[4];
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&threads[i], NULL, writer, (void *)(intptr_t)i), 0);
    for (int i = 0; i < 4; i++)
        pthread_join(threads[i], NULL);
    json_t *all = lines(f);
    assert_int_equal(json_array_size(all), 200);
    json_decref(all);
}

static void test_log_level_parse__knows_the_four_names(void **state)
{
    (void)state;
    enum log_level level;
    assert_int_equal(log_level_parse(&level, "debug"), 0);
    assert_int_equal(level, LOG_DEBUG);
    assert_int_equal(log_level_parse(&level, "error"), 0);
    assert_int_equal(level, LOG_ERROR);
    assert_int_equal(log_level_parse(&level, "INFO"), USHER_EINVAL);
    assert_int_equal(log_level_parse(&level, "verbose"), USHER_EINVAL);
    assert_int_equal(log_level_parse(&level, ""), USHER_EINVAL);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_log_msg__writes_one_json_object_per_line),
        T(test_log_msg__escapes_hostile_text),
        T(test_log_msg__rounds_reals_to_six_digits),
        T(test_log_msg__skips_levels_below_the_minimum),
        T(test_log_msg__writes_long_lines_whole),
        T(test_log_msg__never_interleaves_concurrent_lines),
        cmocka_unit_test(test_log_level_parse__knows_the_four_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
