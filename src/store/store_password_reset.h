/* Password reset requests: one row per "forgot password" request (a link of store_link.h,
 * table store_password_resets), the counts that throttle them and the void of pending ones. */
#ifndef USHER_STORE_STORE_PASSWORD_RESET_H
#define USHER_STORE_STORE_PASSWORD_RESET_H

#include <stdint.h>

#include "store/store.h"
#include "store/store_link.h"

/* How many requests since `since` (Unix ms) were not throttled: for the address email in
 * *out_email, and for the account user_id (may be NULL: 0) in *out_user. */
int store_password_reset_counts(int64_t *out_email, int64_t *out_user, struct store_conn *c,
                                struct arena *a, const char *email, const char *user_id,
                                int64_t since, struct usher_error *err);

/* Marks every pending request of user_id "voided"; *out_voided (may be NULL) receives how
 * many. */
int store_password_reset_void_user(int64_t *out_voided, struct store_conn *c, struct arena *a,
                                   const char *user_id, struct usher_error *err);

#endif
