/* The sign-in flow through an agency's provider: discovery by email domain, the start (state,
 * nonce, PKCE, the browser-binding cookie) and the callback, which talks to the provider
 * before it takes the database's write lock and then signs in, links or accepts an invitation
 * in one short transaction. */
#include "app/oidc_int.h"

#include <string.h>

#include "app/audit.h"
#include "app/invitation.h"
#include "base/clock.h"
#include "base/crypto.h"
#include "base/log.h"
#include "base/text.h"
#include "config/config.h"
#include "store/store_invitation.h"
#include "store/store_user.h"

bool app_oidc_return_to_valid(const char *path)
{
    if (!path || path[0] != '/' || path[1] == '/' || path[1] == '\\')
        return false;
    size_t len = strlen(path);
    if (len > APP_OIDC_RETURN_TO_MAX)
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)path[i];
        if (ch < 0x20 || ch == 0x7f || ch == '\\')
            return false;
    }
    /* No scheme can hide after the first slash of a path, but "/x:" is as harmless as it
     * looks; what must never pass is a path the browser reads as another origin. */
    return true;
}

int app_oidc_discover(struct store_oidc_connection *out, bool *out_found,
                      const struct app_call *call, const char *email)
{
    memset(out, 0, sizeof(*out));
    *out_found = false;
    const char *normal;
    struct store_conn *c = NULL;
    int rc = text_email_normalize(&normal, call->arena, email, "email", call->err);
    if (rc)
        goto done;
    const char *domain = strrchr(normal, '@') + 1;
    rc = store_conn_get(call->app->store, &c, call->err);
    if (rc)
        goto done;
    const char *id = NULL;
    rc = store_oidc_domain_owner(&id, c, call->arena, domain, call->err);
    if (rc || !id)
        goto done;
    rc = store_oidc_connection_get(out, c, call->arena, id, call->err);
    if (rc)
        goto done;
    *out_found = true;
done:
    store_conn_put(c);
    return rc;
}

/* The invitation a start carries: pending, "oauth", and of the connection's agency. NULL
 * *out_id when it cannot be accepted through this connection. */
static int start_invitation(const char **out_id, struct store_conn *c, const struct app_call *call,
                            const struct store_oidc_connection *conn, const char *token)
{
    *out_id = NULL;
    if (strlen(token) > 128)
        return 0;
    char hash[CRYPTO_HASH_HEX + 1];
    app_invitation_token_hash(hash, call->app, token);
    struct store_invitation inv;
    struct usher_error e2 = {0};
    int rc = store_invitation_by_token_hash(&inv, c, call->arena, hash, &e2);
    if (rc == USHER_ENOTFOUND)
        return 0;
    if (rc)
        return usher_error_set(call->err, rc, NULL, NULL, "%s", e2.message);
    if (strcmp(inv.status, "pending") != 0 || inv.expires_at <= clock_now_ms() || !inv.sign_in ||
        strcmp(inv.sign_in, "oauth") != 0 || strcmp(inv.agency_id, conn->agency_id) != 0)
        return 0;
    *out_id = inv.id;
    return 0;
}

/* The authorization URL of the code flow with PKCE. */
static const char *authorization_url(struct arena *a, const struct app *app,
                                     const struct oidc_discovery *d,
                                     const struct store_oidc_connection *conn, const char *state,
                                     const char *nonce, const char *verifier)
{
    char challenge[OIDC_RANDOM_CHARS + 1];
    oidc_pkce_challenge(challenge, verifier);
    char *q = arena_strdup(a, "");
    q = app_oidc_query_add(a, q, "response_type", "code");
    q = app_oidc_query_add(a, q, "client_id", conn->client_id);
    q = app_oidc_query_add(a, q, "redirect_uri",
                           arena_printf(a, "%s/api/v1/oidc/callback", app->public_url));
    q = app_oidc_query_add(a, q, "scope", "openid email profile");
    q = app_oidc_query_add(a, q, "state", state);
    q = app_oidc_query_add(a, q, "nonce", nonce);
    q = app_oidc_query_add(a, q, "code_challenge", challenge);
    q = app_oidc_query_add(a, q, "code_challenge_method", "S256");
    return arena_printf(a, "%s%s%s", d->authorization_endpoint,
                        strchr(d->authorization_endpoint, '?') ? "&" : "?", q);
}

/* The account signed in at the start, in its own right: the account a link, or an invitation
 * to its address, may join the provider's identity to. Never a view-as session's. */
static const char *signed_in_self(const struct app_actor *actor)
{
    return actor->impersonator_id ? NULL : actor->user_id;
}

