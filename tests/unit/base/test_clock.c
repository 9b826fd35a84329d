/* Time formatting: the RFC 3339 form the API answers and the form emails give people. */
#include "../unit.h"

#include "base/arena.h"
#include "base/clock.h"

/* 2026-12-11T14:00:59.999Z: a Friday. */
#define FRIDAY_MS 1796997659999LL

static void test_clock_format__gives_rfc3339_with_milliseconds(void **state)
{
    (void)state;
    struct arena arena;
    arena_init(&arena);
    struct arena *a = &arena;
    assert_string_equal(clock_format_ms(a, FRIDAY_MS), "2026-12-11T14:00:59.999Z");
    assert_null(clock_format_ms(a, 0));
    arena_dispose(a);
}

static void test_clock_format_readable__names_day_and_month_to_the_minute(void **state)
{
    (void)state;
    struct arena arena;
    arena_init(&arena);
    struct arena *a = &arena;
    assert_string_equal(clock_format_readable_ms(a, FRIDAY_MS),
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
        cmocka_unit_test(test_clock_format__gives_rfc3339_with_milliseconds),
        cmocka_unit_test(test_clock_format_readable__names_day_and_month_to_the_minute),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
