/* "View as" (docs/rules.md, Impersonation; promises 24-27 of docs/SECURITY.md): a separate,
 * read-only, short-lived session that sees exactly what another member sees in one agency, started
 * only by someone holding users.manage wherever that member has access and every authority
 * permission the member holds there (app_access_may_impersonate), never toward a platform admin,
 * toward an owner only by an owner, never nested, and ended at once when the impersonator loses
 * the right. */
#ifndef USHER_APP_IMPERSONATION_H
#define USHER_APP_IMPERSONATION_H

#include "app/account.h"
#include "app/app.h"
#include "store/store_session.h"

#define APP_IMPERSONATION_MAX_S      1800 /* 30 minutes */
#define APP_IMPERSONATION_REASON_MAX 500

/* A started impersonation: the session for the target, and who started it. */
struct app_impersonation {
    struct app_session_new session; /* session.user is the target */
    struct store_user impersonator;
    const char *agency_id;
    const char *session_id; /* the session's public id, which its audit entries carry */
};

/* Starts viewing as target_id in agency_id. call->actor must be a person's own session (not an API
 * token, not already impersonating); current_session_hash (may be NULL) is that session, which
 * ends here: the impersonator comes back with a fresh session at the end. Errors:
 * USHER_ENOTFOUND (agency or member not visible), USHER_EFORBIDDEN "impersonation_forbidden"
 * (no users.manage over the target, the target holds authority the actor does not, an owner
 * for a non-owner, a platform admin or disabled target, oneself), USHER_ECONFLICT
 * "impersonation_nested". */
int app_impersonation_start(struct app_impersonation *out, const struct app_call *call,
                            const char *current_session_hash, const char *target_id,
                            const char *agency_id, const char *reason);

/* Ends the impersonation session session_hash and starts a fresh session for the impersonator.
 * USHER_ECONFLICT "not_impersonating" when the session is not one. */
int app_impersonation_end(struct app_session_new *out, const struct app_call *call,
                          const char *session_hash);

/* Checked on every request of an impersonation session: the impersonator must still be
 * allowed. When not, the session is deleted, an "impersonation.ended" entry written, and
 * USHER_EUNAUTH "impersonation_ended" returned. call->actor is the request as the session
 * makes it (for the audit row). */
int app_impersonation_recheck(const struct app_call *call, const struct store_session *s);

/* Records one request made while impersonating (call->actor names both people), the route
 * and method, filed under the view-as session session_id (its public id; may be NULL for a
 * session that has none), as its start and end are. */
int app_impersonation_record_request(const struct app_call *call, const char *agency_id,
                                     const char *session_id, const char *method, const char *route);

#endif
