/* Rows of the sign-in throttle's windows (table throttle_events, migration 0009): failures and
 * reservations in flight, each under a window kind and the keyed hash (hex) of what the window
 * counts. Functions work on a checked-out connection; errors are those listed in store.h. */
#ifndef USHER_STORE_STORE_THROTTLE_H
#define USHER_STORE_STORE_THROTTLE_H

#include <stdbool.h>
#include <stdint.h>

#include "store/store.h"

/* What counts in window (kind, hash) at now: *out_failures failures after since and *out_holds
 * reservations whose lease runs past now. */
int store_throttle_count(int64_t *out_failures, int64_t *out_holds, struct store_conn *c,
                         struct arena *a, int kind, const char *hash, int64_t since, int64_t now,
                         struct usher_error *err);

/* The time of the (skip + 1)-th newest failure after since in window (kind, hash), or
 * *out_found false when there are not that many. */
int store_throttle_failure_at(int64_t *out_at, bool *out_found, struct store_conn *c,
                              struct arena *a, int kind, const char *hash, int64_t since,
                              int64_t skip, struct usher_error *err);

/* Records reservation hold_id in window (kind, hash), taken at `at` and counting until
 * `until`. */
int store_throttle_hold(struct store_conn *c, struct arena *a, int kind, const char *hash,
                        const char *hold_id, int64_t at, int64_t until, struct usher_error *err);

/* Turns every row of reservation hold_id into a failure at `at`, in one statement. */
int store_throttle_fail(struct store_conn *c, struct arena *a, const char *hold_id, int64_t at,
                        struct usher_error *err);

/* Deletes reservation hold_id and, in the same statement, the failures of the windows (kind
 * clear_kinds[i], hash clear_hashes[i]) for i < n (n at most 3; a NULL hash clears nothing). */
int store_throttle_clear(struct store_conn *c, struct arena *a, const char *hold_id,
                         const int *clear_kinds, const char *const *clear_hashes, int n,
                         struct usher_error *err);

/* Deletes every row older than `before` (failures out of every window, long-dead
 * reservations). *out_removed (may be NULL) gets how many. */
int store_throttle_prune(int64_t *out_removed, struct store_conn *c, struct arena *a,
                         int64_t before, struct usher_error *err);

#endif
