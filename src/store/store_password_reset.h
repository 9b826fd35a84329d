/* Password reset requests: one row per "forgot password" request, the counts that throttle
 * them, the single use of a link, and the purge of old rows. */
#ifndef USHER_STORE_STORE_PASSWORD_RESET_H
#define USHER_STORE_STORE_PASSWORD_RESET_H

#include <stdint.h>

#include "store/store.h"

/* One row of password_resets; strings live in the arena it was read into. */
struct store_password_reset {
    const char *id;
    const char *email;   /* normalised, as requested */
    const char *user_id; /* NULL when the address had no account */
    const char *status;  /* "pending", "used", "voided" or "throttled" */
    const char *token_nonce;
    const char *token_hash;
    const char *source_ip; /* may be NULL */
    int64_t created_at;
    int64_t expires_at;
    int64_t used_at;
};

/* Inserts r (every field but used_at). Errors: USHER_ECONFLICT on a duplicate id or hash. */
int store_password_reset_insert(struct store_conn *c, struct arena *a,
                                const struct store_password_reset *r, struct usher_error *err);

/* Loads the row with this id, or with this token hash. Errors: USHER_ENOTFOUND. */
int store_password_reset_get(struct store_password_reset *out, struct store_conn *c,
                             struct arena *a, const char *id, struct usher_error *err);
int store_password_reset_by_token_hash(struct store_password_reset *out, struct store_conn *c,
                                       struct arena *a, const char *token_hash,
                                       struct usher_error *err);

/* How many requests since `since` (Unix ms) were not throttled: for the address email in
 * *out_email, and for the account user_id (may be NULL: 0) in *out_user. */
int store_password_reset_counts(int64_t *out_email, int64_t *out_user, struct store_conn *c,
                                struct arena *a, const char *email, const char *user_id,
                                int64_t since, struct usher_error *err);

/* Marks every pending request of user_id "voided"; *out_voided (may be NULL) receives how
 * many. */
int store_password_reset_void_user(int64_t *out_voided, struct store_conn *c, struct arena *a,
                                   const char *user_id, struct usher_error *err);

/* Marks request id "used" at `at` if it is still pending and not expired at `at`;
 * *out_used receives 1 when it was, 0 otherwise. */
int store_password_reset_use(int64_t *out_used, struct store_conn *c, struct arena *a,
                             const char *id, int64_t at, struct usher_error *err);

/* Deletes the requests made before `before` (Unix ms); *out_deleted (may be NULL) receives how
 * many. */
int store_password_reset_purge(int64_t *out_deleted, struct store_conn *c, struct arena *a,
                               int64_t before, struct usher_error *err);

#endif
