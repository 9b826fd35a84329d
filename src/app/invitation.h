/* Invitations (docs/rules.md, Invitations): create, list, show, copy link, resend, revoke, look up,
 * accept as a new or an existing user, decline.
 *
 * Each operation takes the call context of app/app.h: "the actor" below is call->actor, views
 * and their strings live in call->arena, and errors are detailed in call->err. */
#ifndef USHER_APP_INVITATION_H
#define USHER_APP_INVITATION_H

#include <jansson.h>

#include "app/account.h"
#include "app/app.h"
#include "app/grants.h"
#include "app/grants_preview.h"
#include "base/arena.h"
#include "base/crypto.h"
#include "store/store_invitation.h"

#define APP_INVITATION_EXPIRY_DEFAULT_S 604800  /* 7 days */
#define APP_INVITATION_EXPIRY_MAX_S     2592000 /* 30 days */
#define APP_INVITATION_RESEND_GAP_S     60      /* between two sends of one invitation */
#define APP_INVITATION_SENDS_MAX        10      /* sends of one invitation */
#define APP_INVITATION_LIMIT_WINDOW_S   3600
#define APP_INVITATION_LIMIT_RECIPIENT  5   /* emails to one address per window */
#define APP_INVITATION_LIMIT_ACTOR      100 /* sends by one inviter per window */
#define APP_INVITATION_LIMIT_AGENCY     500 /* sends in one agency per window */

/* An invitation with what its views need. Strings are arena-owned. */
struct app_invitation_view {
    struct store_invitation inv;
    const char *status; /* as stored, but "expired" once past expires_at */
    const char *agency_name;
    const char *inviter_name;    /* first and last name, or email; NULL when the inviter is gone */
    json_t *grants;              /* response shape (custom roles by name); new reference */
    const char *url;             /* the current link, only where the operation returns it */
    bool account_exists;         /* lookup: the invited email already has an account */
    const char *connection_id;   /* the agency's (first) sign-in connection, NULL when none */
    const char *connection_name; /* its name */
};

/* Releases the JSON held by a view; accepts a zeroed view. */
void app_invitation_view_dispose(struct app_invitation_view *v);

/* What a new invitation asks for, read and checked by the API layer: each string validated
 * (text_email_normalize, text_name_check, text_shortcode_check) and borrowed. */
struct app_invitation_new {
    const char *email;          /* normalised */
    const char *first_name;     /* NULL when not given */
    const char *last_name;      /* NULL when not given */
    const char *shortcode;      /* NULL when not given */
    json_t *grants;             /* borrowed JSON array of grants, read against the agency */
    bool send_email;            /* queue the email */
    int64_t expires_in_seconds; /* 1 .. APP_INVITATION_EXPIRY_MAX_S */
    const char *sign_in;        /* "password", "oauth" or NULL (password) */
    const char *oauth_subject;  /* NULL when not given */
    /* Non-NULL: a dry run. Every check and the insert run as for a real invitation, then the
     * transaction is rolled back; *preview says what accepting it would give. No email, no
     * audit row, nothing stored. */
    struct app_grants_preview *preview;
};

/* Creates an invitation in agency_id. The actor needs `authority` (users.invite, or
 * bot.delegate for bot managers) and rule 4 over every grant (app_access_may_grant); every
 * grant must give something ("empty_grant"); nobody invites themselves ("own_grants"). Queues
 * the email unless in->send_email is false. The view carries the link. Errors: USHER_EINVAL
 * naming the field; USHER_ENOTFOUND (agency not visible); USHER_EFORBIDDEN; USHER_ECONFLICT
 * (pending invitation for the email: "conflict", or "already_member"); USHER_ELIMIT (send
 * limits: *out_retry_after seconds). */
int app_invitation_create(struct app_invitation_view *out, int64_t *out_retry_after,
                          const struct app_call *call, const char *agency_id,
                          const struct app_invitation_new *in, const char *authority);

/* A page of invitations; the views' JSON is released with app_invitation_view_dispose. */
struct app_invitation_page {
    struct app_invitation_view *items;
    size_t count;
    const char *next_cursor; /* NULL on the last page */
};

/* What to list, as given (each may be NULL). */
struct app_invitation_query {
    const char *status; /* pending, accepted, declined, revoked or expired */
    const char *limit;  /* decimal 1..200, default 50 */
    const char *cursor; /* next_cursor of the previous page */
};

/* Invitations of agency_id the actor may manage, newest first, filtered by q->status. Errors:
 * USHER_EINVAL naming status, limit or cursor; USHER_ENOTFOUND (agency not visible). */
int app_invitation_list(struct app_invitation_page *out, const struct app_call *call,
                        const char *agency_id, const struct app_invitation_query *q);

/* One invitation; with_link adds the current link (copy link: pending only, else
 * USHER_EEXPIRED "invitation_expired" (410) or USHER_ECONFLICT "invitation_not_pending"). Not
 * visible: USHER_ENOTFOUND. */
