/* The callback of the code flow: the state taken once in the browser that started it, the
 * code exchanged and the ID token verified (no database lock held meanwhile), then one short
 * write transaction that signs in, links or accepts an invitation. Every refusal has a reason
 * for the problem page, a log line with the precise cause and a "user.sign_in_failed" row. */
#include "app/oidc_int.h"

#include <sodium.h>
#include <string.h>

#include "app/audit.h"
#include "app/grants.h"
#include "app/invitation.h"
#include "base/clock.h"
#include "base/crypto.h"
#include "base/log.h"
#include "base/text.h"
#include "config/config.h"
#include "store/store_member.h"
#include "store/store_user.h"

/* What the callback has learnt so far. */
struct flow {
    struct store_oidc_state state;
    struct store_oidc_connection conn;
    bool has_conn;
    struct oidc_claims claims;
    const char *id_token_sealed;
    const char *user_id; /* the account concerned, once known */
};

/* user_id when it may be named in the log of agency_id, else NULL: only a member of that
 * agency may. The provider's address can match any account, and the browser can carry any
 * account's session; an agency must not learn of an account that is not its member, not even
 * that it tried the agency's sign-in. A failed lookup names no one. */
static const char *member_or_null(struct store_conn *c, const struct app_call *call,
                                  const char *agency_id, const char *user_id)
{
    bool is_member = false;
    struct usher_error ignored = {0};
    if (!user_id ||
        store_member_exists(&is_member, c, call->arena, agency_id, user_id, &ignored) != 0)
        return NULL;
    return is_member ? user_id : NULL;
}

/* The domain of the address the provider gave, lower-cased, or NULL when it gave none that
 * reads as an address: a refusal keeps it, since it names no one. */
static const char *claims_domain(const struct app_call *call, const struct flow *f)
{
    const char *email = NULL;
    struct usher_error ignored = {0};
    if (!f->claims.email ||
        text_email_normalize(&email, call->arena, f->claims.email, "email", &ignored) != 0)
        return NULL;
    return strrchr(email, '@') + 1;
}

/* A refusal: the reason for the page, the cause in the log and the connection's agency's audit
 * log, naming the account concerned, the signed-in actor and who they view as only when each is
 * a member of that agency. */
static int refuse(struct app_oidc_callback_out *out, const struct app_call *call,
                  const struct flow *f, const char *reason, const char *cause)
{
    out->reason = reason;
    log_msg(LOG_INFO, "oidc.sign_in_failed", "{s:s, s:s, s:s?, s:s?}", "reason", reason, "cause",
            cause ? cause : reason, "connection_id", f->has_conn ? f->conn.id : NULL, "request_id",
            call->actor->request_id);
    /* A state nobody started is anyone's GET: it is logged, but only a sign-in that was
     * started here reaches the audit log, so strangers cannot fill it. */
    struct usher_error ignored = {0};
    struct store_conn *c = NULL;
    if (!f->has_conn || store_conn_get(call->app->store, &c, &ignored) != 0)
        return 0;
    const char *agency_id = f->conn.agency_id;
    struct app_actor who = *call->actor;
    who.user_id = member_or_null(c, call, agency_id, who.user_id);
    who.impersonator_id = member_or_null(c, call, agency_id, who.impersonator_id);
    struct app_audit_event ev = {
        .agency_id = agency_id,
        .action = "user.sign_in_failed",
        .subject_user_id = member_or_null(c, call, agency_id, f->user_id),
        .details = json_pack("{s:s, s:s, s:s, s:s, s:s?}", "method", "oidc", "reason", reason,
                             "connection_id", f->conn.id, "issuer", f->conn.issuer, "email_domain",
                             claims_domain(call, f)),
    };
    if (app_audit_record(c, call->arena, &who, &ev, &ignored) != 0)
        log_msg(LOG_WARN, "oidc.audit_failed", "{s:s}", "message", ignored.message);
    store_conn_put(c);
    return 0;
}

