/* Sign-in failure throttling, in memory: sliding windows of recent failures, kept apart for
 * clients that proved they signed in to the account before (a device cookie, see
 * app/device.h) and for everyone else.
 *
 * An untrusted attempt is judged by three windows: the account's untrusted failures from
 * everywhere, the account's failures from the attempt's address, and the address's failures
 * across accounts (IPv6 grouped by /64). A trusted attempt is judged only by its own device's
 * window, so failures from elsewhere never block a device that signed in before.
 *
 * An attempt reserves its place in every window it is judged by before the password is
 * hashed, under one lock, and is refused when a window is full counting the attempts still in
 * flight: concurrent attempts cannot overshoot a limit. The reservation then ends in exactly
 * one of app_throttle_failure, app_throttle_success or app_throttle_release. Refused attempts
 * are not counted, so nobody is blocked for longer than one window after the last real
 * failure.
 *
 * The four calls are the whole contract, so the windows could live in a shared database
 * (reserve being a conditional increment) without changing their callers. Memory is fixed:
 * each window table has a set number of slots and the least recently failing entry gives way
 * to a new one. Keys are keyed hashes, so memory holds no email, address or cookie. */
#ifndef USHER_APP_THROTTLE_H
#define USHER_APP_THROTTLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct app_throttle;
struct usher_error;

#define APP_THROTTLE_KEY_BYTES 16
#define APP_THROTTLE_WINDOWS   4 /* account, account from an address, address, device */

struct app_throttle_limits {
    unsigned account_failures; /* untrusted failures per account, from every address */
    unsigned pair_failures;    /* untrusted failures per account from one address */
    unsigned address_failures; /* untrusted failures per address, across accounts */
    unsigned device_failures;  /* failures per trusted device */
    int64_t window_ms;         /* how long a failure counts */
    size_t slots;              /* entries per table, rounded up to a power of two */
};

/* The defaults, in 15 minutes: 20 untrusted failures per account, 10 per account from one
 * address, 50 per address, 10 per device; 4096 slots. */
extern const struct app_throttle_limits app_throttle_defaults;

/* What a sign-in attempt is judged by. Strings are borrowed for the call. */
struct app_throttle_attempt {
    const char *account; /* the normalised email, known or not; NULL skips the account windows */
    const char *address; /* the source address; NULL skips the address windows */
    const char *device;  /* the nonce of a device cookie verified for account (trusted), or
                            NULL (untrusted) */
};

/* A reservation, in the caller's storage. Filled by app_throttle_reserve only; a zeroed
 * ticket holds nothing. */
struct app_throttle_ticket {
    unsigned char keys[APP_THROTTLE_WINDOWS][APP_THROTTLE_KEY_BYTES];
    bool is_held[APP_THROTTLE_WINDOWS];
};

/* Creates the tables (limits NULL means app_throttle_defaults). Free with app_throttle_free. */
struct app_throttle *app_throttle_new(const struct app_throttle_limits *limits);

/* Releases the tables; accepts NULL. */
void app_throttle_free(struct app_throttle *t);

/* Reserves a place for attempt at now_ms in every window it is judged by, all or none, and
 * fills *out. Returns 0 (the caller must end the ticket), or USHER_ELIMIT (problem
 * "rate_limited", *out holds nothing) with *out_retry_after the whole seconds until a place
 * frees (at least 1; 1 when only attempts in flight fill a window). Thread-safe. */
int app_throttle_reserve(struct app_throttle_ticket *out, int64_t *out_retry_after,
                         struct app_throttle *t, const struct app_throttle_attempt *attempt,
                         int64_t now_ms, struct usher_error *err);

/* Ends the ticket as one failed sign-in at now_ms in each of its windows. Thread-safe. */
void app_throttle_failure(struct app_throttle *t, struct app_throttle_ticket *ticket,
                          int64_t now_ms);

/* Ends the ticket after a successful sign-in: the account's (or the device's) failures are
 * forgotten; the address keeps its count. Thread-safe. */
void app_throttle_success(struct app_throttle *t, struct app_throttle_ticket *ticket);

/* Ends the ticket without counting anything (the attempt could not be judged: the hashing
 * pool was full, the store failed). Does nothing for an ended or zeroed ticket. Thread-safe. */
void app_throttle_release(struct app_throttle *t, struct app_throttle_ticket *ticket);

#endif
