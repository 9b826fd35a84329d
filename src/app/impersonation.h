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
};

/* Starts viewing as target_id in agency_id. actor must be a person's own session (not an API
 * token, not already impersonating); current_session_hash (may be NULL) is that session, which
 * ends here: the impersonator comes back with a fresh session at the end. Errors:
 * USHER_ENOTFOUND (agency or member not visible), USHER_EFORBIDDEN "impersonation_forbidden"
 * (no users.manage over the target, the target holds authority the actor does not, an owner
 * for a non-owner, a platform admin or disabled target, oneself), USHER_ECONFLICT
 * "impersonation_nested". */
int app_impersonation_start(struct app_impersonation *out, struct app *app, struct arena *a,
                            const struct app_actor *actor, const char *current_session_hash,
                            const char *target_id, const char *agency_id, const char *reason,
                            struct usher_error *err);

/* Ends the impersonation session session_hash and starts a fresh session for the impersonator.
 * USHER_ECONFLICT "not_impersonating" when the session is not one. */
int app_impersonation_end(struct app_session_new *out, struct app *app, struct arena *a,
                          const struct app_actor *actor, const char *session_hash,
                          struct usher_error *err);

/* Checked on every request of an impersonation session: the impersonator must still be
 * allowed. When not, the session is deleted, an "impersonation.ended" entry written, and
 * USHER_EUNAUTH "impersonation_ended" returned. */
int app_impersonation_recheck(struct app *app, struct arena *a, const struct store_session *s,
                              const struct app_actor *actor, struct usher_error *err);

/* Records one request made while impersonating (both people, the route and method). */
int app_impersonation_record_request(struct app *app, struct arena *a,
                                     const struct app_actor *actor, const char *agency_id,
                                     const char *method, const char *route,
                                     struct usher_error *err);

#endif
