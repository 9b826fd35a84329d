/* Sign-in throttling: the untrusted windows per account, per account and address and per
 * address; device windows that strangers' failures never touch; device cookies that only
 * count for their own account; reservations that hold under concurrency; expiry without a
 * lasting lockout, clearing on success, IPv6 grouping and thread safety; windows shared by
 * every throttle on one database, leases that free a crashed process's reservations, pruning
 * of old rows and no email or address in them. Runs on SQLite, or on PostgreSQL when
 * USHER_TEST_PG_URL is set. */
#include "../unit.h"

#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>

#include "app/device.h"
#include "app/throttle.h"
#include "base/crypto.h"
#include "base/error.h"
#include "store/store.h"

#include "../fixture.h"

#define MINUTE 60000
#define T0     1800000000000LL

static struct store *g_store;
static char *g_dir;
static unsigned char g_secret[CRYPTO_SECRET_BYTES];

static int group_setup(void **state)
{
    (void)state;
    crypto_setup();
    randombytes_buf(g_secret, sizeof(g_secret));
    fixture_store_open(&g_store, &g_dir);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    fixture_store_close(g_store, g_dir);
    return 0;
}

/* A throttle on the test database, as an instance of usher opens it. */
static struct app_throttle *throttle_open(const struct app_throttle_limits *limits)
{
    return app_throttle_new(limits, g_store, g_secret);
}

/* Frees t and empties the windows, so the next throttle starts afresh. */
static void throttle_close(struct app_throttle *t)
{
    app_throttle_free(t);
    fixture_sql(g_store, "DELETE FROM throttle_events", NULL, 0);
}

static int64_t rows_count(void)
{
    return fixture_sql_int(g_store, "SELECT COUNT(*) FROM throttle_events", NULL, 0);
}

/* Reserves and releases at once: whether an attempt would be let through now. */
static int probe(struct app_throttle *t, int64_t *retry, const char *account, const char *address,
                 const char *device, int64_t now)
{
    struct app_throttle_attempt at = {.account = account, .address = address, .device = device};
    struct app_throttle_ticket ticket;
    struct usher_error err = {0};
    int rc = app_throttle_reserve(&ticket, retry, t, &at, now, &err);
    if (rc)
        assert_string_equal(err.problem, "rate_limited");
    else
        app_throttle_release(t, &ticket);
    return rc;
}

static int check(struct app_throttle *t, int64_t *retry, const char *account, const char *address,
                 int64_t now)
{
    return probe(t, retry, account, address, NULL, now);
}

/* n attempts that are each let through and fail. */
static void fail_device_n(struct app_throttle *t, int n, const char *account, const char *address,
                          const char *device, int64_t now)
{
    struct app_throttle_attempt at = {.account = account, .address = address, .device = device};
    for (int i = 0; i < n; i++) {
        struct app_throttle_ticket ticket;
        int64_t retry = 0;
        struct usher_error err = {0};
        assert_int_equal(app_throttle_reserve(&ticket, &retry, t, &at, now, &err), 0);
        app_throttle_failure(t, &ticket, now);
    }
}

static void fail_n(struct app_throttle *t, int n, const char *account, const char *address,
                   int64_t now)
{
    fail_device_n(t, n, account, address, NULL, now);
}

static void succeed(struct app_throttle *t, const char *account, const char *address,
                    const char *device, int64_t now)
{
    struct app_throttle_attempt at = {.account = account, .address = address, .device = device};
    struct app_throttle_ticket ticket;
    int64_t retry = 0;
    struct usher_error err = {0};
    assert_int_equal(app_throttle_reserve(&ticket, &retry, t, &at, now, &err), 0);
    app_throttle_success(t, &ticket);
}

/* What a sign-in does with a presented cookie: a device attempt when the cookie verifies for
 * the account, an untrusted one otherwise. */
