/* Invitations: creation with the grant ceiling and send limits, management (list, copy link,
 * resend, revoke), the public lookup, and accepting or declining, which consumes the
 * invitation and writes the grants in one transaction. */
#include "app/invitation.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "app/audit.h"
#include "policy/catalogue.h"
#include "app/invitation_int.h"
#include "app/password.h"
#include "app/access.h"
#include "app/password_strength.h"
#include "app/tenancy.h"
#include "base/clock.h"
#include "base/json.h"
#include "base/log.h"
#include "base/text.h"
#include "mail/mail.h"
#include "store/store_directory.h"
#include "store/store_member.h"
#include "store/store_tenancy.h"
#include "store/store_user.h"

static const char *const create_fields[] = {
    "email",      "first_name",         "last_name", "shortcode",     "grants",
    "send_email", "expires_in_seconds", "sign_in",   "oauth_subject", NULL,
};

void app_invitation_view_dispose(struct app_invitation_view *v)
{
    if (v) {
        json_decref(v->grants);
        v->grants = NULL;
    }
}

static bool is_expired(const struct store_invitation *inv, int64_t now)
{
    return strcmp(inv->status, "pending") == 0 && inv->expires_at <= now;
}

/* Parses stored grants again (custom roles by id); a scope that is gone fails. */
static int stored_grants(struct app_grant **out, size_t *count, struct app_role_set *roles,
                         struct store_conn *c, struct arena *a, const struct store_invitation *inv,
                         struct usher_error *err)
{
    int rc = app_role_set_load(roles, c, a, inv->agency_id, err);
    if (rc)
        return rc;
    json_t *arr = json_loads(inv->grants_json ? inv->grants_json : "[]", 0, NULL);
    rc = app_grants_parse(out, count, c, a, inv->agency_id, roles, arr, "grants", false, err);
    json_decref(arr);
    return rc;
}

static const char *person_name(struct arena *a, const struct store_user *u)
{
    const char *first = u->first_name ? u->first_name : "";
    const char *last = u->last_name ? u->last_name : "";
    if (!*first && !*last)
        return u->email;
    return arena_printf(a, "%s%s%s", first, *first && *last ? " " : "", last);
}

/* Fills agency name, inviter, status and grants of a view. */
static int view_fill(struct app_invitation_view *v, struct store_conn *c, struct arena *a,
                     const struct store_invitation *inv, struct usher_error *err)
{
    memset(v, 0, sizeof(*v));
    v->inv = *inv;
    v->status = is_expired(inv, clock_now_ms()) ? "expired" : inv->status;
    struct store_agency agency;
    int rc = store_agency_get(&agency, c, a, inv->agency_id, err);
    if (rc)
        return rc;
    v->agency_name = agency.name;
    if (inv->created_by) {
        struct store_user u;
        struct usher_error ignored = {0};
        if (store_user_get(&u, c, a, inv->created_by, &ignored) == 0)
            v->inviter_name = person_name(a, &u);
    }
    struct app_grant *grants = NULL;
    size_t n = 0;
    struct app_role_set roles;
    struct usher_error e2 = {0};
    if (stored_grants(&grants, &n, &roles, c, a, inv, &e2) == 0) {
        v->grants = app_grants_json(grants, n, &roles);
    } else {
        /* A granted environment or bot is gone: show what was stored. */
        v->grants = json_loads(inv->grants_json ? inv->grants_json : "[]", 0, NULL);
        if (!v->grants)
            v->grants = json_array();
    }
    return 0;
}

/* The actor may manage inv (list it, copy its link, resend or revoke it) with the authority it
 * takes to create it: rule 4 over every grant it gives, so nobody hands out a link to more than
 * they could grant. A non-member learns nothing (404). */
static int manage_check(struct store_conn *c, struct arena *a, const struct app_actor *actor,
                        const struct store_invitation *inv, struct usher_error *err)
{
    struct app_access acc;
    struct app_grant *grants = NULL;
    size_t n = 0;
    struct app_role_set roles;
    int rc = app_access_load(&acc, c, a, actor, inv->agency_id, "invitation", err);
    if (rc || acc.is_admin)
        goto done;
    rc = stored_grants(&grants, &n, &roles, c, a, inv, err);
    if (rc == USHER_EINVAL) {
        /* A scope is gone; only agency-level holders of the authority manage it. */
        usher_error_clear(err);
        grants = arena_alloc(a, sizeof(*grants));
        memset(grants, 0, sizeof(*grants));
        grants[0].scope = POLICY_SCOPE_AGENCY;
        grants[0].scope_id = inv->agency_id;
        n = 1;
        rc = 0;
    }
    if (rc)
        goto done;
    rc = app_access_may_grant(&acc, a, grants, n, inv->authority ? inv->authority : "users.invite",
                              "grants", err);
    if (rc == USHER_EFORBIDDEN) {
        usher_error_clear(err);
        rc = usher_error_set(err, USHER_EFORBIDDEN, NULL, NULL,
                             "you may not manage this invitation: it grants more than you may "
                             "grant");
    }
done:
    return rc;
}

