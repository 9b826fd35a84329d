/* Sign-in failure throttling, in the database so every instance on it shares the limits:
 * sliding windows of recent failures, kept apart for clients that proved they signed in to the
 * account before (a device cookie, see app/device.h) and for everyone else.
 *
 * An untrusted attempt is judged by three windows: the account's untrusted failures from
 * everywhere, the account's failures from the attempt's address, and the address's failures
 * across accounts (IPv6 grouped by /64). A trusted attempt is judged only by its own device's
 * window, so failures from elsewhere never block a device that signed in before.
 *
 * An attempt reserves its place in every window it is judged by before the password is
 * hashed, in one write transaction (writers run one at a time across every instance), and is
 * refused when a window is full counting the attempts still in flight: concurrent attempts on
 * any instance cannot overshoot a limit. The reservation then ends in exactly one of
 * app_throttle_failure, app_throttle_success or app_throttle_release; one left by a crashed
 * process stops counting when its lease runs out. Refused attempts are not counted, so nobody
 * is blocked for longer than one window after the last real failure.
 *
 * Keys are keyed hashes under a key derived from the server secret, so every instance agrees
 * on them and the database holds no email, address or cookie. Rows older than the window are
 * pruned; nothing is kept in memory. */
#ifndef USHER_APP_THROTTLE_H
#define USHER_APP_THROTTLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/crypto.h"

struct app_throttle;
struct store;
struct usher_error;

#define APP_THROTTLE_KEY_BYTES  16
#define APP_THROTTLE_WINDOWS    4  /* account, account from an address, address, device */
#define APP_THROTTLE_HOLD_CHARS 32 /* a reservation's id: 16 random bytes in hex */

struct app_throttle_limits {
    unsigned account_failures; /* untrusted failures per account, from every address */
    unsigned pair_failures;    /* untrusted failures per account from one address */
    unsigned address_failures; /* untrusted failures per address, across accounts */
    unsigned device_failures;  /* failures per trusted device */
    int64_t window_ms;         /* how long a failure counts */
    int64_t lease_ms;          /* how long a reservation counts unless it ends first */
    int64_t prune_every_ms;    /* how often an instance deletes rows older than the window */
};

/* The defaults, in 15 minutes: 20 untrusted failures per account, 10 per account from one
 * address, 50 per address, 10 per device; a 60-second lease; pruning every minute. */
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
    char hold_id[APP_THROTTLE_HOLD_CHARS + 1];
};

/* Creates a throttle whose windows live in store (borrowed; it must outlive the throttle),
 * keyed under a key derived from secret (copied). limits NULL means app_throttle_defaults.
 * Free with app_throttle_free. */
struct app_throttle *app_throttle_new(const struct app_throttle_limits *limits, struct store *store,
                                      const unsigned char secret[CRYPTO_SECRET_BYTES]);

/* Releases the throttle (the windows stay in the database); accepts NULL. */
void app_throttle_free(struct app_throttle *t);

/* Reserves a place for attempt at now_ms in every window it is judged by, all or none, and
 * fills *out. Returns 0 (the caller must end the ticket), or USHER_ELIMIT (problem
 * "rate_limited", *out holds nothing) with *out_retry_after the whole seconds until a place
 * frees (at least 1; 1 when only attempts in flight fill a window), or the store's error
 * (USHER_EUNAVAIL when the database is busy or unreachable; *out holds nothing). Takes a
 * connection of the store for the call, so the caller must hold none. Thread-safe. */
int app_throttle_reserve(struct app_throttle_ticket *out, int64_t *out_retry_after,
                         struct app_throttle *t, const struct app_throttle_attempt *attempt,
                         int64_t now_ms, struct usher_error *err);

/* Ends the ticket as one failed sign-in at now_ms in each of its windows (one statement). A
 * store failure is logged; the reservation then counts until its lease ends. Thread-safe. */
void app_throttle_failure(struct app_throttle *t, struct app_throttle_ticket *ticket,
                          int64_t now_ms);

/* Ends the ticket after a successful sign-in: the account's (or the device's) failures are
 * forgotten; the address keeps its count (one statement). Thread-safe. */
void app_throttle_success(struct app_throttle *t, struct app_throttle_ticket *ticket);

/* Ends the ticket without counting anything (the attempt could not be judged: the hashing
 * pool was full, the store failed). Does nothing for an ended or zeroed ticket. Thread-safe. */
void app_throttle_release(struct app_throttle *t, struct app_throttle_ticket *ticket);

#endif