static int probe_with_cookie(struct app_throttle *t, const unsigned char *secret,
                             const char *account, const char *address, const char *cookie,
                             int64_t now)
{
    char nonce[APP_DEVICE_NONCE_CHARS + 1];
    bool is_trusted = app_device_cookie_verify(nonce, secret, account, cookie);
    int64_t retry = 0;
    return probe(t, &retry, account, address, is_trusted ? nonce : NULL, now);
}

/* The nonce of a fresh device cookie for account. */
static void device_new(char nonce[APP_DEVICE_NONCE_CHARS + 1], const unsigned char *secret,
                       const char *account)
{
    char cookie[APP_DEVICE_COOKIE_CHARS + 1];
    app_device_cookie_new(cookie, secret, account);
    assert_true(app_device_cookie_verify(nonce, secret, account, cookie));
}

static void test_throttle__blocks_an_account_from_one_address_after_ten_failures(void **state)
{
    (void)state;
    struct app_throttle *t = throttle_open(NULL);
    int64_t retry = -1;
    fail_n(t, 9, "ann@example.com", "10.0.0.1", T0);
    assert_int_equal(check(t, &retry, "ann@example.com", "10.0.0.1", T0), 0);
    assert_int_equal(retry, 0);
    fail_n(t, 1, "ann@example.com", "10.0.0.1", T0);
    /* Blocked from that address, and told when to come back. */
    assert_int_equal(check(t, &retry, "ann@example.com", "10.0.0.1", T0 + 1000), USHER_ELIMIT);
    assert_int_equal(retry, 15 * 60 - 1);
    /* One address's failures do not block the account from elsewhere, nor other accounts. */
    assert_int_equal(check(t, &retry, "ann@example.com", "10.0.0.2", T0 + 1000), 0);
    assert_int_equal(check(t, &retry, "bob@example.com", "10.0.0.1", T0 + 1000), 0);
    throttle_close(t);
}

static void test_throttle__blocks_an_account_everywhere_after_twenty_failures(void **state)
{
    (void)state;
    struct app_throttle *t = throttle_open(NULL);
    int64_t retry = 0;
    char address[64];
    for (int i = 0; i < 19; i++) {
        snprintf(address, sizeof(address), "10.1.0.%d", i + 1);
        fail_n(t, 1, "ann@example.com", address, T0 + i);
    }
    assert_int_equal(check(t, &retry, "ann@example.com", "10.9.9.9", T0 + 100), 0);
    fail_n(t, 1, "ann@example.com", "10.1.0.20", T0 + 100);
    /* Spread over twenty addresses, the failures block every untrusted client. */
    assert_int_equal(check(t, &retry, "ann@example.com", "10.9.9.9", T0 + 1000), USHER_ELIMIT);
    assert_int_equal(check(t, &retry, "ann@example.com", NULL, T0 + 1000), USHER_ELIMIT);
    assert_int_equal(retry, 15 * 60 - 1);
    assert_int_equal(check(t, &retry, "bob@example.com", "10.9.9.9", T0 + 1000), 0);
    throttle_close(t);
}

static void
test_throttle__account_block_ends_when_the_oldest_failure_leaves_the_window(void **state)
{
    (void)state;
    struct app_throttle *t = throttle_open(NULL);
    int64_t retry = 0;
    /* Failures spread over ten minutes: the block lifts when the first one is 15 min old. */
    for (int i = 0; i < 10; i++)
        fail_n(t, 1, "ann@example.com", "10.0.0.1", T0 + i * MINUTE);
    assert_int_equal(check(t, &retry, "ann@example.com", "10.0.0.1", T0 + 10 * MINUTE),
                     USHER_ELIMIT);
    assert_int_equal(retry, 5 * 60);
    /* Refused attempts are not failures: asking again and again does not extend the block. */
    for (int i = 0; i < 100; i++)
        check(t, &retry, "ann@example.com", "10.0.0.1", T0 + 12 * MINUTE);
    assert_int_equal(check(t, &retry, "ann@example.com", "10.0.0.1", T0 + 15 * MINUTE - 1),
                     USHER_ELIMIT);
    assert_int_equal(retry, 1);
    assert_int_equal(check(t, &retry, "ann@example.com", "10.0.0.1", T0 + 15 * MINUTE), 0);
    /* One more failure fills the window again (the second failure is still within it). */
    fail_n(t, 1, "ann@example.com", "10.0.0.1", T0 + 15 * MINUTE);
    assert_int_equal(check(t, &retry, "ann@example.com", "10.0.0.1", T0 + 15 * MINUTE),
                     USHER_ELIMIT);
    assert_int_equal(retry, 60);
    throttle_close(t);
}

