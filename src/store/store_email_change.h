/* Email changes: one row per request to change an account's email address, the count that
 * limits them, the single use of a confirmation link, and the purge of old rows. */
#ifndef USHER_STORE_STORE_EMAIL_CHANGE_H
#define USHER_STORE_STORE_EMAIL_CHANGE_H

#include <stdint.h>

#include "store/store.h"

/* One row of email_changes; strings live in the arena it was read into. */
struct store_email_change {
    const char *id;
    const char *user_id;
    const char *new_email; /* normalised */
    const char *status;    /* "pending", "used", "voided" or "cancelled" */
    const char *token_nonce;
    const char *token_hash;
    const char *source_ip; /* may be NULL */
    int64_t created_at;
    int64_t expires_at;
    int64_t used_at;
};

/* Inserts e (every field but used_at). Errors: USHER_ECONFLICT on a duplicate id or hash, or
 * when the account already has a pending change. */
int store_email_change_insert(struct store_conn *c, struct arena *a,
                              const struct store_email_change *e, struct usher_error *err);

/* Loads the row with this id, or with this token hash. Errors: USHER_ENOTFOUND. */
int store_email_change_get(struct store_email_change *out, struct store_conn *c, struct arena *a,
                           const char *id, struct usher_error *err);
int store_email_change_by_token_hash(struct store_email_change *out, struct store_conn *c,
                                     struct arena *a, const char *token_hash,
                                     struct usher_error *err);

/* The account's pending change that has not expired at `now`. Errors: USHER_ENOTFOUND. */
int store_email_change_pending(struct store_email_change *out, struct store_conn *c,
                               struct arena *a, const char *user_id, int64_t now,
                               struct usher_error *err);

/* How many changes user_id asked for since `since` (Unix ms) in *out_count, and when the
 * oldest of them was asked for in *out_oldest (0 when none). */
int store_email_change_count(int64_t *out_count, int64_t *out_oldest, struct store_conn *c,
                             struct arena *a, const char *user_id, int64_t since,
                             struct usher_error *err);

/* Marks every pending change of user_id with status ("voided" or "cancelled"); *out_changed
 * (may be NULL) receives how many. */
int store_email_change_end_user(int64_t *out_changed, struct store_conn *c, struct arena *a,
                                const char *user_id, const char *status, struct usher_error *err);

/* Marks change id "used" at `at` if it is still pending and not expired at `at`; *out_used
 * receives 1 when it was, 0 otherwise. */
int store_email_change_use(int64_t *out_used, struct store_conn *c, struct arena *a, const char *id,
                           int64_t at, struct usher_error *err);

/* Deletes the rows made before `before` (Unix ms); *out_deleted (may be NULL) receives how
 * many. */
int store_email_change_purge(int64_t *out_deleted, struct store_conn *c, struct arena *a,
                             int64_t before, struct usher_error *err);

#endif
