/* Changing one's email address: the signed-in person proves their password and names a new
 * address; a single-use link goes to the new address and a notice to the old one; the email
 * changes only when the link comes back (from any browser: the token is the credential), which
 * ends every session of the account and tells the old address.
 *
 * The link's token is derived from the server secret, the row id and a random nonce when the
 * email is sent; the database holds only its keyed hash. A link expires after
 * APP_EMAIL_CHANGE_TTL_MS, works once, and a newer request, a cancellation or a password change
 * voids it. Invitations addressed to the old email are left as they are. */
#ifndef USHER_APP_EMAIL_CHANGE_H
#define USHER_APP_EMAIL_CHANGE_H

#include <stdint.h>

#include "app/app.h"
#include "store/store_user.h"

#define APP_EMAIL_CHANGE_TTL_MS      (24LL * 60 * 60 * 1000) /* how long a link works */
#define APP_EMAIL_CHANGE_WINDOW_MS   (60LL * 60 * 1000)      /* the window the limit counts in */
#define APP_EMAIL_CHANGE_PER_ACCOUNT 5                       /* requests per account per window */
/* Rows of email_changes and password_resets older than this are deleted (hourly). */
#define APP_ACCOUNT_LINKS_KEEP_MS (7LL * 24 * 60 * 60 * 1000)

/* A request to change the signed-in person's email. Strings are borrowed. */
struct app_email_change_request {
    const char *email;            /* the new address, as typed */
    const char *current_password; /* proves the person is at the keyboard */
    const char *session_hash;     /* the session making the request; NULL for an API token */
    const char *device_cookie;    /* the sign-in throttle's device cookie, may be NULL */
};

/* Asks for call->actor's email to become in->email. Only the person themselves, signed in with
 * a session, not viewing as someone: USHER_EFORBIDDEN otherwise. The address is normalised and
 * validated as invitation addresses are (USHER_EINVAL naming email; "same_email" when it is the
 * current one). The attempt takes a place in the sign-in throttle before the password is
 * checked (USHER_ELIMIT with *out_retry_after in seconds); a wrong password counts as a failed
 * sign-in, writes "email.change_failed" and is USHER_EFORBIDDEN "invalid_credentials" naming
 * current_password. Then, in one transaction: USHER_ELIMIT "rate_limited" past
 * APP_EMAIL_CHANGE_PER_ACCOUNT requests in the window (*out_retry_after set), USHER_ECONFLICT
 * "email_taken" when another account has the address; else the account's pending change is
 * voided, the new one written, "email.change_requested" audited and the two emails queued (the
 * link to the new address, the notice to the old). *out_pending receives the new address (in
 * call->arena). USHER_EUNAVAIL when hashing or the store is saturated. */
int app_email_change_request(const char **out_pending, int64_t *out_retry_after,
                             const struct app_call *call,
                             const struct app_email_change_request *in);

/* Confirms a change with the token of its link: an unknown, used, voided, cancelled or expired
 * token, or one whose account is gone or not active, is USHER_EINVAL "invalid_token" naming
 * token (all alike). USHER_ECONFLICT "email_taken" when another account took the address
 * meanwhile (the link stays usable). On success, in one transaction: the email set, the link
 * used, every session of the account ended (and any "view as" session it started),
 * "email.changed" audited and a notice queued to the old address. No session is started.
 * *out receives the account as it now is (call->arena strings). */
int app_email_change_confirm(struct store_user *out, const struct app_call *call,
                             const char *token);

/* Cancels the signed-in person's pending change ("email.change_cancelled" audited).
 * USHER_EFORBIDDEN for anyone but the person themselves with a session (session_hash NULL for
 * an API token); USHER_ENOTFOUND when nothing is pending. */
int app_email_change_cancel(const struct app_call *call, const char *session_hash);

/* The address user_id's pending, unexpired change goes to, in call->arena, or NULL when there
 * is none. Store errors. */
int app_email_change_pending(const char **out_email, const struct app_call *call,
                             const char *user_id);

/* The URL of change id (for the mail sender's link resolver): *out_url in a, or
 * USHER_ENOTFOUND when the change is no longer pending or has expired. */
int app_email_change_link(const char **out_url, struct app *app, struct arena *a, const char *id,
                          struct usher_error *err);

/* Deletes the rows of email_changes and password_resets made more than
 * APP_ACCOUNT_LINKS_KEEP_MS before now; *out_deleted (may be NULL) receives how many. Store
 * errors. Runs on the sync thread hourly. */
int app_account_links_purge(int64_t *out_deleted, struct app *app, struct usher_error *err);

/* The address with most of it hidden, for a notice sent elsewhere: the first character of the
 * local part, "…", "@", the first character of the domain, "…" and the domain's last label
 * ("nina@example.org" gives "n…@e….org"). Characters are whole UTF-8 sequences. In a. */
const char *app_email_mask(struct arena *a, const char *email);

#endif