static void test_throttle__success_clears_the_account_windows(void **state)
{
    (void)state;
    struct app_throttle *t = throttle_open(NULL);
    int64_t retry = 0;
    fail_n(t, 9, "ann@example.com", "10.0.0.1", T0);
    fail_n(t, 10, "ann@example.com", "10.0.0.2", T0);
    succeed(t, "ann@example.com", "10.0.0.1", NULL, T0 + 500);
    fail_n(t, 9, "ann@example.com", "10.0.0.1", T0 + 1000);
    assert_int_equal(check(t, &retry, "ann@example.com", "10.0.0.1", T0 + 2000), 0);
    /* The failures from another address stay with that address. */
    assert_int_equal(check(t, &retry, "ann@example.com", "10.0.0.2", T0 + 2000), USHER_ELIMIT);
    /* The account-wide window was cleared: 9 failures since, so 11 more fit. */
    fail_n(t, 10, "ann@example.com", "10.0.0.4", T0 + 2000);
    assert_int_equal(check(t, &retry, "ann@example.com", "10.0.0.5", T0 + 2000), 0);
    fail_n(t, 1, "ann@example.com", "10.0.0.5", T0 + 2000);
    assert_int_equal(check(t, &retry, "ann@example.com", "10.0.0.6", T0 + 2000), USHER_ELIMIT);
    succeed(t, "never-failed@example.com", "10.0.0.1", NULL, T0); /* harmless */
    throttle_close(t);
}

static void test_throttle__blocks_an_address_after_fifty_failures_across_accounts(void **state)
{
    (void)state;
    struct app_throttle *t = throttle_open(NULL);
    int64_t retry = 0;
    char account[64];
    for (int i = 0; i < 50; i++) {
        snprintf(account, sizeof(account), "user%d@example.com", i);
        assert_int_equal(check(t, &retry, account, "192.0.2.7", T0 + i), 0);
        fail_n(t, 1, account, "192.0.2.7", T0 + i);
    }
    assert_int_equal(check(t, &retry, "fresh@example.com", "192.0.2.7", T0 + 100), USHER_ELIMIT);
    assert_true(retry > 14 * 60 && retry <= 15 * 60);
    /* The same account from elsewhere is fine: only the address is blocked. */
    assert_int_equal(check(t, &retry, "fresh@example.com", "192.0.2.8", T0 + 100), 0);
    /* An IPv4-mapped IPv6 address is the same address. */
    assert_int_equal(check(t, &retry, "fresh@example.com", "::ffff:192.0.2.7", T0 + 100),
                     USHER_ELIMIT);
    /* A success there leaves the address's count alone: it may be a spray. */
    succeed(t, "user0@example.com", "192.0.2.8", NULL, T0 + 100);
    assert_int_equal(check(t, &retry, "fresh@example.com", "192.0.2.7", T0 + 100), USHER_ELIMIT);
    throttle_close(t);
}

static void test_throttle__groups_ipv6_addresses_by_their_64_prefix(void **state)
{
    (void)state;
    struct app_throttle *t = throttle_open(NULL);
    int64_t retry = 0;
    char account[64], address[64];
    for (int i = 0; i < 50; i++) {
        snprintf(account, sizeof(account), "user%d@example.com", i);
        snprintf(address, sizeof(address), "2001:db8:1:2::%x", i + 1);
        fail_n(t, 1, account, address, T0);
    }
    assert_int_equal(check(t, &retry, "x@example.com", "2001:db8:1:2:ffff::1", T0), USHER_ELIMIT);
    assert_int_equal(check(t, &retry, "x@example.com", "2001:db8:1:3::1", T0), 0);
    throttle_close(t);
}

