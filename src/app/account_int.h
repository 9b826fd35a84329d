/* What the account files share inside app/: the sign-in throttle reservation, the session
 * timeouts and the password-changed email. */
#ifndef USHER_APP_ACCOUNT_INT_H
#define USHER_APP_ACCOUNT_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "app/app.h"
#include "app/throttle.h"

struct store_conn;
struct store_session;
struct store_user;
struct usher_error;

/* The idle timeout in milliseconds. */
int64_t app_account_idle_ms(const struct app *app);

/* Whether s has not ended by now (absolute end and idle timeout). */
bool app_account_session_live(const struct app *app, const struct store_session *s, int64_t now);

/* The User-Agent as a session and the password-changed email keep it: at most 256 bytes of
 * printable ASCII, anything else shown as '?', so it is valid text on every database and in
 * every mail part. NULL for NULL or "". The copy lives in a. */
const char *app_account_user_agent_clean(struct arena *a, const char *ua);

/* Reserves a place in the sign-in throttle for an attempt on the account email (normalised)
 * from call->actor's address: a device cookie made for this account makes it a trusted attempt,
 * judged by that device alone. Errors: USHER_ELIMIT with *out_retry_after in seconds (logged);
 * USHER_EUNAVAIL when the database cannot take the reservation. */
int app_account_throttle_reserve(struct app_throttle_ticket *out, int64_t *out_retry_after,
                                 const struct app_call *call, const char *email,
                                 const char *device_cookie);

/* What a person is told when the current password they gave is not theirs. */
#define APP_ACCOUNT_WRONG_PASSWORD "the current password is not correct"

/* The answer to a wrong current password in self-service (a password, email or account change):
 * one failure in the sign-in throttle on ticket, an audit row `action` with details {reason} in
 * a transaction of its own, then USHER_EFORBIDDEN invalid_credentials on field
 * current_password. Store errors when the row cannot be written. */
int app_account_password_refused(const struct app_call *call, struct app_throttle_ticket *ticket,
                                 const struct store_user *user, const char *action,
                                 const char *reason);

/* When and from where a password was changed, for the email. Strings are borrowed. */
struct app_account_mail_when {
    int64_t at;             /* Unix ms */
    const char *source_ip;  /* NULL when unknown */
    const char *user_agent; /* NULL when none was sent */
};

/* Queues the "your password was changed" email (text and HTML) to user->email in the caller's
 * transaction on c. Store errors. */
int app_account_password_mail_queue(struct store_conn *c, struct arena *a,
                                    const struct store_user *user,
                                    const struct app_account_mail_when *when,
                                    struct usher_error *err);

#endif
