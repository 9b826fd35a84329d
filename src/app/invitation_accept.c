/* The invitee's side: the public lookup behind the landing page, accepting (as a new person
 * with a password, or signed in with the invited email), which consumes the invitation and
 * writes the grants in one transaction, declining, and the pending invitations of the
 * signed-in person. */
#include "app/invitation.h"

#include <sodium.h>
#include <string.h>

#include "app/access.h"
#include "app/audit.h"
#include "app/invitation_int.h"
#include "app/tenancy.h"
#include "base/clock.h"
#include "base/json.h"
#include "base/log.h"
#include "base/text.h"
#include "mail/mail.h"
#include "policy/catalogue.h"
#include "store/store_directory.h"
#include "store/store_member.h"
#include "store/store_oidc.h"
#include "store/store_tenancy.h"
#include "store/store_user.h"
#include "app/password.h"
#include "app/password_strength.h"

static int token_valid(const char *token, struct usher_error *err)
{
    if (!token || !*token)
        return usher_error_set(err, USHER_EINVAL, NULL, "token", "token is required");
    if (strlen(token) > 128)
        return usher_error_set(err, USHER_EINVAL, NULL, "token", "token is malformed");
    return 0;
}

static int by_token(struct store_invitation *out, struct store_conn *c, struct arena *a,
                    const struct app *app, const char *token, struct usher_error *err)
{
    char hash[CRYPTO_HASH_HEX + 1];
    app_invitation_token_hash(hash, app, token);
    int rc = store_invitation_by_token_hash(out, c, a, hash, err);
    if (rc == USHER_ENOTFOUND) {
        usher_error_clear(err);
        rc = usher_error_set(err, USHER_ENOTFOUND, "invitation_not_found", NULL,
                             "this link is not valid; it may have been replaced by a newer one");
    }
    return rc;
}

int app_invitation_lookup(struct app_invitation_view *out, const struct app_call *call,
                          const char *token)
{
    memset(out, 0, sizeof(*out));
    struct store_conn *c = NULL;
    struct store_invitation inv;
    int rc = token_valid(token, call->err);
    if (rc)
        goto done;
    rc = store_conn_get(call->app->store, &c, call->err);
    if (rc)
        goto done;
    rc = by_token(&inv, c, call->arena, call->app, token, call->err);
    if (rc)
        goto done;
    rc = app_invitation_view_fill(out, c, call->arena, &inv, call->err);
    if (rc)
        goto done;
    struct store_user u;
    struct usher_error e2 = {0};
    out->account_exists = store_user_by_email(&u, c, call->arena, inv.email, &e2) == 0;
done:
    store_conn_put(c);
    return rc;
}

/* Rule 4 for the inviter as they stand now: may creator still give grants in inv's agency? */
static int creator_may_grant(struct store_conn *c, struct arena *a,
                             const struct store_user *creator, const struct store_invitation *inv,
                             const struct app_grant *grants, size_t n, struct usher_error *err)
{
    struct app_actor as_creator = {.user_id = creator->id,
                                   .is_platform_admin = creator->is_platform_admin};
    struct app_access acc;
    int rc = app_access_load(&acc, c, a, &as_creator, inv->agency_id, "agency", err);
    if (rc)
        return rc;
    return app_access_may_grant(&acc, a, grants, n,
                                inv->authority ? inv->authority : "users.invite", "grants", err);
}

/* The inviter must still be able to give every grant (rule 4), at every scope; a removed or
 * disabled inviter brings nobody in. */