static void test_throttle__two_instances_on_one_database_share_the_windows(void **state)
{
    (void)state;
    /* Two throttles on one database with the same secret: two instances of usher. */
    struct app_throttle *one = throttle_open(NULL), *two = throttle_open(NULL);
    int64_t retry = 0;
    fail_n(one, 5, "ann@example.com", "10.0.0.1", T0);
    fail_n(two, 4, "ann@example.com", "10.0.0.1", T0);
    assert_int_equal(check(one, &retry, "ann@example.com", "10.0.0.1", T0), 0);
    fail_n(one, 1, "ann@example.com", "10.0.0.1", T0);
    assert_int_equal(check(one, &retry, "ann@example.com", "10.0.0.1", T0), USHER_ELIMIT);
    assert_int_equal(check(two, &retry, "ann@example.com", "10.0.0.1", T0), USHER_ELIMIT);
    /* Attempts in flight on one instance hold places on the other. */
    struct app_throttle_attempt at = {.account = "bob@example.com", .address = "10.0.0.2"};
    struct app_throttle_ticket held[10];
    struct usher_error err = {0};
    for (int i = 0; i < 10; i++)
        assert_int_equal(app_throttle_reserve(&held[i], &retry, one, &at, T0, &err), 0);
    assert_int_equal(check(two, &retry, "bob@example.com", "10.0.0.2", T0), USHER_ELIMIT);
    assert_int_equal(retry, 1);
    app_throttle_success(two, &held[0]); /* any instance may end a ticket */
    for (int i = 1; i < 10; i++)
        app_throttle_release(one, &held[i]);
    assert_int_equal(check(two, &retry, "bob@example.com", "10.0.0.2", T0), 0);
    app_throttle_free(two);
    /* A server with another secret derives other keys, so it shares nothing. */
    unsigned char other_secret[CRYPTO_SECRET_BYTES];
    randombytes_buf(other_secret, sizeof(other_secret));
    struct app_throttle *stranger = app_throttle_new(NULL, g_store, other_secret);
    assert_int_equal(check(stranger, &retry, "ann@example.com", "10.0.0.1", T0), 0);
    app_throttle_free(stranger);
    throttle_close(one);
}

static void test_throttle__a_crashed_processs_reservations_end_with_their_lease(void **state)
{
    (void)state;
    struct app_throttle *t = throttle_open(NULL);
    struct app_throttle_attempt at = {.account = "ann@example.com", .address = "10.0.0.1"};
    struct app_throttle_ticket lost[10];
    int64_t retry = 0;
    struct usher_error err = {0};
    /* Ten reservations that never end: the process holding them died. */
    for (int i = 0; i < 10; i++)
        assert_int_equal(app_throttle_reserve(&lost[i], &retry, t, &at, T0, &err), 0);
    int64_t lease = app_throttle_defaults.lease_ms;
    assert_int_equal(check(t, &retry, "ann@example.com", "10.0.0.1", T0 + lease - 1), USHER_ELIMIT);
    assert_int_equal(retry, 1);
    assert_int_equal(check(t, &retry, "ann@example.com", "10.0.0.1", T0 + lease + 1), 0);
    /* A reservation that outlived its lease still ends as a failure when its process does. */
    app_throttle_failure(t, &lost[0], T0 + lease + 1);
    fail_n(t, 9, "ann@example.com", "10.0.0.1", T0 + lease + 1);
    assert_int_equal(check(t, &retry, "ann@example.com", "10.0.0.1", T0 + lease + 2), USHER_ELIMIT);
    throttle_close(t);
}