/* The state: known, made in this browser, unused and unexpired; then taken, once. */
static int state_take(bool *out_ok, struct flow *f, const struct app_call *call,
                      const struct app_oidc_callback_in *in)
{
    *out_ok = false;
    if (!in->state || !in->browser_cookie || strlen(in->state) > 128 ||
        strlen(in->browser_cookie) > 128)
        return 0;
    char state_hash[CRYPTO_HASH_HEX + 1], browser_hash[CRYPTO_HASH_HEX + 1];
    app_oidc_keyed_hash(state_hash, call->app, call->arena, "state", in->state);
    app_oidc_keyed_hash(browser_hash, call->app, call->arena, "browser", in->browser_cookie);
    struct store_conn *c = NULL;
    bool taken = false;
    int rc = store_conn_get(call->app->store, &c, call->err);
    if (rc)
        goto done;
    struct usher_error e2 = {0};
    rc = store_oidc_state_get(&f->state, c, call->arena, state_hash, &e2);
    if (rc == USHER_ENOTFOUND) {
        rc = 0;
        goto done;
    }
    if (rc) {
        rc = usher_error_set(call->err, rc, NULL, NULL, "%s", e2.message);
        goto done;
    }
    if (store_oidc_connection_get(&f->conn, c, call->arena, f->state.connection_id, &e2) == 0)
        f->has_conn = true;
    if (!crypto_str_equal(f->state.browser_hash, browser_hash) || f->state.used_at ||
        f->state.expires_at <= clock_now_ms() || !f->has_conn)
        goto done;
    rc = store_begin(c, true, call->err);
    if (rc)
        goto done;
    rc = store_oidc_state_take(&taken, c, call->arena, state_hash, clock_now_ms(), call->err);
    if (rc)
        goto done;
    rc = store_commit(c, call->err);
    if (rc)
        goto done;
    *out_ok = taken;
done:
    store_conn_put(c);
    return rc;
}

static bool starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* The reason of the problem page for a failed exchange or verification, from its precise
 * problem: the provider refused the code or answered nonsense (idp_error); the ID token, or
 * the keys that should verify it, failed a check (token_invalid); anything else kept usher
 * from talking to the provider at all, an address usher will not fetch included
 * (idp_unreachable). */
static const char *exchange_reason(const char *problem)
{
    if (!problem)
        return "idp_unreachable";
    if (strcmp(problem, "oidc_token_error") == 0 ||
        strcmp(problem, "oidc_token_response_invalid") == 0)
        return "idp_error";
    if (starts_with(problem, "id_token_") || starts_with(problem, "oidc_jwks_") ||
        strcmp(problem, "oidc_token_no_id_token") == 0)
        return "token_invalid";
    return "idp_unreachable";
}

/* The code exchanged and the ID token verified: NULL, or the reason it failed (*cause the
 * precise problem). Nothing here holds a database connection. */
