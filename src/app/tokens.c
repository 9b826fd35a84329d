/* API tokens: creation with a secret shown once, lists, revocation, and resolving a presented
 * token for the authenticator. Only the keyed hash of a secret ever reaches the store. */
#include "app/tokens.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "app/audit.h"
#include "app/check.h"
#include "base/clock.h"
#include "base/log.h"
#include "base/text.h"

bool app_token_is_api_token(const char *presented)
{
    return presented && strncmp(presented, APP_TOKEN_PREFIX, APP_TOKEN_PREFIX_LEN) == 0;
}

/* The actor may manage the tokens of agency_id (NULL: the platform's). */
static int manage_check(struct app *app, struct store_conn *c, struct arena *a,
                        const struct app_actor *actor, const char *agency_id,
                        struct usher_error *err)
{
    if (!agency_id) {
        if (!actor->is_platform_admin)
            return usher_error_set(err, USHER_EFORBIDDEN, NULL, NULL,
                                   "only platform admins manage platform tokens");
        return 0;
    }
    struct store_agency agency;
    int rc = store_agency_get(&agency, c, a, agency_id, err);
    if (rc)
        return rc;
    return app_check_require(app, c, a, actor, agency_id, APP_SCOPE_AGENCY, agency_id,
                             "agency.manage", "agency", err);
}

/* The audit event of a token change; details never hold the secret or its hash. */
static struct app_audit_event token_event(const struct store_token *t, const char *action)
{
    struct app_audit_event ev = {
        .agency_id = t->agency_id,
        .action = action,
        .scope_type = t->agency_id ? "agency" : NULL,
        .scope_id = t->agency_id,
        .details = json_pack("{s:s, s:s}", "token_id", t->id, "name", t->name),
    };
    return ev;
}

int app_token_create(struct app_token_new *out, struct app *app, struct arena *a,
                     const struct app_actor *actor, const char *agency_id, const char *name,
                     struct usher_error *err)
{
    memset(out, 0, sizeof(*out));
    const char *clean = NULL;
    int rc = name ? text_name_check(&clean, a, name, "name", APP_TOKEN_NAME_MAX, err)
                  : usher_error_set(err, USHER_EINVAL, NULL, "name", "name is required");
    if (rc)
        return rc;
    char raw[CRYPTO_TOKEN_CHARS + 1];
    char hash[CRYPTO_HASH_HEX + 1];
    crypto_token_new(raw);
    snprintf(out->secret, sizeof(out->secret), "%s%s", APP_TOKEN_PREFIX, raw);
    sodium_memzero(raw, sizeof(raw));
    crypto_hmac_hex(hash, app->secret, sizeof(app->secret), out->secret, strlen(out->secret));
    struct store_token t = {
        .id = crypto_id_new(a, "tok"),
        .agency_id = agency_id ? arena_strdup(a, agency_id) : NULL,
        .name = clean,
        .token_hash = arena_strdup(a, hash),
        .created_by = actor->user_id ? arena_strdup(a, actor->user_id) : NULL,
        .created_at = clock_now_ms(),
    };
    struct store_conn *c = NULL;
    rc = store_conn_get(app->store, &c, err);
    if (rc == 0)
        rc = store_begin(c, true, err);
    if (rc == 0)
        rc = manage_check(app, c, a, actor, agency_id, err);
    if (rc == 0)
        rc = store_token_insert(c, a, &t, err);
    if (rc == 0) {
        struct app_audit_event ev = token_event(&t, "token.created");
        rc = app_audit_record(c, a, actor, &ev, err);
    }
    if (rc == 0)
        rc = store_commit(c, err);
    store_conn_put(c);
    if (rc) {
        sodium_memzero(out->secret, sizeof(out->secret));
        return rc;
    }
    out->token = t;
    return 0;
}