static void test_throttle__old_rows_are_pruned_and_hold_no_email_or_address(void **state)
{
    (void)state;
    struct app_throttle *t = throttle_open(NULL);
    int64_t retry = 0;
    fail_n(t, 3, "ann@example.com", "192.0.2.1", T0);
    struct app_throttle_attempt at = {.account = "bob@example.com", .address = "192.0.2.2"};
    struct app_throttle_ticket lost;
    struct usher_error err = {0};
    assert_int_equal(app_throttle_reserve(&lost, &retry, t, &at, T0, &err), 0);
    /* Three failures in three windows each, and one reservation in three. */
    assert_int_equal(rows_count(), 12);
    assert_int_equal(fixture_sql_int(g_store,
                                     "SELECT COUNT(*) FROM throttle_events WHERE hash LIKE "
                                     "'%example%' OR hash LIKE '%192.0.2%' OR length(hash) <> 32",
                                     NULL, 0),
                     0);
    /* Within the window nothing goes; once it has passed, the next reservation prunes. */
    fail_n(t, 1, "carl@example.com", NULL, T0 + 14 * MINUTE);
    assert_int_equal(rows_count(), 13);
    fail_n(t, 1, "carl@example.com", NULL, T0 + 15 * MINUTE + 1);
    assert_int_equal(rows_count(), 2);
    assert_int_equal(check(t, &retry, "ann@example.com", "192.0.2.1", T0 + 15 * MINUTE + 1), 0);
    throttle_close(t);
}

static void test_throttle__device_counters_are_independent_of_strangers(void **state)
{
    (void)state;
    unsigned char secret[CRYPTO_SECRET_BYTES];
    randombytes_buf(secret, sizeof(secret));
    struct app_throttle *t = throttle_open(NULL);
    int64_t retry = 0;
    char device[APP_DEVICE_NONCE_CHARS + 1], other[APP_DEVICE_NONCE_CHARS + 1];
    device_new(device, secret, "ann@example.com");
    device_new(other, secret, "ann@example.com");
    /* Strangers fill every untrusted window of the account, from the device's own address too
     * (a shared network) and from elsewhere. */
    fail_n(t, 10, "ann@example.com", "192.0.2.1", T0);
    fail_n(t, 10, "ann@example.com", "198.51.100.9", T0);
    assert_int_equal(check(t, &retry, "ann@example.com", "192.0.2.1", T0), USHER_ELIMIT);
    assert_int_equal(check(t, &retry, "ann@example.com", "203.0.113.1", T0), USHER_ELIMIT);
    /* The device that signed in before is not blocked by any of that. */
    assert_int_equal(probe(t, &retry, "ann@example.com", "192.0.2.1", device, T0), 0);
    assert_int_equal(retry, 0);
    /* Its own failures lock it after ten, and only it. */
    fail_device_n(t, 9, "ann@example.com", "192.0.2.1", device, T0 + 1000);
    assert_int_equal(probe(t, &retry, "ann@example.com", "192.0.2.1", device, T0 + 1000), 0);
    fail_device_n(t, 1, "ann@example.com", "192.0.2.1", device, T0 + 1000);
    assert_int_equal(probe(t, &retry, "ann@example.com", "192.0.2.1", device, T0 + 2000),
                     USHER_ELIMIT);
    assert_int_equal(retry, 15 * 60 - 1);
    assert_int_equal(probe(t, &retry, "ann@example.com", "192.0.2.1", other, T0 + 2000), 0);
    /* A device nonce for another account is another device. */
    assert_int_equal(probe(t, &retry, "bob@example.com", "192.0.2.1", device, T0 + 2000), 0);
    throttle_close(t);

    /* The other way round: a device's failures leave the untrusted windows alone. */
    t = throttle_open(NULL);
    fail_device_n(t, 10, "ann@example.com", "192.0.2.1", device, T0);
    assert_int_equal(probe(t, &retry, "ann@example.com", "192.0.2.1", device, T0), USHER_ELIMIT);
    for (int i = 0; i < 9; i++)
        fail_n(t, 1, "ann@example.com", "192.0.2.1", T0);
    assert_int_equal(check(t, &retry, "ann@example.com", "192.0.2.1", T0), 0);
    throttle_close(t);
}

