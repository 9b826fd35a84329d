/* Sign-in throttling: per-account and per-address sliding windows, expiry without a lasting
 * lockout, clearing on success, IPv6 grouping, bounded memory and thread safety. */
#include "../unit.h"

#include <pthread.h>
#include <stdio.h>

#include "app/throttle.h"
#include "base/crypto.h"
#include "base/error.h"

#define MINUTE 60000
#define T0     1800000000000LL

static int check(struct app_throttle *t, int64_t *retry, const char *account, const char *address,
                 int64_t now)
{
    struct usher_error err = {0};
    int rc = app_throttle_check(t, retry, account, address, now, &err);
    if (rc)
        assert_string_equal(err.problem, "rate_limited");
    return rc;
}

static void fail_n(struct app_throttle *t, int n, const char *account, const char *address,
                   int64_t now)
{
    for (int i = 0; i < n; i++)
        app_throttle_failure(t, account, address, now);
}

static void test_throttle__blocks_an_account_after_ten_failures(void **state)
{
    (void)state;
    struct app_throttle *t = app_throttle_new(NULL);
    int64_t retry = -1;
    fail_n(t, 9, "ann@example.com", "10.0.0.1", T0);
    assert_int_equal(check(t, &retry, "ann@example.com", "10.0.0.1", T0), 0);
    assert_int_equal(retry, 0);
    app_throttle_failure(t, "ann@example.com", "10.0.0.2", T0);
    /* Blocked whatever the address, and told when to come back. */
    assert_int_equal(check(t, &retry, "ann@example.com", "10.9.9.9", T0 + 1000), USHER_ELIMIT);
    assert_int_equal(retry, 15 * 60 - 1);
    /* Other accounts are not affected. */
    assert_int_equal(check(t, &retry, "bob@example.com", "10.0.0.1", T0 + 1000), 0);
    app_throttle_free(t);
}

static void
test_throttle__account_block_ends_when_the_oldest_failure_leaves_the_window(void **state)
{
    (void)state;
    struct app_throttle *t = app_throttle_new(NULL);
    int64_t retry = 0;
    /* Failures spread over ten minutes: the block lifts when the first one is 15 min old. */
    for (int i = 0; i < 10; i++)
        app_throttle_failure(t, "ann@example.com", "10.0.0.1", T0 + i * MINUTE);
    assert_int_equal(check(t, &retry, "ann@example.com", NULL, T0 + 10 * MINUTE), USHER_ELIMIT);
    assert_int_equal(retry, 5 * 60);
    /* Refused attempts are not failures: asking again and again does not extend the block. */
    for (int i = 0; i < 100; i++)
        check(t, &retry, "ann@example.com", NULL, T0 + 12 * MINUTE);
    assert_int_equal(check(t, &retry, "ann@example.com", NULL, T0 + 15 * MINUTE - 1), USHER_ELIMIT);
    assert_int_equal(retry, 1);
    assert_int_equal(check(t, &retry, "ann@example.com", NULL, T0 + 15 * MINUTE), 0);
    /* One more failure fills the window again (the second failure is still within it). */
    app_throttle_failure(t, "ann@example.com", "10.0.0.1", T0 + 15 * MINUTE);
    assert_int_equal(check(t, &retry, "ann@example.com", NULL, T0 + 15 * MINUTE), USHER_ELIMIT);
    assert_int_equal(retry, 60);
    app_throttle_free(t);
}

static void test_throttle__success_clears_the_account_window(void **state)
{
    (void)state;
    struct app_throttle *t = app_throttle_new(NULL);
    int64_t retry = 0;
    fail_n(t, 9, "ann@example.com", "10.0.0.1", T0);
    app_throttle_success(t, "ann@example.com");
    fail_n(t, 9, "ann@example.com", "10.0.0.1", T0 + 1000);
    assert_int_equal(check(t, &retry, "ann@example.com", NULL, T0 + 2000), 0);
    app_throttle_success(t, "never-failed@example.com"); /* harmless */
    app_throttle_free(t);
}

static void test_throttle__blocks_an_address_after_fifty_failures_across_accounts(void **state)
{
    (void)state;
    struct app_throttle *t = app_throttle_new(NULL);
    int64_t retry = 0;
    char account[64];
    for (int i = 0; i < 50; i++) {
        snprintf(account, sizeof(account), "user%d@example.com", i);
        assert_int_equal(check(t, &retry, account, "192.0.2.7", T0 + i), 0);
        app_throttle_failure(t, account, "192.0.2.7", T0 + i);
    }
    assert_int_equal(check(t, &retry, "fresh@example.com", "192.0.2.7", T0 + 100), USHER_ELIMIT);
    assert_true(retry > 14 * 60 && retry <= 15 * 60);
    /* The same account from elsewhere is fine: only the address is blocked. */
    assert_int_equal(check(t, &retry, "fresh@example.com", "192.0.2.8", T0 + 100), 0);
    /* An IPv4-mapped IPv6 address is the same address. */
    assert_int_equal(check(t, &retry, "fresh@example.com", "::ffff:192.0.2.7", T0 + 100),
                     USHER_ELIMIT);
    app_throttle_free(t);
}