/* An invitation brings someone in: every grant it gives holds a role or a permission (an empty
 * environment grant, "no access", means nothing to someone new). */
static int grants_give_something(const struct app_grant *grants, size_t n, struct usher_error *err)
{
    for (size_t i = 0; i < n; i++) {
        if (grants[i].roles == 0 && grants[i].custom_count == 0 && grants[i].permissions == 0)
            return usher_error_set(err, USHER_EINVAL, "empty_grant", "grants",
                                   "grants[%zu] gives no access: choose at least one role", i);
    }
    return 0;
}

/* Nobody invites themselves: that would change their own grants. */
static int not_oneself(struct store_conn *c, struct arena *a, const struct app_actor *actor,
                       const char *email, struct usher_error *err)
{
    if (!actor->user_id)
        return 0;
    struct store_user me;
    int rc = store_user_get(&me, c, a, actor->user_id, err);
    if (rc == 0 && strcmp(me.email, email) == 0)
        rc = usher_error_set(err, USHER_EFORBIDDEN, "own_grants", "email",
                             "you cannot invite yourself; ask another manager");
    return rc;
}

/* Refuses when sending would pass the limits per recipient, inviter or agency. */
static int send_limits(int64_t *out_retry_after, struct store_conn *c, struct arena *a,
                       const struct app_actor *actor, const char *agency_id, const char *email,
                       struct usher_error *err)
{
    int64_t now = clock_now_ms();
    int64_t to_recipient, by_actor, in_agency;
    int rc = store_invitation_send_counts(&to_recipient, &by_actor, &in_agency, c, a, email,
                                          actor->user_id, agency_id,
                                          now - APP_INVITATION_LIMIT_WINDOW_S * 1000, err);
    if (rc)
        return rc;
    const char *what = to_recipient >= APP_INVITATION_LIMIT_RECIPIENT ? "to this address"
                       : by_actor >= APP_INVITATION_LIMIT_ACTOR       ? "by you"
                       : in_agency >= APP_INVITATION_LIMIT_AGENCY     ? "in this agency"
                                                                      : NULL;
    if (!what)
        return 0;
    if (out_retry_after)
        *out_retry_after = APP_INVITATION_LIMIT_WINDOW_S / 4;
    return usher_error_set(err, USHER_ELIMIT, "rate_limited", "email",
                           "too many invitation emails %s in the last hour; try again later", what);
}

/* An optional name of the body (absent or blank: none). */
static int name_member(const char **out, json_t *body, const char *key, struct arena *a,
                       struct usher_error *err)
{
    const char *raw = NULL;
    *out = NULL;
    int rc = json_member_string(&raw, body, key, false, 1024, err);
    if (rc || !raw || !*text_trim(a, raw))
        return rc;
    return text_name_check(out, a, raw, key, TEXT_NAME_MAX_CHARS, err);
}

static bool is_blank(struct arena *a, const char *value)
{
    return !value || !*text_trim(a, value);
}

/* An optional shortcode (absent or blank: none), checked by text_shortcode_check. */
static int shortcode_check(const char **out, json_t *body, struct arena *a, struct usher_error *err)
{
    const char *raw = NULL;
    *out = NULL;
    int rc = json_member_string(&raw, body, "shortcode", false, 256, err);
    if (rc || !raw || !*text_trim(a, raw))
        return rc;
    return text_shortcode_check(out, a, raw, "shortcode", err);
}