static void test_throttle__a_devices_success_resets_only_its_own_counter(void **state)
{
    (void)state;
    unsigned char secret[CRYPTO_SECRET_BYTES];
    randombytes_buf(secret, sizeof(secret));
    struct app_throttle *t = throttle_open(NULL);
    int64_t retry = 0;
    char device[APP_DEVICE_NONCE_CHARS + 1];
    device_new(device, secret, "ann@example.com");
    fail_n(t, 10, "ann@example.com", "192.0.2.1", T0);
    fail_device_n(t, 9, "ann@example.com", "192.0.2.1", device, T0);
    succeed(t, "ann@example.com", "192.0.2.1", device, T0 + 100);
    /* Nine more failures fit again on the device; strangers stay locked out. */
    fail_device_n(t, 9, "ann@example.com", "192.0.2.1", device, T0 + 200);
    assert_int_equal(probe(t, &retry, "ann@example.com", "192.0.2.1", device, T0 + 200), 0);
    assert_int_equal(check(t, &retry, "ann@example.com", "192.0.2.1", T0 + 200), USHER_ELIMIT);
    throttle_close(t);
}

static void test_throttle__a_forged_or_other_accounts_device_cookie_is_untrusted(void **state)
{
    (void)state;
    unsigned char secret[CRYPTO_SECRET_BYTES], other_secret[CRYPTO_SECRET_BYTES];
    randombytes_buf(secret, sizeof(secret));
    randombytes_buf(other_secret, sizeof(other_secret));
    struct app_throttle *t = throttle_open(NULL);
    char ann[APP_DEVICE_COOKIE_CHARS + 1], bob[APP_DEVICE_COOKIE_CHARS + 1];
    char elsewhere[APP_DEVICE_COOKIE_CHARS + 1], forged[APP_DEVICE_COOKIE_CHARS + 1];
    app_device_cookie_new(ann, secret, "ann@example.com");
    app_device_cookie_new(bob, secret, "bob@example.com");
    app_device_cookie_new(elsewhere, other_secret, "ann@example.com");
    memcpy(forged, ann, sizeof(ann));
    forged[APP_DEVICE_NONCE_CHARS + 5] = forged[APP_DEVICE_NONCE_CHARS + 5] == 'A' ? 'B' : 'A';
    char swapped_nonce[APP_DEVICE_COOKIE_CHARS + 1];
    memcpy(swapped_nonce, bob, APP_DEVICE_NONCE_CHARS);
    memcpy(swapped_nonce + APP_DEVICE_NONCE_CHARS, ann + APP_DEVICE_NONCE_CHARS,
           sizeof(ann) - APP_DEVICE_NONCE_CHARS);
    fail_n(t, 10, "ann@example.com", "192.0.2.1", T0);
    fail_n(t, 10, "ann@example.com", "198.51.100.9", T0);
    const char *untrusted[] = {bob, forged, elsewhere, swapped_nonce, "", "x.y", NULL};
    for (size_t i = 0; i < sizeof(untrusted) / sizeof(untrusted[0]); i++)
        assert_int_equal(
            probe_with_cookie(t, secret, "ann@example.com", "192.0.2.1", untrusted[i], T0),
            USHER_ELIMIT);
    /* Bob's cookie is good for Bob, and Ann's for Ann from any address. */
    assert_int_equal(probe_with_cookie(t, secret, "bob@example.com", "192.0.2.1", bob, T0), 0);
    assert_int_equal(probe_with_cookie(t, secret, "ann@example.com", "192.0.2.1", ann, T0), 0);
    assert_int_equal(probe_with_cookie(t, secret, "ann@example.com", "203.0.113.7", ann, T0), 0);
    throttle_close(t);
}

