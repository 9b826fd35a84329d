/* Creating an invitation (rule 4 over its grants, send limits, one email) and sending it again
 * (a new link, a new expiry, the same id). */
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
#include "oidc/oidc.h"
#include "store/store_member.h"
#include "store/store_oidc.h"
#include "store/store_tenancy.h"
#include "store/store_user.h"

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
    if (rc)
        return rc;
    if (strcmp(me.email, email) == 0)
        return usher_error_set(err, USHER_EFORBIDDEN, "own_grants", "email",
                               "you cannot invite yourself; ask another manager");
    return 0;
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

/* The end of a create or a resend, whatever rc says: gives c back (a transaction still open is
 * rolled back), then releases out's JSON on failure, or wakes the sender when an email was
 * queued. Returns rc. */
static int send_finish(struct app_invitation_view *out, const struct app_call *call,
                       struct store_conn *c, bool sent, int rc)
{
    store_conn_put(c);
    if (rc)
        app_invitation_view_dispose(out);
    else if (sent)
        mail_sender_wake(call->app->mail);
    return rc;
}

/* One invitation being created: what was asked, and the grants as they read in the agency. */
struct creation {
    const char *agency_id;
    const struct app_invitation_new *in;
    const char *authority; /* users.invite, or bot.delegate for bot managers */
    int64_t now;
    struct app_grant *grants;
    size_t grant_count;
};

/* The checks before a new invitation, in its transaction: every grant gives something and
 * passes rule 4 for x->authority, nobody invites themselves, the invitee is not a member
 * already (bot managers may be), the shortcode is free and the send limits allow an email. */
static int create_check(struct creation *x, int64_t *out_retry_after, struct store_conn *c,
                        const struct app_call *call)
{
    const struct app_invitation_new *in = x->in;
    struct store_agency agency;
    struct app_access acc;
    int rc = store_agency_get(&agency, c, call->arena, x->agency_id, call->err);
    if (rc)
        return rc;
    rc = app_access_load(&acc, c, call->arena, call->actor, x->agency_id, "agency", call->err);
    if (rc)
        return rc;
    rc = app_grants_parse(&x->grants, &x->grant_count, c, call->arena, x->agency_id, &acc.roles,
                          in->grants, "grants", false, call->err);
    if (rc)
        return rc;
    rc = grants_give_something(x->grants, x->grant_count, call->err);
    if (rc)
        return rc;
    rc = app_access_may_grant(&acc, call->arena, x->grants, x->grant_count, x->authority, "grants",
                              call->err);
    if (rc)
        return rc;
    rc = not_oneself(c, call->arena, call->actor, in->email, call->err);
    if (rc)
        return rc;
    x->now = clock_now_ms();
    rc = store_invitation_expire_due(c, call->arena, x->agency_id, in->email, x->now, call->err);
    if (rc)
        return rc;
    /* Someone who is already a member is given grants, not invited again. */
    struct store_user existing;
    struct usher_error e2 = {0};
    bool member = false;
    if (store_user_by_email(&existing, c, call->arena, in->email, &e2) == 0) {
        rc = store_agency_has_member(&member, c, call->arena, x->agency_id, existing.id, call->err);
        if (rc)
            return rc;
    }
    /* Bot managers are invited even when already members: they accept from their control
     * panel (docs/rules.md, Invitations). */
    if (member && strcmp(x->authority, "bot.delegate") != 0)
        return usher_error_set(call->err, USHER_ECONFLICT, "already_member", "email",
                               "%s is already a member of this agency", in->email);
    if (in->shortcode) {
        bool taken = false;
        rc = store_directory_shortcode_taken(&taken, c, call->arena, x->agency_id, in->shortcode,
                                             NULL, call->err);
        if (rc)
            return rc;
        if (taken)
            return usher_error_set(call->err, USHER_ECONFLICT, "shortcode_taken", "shortcode",
                                   "shortcode is already used in this agency");
    }
    if (!in->send_email)
        return 0;
    return send_limits(out_retry_after, c, call->arena, call->actor, x->agency_id, in->email,
                       call->err);
}

/* Writes the invitation x describes, with a new link, into *inv. A pending invitation for the
 * same email is USHER_ECONFLICT naming email. */
