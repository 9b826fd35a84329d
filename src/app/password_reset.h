/* Password recovery ("forgot password"): a request emails a single-use link to an active
 * account, and the link sets a new password, ends every session of the account and signs the
 * person in.
 *
 * A request answers the same, in about the same time, whether or not the address has an
 * account and whether or not it is throttled: each one writes a password_resets row and an
 * audit row. The link's token is derived from the server secret, the row id and a random nonce
 * when the email is sent (the outbox never holds a working link); the database holds only its
 * keyed hash. A link expires after APP_PASSWORD_RESET_TTL_MS, works once, and a newer request
 * for the account voids every older link. */
#ifndef USHER_APP_PASSWORD_RESET_H
#define USHER_APP_PASSWORD_RESET_H

#include <stdint.h>

#include "app/account.h"
#include "app/app.h"
#include "base/crypto.h"

#define APP_PASSWORD_RESET_TTL_MS      (30LL * 60 * 1000) /* how long a link works */
#define APP_PASSWORD_RESET_WINDOW_MS   (60LL * 60 * 1000) /* the window the limits count in */
#define APP_PASSWORD_RESET_PER_ADDRESS 3                  /* emails per address per window */
#define APP_PASSWORD_RESET_PER_ACCOUNT 5                  /* emails per account per window */

/* A "forgot password" request for email (as typed). Validates the address (USHER_EINVAL
 * naming email), then in one transaction records the request and an audit row
 * "user.password_reset_requested"; for an active account under both limits it voids the
 * account's older links and queues the email. Unknown, disabled and throttled addresses get
 * the same 0. Store errors otherwise. */
int app_password_reset_request(const struct app_call *call, const char *email);

/* Sets a new password with the token of a reset link: an unknown, used, voided or expired token
 * is USHER_EEXPIRED "password_reset_expired" (all alike); a password that fails the length or
 * strength rules is USHER_EINVAL naming password ("weak_password" for a guessable one; the link
 * still works). On success, in one transaction: the new hash, the link used, every session of
 * the account ended (and any "view as" session it started), a pending change of email voided,
 * a new session started into *out (or, when the account has a second factor on, a two-step
 * token: out->mfa_required, see app/second_factor.h), a "user.password_reset" audit row and
 * the "your password was changed" email. USHER_EUNAVAIL
 * when hashing or the store is saturated. */
int app_password_reset_confirm(struct app_session_new *out, const struct app_call *call,
                               const char *token, const char *password);

/* A platform admin (not viewing as someone: USHER_EFORBIDDEN otherwise) sends account user_id
 * a reset link; the admin never sees the token. In one transaction: USHER_ENOTFOUND for no
 * such account, USHER_ECONFLICT "account_disabled" for a disabled one, USHER_ELIMIT
 * "rate_limited" past APP_PASSWORD_RESET_PER_ACCOUNT emails in the window (the same count as
 * the person's own requests); else the account's older links are voided, the request written,
 * "user.password_reset_requested" audited with the admin as actor (via "platform_admin") and
 * the email queued. */
int app_password_reset_send(const struct app_call *call, const char *user_id);

/* The URL of reset request id (for the mail sender's link resolver): *out_url in a, or
 * USHER_ENOTFOUND when the request is no longer pending or has expired. */
int app_password_reset_link(const char **out_url, struct app *app, struct arena *a, const char *id,
                            struct usher_error *err);

#endif