/* What a start asks, checked before anything is read. */
static int start_check(const struct app_call *call, const struct app_oidc_start_in *in,
                       const char *return_to)
{
    if (!in->connection_id || !*in->connection_id || strlen(in->connection_id) > 64)
        return usher_error_set(call->err, USHER_EINVAL, "connection_not_found", "connection_id",
                               "connection_id is required");
    if (!app_oidc_return_to_valid(return_to))
        return usher_error_set(call->err, USHER_EINVAL, "return_to_invalid", "return_to",
                               "return_to must be a path of this site, such as /agencies");
    if (in->link && !call->actor->user_id)
        return usher_error_set(call->err, USHER_EUNAUTH, NULL, NULL, "sign in first to link");
    if (in->link && call->actor->impersonator_id)
        return usher_error_set(call->err, USHER_EFORBIDDEN, NULL, NULL,
                               "a view-as session cannot link a sign-in");
    return 0;
}

int app_oidc_start(struct app_oidc_start_out *out, const struct app_call *call,
                   const struct app_oidc_start_in *in)
{
    memset(out, 0, sizeof(*out));
    struct store_conn *c = NULL;
    struct store_oidc_connection conn;
    struct oidc_provider *p = NULL;
    struct app_oidc_provider_ref *ref = NULL;
    const char *invitation_id = NULL;
    const char *return_to = in->return_to ? in->return_to : (in->link ? "/account" : "/");
    int rc = start_check(call, in, return_to);
    if (rc)
        goto done;
    rc = store_conn_get(call->app->store, &c, call->err);
    if (rc)
        goto done;
    rc = store_oidc_connection_get(&conn, c, call->arena, in->connection_id, call->err);
    if (rc == USHER_ENOTFOUND) {
        usher_error_clear(call->err);
        rc = usher_error_set(call->err, USHER_ENOTFOUND, "connection_not_found", "connection_id",
                             "no such sign-in connection");
    }
    if (rc)
        goto done;
    if (in->invitation_token) {
        rc = start_invitation(&invitation_id, c, call, &conn, in->invitation_token);
        if (rc)
            goto done;
        if (!invitation_id) {
            out->reason = "invitation_invalid";
            goto done;
        }
    }
    /* The provider is asked before anything is written: no connection is held meanwhile. */
    store_conn_put(c);
    c = NULL;
    struct oidc_discovery d;
    rc = app_oidc_provider_get(&p, &ref, call->app, &conn, call->err);
    if (rc)
        goto done;
    struct usher_error e2 = {0};
    if (oidc_provider_discovery(&d, call->arena, p, &e2) != 0) {
        log_msg(LOG_WARN, "oidc.start_failed", "{s:s, s:s, s:s}", "connection_id", conn.id,
                "reason", e2.problem, "message", e2.message);
        out->reason = "idp_unreachable";
        goto done;
    }
    char state[OIDC_RANDOM_CHARS + 1], nonce[OIDC_RANDOM_CHARS + 1],
        verifier[OIDC_RANDOM_CHARS + 1];
    oidc_random_new(state);
    oidc_random_new(nonce);
    oidc_random_new(verifier);
    oidc_random_new(out->browser);
    char state_hash[CRYPTO_HASH_HEX + 1], browser_hash[CRYPTO_HASH_HEX + 1];
    app_oidc_keyed_hash(state_hash, call->app, call->arena, "state", state);
    app_oidc_keyed_hash(browser_hash, call->app, call->arena, "browser", out->browser);
    int64_t now = clock_now_ms();
    struct store_oidc_state s = {
        .state_hash = state_hash,
        .browser_hash = browser_hash,
        .nonce = nonce,
        .code_verifier_sealed = app_oidc_seal(call->arena, call->app, state_hash, verifier),
        .connection_id = conn.id,
        .purpose = in->link        ? "link"
                   : invitation_id ? "invitation"
                                   : "sign_in",
        .invitation_id = invitation_id,
        .link_user_id = in->link || invitation_id ? signed_in_self(call->actor) : NULL,
        .return_to = return_to,
        .created_at = now,
        .expires_at = now + APP_OIDC_STATE_TTL_MS,
    };
    rc = app_call_begin(&c, call, true);
    if (rc)
        goto done;
    rc = store_oidc_state_insert(c, call->arena, &s, now, APP_OIDC_STATES_MAX, call->err);
    if (rc)
        goto done;
    rc = store_commit(c, call->err);
    if (rc)
        goto done;
    out->location = authorization_url(call->arena, call->app, &d, &conn, state, nonce, verifier);
done:
    store_conn_put(c);
    app_oidc_provider_release(call->app, ref);
    return rc;
}