static int create_insert(struct store_invitation *inv, const struct creation *x,
                         struct store_conn *c, const struct app_call *call)
{
    const struct app_invitation_new *in = x->in;
    inv->id = crypto_id_new(call->arena, "inv");
    inv->agency_id = x->agency_id;
    inv->email = in->email;
    inv->first_name = in->first_name;
    inv->last_name = in->last_name;
    inv->shortcode = in->shortcode;
    json_t *stored = app_grants_json(x->grants, x->grant_count, NULL);
    char *text = json_dump_compact(stored);
    json_decref(stored);
    inv->grants_json = arena_strdup(call->arena, text);
    free(text);
    inv->status = "pending";
    inv->generation = 1;
    inv->sign_in = in->sign_in ? in->sign_in : "password";
    inv->oauth_subject = in->oauth_subject;
    inv->authority = x->authority;
    inv->created_by = call->actor->user_id;
    inv->created_at = x->now;
    inv->expires_in_seconds = in->expires_in_seconds;
    inv->expires_at = x->now + in->expires_in_seconds * 1000;
    inv->last_sent_at = in->send_email ? x->now : 0;
    inv->send_count = in->send_email ? 1 : 0;
    new_token(inv, call->app, call->arena);
    int rc = store_invitation_insert(c, call->arena, inv, call->err);
    if (rc == USHER_ECONFLICT) {
        usher_error_clear(call->err);
        rc = usher_error_set(call->err, USHER_ECONFLICT, NULL, "email",
                             "%s already has a pending invitation to this agency; revoke it "
                             "or resend it",
                             in->email);
    }
    return rc;
}

int app_invitation_create(struct app_invitation_view *out, int64_t *out_retry_after,
                          const struct app_call *call, const char *agency_id,
                          const struct app_invitation_new *in, const char *authority)
{
    memset(out, 0, sizeof(*out));
    struct creation x = {.agency_id = agency_id, .in = in, .authority = authority};
    struct store_conn *c = NULL;
    struct store_invitation inv = {0};
    int rc = 0;
    bool oauth = in->sign_in && strcmp(in->sign_in, "oauth") == 0;
    if (in->oauth_subject && !oauth) {
        rc = usher_error_set(call->err, USHER_EINVAL, NULL, "oauth_subject",
                             "oauth_subject needs sign_in \"oauth\"");
        goto done;
    }
    if (in->oauth_subject && (!*in->oauth_subject || strlen(in->oauth_subject) > OIDC_SUB_MAX)) {
        rc = usher_error_set(call->err, USHER_EINVAL, NULL, "oauth_subject",
                             "oauth_subject must be 1 to %d bytes", OIDC_SUB_MAX);
        goto done;
    }
    rc = app_call_begin(&c, call, true);
    if (rc)
        goto done;
    rc = create_check(&x, out_retry_after, c, call);
    if (rc)
        goto done;
    if (oauth) {
        /* Accepted only through the agency's provider: there must be one. */
        struct store_oidc_connection *conns = NULL;
        size_t n = 0;
        rc = store_oidc_connection_list(&conns, &n, c, call->arena, agency_id, call->err);
        if (rc)
            goto done;
        if (n == 0) {
            rc = usher_error_set(call->err, USHER_EINVAL, "sign_in_unavailable", "sign_in",
                                 "no sign-in connection is set up for this agency");
            goto done;
        }
    }
    rc = create_insert(&inv, &x, c, call);
    if (rc)
        goto done;
    if (in->preview) {
        /* A dry run: the insert above is rolled back as the connection goes back. */
        rc = app_grants_preview_build(in->preview, c, call->arena, NULL, 0, x.grants, x.grant_count,
                                      true, call->err);
        in->preview->email = in->email;
        store_conn_put(c);
        return rc;
    }
    rc = app_invitation_view_fill(out, c, call->arena, &inv, call->err);
    if (rc)
        goto done;
    if (in->send_email) {
        rc = app_invitation_mail_queue(c, call->arena, out, call->err);
        if (rc)
            goto done;
    }
    struct app_audit_event ev = {
        .agency_id = agency_id,
        .action = "invitation.created",
        .scope_type = "agency",
        .scope_id = agency_id,
        .details =
            json_pack("{s:s, s:s, s:o, s:b, s:I}", "invitation_id", inv.id, "email", in->email,
                      "grants", app_grants_json(x.grants, x.grant_count, NULL), "send_email",
                      in->send_email, "expires_in_seconds", (json_int_t)in->expires_in_seconds),
    };
    rc = app_audit_record(c, call->arena, call->actor, &ev, call->err);
    if (rc)
        goto done;
    rc = store_commit(c, call->err);
    if (rc)
        goto done;
    out->url = app_invitation_url(call->arena, call->app, inv.id, inv.token_nonce);
done:
    return send_finish(out, call, c, in->send_email, rc);
}