static void test_throttle__a_reservation_holds_a_place_until_it_ends(void **state)
{
    (void)state;
    struct app_throttle *t = throttle_open(NULL);
    struct app_throttle_attempt at = {.account = "ann@example.com", .address = "10.0.0.1"};
    struct app_throttle_ticket held[10];
    int64_t retry = 0;
    struct usher_error err = {0};
    for (int i = 0; i < 10; i++)
        assert_int_equal(app_throttle_reserve(&held[i], &retry, t, &at, T0, &err), 0);
    /* Ten attempts in flight fill the window: the eleventh waits about a second. */
    struct app_throttle_ticket extra;
    assert_int_equal(app_throttle_reserve(&extra, &retry, t, &at, T0, &err), USHER_ELIMIT);
    assert_int_equal(retry, 1);
    /* A refused reservation holds nothing: releasing it changes nothing. */
    app_throttle_release(t, &extra);
    assert_int_equal(check(t, &retry, "ann@example.com", "10.0.0.1", T0), USHER_ELIMIT);
    for (int i = 0; i < 10; i++)
        app_throttle_release(t, &held[i]);
    assert_int_equal(check(t, &retry, "ann@example.com", "10.0.0.1", T0), 0);
    throttle_close(t);

    /* Released reservations count for nothing; failed ones are failures. */
    t = throttle_open(NULL);
    for (int i = 0; i < 10; i++)
        assert_int_equal(app_throttle_reserve(&held[i], &retry, t, &at, T0, &err), 0);
    for (int i = 0; i < 5; i++)
        app_throttle_release(t, &held[i]);
    for (int i = 5; i < 10; i++)
        app_throttle_failure(t, &held[i], T0);
    app_throttle_release(t, &held[9]); /* already ended: nothing happens */
    fail_n(t, 4, "ann@example.com", "10.0.0.1", T0);
    assert_int_equal(check(t, &retry, "ann@example.com", "10.0.0.1", T0), 0);
    fail_n(t, 1, "ann@example.com", "10.0.0.1", T0);
    assert_int_equal(check(t, &retry, "ann@example.com", "10.0.0.1", T0), USHER_ELIMIT);
    assert_int_equal(retry, 15 * 60);
    throttle_close(t);
}

#define RACERS 40

struct race {
    struct app_throttle *t;
    pthread_barrier_t start;
    const char *device;
    atomic_int admitted;
    atomic_int refused;
    atomic_int bad_retry;
};

/* One attempt per thread, all released together: a wrong password that takes a while. */
static void *race_run(void *arg)
{
    struct race *r = arg;
    struct app_throttle_attempt at = {
        .account = "ann@example.com", .address = "10.0.0.1", .device = r->device};
    struct app_throttle_ticket ticket;
    int64_t retry = 0;
    struct usher_error err = {0};
    pthread_barrier_wait(&r->start);
    if (app_throttle_reserve(&ticket, &retry, r->t, &at, T0, &err) == 0) {
        atomic_fetch_add(&r->admitted, 1);
        usleep(2000); /* the password hash */
        app_throttle_failure(r->t, &ticket, T0);
    } else {
        atomic_fetch_add(&r->refused, 1);
        if (retry < 1 || retry > 15 * 60)
            atomic_fetch_add(&r->bad_retry, 1);
    }
    return NULL;
}

static void race_once(const char *device)
{
    struct race r = {.t = throttle_open(NULL), .device = device};
    pthread_barrier_init(&r.start, NULL, RACERS);
    pthread_t threads[RACERS];
    for (int i = 0; i < RACERS; i++)
        pthread_create(&threads[i], NULL, race_run, &r);
    for (int i = 0; i < RACERS; i++)
        pthread_join(threads[i], NULL);
    pthread_barrier_destroy(&r.start);
    assert_int_equal(atomic_load(&r.admitted), 10);
    assert_int_equal(atomic_load(&r.refused), RACERS - 10);
    assert_int_equal(atomic_load(&r.bad_retry), 0);
    int64_t retry = 0;
    assert_int_equal(probe(r.t, &retry, "ann@example.com", "10.0.0.1", device, T0), USHER_ELIMIT);
    throttle_close(r.t);
}