int app_invitation_get(struct app_invitation_view *out, const struct app_call *call, const char *id,
                       bool with_link);

/* Resend: a new token (older links stop working), expiry restarted, the email queued again.
 * A pending or expired invitation (then pending again) may be resent; accepted, declined or
 * revoked ones: USHER_ECONFLICT "invitation_not_pending"; an expired one whose address has a
 * newer pending invitation: USHER_ECONFLICT. Rate-limited per invitation and by the send
 * limits (USHER_ELIMIT, *out_retry_after). */
int app_invitation_resend(struct app_invitation_view *out, int64_t *out_retry_after,
                          const struct app_call *call, const char *id);

/* Revoke: the link stops working at once. Only pending invitations: an expired one answers
 * USHER_EEXPIRED "invitation_expired" (410), the others USHER_ECONFLICT
 * "invitation_not_pending". */
int app_invitation_revoke(const struct app_call *call, const char *id);

/* The public facts of a link for the landing page. Unknown token: USHER_ENOTFOUND; a missing
 * or empty token: USHER_EINVAL field "token". */
int app_invitation_lookup(struct app_invitation_view *out, const struct app_call *call,
                          const char *token);

/* What accepting gives back. */
struct app_invitation_accepted {
    struct app_invitation_view view;
    struct store_user user;
    bool is_new_user;
    struct app_session_new session; /* set when is_new_user */
};

/* Accepts by token (token non-NULL) or by id from the signed-in user's pending list. A
 * signed-in actor must have the invited email (else USHER_EFORBIDDEN "email_mismatch"). An
 * anonymous actor creates the account with password (and names if missing) unless the email
 * has one (USHER_ECONFLICT "account_exists"); a password easy to guess, judged with the
 * invited email and the names, is refused (USHER_EINVAL "weak_password"). Consumes the
 * invitation and writes the grants in one transaction: of concurrent accepts exactly one
 * succeeds. Errors besides: USHER_EEXPIRED "invitation_expired" (410), USHER_ECONFLICT
 * "invitation_not_pending", USHER_EFORBIDDEN "invitation_invalid" (the inviter lost the right, or a
 * granted scope is gone). */
int app_invitation_accept(struct app_invitation_accepted *out, const struct app_call *call,
                          const char *token, const char *id, const char *password,
                          const char *first_name, const char *last_name);

/* Who a provider sign-in proved, for accepting an invitation through it. Strings borrowed. */
struct app_invitation_oidc {
    const char *invitation_id;
    const char *connection_id;
    const char *issuer;
    const char *subject;
    const char *email;           /* the email claim, NULL when absent */
    const char *first_name;      /* given_name, NULL when absent */
    const char *last_name;       /* family_name, NULL when absent */
    const char *id_token_sealed; /* kept with the session, may be NULL */
    const char *signed_in_id;    /* the account signed in (in its own right) in the browser
                                  * that started the sign-in, NULL when none */
};

/* Accepts an invitation whose sign_in is "oauth" through a provider sign-in: the invitation
 * (found by id: the state of the sign-in carried it from the link) proves the address, so the
 * email claim need not be verified; when the invitation names oauth_subject the provider's
 * subject must equal it. The account is the identity's (whose email must be the invited one),
 * or the invited address's when that account is who->signed_in_id (the identity is linked to
 * it: only the account itself joins a provider identity to it, never an invitation token
 * alone), or a new one without password (names from the invitation, else from the claims).
 * One transaction: the account, the identity ("identity.linked"), the grants, the audit rows
 * and an "oidc" session (out->session, always set). Errors: as app_invitation_accept;
 * USHER_EFORBIDDEN "invitation_invalid" (not an oauth invitation),
 * "invitation_subject_mismatch", "account_disabled", "account_exists_sign_in_first" (the
 * invited address has an account that was not signed in at the start); USHER_ECONFLICT
 * "link_conflict" when the identity belongs to an account with another address. */
int app_invitation_accept_oidc(struct app_invitation_accepted *out, const struct app_call *call,
                               const struct app_invitation_oidc *who);

/* Declines by token (signed out, or signed in with the invited email, else USHER_EFORBIDDEN
 * "email_mismatch") or, signed in with the invited email, by id. */
int app_invitation_decline(const struct app_call *call, const char *token, const char *id);

/* The pending, unexpired invitations addressed to email (the signed-in user's). */
int app_invitation_pending_for_user(struct app_invitation_view **out, size_t *count,
                                    const struct app_call *call, const char *email);

/* The link token of invitation id with nonce: base64url HMAC under the server secret. */
void app_invitation_token(char out[CRYPTO_TOKEN_CHARS + 1], const struct app *app, const char *id,
                          const char *nonce);

/* The keyed hash under which a token is looked up. */
void app_invitation_token_hash(char out[CRYPTO_HASH_HEX + 1], const struct app *app,
                               const char *token);

/* The accept URL "{public_url}/invitations/accept#token=..." in the arena. */
char *app_invitation_url(struct arena *a, const struct app *app, const char *id, const char *nonce);

#endif
