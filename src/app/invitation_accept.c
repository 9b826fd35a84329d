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
    int rc = token_valid(token, call->err);
    if (rc)
        return rc;
    struct store_conn *c = NULL;
    rc = store_conn_get(call->app->store, &c, call->err);
    if (rc)
        return rc;
    struct store_invitation inv;
    rc = by_token(&inv, c, call->arena, call->app, token, call->err);
    if (rc == 0)
        rc = app_invitation_view_fill(out, c, call->arena, &inv, call->err);
    if (rc == 0) {
        struct store_user u;
        struct usher_error e2 = {0};
        out->account_exists = store_user_by_email(&u, c, call->arena, inv.email, &e2) == 0;
    }
    store_conn_put(c);
    return rc;
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
    struct app_actor as_creator = {.user_id = creator.id,
                                   .is_platform_admin = creator.is_platform_admin};
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
    struct app_access acc;
    int rc = app_access_load(&acc, c, a, &as_creator, inv->agency_id, "agency", &e2);
    if (rc == 0)
        rc = app_access_may_grant(&acc, a, grants, n,
                                  inv->authority ? inv->authority : "users.invite", "grants", &e2);
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
    if (rc == 0)
        rc = by_token(out, c, a, app, token, err);
    return rc;
}

static bool is_blank(struct arena *a, const char *value)
{
    return !value || !*text_trim(a, value);
}

int app_invitation_accept(struct app_invitation_accepted *out, const struct app_call *call,
                          const char *token, const char *id, const char *password,
                          const char *first_name, const char *last_name)
{
    memset(out, 0, sizeof(*out));
    struct store_conn *c = NULL;
    int rc = store_conn_get(call->app->store, &c, call->err);
    if (rc)
        return rc;
    /* First a read without the write lock: validate and hash the password (slow) before the
     * transaction, which then checks everything again. */
    struct store_invitation inv;
    rc = load_for_decision(&inv, c, call->arena, call->app, call->actor, token, id, call->err);
    if (rc == 0)
        rc = app_invitation_not_pending(&inv, call->err);
    struct store_user user = {0};
    bool is_new = false;
    char hash[APP_PASSWORD_HASH_MAX] = "";
    const char *first = NULL, *last = NULL;
    if (rc == 0 && call->actor->user_id) {
        rc = store_user_get(&user, c, call->arena, call->actor->user_id, call->err);
        if (rc == 0 && strcmp(user.email, inv.email) != 0)
            rc = usher_error_set(call->err, USHER_EFORBIDDEN, "email_mismatch", NULL,
                                 "this invitation is for another email address; sign in with "
                                 "that address or ask for an invitation to yours");
    } else if (rc == 0) {
        struct usher_error e2 = {0};
        if (store_user_by_email(&user, c, call->arena, inv.email, &e2) == 0) {
            rc = usher_error_set(call->err, USHER_ECONFLICT, "account_exists", NULL,
                                 "an account with this email exists; sign in to accept");
        } else {
            is_new = true;
            rc = app_password_check(password, "password", call->err);
            /* A blank name in the form keeps the one the inviter gave. */
            if (rc == 0)
                rc = text_name_optional_check(&first, call->arena,
                                              is_blank(call->arena, first_name) ? inv.first_name
                                                                                : first_name,
                                              "first_name", call->err);
            if (rc == 0)
                rc = text_name_optional_check(&last, call->arena,
                                              is_blank(call->arena, last_name) ? inv.last_name
                                                                               : last_name,
                                              "last_name", call->err);
            struct app_password_inputs known = {inv.email, first, last};
            if (rc == 0)
                rc = app_password_strength_check(password, "password", &known, call->err);
            if (rc == 0)
                rc = app_password_hash(call->app->hash_pool, hash, password, call->err);
        }
    }
    if (rc == 0)
        rc = store_begin(c, true, call->err);
    if (rc == 0) {
        /* Again inside the transaction: the row may have changed meanwhile. */
        struct store_invitation again;
        rc = store_invitation_get(&again, c, call->arena, inv.id, call->err);
        if (rc == 0 &&
            (again.generation != inv.generation || strcmp(again.token_hash, inv.token_hash) != 0))
            rc = usher_error_set(call->err, USHER_ENOTFOUND, "invitation_not_found", NULL,
                                 "this link was replaced by a newer one");
        if (rc == 0)
            rc = app_invitation_not_pending(&again, call->err);
    }
    struct app_grant *grants = NULL;
    size_t n = 0;
    struct app_role_set roles;
    if (rc == 0) {
        struct usher_error e2 = {0};
        rc = app_invitation_stored_grants(&grants, &n, &roles, c, call->arena, &inv, &e2);
        if (rc == USHER_EINVAL)
            rc = usher_error_set(call->err, USHER_EFORBIDDEN, "invitation_invalid", NULL,
                                 "an environment or bot of this invitation no longer exists; "
                                 "ask for a new invitation");
        else if (rc)
            rc = usher_error_set(call->err, rc, NULL, NULL, "%s", e2.message);
    }
    if (rc == 0)
        rc = inviter_still_allowed(c, call->arena, &inv, grants, n, call->err);
    if (rc == 0 && is_new) {
        struct app_actor creating = *call->actor;
        rc = app_account_insert(&user, c, call->arena, &creating, inv.email, first, last, hash,
                                false, "invitation", call->err);
        if (rc == USHER_ECONFLICT) {
            usher_error_clear(call->err);
            rc = usher_error_set(call->err, USHER_ECONFLICT, "account_exists", NULL,
                                 "an account with this email exists; sign in to accept");
        }
    }
    bool changed = false;
    int64_t now = clock_now_ms();
    if (rc == 0)
        rc = store_invitation_decide(&changed, c, call->arena, inv.id, "accepted", user.id, now,
                                     call->err);
    if (rc == 0 && !changed)
        rc = usher_error_set(call->err, USHER_ECONFLICT, "invitation_not_pending", NULL,
                             "this invitation was already used");
    const char *shortcode = NULL;
    if (rc == 0 && inv.shortcode) {
        bool taken = false;
        rc = store_directory_shortcode_taken(&taken, c, call->arena, inv.agency_id, inv.shortcode,
                                             inv.email, call->err);
        shortcode = taken ? NULL : inv.shortcode;
    }
    if (rc == 0)
        rc = app_grants_write(c, call->arena, inv.agency_id, user.id, shortcode, grants, n, false,
                              call->err);
    if (rc == 0) {
        struct app_actor who = *call->actor;
        who.user_id = user.id;
        struct app_audit_event ev = {
            .agency_id = inv.agency_id,
            .action = "invitation.accepted",
            .subject_user_id = user.id,
            .scope_type = "agency",
            .scope_id = inv.agency_id,
            .details = json_pack("{s:s, s:s, s:b, s:o, s:s?}", "invitation_id", inv.id, "email",
                                 inv.email, "new_account", is_new, "grants",
                                 app_grants_json(grants, n, NULL), "shortcode", shortcode),
        };
        rc = app_audit_record(c, call->arena, &who, &ev, call->err);
    }
    if (rc == 0 && is_new) {
        struct app_actor who = *call->actor;
        who.user_id = user.id;
        rc = app_account_session_start(&out->session, call->app, c, call->arena, &who, &user,
                                       call->err);
    }
    if (rc == 0)
        rc = store_commit(c, call->err);
    if (rc == 0)
        app_grants_refresh(call->app, c, user.id);
    if (rc == 0) {
        inv.status = "accepted";
        rc = app_invitation_view_fill(&out->view, c, call->arena, &inv, call->err);
    }
    store_conn_put(c);
    sodium_memzero(hash, sizeof(hash));
    if (rc)
        return rc;
    out->user = user;
    out->is_new_user = is_new;
    return 0;
}