static void test_throttle__concurrent_attempts_never_exceed_the_limit(void **state)
{
    (void)state;
    unsigned char secret[CRYPTO_SECRET_BYTES];
    randombytes_buf(secret, sizeof(secret));
    char device[APP_DEVICE_NONCE_CHARS + 1];
    device_new(device, secret, "ann@example.com");
    race_once(NULL);
    race_once(device);
}

static void *storm_run(void *arg)
{
    struct app_throttle *t = arg;
    char account[64], address[64];
    for (int i = 0; i < 250; i++) {
        snprintf(account, sizeof(account), "user%d@example.com", i % 97);
        snprintf(address, sizeof(address), "10.0.%d.%d", i % 7, i % 13);
        struct app_throttle_attempt at = {
            .account = account, .address = address, .device = i % 5 == 0 ? "dev" : NULL};
        struct app_throttle_ticket ticket;
        int64_t retry = 0;
        struct usher_error err = {0};
        if (app_throttle_reserve(&ticket, &retry, t, &at, T0 + i, &err) != 0)
            continue;
        if (i % 50 == 0)
            app_throttle_success(t, &ticket);
        else if (i % 11 == 0)
            app_throttle_release(t, &ticket);
        else
            app_throttle_failure(t, &ticket, T0 + i);
    }
    return NULL;
}

static void test_throttle__is_safe_under_concurrent_use(void **state)
{
    (void)state;
    struct app_throttle *t = throttle_open(NULL);
    pthread_t threads[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&threads[i], NULL, storm_run, t);
    for (int i = 0; i < 4; i++)
        pthread_join(threads[i], NULL);
    /* The tables still count correctly after the storm. */
    int64_t retry = 0;
    fail_n(t, 9, "after@example.org", "198.51.100.1", T0 + 3000);
    for (int i = 0; i < 40; i++) {
        char account[64];
        snprintf(account, sizeof(account), "spray%d@example.org", i);
        fail_n(t, 1, account, "198.51.100.1", T0 + 3000);
    }
    assert_int_equal(check(t, &retry, NULL, "198.51.100.1", T0 + 3000), 0);
    fail_n(t, 1, "other@example.org", "198.51.100.1", T0 + 3000);
    assert_int_equal(check(t, &retry, NULL, "198.51.100.1", T0 + 3000), USHER_ELIMIT);
    assert_int_equal(check(t, &retry, "after@example.org", "198.51.100.2", T0 + 3000), 0);
    throttle_close(t);
    app_throttle_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_throttle__blocks_an_account_from_one_address_after_ten_failures),
        cmocka_unit_test(test_throttle__blocks_an_account_everywhere_after_twenty_failures),
        cmocka_unit_test(
            test_throttle__account_block_ends_when_the_oldest_failure_leaves_the_window),
        cmocka_unit_test(test_throttle__success_clears_the_account_windows),
        cmocka_unit_test(test_throttle__blocks_an_address_after_fifty_failures_across_accounts),
        cmocka_unit_test(test_throttle__groups_ipv6_addresses_by_their_64_prefix),
        cmocka_unit_test(test_throttle__two_instances_on_one_database_share_the_windows),
        cmocka_unit_test(test_throttle__a_crashed_processs_reservations_end_with_their_lease),
        cmocka_unit_test(test_throttle__old_rows_are_pruned_and_hold_no_email_or_address),
        cmocka_unit_test(test_throttle__device_counters_are_independent_of_strangers),
        cmocka_unit_test(test_throttle__a_devices_success_resets_only_its_own_counter),
        cmocka_unit_test(test_throttle__a_forged_or_other_accounts_device_cookie_is_untrusted),
        cmocka_unit_test(test_throttle__a_reservation_holds_a_place_until_it_ends),
        cmocka_unit_test(test_throttle__concurrent_attempts_never_exceed_the_limit),
        cmocka_unit_test(test_throttle__is_safe_under_concurrent_use),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