static const char *idp_exchange(struct flow *f, const char **cause, const struct app_call *call,
                                const char *code)
{
    struct arena *a = call->arena;
    struct oidc_provider *p = NULL;
    struct app_oidc_provider_ref *ref = NULL;
    struct usher_error e = {0};
    const char *reason = NULL;
    char *verifier =
        app_oidc_open(a, call->app, f->state.state_hash, f->state.code_verifier_sealed);
    unsigned char key[OIDC_SECRET_KEY_BYTES];
    oidc_secret_key_derive(key, call->app->secret, sizeof(call->app->secret));
    char *secret = NULL;
    int rc = oidc_secret_open(&secret, a, key, f->conn.id, f->conn.client_secret_sealed, &e);
    sodium_memzero(key, sizeof(key));
    if (rc || !verifier) {
        *cause = verifier ? arena_strdup(a, e.problem) : "code_verifier_corrupt";
        return "idp_error";
    }
    if (app_oidc_provider_get(&p, &ref, call->app, &f->conn, &e) != 0) {
        *cause = arena_strdup(a, e.problem);
        return "idp_unreachable";
    }
    struct oidc_discovery d;
    if (oidc_provider_discovery(&d, a, p, &e) != 0) {
        *cause = arena_strdup(a, e.problem);
        reason = "idp_unreachable";
        goto done;
    }
    struct oidc_token_request req = {
        .code = code,
        .redirect_uri = arena_printf(a, "%s/api/v1/oidc/callback", call->app->public_url),
        .code_verifier = verifier,
        .client_id = f->conn.client_id,
        .client_secret = secret,
        .auth_methods = d.auth_methods,
    };
    struct oidc_http_options opt = app_oidc_http_options(call->app);
    struct oidc_tokens tokens;
    rc = oidc_token_exchange(&tokens, a, d.token_endpoint, &req, &opt, &e);
    if (rc) {
        *cause = arena_strdup(a, e.problem);
        reason = exchange_reason(e.problem);
        goto done;
    }
    struct oidc_id_token_check check = {
        .client_id = f->conn.client_id,
        .nonce = f->state.nonce,
        .now_s = clock_now_ms() / 1000,
        .skew_s = -1,
    };
    rc = oidc_provider_id_token_verify(&f->claims, a, p, tokens.id_token, &check, &e);
    if (rc) {
        *cause = arena_strdup(a, e.problem);
        reason = exchange_reason(e.problem);
        goto done;
    }
    f->id_token_sealed =
        app_oidc_seal(a, call->app, arena_printf(a, "id_token:%s", f->conn.id), tokens.id_token);
done:
    if (secret)
        sodium_memzero(secret, strlen(secret));
    app_oidc_provider_release(call->app, ref);
    return reason;
}

/* Inserts the identity of the claims for user_id with its audit row. USHER_ECONFLICT when it
 * belongs to an account already. */
static int identity_link(struct store_conn *c, const struct app_call *call, const struct flow *f,
                         const char *user_id, const char *via)
{
    struct store_identity idn = {
        .id = crypto_id_new(call->arena, "idn"),
        .user_id = user_id,
        .issuer = f->conn.issuer,
        .subject = f->claims.sub,
        .connection_id = f->conn.id,
        .email = f->claims.email,
        .created_at = clock_now_ms(),
    };
    int rc = store_identity_insert(c, call->arena, &idn, call->err);
    if (rc)
        return rc;
    struct app_actor who = *call->actor;
    who.user_id = user_id;
    struct app_audit_event ev = {
        .action = "identity.linked",
        .subject_user_id = user_id,
        .details = json_pack("{s:s, s:s, s:s, s:s}", "identity_id", idn.id, "connection_id",
                             f->conn.id, "issuer", f->conn.issuer, "via", via),
    };
    return app_audit_record(c, call->arena, &who, &ev, call->err);
}

/* Whether the provider of agency_id may speak for user's address: user is no platform admin
 * and belongs to agency_id and to no other agency. Any other account is linked only from its
 * own signed-in session: a domain claim made by one agency must not open accounts that the
 * platform or another agency answers for. */
static int account_inside_agency(bool *out, struct store_conn *c, const struct app_call *call,
                                 const struct store_user *user, const char *agency_id)
{
    struct store_user_membership *ms = NULL;
    size_t n = 0;
    *out = false;
    if (user->is_platform_admin)
        return 0;
    struct usher_error e2 = {0};
    int rc = store_user_memberships(&ms, &n, c, call->arena, user->id, clock_now_ms(), &e2);
    if (rc)
        return usher_error_set(call->err, rc, NULL, NULL, "%s", e2.message);
    for (size_t i = 0; i < n; i++)
        if (strcmp(ms[i].agency_id, agency_id) != 0)
            return 0;
    *out = n > 0;
    return 0;
}

/* A store error of a lookup (anything but USHER_ENOTFOUND) in call->err and *rc; whether there
 * was one. Such an error is never taken for "not found": the sign-in stops on it. */
static bool store_failed(int *rc, const struct app_call *call, int found,
                         const struct usher_error *e2)
{
    if (found == 0 || found == USHER_ENOTFOUND)
        return false;
    *rc = usher_error_set(call->err, found, NULL, NULL, "%s", e2->message);
    return true;
}