static void new_token(struct store_invitation *inv, const struct app *app, struct arena *a)
{
    unsigned char raw[16];
    randombytes_buf(raw, sizeof(raw));
    char nonce[40];
    sodium_bin2base64(nonce, sizeof(nonce), raw, sizeof(raw),
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    inv->token_nonce = arena_strdup(a, nonce);
    char token[CRYPTO_TOKEN_CHARS + 1];
    char hash[CRYPTO_HASH_HEX + 1];
    app_invitation_token(token, app, inv->id, inv->token_nonce);
    app_invitation_token_hash(hash, app, token);
    sodium_memzero(token, sizeof(token));
    inv->token_hash = arena_strdup(a, hash);
}

static json_t *audit_grants(const struct app_grant *grants, size_t n)
{
    return app_grants_json(grants, n, NULL);
}

/* The end of a create or a resend: commit what rc says succeeded, hand back the current link,
 * and wake the sender when an email was queued. Releases c; on failure, out's JSON too. */
static int send_finish(struct app_invitation_view *out, struct app *app, struct store_conn *c,
                       struct arena *a, const struct store_invitation *inv, bool sent, int rc,
                       struct usher_error *err)
{
    if (rc == 0)
        rc = store_commit(c, err);
    store_conn_put(c);
    if (rc) {
        app_invitation_view_dispose(out);
        return rc;
    }
    out->url = app_invitation_url(a, app, inv->id, inv->token_nonce);
    if (sent)
        mail_sender_wake(app->mail);
    return 0;
}

int app_invitation_create(struct app_invitation_view *out, int64_t *out_retry_after,
                          struct app *app, struct arena *a, const struct app_actor *actor,
                          const char *agency_id, json_t *body, const char *authority,
                          struct usher_error *err)
{
    memset(out, 0, sizeof(*out));
    const char *email_raw = NULL, *email = NULL, *first = NULL, *last = NULL, *shortcode = NULL;
    const char *sign_in = NULL, *oauth_subject = NULL;
    bool send_email = true, has_expiry = false;
    int64_t expires_in = APP_INVITATION_EXPIRY_DEFAULT_S;
    int rc = json_fields_check(body, create_fields, NULL, err);
    if (rc == 0)
        rc = json_member_string(&email_raw, body, "email", true, 320, err);
    if (rc == 0)
        rc = text_email_normalize(&email, a, email_raw, "email", err);
    if (rc == 0)
        rc = name_member(&first, body, "first_name", a, err);
    if (rc == 0)
        rc = name_member(&last, body, "last_name", a, err);
    if (rc == 0)
        rc = shortcode_check(&shortcode, body, a, err);
    if (rc == 0)
        rc = json_member_bool(&send_email, body, "send_email", false, err);
    if (rc == 0)
        rc = json_member_int(&expires_in, &has_expiry, body, "expires_in_seconds", false, 1,
                             APP_INVITATION_EXPIRY_MAX_S, err);
    if (rc == 0)
        rc = json_member_string(&sign_in, body, "sign_in", false, 16, err);
    if (rc == 0)
        rc = json_member_string(&oauth_subject, body, "oauth_subject", false, 255, err);
    if (rc)
        return rc;
    if (!has_expiry)
        expires_in = APP_INVITATION_EXPIRY_DEFAULT_S;
    if (sign_in && strcmp(sign_in, "password") != 0 && strcmp(sign_in, "oauth") != 0)
        return usher_error_set(err, USHER_EINVAL, NULL, "sign_in",
                               "sign_in must be \"password\" or \"oauth\"");
    if (sign_in && strcmp(sign_in, "oauth") == 0)
        return usher_error_set(err, USHER_EINVAL, "sign_in_unavailable", "sign_in",
                               "no OAuth 2.0 sign-in is set up for this agency");
    if (oauth_subject)
        return usher_error_set(err, USHER_EINVAL, NULL, "oauth_subject",
                               "oauth_subject needs sign_in \"oauth\"");

    rc = app_agency_check_visible(app, a, actor, agency_id, err);
    if (rc)
        return rc;
    struct store_conn *c = NULL;
    rc = store_conn_get(app->store, &c, err);
    if (rc)
        return rc;
    rc = store_begin(c, true, err);
    struct app_role_set roles;
    struct app_grant *grants = NULL;
    size_t n = 0;
    if (rc == 0)
        rc = app_role_set_load(&roles, c, a, agency_id, err);
    if (rc == 0)
        rc = app_grants_parse(&grants, &n, c, a, agency_id, &roles, json_object_get(body, "grants"),
                              "grants", false, err);
    if (rc == 0)
        rc = grants_give_something(grants, n, err);
    struct app_access acc;
    if (rc == 0)
        rc = app_access_load(&acc, c, a, actor, agency_id, "agency", err);
    if (rc == 0)
        rc = app_access_may_grant(&acc, a, grants, n, authority, "grants", err);
    if (rc == 0)
        rc = not_oneself(c, a, actor, email, err);
    int64_t now = clock_now_ms();
    if (rc == 0)
        rc = store_invitation_expire_due(c, a, agency_id, email, now, err);
    if (rc == 0) {
        /* Someone who is already a member is given grants, not invited again. */
        struct store_user existing;
        struct usher_error e2 = {0};
        bool member = false;
        if (store_user_by_email(&existing, c, a, email, &e2) == 0)
            rc = store_agency_has_member(&member, c, a, agency_id, existing.id, err);
        /* Bot managers are invited even when already members: they accept from their
         * control panel (seed 001). */
        if (rc == 0 && member && strcmp(authority, "bot.delegate") != 0)
            rc = usher_error_set(err, USHER_ECONFLICT, "already_member", "email",
                                 "%s is already a member of this agency", email);
    }
    if (rc == 0 && shortcode) {
        bool taken = false;
        rc = store_directory_shortcode_taken(&taken, c, a, agency_id, shortcode, NULL, err);
        if (rc == 0 && taken)
            rc = usher_error_set(err, USHER_ECONFLICT, "shortcode_taken", "shortcode",
                                 "shortcode is already used in this agency");
    }
    if (rc == 0 && send_email)
        rc = send_limits(out_retry_after, c, a, actor, agency_id, email, err);
    struct store_invitation inv = {0};
    if (rc == 0) {
        inv.id = crypto_id_new(a, "inv");
        inv.agency_id = agency_id;
        inv.email = email;
        inv.first_name = first;
        inv.last_name = last;
        inv.shortcode = shortcode;
        json_t *stored = app_grants_json(grants, n, NULL);
        char *text = json_dump_compact(stored);
        json_decref(stored);
        inv.grants_json = arena_strdup(a, text);
        free(text);
        inv.status = "pending";
        inv.generation = 1;
        inv.sign_in = "password";
        inv.authority = authority;
        inv.created_by = actor->user_id;
        inv.created_at = now;
        inv.expires_in_seconds = expires_in;
        inv.expires_at = now + expires_in * 1000;
        inv.last_sent_at = send_email ? now : 0;
        inv.send_count = send_email ? 1 : 0;
        new_token(&inv, app, a);
        rc = store_invitation_insert(c, a, &inv, err);
        if (rc == USHER_ECONFLICT) {
            usher_error_clear(err);
            rc = usher_error_set(err, USHER_ECONFLICT, NULL, "email",
                                 "%s already has a pending invitation to this agency; revoke it "
                                 "or resend it",
                                 email);
        }
    }
    if (rc == 0)
        rc = view_fill(out, c, a, &inv, err);
    if (rc == 0 && send_email)
        rc = app_invitation_mail_queue(c, a, out, err);
    if (rc == 0) {
        struct app_audit_event ev = {
            .agency_id = agency_id,
            .action = "invitation.created",
            .scope_type = "agency",
            .scope_id = agency_id,
            .details = json_pack("{s:s, s:s, s:o, s:b, s:I}", "invitation_id", inv.id, "email",
                                 email, "grants", audit_grants(grants, n), "send_email", send_email,
                                 "expires_in_seconds", (json_int_t)expires_in),
        };
        rc = app_audit_record(c, a, actor, &ev, err);
    }
    return send_finish(out, app, c, a, &inv, send_email, rc, err);
}

int app_invitation_list(struct app_invitation_view **out, size_t *count, const char **next_cursor,
                        struct app *app, struct arena *a, const struct app_actor *actor,
                        const char *agency_id, const char *status, const char *limit,
                        const char *cursor, struct usher_error *err)
{
    *out = NULL;
    *count = 0;
    *next_cursor = NULL;
    static const char *const statuses[] = {"pending", "accepted", "declined",
                                           "revoked", "expired",  NULL};
    if (status) {
        bool known = false;
        for (const char *const *s = statuses; *s; s++)
            known = known || strcmp(*s, status) == 0;
        if (!known)
            return usher_error_set(err, USHER_EINVAL, NULL, "status",
                                   "status must be pending, accepted, declined, revoked or "
                                   "expired");
    }
    struct app_page page;
    int rc = app_page_parse(&page, a, limit, cursor, err);
    if (rc)
        return rc;
    rc = app_agency_check_visible(app, a, actor, agency_id, err);
    if (rc)
        return rc;
    struct store_conn *c = NULL;
    rc = store_conn_get(app->store, &c, err);
    if (rc)
        return rc;
    int64_t now = clock_now_ms();
    /* Expired invitations are stored as such before listing, so the status filter is exact. */
    rc = store_invitation_expire_due(c, a, agency_id, NULL, now, err);
    struct app_invitation_view *items = arena_alloc(a, (page.limit + 1) * sizeof(*items));
    size_t n = 0;
    int64_t before_at = page.after.is_set ? page.after.created_at : 0;
    const char *before_id = page.after.is_set ? page.after.id : NULL;
    bool more = true;
    /* Rows the actor may not manage are skipped; keep reading until the page is full. */
    while (rc == 0 && more && n < page.limit) {
        struct store_invitation *rows = NULL;
        size_t got = 0;
        int batch = (int)page.limit + 1;
        rc = store_invitation_list(&rows, &got, c, a, agency_id, status, before_at, before_id,
                                   batch, err);
        if (rc)
            break;
        more = got == (size_t)batch;
        for (size_t i = 0; i < got && n < page.limit; i++) {
            before_at = rows[i].created_at;
            before_id = rows[i].id;
            struct usher_error e2 = {0};
            if (manage_check(c, a, actor, &rows[i], &e2) != 0)
                continue;
            rc = view_fill(&items[n], c, a, &rows[i], err);
            if (rc)
                break;
            n++;
            if (n == page.limit && (i + 1 < got || more))
                *next_cursor = store_cursor_encode(a, rows[i].created_at, rows[i].id);
        }
    }
    store_conn_put(c);
    if (rc) {
        for (size_t i = 0; i < n; i++)
            app_invitation_view_dispose(&items[i]);
        return rc;
    }
    *out = items;
    *count = n;
    return 0;
}

/* Loads invitation id for the actor, who must be allowed to manage it. */
static int load_managed(struct store_invitation *out, struct store_conn *c, struct arena *a,
                        const struct app_actor *actor, const char *id, struct usher_error *err)
{
    int rc = store_invitation_get(out, c, a, id, err);
    if (rc)
        return rc;
    return manage_check(c, a, actor, out, err);
}

static int not_pending(const struct store_invitation *inv, struct usher_error *err)
{
    /* Expired answers the same whether or not the expiry was recorded yet. */
    if (is_expired(inv, clock_now_ms()) || strcmp(inv->status, "expired") == 0) {
        return usher_error_set(err, USHER_EEXPIRED, "invitation_expired", NULL,
                               "this invitation has expired");
    }
    if (strcmp(inv->status, "pending") != 0)
        return usher_error_set(err, USHER_ECONFLICT, "invitation_not_pending", NULL,
                               "this invitation is %s", inv->status);
    return 0;
}

int app_invitation_get(struct app_invitation_view *out, struct app *app, struct arena *a,
                       const struct app_actor *actor, const char *id, bool with_link,
                       struct usher_error *err)
{
    memset(out, 0, sizeof(*out));
    struct store_conn *c = NULL;
    int rc = store_conn_get(app->store, &c, err);
    if (rc)
        return rc;
    struct store_invitation inv;
    rc = load_managed(&inv, c, a, actor, id, err);
    if (rc == 0 && with_link)
        rc = not_pending(&inv, err);
    if (rc == 0)
        rc = view_fill(out, c, a, &inv, err);
    store_conn_put(c);
    if (rc == 0 && with_link)
        out->url = app_invitation_url(a, app, inv.id, inv.token_nonce);
    return rc;
}

int app_invitation_resend(struct app_invitation_view *out, int64_t *out_retry_after,
                          struct app *app, struct arena *a, const struct app_actor *actor,
                          const char *id, struct usher_error *err)
{
    memset(out, 0, sizeof(*out));
    struct store_conn *c = NULL;
    int rc = store_conn_get(app->store, &c, err);
    if (rc)
        return rc;
    struct store_invitation inv;
    rc = store_begin(c, true, err);
    if (rc == 0)
        rc = load_managed(&inv, c, a, actor, id, err);
    int64_t now = clock_now_ms();
    /* An expired invitation may be sent again: resend restarts its expiry, whether or not the
     * expiry was already recorded (listing the agency's invitations records it). */
    if (rc == 0 && strcmp(inv.status, "pending") != 0 && strcmp(inv.status, "expired") != 0)
        rc = usher_error_set(err, USHER_ECONFLICT, "invitation_not_pending", NULL,
                             "this invitation is %s", inv.status);
    if (rc == 0 && inv.last_sent_at &&
        now - inv.last_sent_at < APP_INVITATION_RESEND_GAP_S * 1000) {
        if (out_retry_after)
            *out_retry_after =
                (APP_INVITATION_RESEND_GAP_S * 1000 - (now - inv.last_sent_at)) / 1000 + 1;
        rc = usher_error_set(err, USHER_ELIMIT, "rate_limited", NULL,
                             "this invitation was sent less than a minute ago");
    }
    if (rc == 0 && inv.send_count >= APP_INVITATION_SENDS_MAX)
        rc = usher_error_set(err, USHER_ELIMIT, "rate_limited", NULL,
                             "this invitation was sent %d times; revoke it and invite again",
                             APP_INVITATION_SENDS_MAX);
    if (rc == 0)
        rc = send_limits(out_retry_after, c, a, actor, inv.agency_id, inv.email, err);
    bool changed = false;
    if (rc == 0) {
        new_token(&inv, app, a);
        inv.expires_at = now + inv.expires_in_seconds * 1000;
        rc = store_invitation_rotate(&changed, c, a, inv.id, inv.token_nonce, inv.token_hash,
                                     inv.expires_at, now, err);
        if (rc == USHER_ECONFLICT) {
            /* Pending again, it would be a second pending invitation for the address. */
            usher_error_clear(err);
            rc = usher_error_set(err, USHER_ECONFLICT, NULL, "email",
                                 "%s has a newer pending invitation to this agency; resend that "
                                 "one",
                                 inv.email);
        }
        if (rc == 0 && !changed)
            rc = usher_error_set(err, USHER_ECONFLICT, "invitation_not_pending", NULL,
                                 "this invitation is no longer pending");
        inv.status = "pending";
        inv.generation++;
        inv.last_sent_at = now;
        inv.send_count++;
    }
    if (rc == 0)
        rc = view_fill(out, c, a, &inv, err);
    if (rc == 0)
        rc = app_invitation_mail_queue(c, a, out, err);
    if (rc == 0) {
        struct app_audit_event ev = {
            .agency_id = inv.agency_id,
            .action = "invitation.resent",
            .scope_type = "agency",
            .scope_id = inv.agency_id,
            .details = json_pack("{s:s, s:s, s:I}", "invitation_id", inv.id, "email", inv.email,
                                 "send_count", (json_int_t)inv.send_count),
        };
        rc = app_audit_record(c, a, actor, &ev, err);
    }
    return send_finish(out, app, c, a, &inv, true, rc, err);
}

int app_invitation_revoke(struct app *app, struct arena *a, const struct app_actor *actor,
                          const char *id, struct usher_error *err)
{
    struct store_conn *c = NULL;
    int rc = store_conn_get(app->store, &c, err);
    if (rc)
        return rc;
    struct store_invitation inv;
    rc = store_begin(c, true, err);
    if (rc == 0)
        rc = load_managed(&inv, c, a, actor, id, err);
    if (rc == 0)
        rc = not_pending(&inv, err);
    bool changed = false;
    if (rc == 0)
        rc = store_invitation_decide(&changed, c, a, inv.id, "revoked", actor->user_id,
                                     clock_now_ms(), err);
    if (rc == 0 && !changed)
        rc = usher_error_set(err, USHER_ECONFLICT, "invitation_not_pending", NULL,
                             "this invitation is %s", inv.status);
    if (rc == 0) {
        struct app_audit_event ev = {
            .agency_id = inv.agency_id,
            .action = "invitation.revoked",
            .scope_type = "agency",
            .scope_id = inv.agency_id,
            .details = json_pack("{s:s, s:s}", "invitation_id", inv.id, "email", inv.email),
        };
        rc = app_audit_record(c, a, actor, &ev, err);
    }
    if (rc == 0)
        rc = store_commit(c, err);
    store_conn_put(c);
    return rc;
}

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

int app_invitation_lookup(struct app_invitation_view *out, struct app *app, struct arena *a,
                          const char *token, struct usher_error *err)
{
    memset(out, 0, sizeof(*out));
    int rc = token_valid(token, err);
    if (rc)
        return rc;
    struct store_conn *c = NULL;
    rc = store_conn_get(app->store, &c, err);
    if (rc)
        return rc;
    struct store_invitation inv;
    rc = by_token(&inv, c, a, app, token, err);
    if (rc == 0)
        rc = view_fill(out, c, a, &inv, err);
    if (rc == 0) {
        struct store_user u;
        struct usher_error e2 = {0};
        out->account_exists = store_user_by_email(&u, c, a, inv.email, &e2) == 0;
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

int app_invitation_accept(struct app_invitation_accepted *out, struct app *app, struct arena *a,
                          const struct app_actor *actor, const char *token, const char *id,
                          const char *password, const char *first_name, const char *last_name,
                          struct usher_error *err)
{
    memset(out, 0, sizeof(*out));
    struct store_conn *c = NULL;
    int rc = store_conn_get(app->store, &c, err);
    if (rc)
        return rc;
    /* First a read without the write lock: validate and hash the password (slow) before the
     * transaction, which then checks everything again. */
    struct store_invitation inv;
    rc = load_for_decision(&inv, c, a, app, actor, token, id, err);
    if (rc == 0)
        rc = not_pending(&inv, err);
    struct store_user user = {0};
    bool is_new = false;
    char hash[APP_PASSWORD_HASH_MAX] = "";
    const char *first = NULL, *last = NULL;
    if (rc == 0 && actor->user_id) {
        rc = store_user_get(&user, c, a, actor->user_id, err);
        if (rc == 0 && strcmp(user.email, inv.email) != 0)
            rc = usher_error_set(err, USHER_EFORBIDDEN, "email_mismatch", NULL,
                                 "this invitation is for another email address; sign in with "
                                 "that address or ask for an invitation to yours");
    } else if (rc == 0) {
        struct usher_error e2 = {0};
        if (store_user_by_email(&user, c, a, inv.email, &e2) == 0) {
            rc = usher_error_set(err, USHER_ECONFLICT, "account_exists", NULL,
                                 "an account with this email exists; sign in to accept");
        } else {
            is_new = true;
            rc = app_password_check(password, "password", err);
            /* A blank name in the form keeps the one the inviter gave. */
            if (rc == 0)
                rc = text_name_optional_check(&first, a,
                                              is_blank(a, first_name) ? inv.first_name : first_name,
                                              "first_name", err);
            if (rc == 0)
                rc = text_name_optional_check(
                    &last, a, is_blank(a, last_name) ? inv.last_name : last_name, "last_name", err);
            struct app_password_inputs known = {inv.email, first, last};
            if (rc == 0)
                rc = app_password_strength_check(password, "password", &known, err);
            if (rc == 0)
                rc = app_password_hash(app->hash_pool, hash, password, err);
        }
    }
    if (rc == 0)
        rc = store_begin(c, true, err);
    if (rc == 0) {
        /* Again inside the transaction: the row may have changed meanwhile. */
        struct store_invitation again;
        rc = store_invitation_get(&again, c, a, inv.id, err);
        if (rc == 0 &&
            (again.generation != inv.generation || strcmp(again.token_hash, inv.token_hash) != 0))
            rc = usher_error_set(err, USHER_ENOTFOUND, "invitation_not_found", NULL,
                                 "this link was replaced by a newer one");
        if (rc == 0)
            rc = not_pending(&again, err);
    }
    struct app_grant *grants = NULL;
    size_t n = 0;
    struct app_role_set roles;
    if (rc == 0) {
        struct usher_error e2 = {0};
        rc = stored_grants(&grants, &n, &roles, c, a, &inv, &e2);
        if (rc == USHER_EINVAL)
            rc = usher_error_set(err, USHER_EFORBIDDEN, "invitation_invalid", NULL,
                                 "an environment or bot of this invitation no longer exists; "
                                 "ask for a new invitation");
        else if (rc)
            rc = usher_error_set(err, rc, NULL, NULL, "%s", e2.message);
    }
    if (rc == 0)
        rc = inviter_still_allowed(c, a, &inv, grants, n, err);
    if (rc == 0 && is_new) {
        struct app_actor creating = *actor;
        rc = app_account_insert(&user, c, a, &creating, inv.email, first, last, hash, false,
                                "invitation", err);
        if (rc == USHER_ECONFLICT) {
            usher_error_clear(err);
            rc = usher_error_set(err, USHER_ECONFLICT, "account_exists", NULL,
                                 "an account with this email exists; sign in to accept");
        }
    }
    bool changed = false;
    int64_t now = clock_now_ms();
    if (rc == 0)
        rc = store_invitation_decide(&changed, c, a, inv.id, "accepted", user.id, now, err);
    if (rc == 0 && !changed)
        rc = usher_error_set(err, USHER_ECONFLICT, "invitation_not_pending", NULL,
                             "this invitation was already used");
    const char *shortcode = NULL;
    if (rc == 0 && inv.shortcode) {
        bool taken = false;
        rc = store_directory_shortcode_taken(&taken, c, a, inv.agency_id, inv.shortcode, inv.email,
                                             err);
        shortcode = taken ? NULL : inv.shortcode;
    }
    if (rc == 0)
        rc = app_grants_write(c, a, inv.agency_id, user.id, shortcode, grants, n, false, err);
    if (rc == 0) {
        struct app_actor who = *actor;
        who.user_id = user.id;
        struct app_audit_event ev = {
            .agency_id = inv.agency_id,
            .action = "invitation.accepted",
            .subject_user_id = user.id,
            .scope_type = "agency",
            .scope_id = inv.agency_id,
            .details = json_pack("{s:s, s:s, s:b, s:o, s:s?}", "invitation_id", inv.id, "email",
                                 inv.email, "new_account", is_new, "grants",
                                 audit_grants(grants, n), "shortcode", shortcode),
        };
        rc = app_audit_record(c, a, &who, &ev, err);
    }
    if (rc == 0 && is_new) {
        struct app_actor who = *actor;
        who.user_id = user.id;
        rc = app_account_session_start(&out->session, app, c, a, &who, &user, err);
    }
    if (rc == 0)
        rc = store_commit(c, err);
    if (rc == 0)
        app_grants_refresh(app, c, user.id);
    if (rc == 0) {
        inv.status = "accepted";
        rc = view_fill(&out->view, c, a, &inv, err);
    }
    store_conn_put(c);
    sodium_memzero(hash, sizeof(hash));
    if (rc)
        return rc;
    out->user = user;
    out->is_new_user = is_new;
    return 0;
}

int app_invitation_decline(struct app *app, struct arena *a, const struct app_actor *actor,
                           const char *token, const char *id, struct usher_error *err)
{
    struct store_conn *c = NULL;
    int rc = store_conn_get(app->store, &c, err);
    if (rc)
        return rc;
    struct store_invitation inv;
    rc = store_begin(c, true, err);
    if (rc == 0)
        rc = load_for_decision(&inv, c, a, app, actor, token, id, err);
    if (rc == 0 && token && actor->user_id) {
        /* Signed in, the decision is recorded as that user's: it must be their invitation. A
         * link alone (signed out) may still decline. */
        struct store_user me;
        rc = store_user_get(&me, c, a, actor->user_id, err);
        if (rc == 0 && strcmp(me.email, inv.email) != 0)
            rc = usher_error_set(err, USHER_EFORBIDDEN, "email_mismatch", NULL,
                                 "this invitation is for another email address");
    }
    if (rc == 0)
        rc = not_pending(&inv, err);
    bool changed = false;
    if (rc == 0)
        rc = store_invitation_decide(&changed, c, a, inv.id, "declined", actor->user_id,
                                     clock_now_ms(), err);
    if (rc == 0 && !changed)
        rc = usher_error_set(err, USHER_ECONFLICT, "invitation_not_pending", NULL,
                             "this invitation was already used");
    if (rc == 0) {
        struct app_audit_event ev = {
            .agency_id = inv.agency_id,
            .action = "invitation.declined",
            .subject_user_id = actor->user_id,
            .scope_type = "agency",
            .scope_id = inv.agency_id,
            .details = json_pack("{s:s, s:s}", "invitation_id", inv.id, "email", inv.email),
        };
        rc = app_audit_record(c, a, actor, &ev, err);
    }
    if (rc == 0)
        rc = store_commit(c, err);
    store_conn_put(c);
    return rc;
}

int app_invitation_pending_for_user(struct app_invitation_view **out, size_t *count,
                                    struct app *app, struct arena *a, const char *email,
                                    struct usher_error *err)
{
    *out = NULL;
    *count = 0;
    struct store_conn *c = NULL;
    int rc = store_conn_get(app->store, &c, err);
    if (rc)
        return rc;
    struct store_invitation *rows = NULL;
    size_t n = 0;
    rc = store_invitation_pending_for_email(&rows, &n, c, a, email, clock_now_ms(), err);
    struct app_invitation_view *items = arena_alloc(a, (n + 1) * sizeof(*items));
    size_t filled = 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        rc = view_fill(&items[i], c, a, &rows[i], err);
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
