/* Sign-in failure throttling, in memory: sliding windows of recent failures per account
 * (the normalised email, known or not) and per source address (IPv6 grouped by /64).
 *
 * When a window is full, further sign-ins for that account or from that address are refused
 * until its oldest failure leaves the window. Refused attempts are not counted, so an
 * account is never blocked for longer than one window after the last real failure, and a
 * successful sign-in clears the account's window. Memory is fixed: each table has a set
 * number of slots and the least recently failing entry gives way to a new one. */
#ifndef USHER_APP_THROTTLE_H
#define USHER_APP_THROTTLE_H

#include <stddef.h>
#include <stdint.h>

struct app_throttle;
struct usher_error;

struct app_throttle_limits {
    unsigned account_failures; /* failures allowed per account within account_window_ms */
    int64_t account_window_ms;
    unsigned address_failures; /* failures allowed per address within address_window_ms */
    int64_t address_window_ms;
    size_t slots; /* entries per table, rounded up to a power of two */
};

/* The defaults: 10 failures per account and 50 per address in 15 minutes, 4096 slots. */
extern const struct app_throttle_limits app_throttle_defaults;

/* Creates the tables (limits NULL means app_throttle_defaults). Free with app_throttle_free. */
struct app_throttle *app_throttle_new(const struct app_throttle_limits *limits);

/* Releases the tables; accepts NULL. */
void app_throttle_free(struct app_throttle *t);

/* Tells whether a sign-in for account from address may go on at now_ms. Returns 0, or
 * USHER_ELIMIT (problem "rate_limited") with *out_retry_after the whole seconds until it may
 * (at least 1). account or address may be NULL to skip that window. Thread-safe. */
int app_throttle_check(struct app_throttle *t, int64_t *out_retry_after, const char *account,
                       const char *address, int64_t now_ms, struct usher_error *err);

/* Records one failed sign-in for account and address at now_ms. Thread-safe. */
void app_throttle_failure(struct app_throttle *t, const char *account, const char *address,
                          int64_t now_ms);

/* Forgets the account's failures after a successful sign-in. Thread-safe. */
void app_throttle_success(struct app_throttle *t, const char *account);

#endif
