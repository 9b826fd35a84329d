/* What the invitation files share. */
#ifndef USHER_APP_INVITATION_INT_H
#define USHER_APP_INVITATION_INT_H

#include "app/grants.h"
#include "app/invitation.h"

/* Queues the invitation email for v (grants, agency and inviter filled) in the caller's
 * transaction. */
int app_invitation_mail_queue(struct store_conn *c, struct arena *a,
                              const struct app_invitation_view *v, struct usher_error *err);

/* Whether inv is pending but past its expiry at now. */
bool app_invitation_is_expired(const struct store_invitation *inv, int64_t now);

/* Parses inv's stored grants again against its agency (custom roles by id) into *out, with the
 * agency's custom roles in *roles. A granted environment or bot that is gone: USHER_EINVAL. */
int app_invitation_stored_grants(struct app_grant **out, size_t *count, struct app_role_set *roles,
                                 struct store_conn *c, struct arena *a,
                                 const struct store_invitation *inv, struct usher_error *err);

/* Fills v with inv, its agency's name, its inviter's name, its status as of now and its
 * grants (as stored when a scope is gone). v's JSON is released by
 * app_invitation_view_dispose. */
int app_invitation_view_fill(struct app_invitation_view *v, struct store_conn *c, struct arena *a,
                             const struct store_invitation *inv, struct usher_error *err);

/* May actor manage inv (list it, copy its link, resend or revoke it)? It takes what creating
 * it takes: rule 4 over every grant (app_access_may_grant). Outside the agency:
 * USHER_ENOTFOUND; inside without the authority: USHER_EFORBIDDEN. */
int app_invitation_manage_check(struct store_conn *c, struct arena *a,
                                const struct app_actor *actor, const struct store_invitation *inv,
                                struct usher_error *err);

/* Reads invitation id for actor, who must be allowed to manage it
 * (app_invitation_manage_check). */
int app_invitation_load_managed(struct store_invitation *out, struct store_conn *c, struct arena *a,
                                const struct app_actor *actor, const char *id,
                                struct usher_error *err);

/* 0 when inv is pending; USHER_EEXPIRED "invitation_expired" past its expiry (recorded or
 * not), USHER_ECONFLICT "invitation_not_pending" when accepted, declined or revoked. */
int app_invitation_not_pending(const struct store_invitation *inv, struct usher_error *err);

#endif