static int inviter_still_allowed(struct store_conn *c, struct arena *a,
                                 const struct store_invitation *inv, const struct app_grant *grants,
                                 size_t n, struct usher_error *err)
{
    struct store_user creator;
    struct usher_error e2 = {0};
    if (!inv->created_by || store_user_get(&creator, c, a, inv->created_by, &e2) != 0 ||
        strcmp(creator.status, STORE_USER_ACTIVE) != 0)
        return usher_error_set(err, USHER_EFORBIDDEN, "invitation_invalid", NULL,
                               "the person who invited you can no longer do so; ask them or "
                               "another manager for a new invitation");
    if (!creator.is_platform_admin) {
        bool member = false;
        int rc = store_agency_has_member(&member, c, a, inv->agency_id, creator.id, err);
        if (rc)
            return rc;
        if (!member)
            return usher_error_set(err, USHER_EFORBIDDEN, "invitation_invalid", NULL,
                                   "the person who invited you is no longer in this agency; ask "
                                   "another manager for a new invitation");
    }
    int rc = creator_may_grant(c, a, &creator, inv, grants, n, &e2);
    if (rc == USHER_EFORBIDDEN)
        return usher_error_set(err, USHER_EFORBIDDEN, "invitation_invalid", NULL,
                               "the person who invited you can no longer grant these roles; ask "
                               "them or another manager for a new invitation");
    if (rc)
        return usher_error_set(err, rc, NULL, NULL, "%s", e2.message);
    return 0;
}

/* Reads the invitation for accept or decline, by token or by id for the signed-in user. */
static int load_for_decision(struct store_invitation *out, struct store_conn *c, struct arena *a,
                             const struct app *app, const struct app_actor *actor,
                             const char *token, const char *id, struct usher_error *err)
{
    if (id) {
        if (!actor->user_id)
            return usher_error_set(err, USHER_EUNAUTH, NULL, NULL, "sign in first");
        int rc = store_invitation_get(out, c, a, id, err);
        if (rc)
            return rc;
        struct store_user me;
        rc = store_user_get(&me, c, a, actor->user_id, err);
        if (rc)
            return rc;
        /* Someone else's invitation is not even there for this user. */
        if (strcmp(me.email, out->email) != 0) {
            usher_error_clear(err);
            return usher_error_set(err, USHER_ENOTFOUND, NULL, NULL, "invitation not found");
        }
        return 0;
    }
    int rc = token_valid(token, err);
    if (rc)
        return rc;
    return by_token(out, c, a, app, token, err);
}

static bool is_blank(struct arena *a, const char *value)
{
    return !value || !*text_trim(a, value);
}

/* What accepting is asked, and what it works out before its transaction and inside it. */
struct acceptance {
    const char *token, *id;           /* which invitation: by link, or by id when signed in */
    const char *password;             /* for a new account, as typed */
    const char *first_name;           /* as typed; blank keeps the inviter's */
    const char *last_name;            /* as typed; blank keeps the inviter's */
    struct store_invitation inv;      /* as read before the transaction */
    struct store_user user;           /* the signed-in user, or the account made here */
    bool is_new;                      /* the account is made here */
    const char *new_first_name;       /* a new account's names, checked */
    const char *new_last_name;        /* (NULL when none) */
    char hash[APP_PASSWORD_HASH_MAX]; /* a new account's password hash; wiped at the end */
    struct app_grant *grants;         /* the invitation's grants as they resolve now */
    size_t grant_count;
    const struct app_invitation_oidc *oidc; /* accepting through a provider sign-in */
    bool has_identity;                      /* the identity exists (x->user is its account) */
};

/* Before the transaction, without the write lock: the invitation, and either the signed-in
 * user, who must have the invited email, or a new account's names and password, checked and
 * hashed (slow). */
