/* Email changes: one row per request to change an account's email address (a link of
 * store_link.h, table store_email_changes), the pending one, the count that limits them and
 * their end. */
#ifndef USHER_STORE_STORE_EMAIL_CHANGE_H
#define USHER_STORE_STORE_EMAIL_CHANGE_H

#include <stdint.h>

#include "store/store.h"
#include "store/store_link.h"

/* The account's pending change that has not expired at `now`. Errors: USHER_ENOTFOUND. */
int store_email_change_pending(struct store_link *out, struct store_conn *c, struct arena *a,
                               const char *user_id, int64_t now, struct usher_error *err);

/* How many changes user_id asked for since `since` (Unix ms) in *out_count, and when the
 * oldest of them was asked for in *out_oldest (0 when none). */
int store_email_change_count(int64_t *out_count, int64_t *out_oldest, struct store_conn *c,
                             struct arena *a, const char *user_id, int64_t since,
                             struct usher_error *err);

/* Marks every pending change of user_id with status ("voided" or "cancelled"); *out_changed
 * (may be NULL) receives how many. */
int store_email_change_end_user(int64_t *out_changed, struct store_conn *c, struct arena *a,
                                const char *user_id, const char *status, struct usher_error *err);

#endif
