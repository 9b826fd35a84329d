/* What OpenID Connect changes for an account: its identities (listed, unlinked with the
 * last-method rule), the provider's sign-out URL for a session made through it, the "SSO
 * required" policy, and how a person can sign in. */
#include "app/oidc_int.h"

#include <string.h>

#include "app/audit.h"
#include "base/clock.h"
#include "store/store_session.h"
#include "store/store_user.h"

int app_oidc_identities(struct store_identity **out, size_t *out_count, const struct app_call *call,
                        const char *user_id)
{
    struct store_conn *c = NULL;
    int rc = store_conn_get(call->app->store, &c, call->err);
    if (rc)
        goto done;
    rc = store_identity_list_user(out, out_count, c, call->arena, user_id, call->err);
done:
    store_conn_put(c);
    return rc;
}

int app_oidc_identity_unlink(const struct app_call *call, const char *id)
{
    struct store_conn *c = NULL;
    struct store_identity *items = NULL;
    size_t n = 0;
    const struct store_identity *found = NULL;
    struct store_user me;
    int rc = 0;
    if (!call->actor->user_id || call->actor->impersonator_id) {
        rc = usher_error_set(call->err, USHER_EFORBIDDEN, NULL, NULL,
                             "only the person themselves unlinks a sign-in");
        goto done;
    }
    rc = app_call_begin(&c, call, true);
    if (rc)
        goto done;
    rc = store_user_get(&me, c, call->arena, call->actor->user_id, call->err);
    if (rc)
        goto done;
    rc = store_identity_list_user(&items, &n, c, call->arena, me.id, call->err);
    if (rc)
        goto done;
    for (size_t i = 0; i < n; i++)
        if (strcmp(items[i].id, id) == 0)
            found = &items[i];
    if (!found) {
        rc = usher_error_set(call->err, USHER_ENOTFOUND, NULL, NULL, "identity not found");
        goto done;
    }
    /* An identity whose connection is gone, or whose connection now names another issuer,
     * signs nobody in: removing it never takes a way in away. */
    size_t usable_others = 0;
    for (size_t i = 0; i < n; i++)
        if (items[i].usable && &items[i] != found)
            usable_others++;
    if (found->usable && !me.password_hash && usable_others == 0) {
        rc = usher_error_set(call->err, USHER_ECONFLICT, "last_sign_in_method", NULL,
                             "this is your only way to sign in: set a password or link another "
                             "sign-in first");
        goto done;
    }
    rc = store_identity_delete(c, call->arena, me.id, id, call->err);
    if (rc)
        goto done;
    struct app_audit_event ev = {
        .action = "identity.unlinked",
        .subject_user_id = me.id,
        .details = json_pack("{s:s, s:s?, s:s}", "identity_id", id, "connection_id",
                             found->connection_id, "issuer", found->issuer),
    };
    rc = app_audit_record(c, call->arena, call->actor, &ev, call->err);
    if (rc)
        goto done;
    rc = store_commit(c, call->err);
done:
    store_conn_put(c);
    return rc;
}

int app_oidc_end_session_url(const char **out, const struct app_call *call,
                             const char *session_hash)
{
    *out = NULL;
    struct store_conn *c = NULL;
    struct store_session s;
    struct store_oidc_connection conn;
    struct oidc_provider *p = NULL;
    struct app_oidc_provider_ref *ref = NULL;
    struct usher_error e2 = {0};
    int rc = store_conn_get(call->app->store, &c, call->err);
    if (rc)
        goto done;
    if (store_session_get(&s, c, call->arena, session_hash, &e2) != 0 || !s.method ||
        strcmp(s.method, "oidc") != 0 || !s.connection_id ||
        store_oidc_connection_get(&conn, c, call->arena, s.connection_id, &e2) != 0)
        goto done;
    store_conn_put(c);
    c = NULL;
    struct oidc_discovery d;
    if (app_oidc_provider_get(&p, &ref, call->app, &conn, &e2) != 0 ||
        oidc_provider_discovery(&d, call->arena, p, &e2) != 0 || !d.end_session_endpoint)
        goto done;
    char state[OIDC_RANDOM_CHARS + 1];
    oidc_random_new(state);
    char *q = arena_strdup(call->arena, "");
    const char *hint =
        app_oidc_open(call->arena, call->app, arena_printf(call->arena, "id_token:%s", conn.id),
                      s.id_token_sealed);
    if (hint)
        q = app_oidc_query_add(call->arena, q, "id_token_hint", hint);
    q = app_oidc_query_add(call->arena, q, "client_id", conn.client_id);
    q = app_oidc_query_add(call->arena, q, "post_logout_redirect_uri",
                           arena_printf(call->arena, "%s/signed-out", call->app->public_url));
    q = app_oidc_query_add(call->arena, q, "state", state);
    *out = arena_printf(call->arena, "%s%s%s", d.end_session_endpoint,
                        strchr(d.end_session_endpoint, '?') ? "&" : "?", q);
done:
    store_conn_put(c);
    app_oidc_provider_release(call->app, ref);
    return rc;
}

int app_oidc_sso_check(struct store_conn *c, struct arena *a, const struct app_actor *actor,
                       const char *agency_id, struct usher_error *err)
{
    if (actor->is_platform_admin || !actor->user_id || !actor->session_method)
        return 0;
    const char *through =
        strcmp(actor->session_method, "oidc") == 0 ? actor->session_connection_id : NULL;
    const char *required = NULL;
    int rc = store_oidc_connection_required_other(&required, c, a, agency_id, through, err);
    if (rc || !required)
        return rc;
    return usher_error_set(err, USHER_EFORBIDDEN, "sso_required", NULL,
                           "this agency requires signing in with its organisation's account");
}

int app_oidc_sso_flags(bool *out, const struct app_call *call, const char *const *agency_ids,
                       size_t count)
{
    struct store_conn *c = NULL;
    int rc = store_conn_get(call->app->store, &c, call->err);
    for (size_t i = 0; rc == 0 && i < count; i++) {
        struct usher_error e2 = {0};
        int one = app_oidc_sso_check(c, call->arena, call->actor, agency_ids[i], &e2);
        out[i] = one == USHER_EFORBIDDEN;
        if (one && one != USHER_EFORBIDDEN)
            rc = usher_error_set(call->err, one, NULL, NULL, "%s", e2.message);
    }
    store_conn_put(c);
    return rc;
}

int app_oidc_sign_in_methods(bool *out_password, bool *out_oidc, struct store_conn *c,
                             struct arena *a, const char *user_id, struct usher_error *err)
{
    return store_identity_sign_in_methods(out_password, out_oidc, c, a, user_id, err);
}