static int accept_prepare(struct acceptance *x, struct store_conn *c, const struct app_call *call)
{
    int rc = load_for_decision(&x->inv, c, call->arena, call->app, call->actor, x->token, x->id,
                               call->err);
    if (rc)
        return rc;
    rc = app_invitation_not_pending(&x->inv, call->err);
    if (rc)
        return rc;
    if (x->inv.sign_in && strcmp(x->inv.sign_in, "oauth") == 0)
        return usher_error_set(call->err, USHER_EINVAL, "sign_in_oauth_required", NULL,
                               "this invitation is accepted by signing in with your "
                               "organisation's account");
    if (call->actor->user_id) {
        rc = store_user_get(&x->user, c, call->arena, call->actor->user_id, call->err);
        if (rc)
            return rc;
        if (strcmp(x->user.email, x->inv.email) != 0)
            return usher_error_set(call->err, USHER_EFORBIDDEN, "email_mismatch", NULL,
                                   "this invitation is for another email address; sign in with "
                                   "that address or ask for an invitation to yours");
        return 0;
    }
    struct usher_error e2 = {0};
    if (store_user_by_email(&x->user, c, call->arena, x->inv.email, &e2) == 0)
        return usher_error_set(call->err, USHER_ECONFLICT, "account_exists", NULL,
                               "an account with this email exists; sign in to accept");
    x->is_new = true;
    rc = app_password_check(x->password, "password", call->err);
    if (rc)
        return rc;
    /* A blank name in the form keeps the one the inviter gave. */
    rc = text_name_optional_check(&x->new_first_name, call->arena,
                                  is_blank(call->arena, x->first_name) ? x->inv.first_name
                                                                       : x->first_name,
                                  "first_name", call->err);
    if (rc)
        return rc;
    rc = text_name_optional_check(&x->new_last_name, call->arena,
                                  is_blank(call->arena, x->last_name) ? x->inv.last_name
                                                                      : x->last_name,
                                  "last_name", call->err);
    if (rc)
        return rc;
    struct app_password_inputs known = {x->inv.email, x->new_first_name, x->new_last_name};
    rc = app_password_strength_check(x->password, "password", &known, call->err);
    if (rc)
        return rc;
    return app_password_hash(call->app->hash_pool, x->hash, x->password, call->err);
}

/* Inside the transaction, everything again: the invitation may have changed meanwhile, its
 * grants must still resolve in the agency and its inviter still be allowed to give them. */
static int accept_recheck(struct acceptance *x, struct store_conn *c, const struct app_call *call)
{
    struct store_invitation again;
    int rc = store_invitation_get(&again, c, call->arena, x->inv.id, call->err);
    if (rc)
        return rc;
    if (again.generation != x->inv.generation || strcmp(again.token_hash, x->inv.token_hash) != 0)
        return usher_error_set(call->err, USHER_ENOTFOUND, "invitation_not_found", NULL,
                               "this link was replaced by a newer one");
    rc = app_invitation_not_pending(&again, call->err);
    if (rc)
        return rc;
    /* A suspended agency takes nobody in; the link stays good for when it is resumed. */
    struct store_agency agency;
    rc = store_agency_get(&agency, c, call->arena, x->inv.agency_id, call->err);
    if (rc)
        return rc;
    if (agency.is_suspended)
        return usher_error_set(call->err, USHER_EFORBIDDEN, "agency_suspended", NULL,
                               "this agency is suspended; the invitation can be accepted once it "
                               "is active again");
    struct app_role_set roles;
    struct usher_error e2 = {0};
    rc = app_invitation_stored_grants(&x->grants, &x->grant_count, &roles, c, call->arena, &x->inv,
                                      &e2);
    if (rc == USHER_EINVAL)
        return usher_error_set(call->err, USHER_EFORBIDDEN, "invitation_invalid", NULL,
                               "an environment or bot of this invitation no longer exists; "
                               "ask for a new invitation");
    if (rc)
        return usher_error_set(call->err, rc, NULL, NULL, "%s", e2.message);
    return inviter_still_allowed(c, call->arena, &x->inv, x->grants, x->grant_count, call->err);
}

/* Links the provider's identity to the account accepting, unless it is linked already. */
static int accept_identity(struct acceptance *x, struct store_conn *c, const struct app_call *call,
                           const struct app_actor *who)
{
    if (x->has_identity)
        return 0;
    struct store_identity idn = {
        .id = crypto_id_new(call->arena, "idn"),
        .user_id = x->user.id,
        .issuer = x->oidc->issuer,
        .subject = x->oidc->subject,
        .connection_id = x->oidc->connection_id,
        .email = x->oidc->email,
        .created_at = clock_now_ms(),
    };
    int rc = store_identity_insert(c, call->arena, &idn, call->err);
    if (rc == USHER_ECONFLICT) {
        usher_error_clear(call->err);
        return usher_error_set(call->err, USHER_ECONFLICT, "link_conflict", NULL,
                               "this sign-in belongs to another account");
    }
    if (rc)
        return rc;
    struct app_audit_event ev = {
        .action = "identity.linked",
        .subject_user_id = x->user.id,
        .details = json_pack("{s:s, s:s, s:s, s:s}", "identity_id", idn.id, "connection_id",
                             idn.connection_id, "issuer", idn.issuer, "via", "invitation"),
    };
    return app_audit_record(c, call->arena, who, &ev, call->err);
}

