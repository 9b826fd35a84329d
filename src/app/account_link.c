/* Single-use emailed links (email change, password reset): the token made from the row's id and
 * nonce, stored only as a keyed hash, and the reading and single use of a followed link, each
 * feature keeping its own answer for an unusable one. */
#include "app/account_link.h"

#include <sodium.h>
#include <string.h>

#include "app/app.h"
#include "base/clock.h"
#include "base/error.h"
#include "store/store_user.h"

static void link_token(char out[CRYPTO_TOKEN_CHARS + 1], const struct app *app,
                       const struct app_account_link_kind *k, const struct store_link *l)
{
    crypto_link_token(out, app->secret, sizeof(app->secret), k->label, l->id, l->token_nonce);
}

static void link_hash(char out[CRYPTO_HASH_HEX + 1], const struct app *app, const char *token)
{
    crypto_hmac_hex(out, app->secret, sizeof(app->secret), token, strlen(token));
}

/* Whether l may still be followed at now. */
static bool link_live(const struct store_link *l, int64_t now)
{
    return strcmp(l->status, "pending") == 0 && l->user_id && l->expires_at > now;
}

void app_account_link_seal(struct store_link *l, char hash[CRYPTO_HASH_HEX + 1],
                           const struct app *app, struct arena *a,
                           const struct app_account_link_kind *k)
{
    char token[CRYPTO_TOKEN_CHARS + 1];
    l->token_nonce = crypto_id_new(a, "n");
    link_token(token, app, k, l);
    link_hash(hash, app, token);
    sodium_memzero(token, sizeof(token));
    l->token_hash = hash;
}

int app_account_link_url(const char **out_url, struct app *app, struct arena *a,
                         const struct app_account_link_kind *k, const char *id,
                         struct usher_error *err)
{
    struct store_conn *c = NULL;
    struct store_link l;
    int rc = store_conn_get(app->store, &c, err);
    if (rc)
        goto done;
    rc = store_link_get(&l, c, a, k->table, id, err);
    if (rc)
        goto done;
    if (!link_live(&l, clock_now_ms())) {
        rc = USHER_ENOTFOUND;
        goto done;
    }
    char token[CRYPTO_TOKEN_CHARS + 1];
    link_token(token, app, k, &l);
    *out_url = arena_printf(a, "%s%s#token=%s", app->public_url, k->path, token);
    sodium_memzero(token, sizeof(token));
done:
    store_conn_put(c);
    return rc;
}

/* The link and its account: USHER_ENOTFOUND when either is unusable; store codes otherwise
 * (detail in lookup). */
static int link_read(struct store_link *out, struct store_user *out_user, struct store_conn *c,
                     struct arena *a, const struct store_link_table *t, const char *token_hash,
                     int64_t now, struct usher_error *lookup)
{
    int rc = store_link_by_token_hash(out, c, a, t, token_hash, lookup);
    if (rc)
        return rc;
    if (!link_live(out, now))
        return USHER_ENOTFOUND;
    rc = store_user_get(out_user, c, a, out->user_id, lookup);
    if (rc)
        return rc;
    return strcmp(out_user->status, STORE_USER_ACTIVE) != 0 ? USHER_ENOTFOUND : 0;
}

int app_account_link_open(struct store_link *out, struct store_user *out_user, struct store_conn *c,
                          const struct app_call *call, const struct app_account_link_kind *k,
                          const char *token, int64_t now)
{
    char token_hash[CRYPTO_HASH_HEX + 1];
    struct usher_error lookup = {0};
    link_hash(token_hash, call->app, token ? token : "");
    int rc = link_read(out, out_user, c, call->arena, k->table, token_hash, now, &lookup);
    sodium_memzero(token_hash, sizeof(token_hash));
    if (rc == USHER_ENOTFOUND)
        return usher_error_set(call->err, k->code, k->error, "token", "%s", k->message);
    if (rc)
        return usher_error_set(call->err, rc, NULL, NULL, "%s", lookup.message);
    return 0;
}

int app_account_link_take(struct store_conn *c, const struct app_call *call,
                          const struct app_account_link_kind *k, const struct store_link *l,
                          int64_t now)
{
    int64_t used = 0;
    int rc = store_link_use(&used, c, call->arena, k->table, l->id, now, call->err);
    if (rc)
        return rc;
    if (used != 1)
        return usher_error_set(call->err, k->code, k->error, "token", "%s", k->message);
    return 0;
}