/* May inv be sent again at now? A pending or expired invitation may (resend restarts its
 * expiry, whether or not the expiry was recorded yet: listing records it), at most every
 * APP_INVITATION_RESEND_GAP_S and APP_INVITATION_SENDS_MAX times, within the send limits. */
static int resend_check(const struct store_invitation *inv, int64_t *out_retry_after,
                        struct store_conn *c, const struct app_call *call, int64_t now)
{
    if (strcmp(inv->status, "pending") != 0 && strcmp(inv->status, "expired") != 0)
        return usher_error_set(call->err, USHER_ECONFLICT, "invitation_not_pending", NULL,
                               "this invitation is %s", inv->status);
    if (inv->last_sent_at && now - inv->last_sent_at < APP_INVITATION_RESEND_GAP_S * 1000) {
        if (out_retry_after)
            *out_retry_after =
                (APP_INVITATION_RESEND_GAP_S * 1000 - (now - inv->last_sent_at)) / 1000 + 1;
        return usher_error_set(call->err, USHER_ELIMIT, "rate_limited", NULL,
                               "this invitation was sent less than a minute ago");
    }
    if (inv->send_count >= APP_INVITATION_SENDS_MAX)
        return usher_error_set(call->err, USHER_ELIMIT, "rate_limited", NULL,
                               "this invitation was sent %d times; revoke it and invite again",
                               APP_INVITATION_SENDS_MAX);
    return send_limits(out_retry_after, c, call->arena, call->actor, inv->agency_id, inv->email,
                       call->err);
}

/* Gives inv a new link and a new expiry from now, pending again, one more send. */
static int resend_rotate(struct store_invitation *inv, struct store_conn *c,
                         const struct app_call *call, int64_t now)
{
    bool changed = false;
    new_token(inv, call->app, call->arena);
    inv->expires_at = now + inv->expires_in_seconds * 1000;
    int rc = store_invitation_rotate(&changed, c, call->arena, inv->id, inv->token_nonce,
                                     inv->token_hash, inv->expires_at, now, call->err);
    if (rc == USHER_ECONFLICT) {
        /* Pending again, it would be a second pending invitation for the address. */
        usher_error_clear(call->err);
        return usher_error_set(call->err, USHER_ECONFLICT, NULL, "email",
                               "%s has a newer pending invitation to this agency; resend that "
                               "one",
                               inv->email);
    }
    if (rc)
        return rc;
    if (!changed)
        return usher_error_set(call->err, USHER_ECONFLICT, "invitation_not_pending", NULL,
                               "this invitation is no longer pending");
    inv->status = "pending";
    inv->generation++;
    inv->last_sent_at = now;
    inv->send_count++;
    return 0;
}

int app_invitation_resend(struct app_invitation_view *out, int64_t *out_retry_after,
                          const struct app_call *call, const char *id)
{
    memset(out, 0, sizeof(*out));
    struct store_conn *c = NULL;
    struct store_invitation inv;
    int rc = app_call_begin(&c, call, true);
    if (rc)
        goto done;
    rc = app_invitation_load_managed(&inv, c, call->arena, call->actor, id, call->err);
    if (rc)
        goto done;
    int64_t now = clock_now_ms();
    rc = resend_check(&inv, out_retry_after, c, call, now);
    if (rc)
        goto done;
    rc = resend_rotate(&inv, c, call, now);
    if (rc)
        goto done;
    rc = app_invitation_view_fill(out, c, call->arena, &inv, call->err);
    if (rc)
        goto done;
    rc = app_invitation_mail_queue(c, call->arena, out, call->err);
    if (rc)
        goto done;
    struct app_audit_event ev = {
        .agency_id = inv.agency_id,
        .action = "invitation.resent",
        .scope_type = "agency",
        .scope_id = inv.agency_id,
        .details = json_pack("{s:s, s:s, s:I}", "invitation_id", inv.id, "email", inv.email,
                             "send_count", (json_int_t)inv.send_count),
    };
    rc = app_audit_record(c, call->arena, call->actor, &ev, call->err);
    if (rc)
        goto done;
    rc = store_commit(c, call->err);
    if (rc)
        goto done;
    out->url = app_invitation_url(call->arena, call->app, inv.id, inv.token_nonce);
done:
    return send_finish(out, call, c, true, rc);
}