/* The acceptance, in the transaction: the new account, the invitation consumed (of concurrent
 * accepts, one changes it), the grants and the shortcode, the audit row, and a new account's
 * session in out. */
static int accept_write(struct app_invitation_accepted *out, struct acceptance *x,
                        struct store_conn *c, const struct app_call *call)
{
    int rc = 0;
    if (x->is_new) {
        struct app_actor creating = *call->actor;
        rc = app_account_insert(&x->user, c, call->arena, &creating, x->inv.email,
                                x->new_first_name, x->new_last_name, x->oidc ? NULL : x->hash,
                                false, x->oidc ? "oidc_invitation" : "invitation", call->err);
        if (rc == USHER_ECONFLICT) {
            usher_error_clear(call->err);
            rc = usher_error_set(call->err, USHER_ECONFLICT, "account_exists", NULL,
                                 "an account with this email exists; sign in to accept");
        }
        if (rc)
            return rc;
    }
    bool changed = false;
    rc = store_invitation_decide(&changed, c, call->arena, x->inv.id, "accepted", x->user.id,
                                 clock_now_ms(), call->err);
    if (rc)
        return rc;
    if (!changed)
        return usher_error_set(call->err, USHER_ECONFLICT, "invitation_not_pending", NULL,
                               "this invitation was already used");
    const char *shortcode = NULL;
    if (x->inv.shortcode) {
        bool taken = false;
        rc = store_directory_shortcode_taken(&taken, c, call->arena, x->inv.agency_id,
                                             x->inv.shortcode, x->inv.email, call->err);
        if (rc)
            return rc;
        shortcode = taken ? NULL : x->inv.shortcode;
    }
    rc = app_grants_write(c, call->arena, x->inv.agency_id, x->user.id, shortcode, x->grants,
                          x->grant_count, false, x->inv.created_by, call->err);
    if (rc)
        return rc;
    struct app_actor who = *call->actor;
    who.user_id = x->user.id;
    struct app_audit_event ev = {
        .agency_id = x->inv.agency_id,
        .action = "invitation.accepted",
        .subject_user_id = x->user.id,
        .scope_type = "agency",
        .scope_id = x->inv.agency_id,
        .details =
            json_pack("{s:s, s:s, s:b, s:o, s:s?}", "invitation_id", x->inv.id, "email",
                      x->inv.email, "new_account", x->is_new, "grants",
                      app_grants_json(x->grants, x->grant_count, NULL), "shortcode", shortcode),
    };
    rc = app_audit_record(c, call->arena, &who, &ev, call->err);
    if (rc)
        return rc;
    if (x->oidc) {
        rc = accept_identity(x, c, call, &who);
        if (rc)
            return rc;
        return app_account_session_start_oidc(&out->session, call->app, c, call->arena, &who,
                                              &x->user, x->oidc->connection_id, x->oidc->issuer,
                                              x->oidc->id_token_sealed, call->err);
    }
    if (!x->is_new)
        return rc;
    return app_account_session_start(&out->session, call->app, c, call->arena, &who, &x->user,
                                     call->err);
}

