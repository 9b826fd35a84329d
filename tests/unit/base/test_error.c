/* The error slot: first cause wins, defaults per code, bounded copies. */
#include "../unit.h"

#include "base/error.h"

static void test_error_set__fills_the_slot_and_returns_the_code(void **state)
{
    (void)state;
    struct usher_error err = {0};
    int rc =
        usher_error_set(&err, USHER_EINVAL, NULL, "email", "%s must be %d address", "email", 1);
    assert_int_equal(rc, USHER_EINVAL);
    assert_int_equal(err.code, USHER_EINVAL);
    assert_string_equal(err.problem, "invalid_input");
    assert_string_equal(err.field, "email");
    assert_string_equal(err.message, "email must be 1 address");
    assert_int_equal(err.http_status, 0);
}

static void test_error_set__keeps_the_first_cause(void **state)
{
    (void)state;
    struct usher_error err = {0};
    usher_error_set(&err, USHER_ENOTFOUND, "invitation_expired", NULL, "first");
    int rc = usher_error_set(&err, USHER_EINTERNAL, NULL, "other", "second");
    assert_int_equal(rc, USHER_EINTERNAL);
    assert_int_equal(err.code, USHER_ENOTFOUND);
    assert_string_equal(err.problem, "invitation_expired");
    assert_string_equal(err.field, "");
    assert_string_equal(err.message, "first");
}

static void test_error_set__accepts_a_null_slot(void **state)
{
    (void)state;
    assert_int_equal(usher_error_set(NULL, USHER_ECONFLICT, NULL, NULL, "x"), USHER_ECONFLICT);
}

static void test_error_clear__empties_the_slot(void **state)
{
    (void)state;
    struct usher_error err = {0};
    usher_error_set(&err, USHER_EUNAUTH, NULL, NULL, "sign in first");
    err.http_status = 418;
    usher_error_clear(&err);
    assert_int_equal(err.code, 0);
    assert_int_equal(err.http_status, 0);
    assert_string_equal(err.message, "");
    usher_error_set(&err, USHER_EFORBIDDEN, NULL, NULL, "again");
    assert_int_equal(err.code, USHER_EFORBIDDEN);
    usher_error_clear(NULL);
}

static void test_error_set__truncates_long_text_safely(void **state)
{
    (void)state;
    struct usher_error err = {0};
    char long_text[1000];
    memset(long_text, 'x', sizeof(long_text) - 1);
    long_text[sizeof(long_text) - 1] = '\0';
    usher_error_set(&err, USHER_EINVAL, long_text, long_text, "%s", long_text);
    assert_int_equal(strlen(err.problem), USHER_ERROR_CODE_MAX - 1);
    assert_int_equal(strlen(err.field), USHER_ERROR_FIELD_MAX - 1);
    assert_int_equal(strlen(err.message), USHER_ERROR_MESSAGE_MAX - 1);
}

static void test_error_defaults__map_every_code(void **state)
{
    (void)state;
    const struct {
        int code;
        const char *problem;
        int status;
    } table[] = {
        {USHER_EINVAL, "invalid_input", 400},
        {USHER_ENOTFOUND, "not_found", 404},
        {USHER_ECONFLICT, "conflict", 409},
        {USHER_EFORBIDDEN, "forbidden", 403},
        {USHER_EUNAUTH, "unauthenticated", 401},
        {USHER_ELIMIT, "rate_limited", 429},
        {USHER_EUNAVAIL, "unavailable", 503},
        {USHER_EINTERNAL, "internal", 500},
        {-99, "internal", 500},
    };
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
        assert_string_equal(usher_error_default_problem(table[i].code), table[i].problem);
        assert_int_equal(usher_error_http_status(table[i].code), table[i].status);
    }
}

static void test_error_assert__passes_a_true_condition(void **state)
{
    (void)state;
    int x = 1;
    USHER_ASSERT(x == 1);
    assert_int_equal(x, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_error_set__fills_the_slot_and_returns_the_code),
        cmocka_unit_test(test_error_set__keeps_the_first_cause),
        cmocka_unit_test(test_error_set__accepts_a_null_slot),
        cmocka_unit_test(test_error_clear__empties_the_slot),
        cmocka_unit_test(test_error_set__truncates_long_text_safely),
        cmocka_unit_test(test_error_defaults__map_every_code),
        cmocka_unit_test(test_error_assert__passes_a_true_condition),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