int app_token_list(struct app_token_page *out, struct app *app, struct arena *a,
                   const struct app_actor *actor, const char *agency_id,
                   const struct app_page *page, struct usher_error *err)
{
    memset(out, 0, sizeof(*out));
    struct store_conn *c = NULL;
    bool has_more = false;
    int rc = store_conn_get(app->store, &c, err);
    if (rc == 0)
        rc = manage_check(app, c, a, actor, agency_id, err);
    if (rc == 0)
        rc = store_token_list(&out->items, &out->count, &has_more, c, a, agency_id, &page->after,
                              page->limit, err);
    store_conn_put(c);
    if (rc)
        return rc;
    if (has_more && out->count > 0) {
        const struct store_token *last = &out->items[out->count - 1];
        out->next_cursor = store_cursor_encode(a, last->created_at, last->id);
    }
    return 0;
}

/* Whether token t belongs where the request says: agency_id, or the platform for NULL. */
static bool token_in(const struct store_token *t, const char *agency_id)
{
    if (!agency_id || !t->agency_id)
        return !agency_id && !t->agency_id;
    return strcmp(agency_id, t->agency_id) == 0;
}

int app_token_revoke(struct app *app, struct arena *a, const struct app_actor *actor,
                     const char *agency_id, const char *token_id, struct usher_error *err)
{
    struct store_conn *c = NULL;
    struct store_token t;
    bool revoked = false;
    int rc = store_conn_get(app->store, &c, err);
    if (rc == 0)
        rc = store_begin(c, true, err);
    if (rc == 0)
        rc = manage_check(app, c, a, actor, agency_id, err);
    if (rc == 0)
        rc = store_token_get(&t, c, a, token_id, err);
    if (rc == 0 && !token_in(&t, agency_id))
        rc = usher_error_set(err, USHER_ENOTFOUND, NULL, NULL, "token not found");
    if (rc == 0)
        rc = store_token_revoke(&revoked, c, a, t.id, clock_now_ms(), err);
    if (rc == 0 && revoked) {
        struct app_audit_event ev = token_event(&t, "token.revoked");
        rc = app_audit_record(c, a, actor, &ev, err);
    }
    if (rc == 0)
        rc = store_commit(c, err);
    store_conn_put(c);
    return rc;
}

int app_token_resolve(struct store_token *out, struct app *app, struct arena *a,
                      const char *presented, struct usher_error *err)
{
    size_t len = presented ? strlen(presented) : 0;
    if (!app_token_is_api_token(presented) || len != APP_TOKEN_CHARS)
        return usher_error_set(err, USHER_EUNAUTH, NULL, NULL, "unknown token");
    char hash[CRYPTO_HASH_HEX + 1];
    crypto_hmac_hex(hash, app->secret, sizeof(app->secret), presented, len);
    struct store_conn *c = NULL;
    struct usher_error inner = {0};
    int rc = store_conn_get(app->store, &c, err);
    if (rc)
        return rc;
    rc = store_token_by_hash(out, c, a, hash, &inner);
    if (rc == USHER_ENOTFOUND || (rc == 0 && out->revoked_at != 0)) {
        rc = usher_error_set(err, USHER_EUNAUTH, NULL, NULL, "unknown or revoked token");
        goto done;
    }
    if (rc) {
        rc = usher_error_set(err, rc, NULL, NULL, "%s", inner.message);
        goto done;
    }
    int64_t now = clock_now_ms();
    if (now - out->last_used_at >= APP_TOKEN_TOUCH_MS) {
        /* A failed touch only leaves last_used_at older; the request goes on. */
        struct usher_error touch = {0};
        int trc = store_begin(c, true, &touch);
        if (trc == 0)
            trc = store_token_touch(c, a, out->id, now, &touch);
        if (trc == 0)
            trc = store_commit(c, &touch);
        if (trc) {
            store_rollback(c);
            log_msg(LOG_WARN, "token.touch_failed", "{s:s, s:s}", "token_id", out->id, "message",
                    touch.message);
        } else {
            out->last_used_at = now;
        }
    }
done:
    store_conn_put(c);
    return rc;
}