static void test_throttle__groups_ipv6_addresses_by_their_64_prefix(void **state)
{
    (void)state;
    struct app_throttle *t = app_throttle_new(NULL);
    int64_t retry = 0;
    char account[64], address[64];
    for (int i = 0; i < 50; i++) {
        snprintf(account, sizeof(account), "user%d@example.com", i);
        snprintf(address, sizeof(address), "2001:db8:1:2::%x", i + 1);
        app_throttle_failure(t, account, address, T0);
    }
    assert_int_equal(check(t, &retry, "x@example.com", "2001:db8:1:2:ffff::1", T0), USHER_ELIMIT);
    assert_int_equal(check(t, &retry, "x@example.com", "2001:db8:1:3::1", T0), 0);
    app_throttle_free(t);
}

static void test_throttle__memory_is_bounded_and_the_stalest_entry_gives_way(void **state)
{
    (void)state;
    struct app_throttle_limits small = app_throttle_defaults;
    small.slots = 8; /* one probe sequence covers the whole table */
    struct app_throttle *t = app_throttle_new(&small);
    int64_t retry = 0;
    char account[64];
    for (int i = 0; i < 8; i++) {
        snprintf(account, sizeof(account), "user%d@example.com", i);
        fail_n(t, 10, account, NULL, T0 + i);
        assert_int_equal(check(t, &retry, account, NULL, T0 + i), USHER_ELIMIT);
    }
    /* A ninth account takes the slot of the one whose last failure is oldest. */
    app_throttle_failure(t, "user8@example.com", NULL, T0 + 100);
    assert_int_equal(check(t, &retry, "user0@example.com", NULL, T0 + 100), 0);
    assert_int_equal(check(t, &retry, "user7@example.com", NULL, T0 + 100), USHER_ELIMIT);
    app_throttle_free(t);
}

static void *storm_run(void *arg)
{
    struct app_throttle *t = arg;
    char account[64], address[64];
    for (int i = 0; i < 2000; i++) {
        snprintf(account, sizeof(account), "user%d@example.com", i % 97);
        snprintf(address, sizeof(address), "10.0.%d.%d", i % 7, i % 13);
        int64_t retry = 0;
        struct usher_error err = {0};
        if (app_throttle_check(t, &retry, account, address, T0 + i, &err) == 0)
            app_throttle_failure(t, account, address, T0 + i);
        if (i % 50 == 0)
            app_throttle_success(t, account);
    }
    return NULL;
}

static void test_throttle__is_safe_under_concurrent_use(void **state)
{
    (void)state;
    struct app_throttle *t = app_throttle_new(NULL);
    pthread_t threads[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&threads[i], NULL, storm_run, t);
    for (int i = 0; i < 4; i++)
        pthread_join(threads[i], NULL);
    /* The tables still count correctly after the storm. */
    int64_t retry = 0;
    fail_n(t, 49, "after@example.org", "198.51.100.1", T0 + 3000);
    assert_int_equal(check(t, &retry, NULL, "198.51.100.1", T0 + 3000), 0);
    app_throttle_failure(t, "other@example.org", "198.51.100.1", T0 + 3000);
    assert_int_equal(check(t, &retry, NULL, "198.51.100.1", T0 + 3000), USHER_ELIMIT);
    assert_int_equal(check(t, &retry, "after@example.org", NULL, T0 + 3000), USHER_ELIMIT);
    app_throttle_free(t);
    app_throttle_free(NULL);
}

int main(void)
{
    crypto_setup();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_throttle__blocks_an_account_after_ten_failures),
        cmocka_unit_test(
            test_throttle__account_block_ends_when_the_oldest_failure_leaves_the_window),
        cmocka_unit_test(test_throttle__success_clears_the_account_window),
        cmocka_unit_test(test_throttle__blocks_an_address_after_fifty_failures_across_accounts),
        cmocka_unit_test(test_throttle__groups_ipv6_addresses_by_their_64_prefix),
        cmocka_unit_test(test_throttle__memory_is_bounded_and_the_stalest_entry_gives_way),
        cmocka_unit_test(test_throttle__is_safe_under_concurrent_use),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