int app_invitation_decline(const struct app_call *call, const char *token, const char *id)
{
    struct store_conn *c = NULL;
    int rc = store_conn_get(call->app->store, &c, call->err);
    if (rc)
        return rc;
    struct store_invitation inv;
    rc = store_begin(c, true, call->err);
    if (rc == 0)
        rc = load_for_decision(&inv, c, call->arena, call->app, call->actor, token, id, call->err);
    if (rc == 0 && token && call->actor->user_id) {
        /* Signed in, the decision is recorded as that user's: it must be their invitation. A
         * link alone (signed out) may still decline. */
        struct store_user me;
        rc = store_user_get(&me, c, call->arena, call->actor->user_id, call->err);
        if (rc == 0 && strcmp(me.email, inv.email) != 0)
            rc = usher_error_set(call->err, USHER_EFORBIDDEN, "email_mismatch", NULL,
                                 "this invitation is for another email address");
    }
    if (rc == 0)
        rc = app_invitation_not_pending(&inv, call->err);
    bool changed = false;
    if (rc == 0)
        rc = store_invitation_decide(&changed, c, call->arena, inv.id, "declined",
                                     call->actor->user_id, clock_now_ms(), call->err);
    if (rc == 0 && !changed)
        rc = usher_error_set(call->err, USHER_ECONFLICT, "invitation_not_pending", NULL,
                             "this invitation was already used");
    if (rc == 0) {
        struct app_audit_event ev = {
            .agency_id = inv.agency_id,
            .action = "invitation.declined",
            .subject_user_id = call->actor->user_id,
            .scope_type = "agency",
            .scope_id = inv.agency_id,
            .details = json_pack("{s:s, s:s}", "invitation_id", inv.id, "email", inv.email),
        };
        rc = app_audit_record(c, call->arena, call->actor, &ev, call->err);
    }
    if (rc == 0)
        rc = store_commit(c, call->err);
    store_conn_put(c);
    return rc;
}

int app_invitation_pending_for_user(struct app_invitation_view **out, size_t *count,
                                    const struct app_call *call, const char *email)
{
    *out = NULL;
    *count = 0;
    struct store_conn *c = NULL;
    int rc = store_conn_get(call->app->store, &c, call->err);
    if (rc)
        return rc;
    struct store_invitation *rows = NULL;
    size_t n = 0;
    rc = store_invitation_pending_for_email(&rows, &n, c, call->arena, email, clock_now_ms(),
                                            call->err);
    struct app_invitation_view *items = arena_alloc(call->arena, (n + 1) * sizeof(*items));
    size_t filled = 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        rc = app_invitation_view_fill(&items[i], c, call->arena, &rows[i], call->err);
        if (rc == 0)
            filled++;
    }
    store_conn_put(c);
    if (rc) {
        for (size_t i = 0; i < filled; i++)
            app_invitation_view_dispose(&items[i]);
        return rc;
    }
    *out = items;
    *count = n;
    return 0;
}