int app_invitation_accept(struct app_invitation_accepted *out, const struct app_call *call,
                          const char *token, const char *id, const char *password,
                          const char *first_name, const char *last_name)
{
    memset(out, 0, sizeof(*out));
    struct acceptance x = {
        .token = token,
        .id = id,
        .password = password,
        .first_name = first_name,
        .last_name = last_name,
    };
    struct store_conn *c = NULL;
    int rc = store_conn_get(call->app->store, &c, call->err);
    if (rc)
        goto done;
    /* First a read without the write lock: validate and hash the password (slow) before the
     * transaction, which then checks everything again. */
    rc = accept_prepare(&x, c, call);
    if (rc)
        goto done;
    rc = store_begin(c, true, call->err);
    if (rc)
        goto done;
    rc = accept_recheck(&x, c, call);
    if (rc)
        goto done;
    rc = accept_write(out, &x, c, call);
    if (rc)
        goto done;
    rc = store_commit(c, call->err);
    if (rc)
        goto done;
    app_grants_refresh(call->app, c, x.user.id);
    x.inv.status = "accepted";
    rc = app_invitation_view_fill(&out->view, c, call->arena, &x.inv, call->err);
    if (rc)
        goto done;
    out->user = x.user;
    out->is_new_user = x.is_new;
done:
    store_conn_put(c);
    sodium_memzero(x.hash, sizeof(x.hash));
    return rc;
}

/* Before the transaction, for a provider sign-in: the invitation by id, the subject the
 * inviter named, and the account (the identity's, the invited address's when it was signed
 * in at the start, or a new one). */
static int accept_prepare_oidc(struct acceptance *x, struct store_conn *c,
                               const struct app_call *call)
{
    const struct app_invitation_oidc *who = x->oidc;
    int rc = store_invitation_get(&x->inv, c, call->arena, who->invitation_id, call->err);
    if (rc)
        return rc;
    rc = app_invitation_not_pending(&x->inv, call->err);
    if (rc)
        return rc;
    if (!x->inv.sign_in || strcmp(x->inv.sign_in, "oauth") != 0)
        return usher_error_set(call->err, USHER_EFORBIDDEN, "invitation_invalid", NULL,
                               "this invitation is not accepted through a provider");
    if (x->inv.oauth_subject && strcmp(x->inv.oauth_subject, who->subject) != 0)
        return usher_error_set(call->err, USHER_EFORBIDDEN, "invitation_subject_mismatch", NULL,
                               "this invitation is for another account at the provider");
    struct store_identity idn;
    struct usher_error e2 = {0};
    rc = store_identity_by_connection(&idn, c, call->arena, who->connection_id, who->issuer,
                                      who->subject, &e2);
    if (rc == 0) {
        x->has_identity = true;
        rc = store_user_get(&x->user, c, call->arena, idn.user_id, call->err);
        if (rc)
            return rc;
        if (strcmp(x->user.email, x->inv.email) != 0)
            return usher_error_set(call->err, USHER_ECONFLICT, "link_conflict", NULL,
                                   "this sign-in belongs to an account with another address");
    } else if (rc != USHER_ENOTFOUND) {
        return usher_error_set(call->err, rc, NULL, NULL, "%s", e2.message);
    } else if (store_user_by_email(&x->user, c, call->arena, x->inv.email, &e2) != 0) {
        x->is_new = true;
        const char *first = x->inv.first_name ? x->inv.first_name : who->first_name;
        const char *last = x->inv.last_name ? x->inv.last_name : who->last_name;
        /* A provider's names that usher would not take are left out rather than refused. */
        if (text_name_optional_check(&x->new_first_name, call->arena, first, "first_name", &e2))
            x->new_first_name = "";
        if (text_name_optional_check(&x->new_last_name, call->arena, last, "last_name", &e2))
            x->new_last_name = "";
        return 0;
    }
    if (strcmp(x->user.status, STORE_USER_ACTIVE) != 0)
        return usher_error_set(call->err, USHER_EFORBIDDEN, "account_disabled", NULL,
                               "this account is disabled");
    /* Whoever holds the token (the inviter too: a link can be copied) brings a provider
     * identity of their choosing; an existing account takes it only from its own session. */
    if (!x->has_identity && (!who->signed_in_id || strcmp(who->signed_in_id, x->user.id) != 0))
        return usher_error_set(call->err, USHER_EFORBIDDEN, "account_exists_sign_in_first", NULL,
                               "an account with this address exists: sign in to it first, then "
                               "accept the invitation");
    return 0;
}