/* Which account a plain sign-in is for: the identity linked through this very connection (an
 * identity linked through another connection, another agency's at the same provider included,
 * is not looked at), or the account of a verified address in a domain this connection claims,
 * when it belongs to the connection's agency alone (then linked). NULL reason and *out
 * filled, or a reason; NULL with *rc set when the store failed. */
static const char *sign_in_account(struct store_user *out, bool *out_link, struct store_conn *c,
                                   const struct app_call *call, struct flow *f, int *rc)
{
    struct usher_error e2 = {0};
    struct store_identity idn;
    *out_link = false;
    int found = store_identity_by_connection(&idn, c, call->arena, f->conn.id, f->conn.issuer,
                                             f->claims.sub, &e2);
    if (store_failed(rc, call, found, &e2))
        return NULL;
    if (found == 0) {
        found = store_user_get(out, c, call->arena, idn.user_id, &e2);
        if (store_failed(rc, call, found, &e2))
            return NULL;
        return found ? "no_account" : NULL;
    }
    const char *email = NULL;
    if (!f->claims.email ||
        text_email_normalize(&email, call->arena, f->claims.email, "email", &e2) != 0)
        return "no_account";
    found = store_user_by_email(out, c, call->arena, email, &e2);
    if (store_failed(rc, call, found, &e2))
        return NULL;
    if (found)
        return "no_account";
    f->user_id = out->id;
    if (!f->claims.email_verified)
        return "email_unverified";
    const char *owner = NULL;
    found = store_oidc_domain_owner(&owner, c, call->arena, strrchr(email, '@') + 1, &e2);
    if (store_failed(rc, call, found, &e2))
        return NULL;
    if (!owner || strcmp(owner, f->conn.id) != 0)
        return "domain_not_claimed";
    bool inside = false;
    *rc = account_inside_agency(&inside, c, call, out, f->conn.agency_id);
    if (*rc)
        return NULL;
    if (!inside)
        return "account_exists_sign_in_first";
    *out_link = true;
    return NULL;
}

/* Linking to the account that started: NULL, or the reason it cannot be done. */
static const char *link_write(struct store_conn *c, const struct app_call *call, struct flow *f,
                              int *rc)
{
    struct store_identity idn;
    struct usher_error e2 = {0};
    f->user_id = f->state.link_user_id;
    int found = store_identity_by_connection(&idn, c, call->arena, f->conn.id, f->conn.issuer,
                                             f->claims.sub, &e2);
    if (found == 0)
        return strcmp(idn.user_id, f->state.link_user_id) == 0 ? NULL : "link_conflict";
    if (found != USHER_ENOTFOUND) {
        *rc = usher_error_set(call->err, found, NULL, NULL, "%s", e2.message);
        return NULL;
    }
    *rc = identity_link(c, call, f, f->state.link_user_id, "account");
    return NULL;
}

/* A plain sign-in: NULL and a session in out, or the reason it is refused. */
static const char *sign_in_write(struct app_oidc_callback_out *out, struct store_conn *c,
                                 const struct app_call *call, struct flow *f, int *rc)
{
    struct store_user user;
    bool link = false, elsewhere = false;
    struct usher_error e2 = {0};
    const char *reason = sign_in_account(&user, &link, c, call, f, rc);
    if (*rc)
        return NULL;
    /* The provider account is linked, but through another connection (another agency's, at
     * the same provider): its owner links this one from their own session. */
    if (reason &&
        store_identity_elsewhere(&elsewhere, c, call->arena, f->conn.id, f->conn.issuer,
                                 f->claims.sub, &e2) == 0 &&
        elsewhere)
        reason = "identity_not_linked_here";
    if (reason)
        return reason;
    f->user_id = user.id;
    if (strcmp(user.status, STORE_USER_ACTIVE) != 0)
        return "account_disabled";
    if (link) {
        *rc = identity_link(c, call, f, user.id, "verified_email");
        if (*rc)
            return NULL;
    }
    *rc =
        app_account_session_start_oidc(&out->session, call->app, c, call->arena, call->actor, &user,
                                       f->conn.id, f->conn.issuer, f->id_token_sealed, call->err);
    out->has_session = *rc == 0;
    return NULL;
}

