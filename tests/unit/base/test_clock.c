/* RFC 3339 parsing and formatting: UTC only, real dates only, milliseconds kept, and what
 * clock_format_ms writes reads back to the same instant; and the date emails give people. */
#include "../unit.h"

#include "base/arena.h"
#include "base/clock.h"

static int64_t parsed(const char *text)
{
    int64_t ms = -1;
    assert_int_equal(clock_parse_ms(&ms, text), 0);
    return ms;
}

static void test_clock_parse__reads_utc_times_to_the_millisecond(void **state)
{
    (void)state;
    assert_int_equal(parsed("1970-01-01T00:00:00Z"), 0);
    assert_int_equal(parsed("2026-11-26T06:46:26Z"), 1795675586000LL);
    assert_int_equal(parsed("2026-11-26T06:46:26.123Z"), 1795675586123LL);
    assert_int_equal(parsed("2026-11-26T06:46:26.1Z"), 1795675586100LL);
    assert_int_equal(parsed("2026-11-26T06:46:26.123999Z"), 1795675586123LL);
    assert_int_equal(parsed("2026-11-26t06:46:26z"), 1795675586000LL);
    assert_int_equal(parsed("2026-11-26T06:46:26+00:00"), 1795675586000LL);
    assert_int_equal(parsed("2028-02-29T23:59:59Z"), 1835481599000LL);
}

static void test_clock_parse__refuses_anything_else(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "2026-11-26",
        "2026-11-26T06:46:26",
        "2026-11-26T06:46:26+02:00",
        "2026-11-26T06:46:26-00:00",
        "2026-11-26 06:46:26Z",
        "2026-02-29T00:00:00Z",
        "2026-13-01T00:00:00Z",
        "2026-04-31T00:00:00Z",
        "2026-11-26T24:00:00Z",
        "2026-11-26T06:60:00Z",
        "2026-11-26T06:46:60Z",
        "2026-11-26T06:46:26.Z",
        "2026-11-26T06:46:26ZZ",
        "1969-12-31T23:59:59Z",
        "+2026-11-26T06:46:26Z",
        "2026-1-26T06:46:26Z",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int64_t ms = 42;
        assert_int_equal(clock_parse_ms(&ms, bad[i]), -1);
        assert_int_equal(ms, 42);
    }
    int64_t ms = 0;
    assert_int_equal(clock_parse_ms(&ms, NULL), -1);
}

static void test_clock_format__reads_back_to_the_same_instant(void **state)
{
    (void)state;
    struct arena a;
    arena_init(&a);
    for (int64_t ms = 1; ms < 4102444800000LL; ms = ms * 3 + 7919) {
        assert_int_equal(parsed(clock_format_ms(&a, ms)), ms);
    }
    arena_dispose(&a);
}

static void test_clock_format_readable__names_day_and_month_to_the_minute(void **state)
{
    (void)state;
    struct arena arena;
    arena_init(&arena);
    struct arena *a = &arena;
    /* 2026-12-11T14:00:59.999Z: a Friday; the seconds do not show. */
    assert_string_equal(clock_format_readable_ms(a, 1796997659999LL),
                        "Friday 11 December 2026, 14:00 UTC");
    /* Single-digit days stay unpadded, hours and minutes keep two digits. */
    assert_string_equal(clock_format_readable_ms(a, 1780448700000LL),
                        "Wednesday 3 June 2026, 01:05 UTC");
    assert_string_equal(clock_format_readable_ms(a, 1000), "Thursday 1 January 1970, 00:00 UTC");
    assert_null(clock_format_readable_ms(a, 0));
    assert_null(clock_format_readable_ms(a, -5));
    arena_dispose(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_clock_parse__reads_utc_times_to_the_millisecond),
        cmocka_unit_test(test_clock_parse__refuses_anything_else),
        cmocka_unit_test(test_clock_format__reads_back_to_the_same_instant),
        cmocka_unit_test(test_clock_format_readable__names_day_and_month_to_the_minute),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