int app_invitation_accept_oidc(struct app_invitation_accepted *out, const struct app_call *call,
                               const struct app_invitation_oidc *who)
{
    memset(out, 0, sizeof(*out));
    struct acceptance x = {.oidc = who};
    struct store_conn *c = NULL;
    int rc = store_conn_get(call->app->store, &c, call->err);
    if (rc)
        goto done;
    rc = accept_prepare_oidc(&x, c, call);
    if (rc)
        goto done;
    rc = store_begin(c, true, call->err);
    if (rc)
        goto done;
    rc = accept_recheck(&x, c, call);
    if (rc)
        goto done;
    rc = accept_write(out, &x, c, call);
    if (rc)
        goto done;
    rc = store_commit(c, call->err);
    if (rc)
        goto done;
    app_grants_refresh(call->app, c, x.user.id);
    x.inv.status = "accepted";
    rc = app_invitation_view_fill(&out->view, c, call->arena, &x.inv, call->err);
    if (rc)
        goto done;
    out->user = x.user;
    out->is_new_user = x.is_new;
done:
    store_conn_put(c);
    return rc;
}

int app_invitation_decline(const struct app_call *call, const char *token, const char *id)
{
    struct store_conn *c = NULL;
    struct store_invitation inv;
    bool changed = false;
    int rc = app_call_begin(&c, call, true);
    if (rc)
        goto done;
    rc = load_for_decision(&inv, c, call->arena, call->app, call->actor, token, id, call->err);
    if (rc)
        goto done;
    if (token && call->actor->user_id) {
        /* Signed in, the decision is recorded as that user's: it must be their invitation. A
         * link alone (signed out) may still decline. */
        struct store_user me;
        rc = store_user_get(&me, c, call->arena, call->actor->user_id, call->err);
        if (rc)
            goto done;
        if (strcmp(me.email, inv.email) != 0) {
            rc = usher_error_set(call->err, USHER_EFORBIDDEN, "email_mismatch", NULL,
                                 "this invitation is for another email address");
            goto done;
        }
    }
    rc = app_invitation_not_pending(&inv, call->err);
    if (rc)
        goto done;
    rc = store_invitation_decide(&changed, c, call->arena, inv.id, "declined", call->actor->user_id,
                                 clock_now_ms(), call->err);
    if (rc)
        goto done;
    if (!changed) {
        rc = usher_error_set(call->err, USHER_ECONFLICT, "invitation_not_pending", NULL,
                             "this invitation was already used");
        goto done;
    }
    struct app_audit_event ev = {
        .agency_id = inv.agency_id,
        .action = "invitation.declined",
        .subject_user_id = call->actor->user_id,
        .scope_type = "agency",
        .scope_id = inv.agency_id,
        .details = json_pack("{s:s, s:s}", "invitation_id", inv.id, "email", inv.email),
    };
    rc = app_audit_record(c, call->arena, call->actor, &ev, call->err);
    if (rc)
        goto done;
    rc = store_commit(c, call->err);
done:
    store_conn_put(c);
    return rc;
}

int app_invitation_pending_for_user(struct app_invitation_view **out, size_t *count,
                                    const struct app_call *call, const char *email)
{
    *out = NULL;
    *count = 0;
    struct store_conn *c = NULL;
    struct store_invitation *rows = NULL;
    size_t n = 0, filled = 0;
    struct app_invitation_view *items = NULL;
    int rc = store_conn_get(call->app->store, &c, call->err);
    if (rc)
        goto done;
    rc = store_invitation_pending_for_email(&rows, &n, c, call->arena, email, clock_now_ms(),
                                            call->err);
    if (rc)
        goto done;
    items = arena_alloc(call->arena, (n + 1) * sizeof(*items));
    for (size_t i = 0; i < n; i++) {
        rc = app_invitation_view_fill(&items[i], c, call->arena, &rows[i], call->err);
        if (rc)
            goto done;
        filled++;
    }
    *out = items;
    *count = n;
done:
    store_conn_put(c);
    if (rc) {
        for (size_t i = 0; i < filled; i++)
            app_invitation_view_dispose(&items[i]);
    }
    return rc;
}
