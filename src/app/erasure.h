/* Erasing an account: a person deletes their own (proving their password, or, for an account
 * without one, by a recent sign-in through their company login), or a platform admin erases
 * someone's (typing their address to confirm). The account, its sessions, memberships
 * and grants, the invitations, password-reset requests and queued messages of its address, and
 * the personal values of every audit entry about it go in one transaction; the audit log keeps
 * the pseudonymous id and still verifies (see docs/internals/audit.md, "Erasure"). */
#ifndef USHER_APP_ERASURE_H
#define USHER_APP_ERASURE_H

#include <stdint.h>

#include "app/app.h"
#include "app/second_factor.h"

/* How long a session started by a company sign-in (OpenID Connect) stands as proof for an
 * account without a password to delete itself: ten minutes from the sign-in. */
#define APP_ERASURE_RECENT_SIGN_IN_MS (10 * 60 * 1000)

/* Deleting one's own account. Strings are borrowed. */
struct app_erasure_self {
    const char *current_password;         /* NULL when none was given */
    struct app_second_factor_proof proof; /* needed when the account's second factor is on */
    const char *session_hash;             /* the session asking: none for an API token */
    const char *device_cookie;            /* the device cookie the client sent, or NULL */
};

/* Until when (Unix ms) actor's session stands as a recent company sign-in: its start plus
 * APP_ERASURE_RECENT_SIGN_IN_MS for a person's own session made through a connection, else 0
 * (password sessions, "view as", API tokens, the CLI). The moment may have passed. */
int64_t app_erasure_recent_sign_in_until(const struct app_actor *actor);

/* Erases call->actor's own account. An account without a password, asked without one, proves
 * itself by the session: it must have been started by a company sign-in no more than
 * APP_ERASURE_RECENT_SIGN_IN_MS ago, else USHER_EFORBIDDEN "recent_sign_in_required" (audited
 * as "user.erase_failed" with reason "sign_in_not_recent"); then it is erased. Otherwise (a
 * password exists, or one was given) it reserves a place in the sign-in throttle, verifies the
 * current password (a wrong one counts as a failed sign-in and writes "user.erase_failed"),
 * and, when the account's second factor is on, the proof (a code or a recovery code, checked
 * and taken as turning the factor off does; a wrong one counts and writes "user.erase_failed"
 * too), then erases. The platform log's "user.erased" names the kind of proof in its "proof"
 * detail ("password", "totp", "recovery_code" or "recent_company_sign_in"), never its value.
 * Errors: USHER_EINVAL naming current_password, "code" when the factor is on and the proof is
 * not exactly one of code and recovery_code, "invalid_code" naming code or recovery_code for a
 * wrong, reused or malformed one; USHER_EFORBIDDEN "invalid_credentials" for a wrong password,
 * or for no person, a "view as" actor or no session; USHER_ECONFLICT "last_owner" (naming the
 * agency) while they are the only owner of an agency, "last_platform_admin" when no other active
 * platform admin would remain; USHER_ELIMIT "rate_limited" with *out_retry_after in seconds (may be
 * NULL); USHER_EUNAVAIL; store errors. */
int app_erasure_self(int64_t *out_retry_after, const struct app_call *call,
                     const struct app_erasure_self *in);

/* Erases the account user_id for a platform admin ("user.erased" with proof "platform_admin");
 * confirm must be its email address (as stored, compared after trimming and lower-casing ASCII).
 * Errors: USHER_EFORBIDDEN unless a platform admin acts (never while viewing as someone);
 * USHER_ENOTFOUND; USHER_EINVAL "confirm_mismatch" naming confirm; USHER_ECONFLICT
 * "cannot_erase_self" for their own account (they use app_erasure_self) and "last_owner" as above;
 * store errors. */
int app_erasure_user(const struct app_call *call, const char *user_id, const char *confirm);

#endif