/* A plain sign-in, or a link to the signed-in account, in one write transaction. */
static int finish(struct app_oidc_callback_out *out, const struct app_call *call, struct flow *f)
{
    const char *reason = NULL;
    struct store_conn *c = NULL;
    int rc = app_call_begin(&c, call, true);
    if (rc)
        goto done;
    if (strcmp(f->state.purpose, "link") == 0)
        reason = link_write(c, call, f, &rc);
    else
        reason = sign_in_write(out, c, call, f, &rc);
    if (rc || reason)
        goto done;
    rc = store_commit(c, call->err);
done:
    store_conn_put(c);
    /* The same identity linked by a concurrent callback meanwhile. */
    if (rc == USHER_ECONFLICT && !reason) {
        usher_error_clear(call->err);
        reason = "link_conflict";
        rc = 0;
    }
    if (reason) {
        out->has_session = false;
        return refuse(out, call, f, reason, NULL);
    }
    if (rc == 0)
        out->return_to = f->state.return_to;
    return rc;
}

/* An invitation accepted through the sign-in. */
static int finish_invitation(struct app_oidc_callback_out *out, const struct app_call *call,
                             struct flow *f)
{
    struct app_invitation_oidc who = {
        .invitation_id = f->state.invitation_id,
        .connection_id = f->conn.id,
        .issuer = f->conn.issuer,
        .subject = f->claims.sub,
        .email = f->claims.email,
        .first_name = f->claims.given_name,
        .last_name = f->claims.family_name,
        .id_token_sealed = f->id_token_sealed,
        .signed_in_id = f->state.link_user_id,
    };
    struct app_invitation_accepted acc;
    struct usher_error e2 = {0};
    struct app_call inner = *call;
    inner.err = &e2;
    int rc = app_invitation_accept_oidc(&acc, &inner, &who);
    if (rc == USHER_EUNAVAIL || rc == USHER_EINTERNAL)
        return usher_error_set(call->err, rc, NULL, NULL, "%s", e2.message);
    if (rc) {
        const char *p = e2.problem;
        const char *reason = strcmp(p, "invitation_subject_mismatch") == 0 ? p
                             : strcmp(p, "link_conflict") == 0             ? p
                             : strcmp(p, "account_disabled") == 0          ? p
                             : strcmp(p, "account_exists_sign_in_first") == 0
                                 ? p
                                 : "invitation_invalid";
        return refuse(out, call, f, reason, p);
    }
    app_invitation_view_dispose(&acc.view);
    out->session = acc.session;
    out->has_session = true;
    out->return_to = f->state.return_to;
    return 0;
}

int app_oidc_callback(struct app_oidc_callback_out *out, const struct app_call *call,
                      const struct app_oidc_callback_in *in)
{
    memset(out, 0, sizeof(*out));
    struct flow f;
    memset(&f, 0, sizeof(f));
    bool ok = false;
    int rc = state_take(&ok, &f, call, in);
    if (rc)
        return rc;
    if (!ok)
        return refuse(out, call, &f, "state_invalid", NULL);
    if (in->error || !in->code) {
        /* The provider's error code is logged as a cause only when it is a plain word. */
        bool plain = in->error && strlen(in->error) <= 64 &&
                     strspn(in->error, "abcdefghijklmnopqrstuvwxyz_") == strlen(in->error);
        return refuse(out, call, &f, "idp_error", plain ? in->error : "idp_error");
    }
    const char *cause = NULL;
    const char *reason = idp_exchange(&f, &cause, call, in->code);
    if (reason)
        return refuse(out, call, &f, reason, cause);
    if (strcmp(f.state.purpose, "invitation") == 0)
        return finish_invitation(out, call, &f);
    return finish(out, call, &f);
}
