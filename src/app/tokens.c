/* API tokens: creation with a secret shown once, lists, revocation, and resolving a presented
 * token for the authenticator, through a short-lived cache of resolved rows. Only the keyed
 * hash of a secret ever reaches the store or the cache. */
#include "app/tokens.h"

#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/access.h"
#include "app/audit.h"
#include "authz/authz.h"
#include "app/check.h"
#include "base/clock.h"
#include "base/hmap.h"
#include "base/log.h"
#include "base/text.h"

/* --- the cache of resolved tokens --- */

struct token_entry {
    struct store_token token; /* strings owned by the entry */
    int64_t read_at;          /* when the row was read from the store */
};

#define CACHE_KEY_BYTES crypto_shorthash_siphashx24_BYTES
#define CACHE_KEY_HEX   (CACHE_KEY_BYTES * 2)

struct app_token_cache {
    pthread_rwlock_t lock;
    struct hmap entries; /* cache key (hex) -> struct token_entry */
    uint64_t generation; /* bumped by every revocation, under the lock */
    unsigned char key[crypto_shorthash_siphashx24_KEYBYTES];
};

static char *strdup_or_null(const char *s)
{
    return s ? xstrdup(s) : NULL;
}

static void entry_free(struct token_entry *e)
{
    if (!e)
        return;
    free((char *)e->token.id);
    free((char *)e->token.agency_id);
    free((char *)e->token.name);
    free((char *)e->token.token_hash);
    free((char *)e->token.created_by);
    free(e);
}

static void entries_clear(struct hmap *map)
{
    size_t pos = 0;
    const char *key;
    void *value;
    while (hmap_next(map, &pos, &key, &value))
        entry_free(value);
    hmap_dispose(map);
}

struct app_token_cache *app_token_cache_new(const unsigned char *secret, size_t secret_len)
{
    static const char purpose[] = "usher api token cache";
    struct app_token_cache *cache = xcalloc(1, sizeof(*cache));
    pthread_rwlock_init(&cache->lock, NULL);
    hmap_init(&cache->entries);
    crypto_generichash(cache->key, sizeof(cache->key), (const unsigned char *)purpose,
                       sizeof(purpose) - 1, secret, secret_len);
    return cache;
}

void app_token_cache_free(struct app_token_cache *cache)
{
    if (!cache)
        return;
    entries_clear(&cache->entries);
    pthread_rwlock_destroy(&cache->lock);
    sodium_memzero(cache->key, sizeof(cache->key));
    free(cache);
}

/* The entry key of a presented secret: a 128-bit keyed hash, so telling two secrets apart by
 * it is as sure as by the secrets themselves, at a fraction of the HMAC's cost. */
static void cache_key(char out[CACHE_KEY_HEX + 1], const struct app_token_cache *cache,
                      const char *presented, size_t len)
{
    unsigned char raw[CACHE_KEY_BYTES];
    crypto_shorthash_siphashx24(raw, (const unsigned char *)presented, len, cache->key);
    sodium_bin2hex(out, CACHE_KEY_HEX + 1, raw, sizeof(raw));
}

/* Copies a fresh entry for key into *out (strings in a); false when there is none. */
static bool cache_get(struct store_token *out, struct app_token_cache *cache, struct arena *a,
                      const char *key, int64_t now)
{
    if (!cache)
        return false;
    bool found = false;
    pthread_rwlock_rdlock(&cache->lock);
    const struct token_entry *e = hmap_get(&cache->entries, key);
    /* A clock that went back makes the entry stale rather than young. */
    if (e && now >= e->read_at && now - e->read_at < APP_TOKEN_CACHE_MS) {
        *out = e->token;
        out->id = arena_strdup(a, e->token.id);
        out->agency_id = arena_strdup(a, e->token.agency_id);
        out->name = arena_strdup(a, e->token.name);
        out->token_hash = arena_strdup(a, e->token.token_hash);
        out->created_by = arena_strdup(a, e->token.created_by);
        found = true;
    }
    pthread_rwlock_unlock(&cache->lock);
    return found;
}

/* The generation to hand to cache_put after reading the store. */
static uint64_t cache_generation(struct app_token_cache *cache)
{
    if (!cache)
        return 0;
    pthread_rwlock_rdlock(&cache->lock);
    uint64_t g = cache->generation;
    pthread_rwlock_unlock(&cache->lock);
    return g;
}

/* Remembers t under key as read from the store at read_at, unless a revocation happened since
 * generation was taken: the row may predate it. */
static void cache_put(struct app_token_cache *cache, const char *key, const struct store_token *t,
                      int64_t read_at, uint64_t generation)
{
    if (!cache)
        return;
    struct token_entry *e = xcalloc(1, sizeof(*e));
    e->token = *t;
    e->token.id = xstrdup(t->id);
    e->token.agency_id = strdup_or_null(t->agency_id);
    e->token.name = strdup_or_null(t->name);
    e->token.token_hash = xstrdup(t->token_hash);
    e->token.created_by = strdup_or_null(t->created_by);
    e->read_at = read_at;
    pthread_rwlock_wrlock(&cache->lock);
    if (cache->generation != generation) {
        pthread_rwlock_unlock(&cache->lock);
        entry_free(e);
        return;
    }
    /* Tokens are few; a cache this full is being fed made-up tokens, so start over. */
    if (cache->entries.count >= APP_TOKEN_CACHE_MAX)
        entries_clear(&cache->entries);
    entry_free(hmap_put(&cache->entries, key, e));
    pthread_rwlock_unlock(&cache->lock);
}

void app_token_cache_clear(struct app_token_cache *cache)
{
    if (!cache)
        return;
    pthread_rwlock_wrlock(&cache->lock);
    cache->generation++;
    entries_clear(&cache->entries);
    pthread_rwlock_unlock(&cache->lock);
}

/* --- tokens --- */

bool app_token_is_api_token(const char *presented)
{
    return presented && strncmp(presented, APP_TOKEN_PREFIX, APP_TOKEN_PREFIX_LEN) == 0;
}

/* The actor may manage the tokens of agency_id (NULL: the platform's). */
static int manage_check(struct store_conn *c, struct arena *a, const struct app_actor *actor,
                        const char *agency_id, struct usher_error *err)
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
    return app_access_demand(c, a, actor, agency_id, POLICY_SCOPE_AGENCY, agency_id,
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

int app_token_create(struct app_token_new *out, const struct app_call *call, const char *agency_id,
                     const char *name)
{
    memset(out, 0, sizeof(*out));
    const char *clean = NULL;
    struct store_conn *c = NULL;
    int rc = name
                 ? text_name_check(&clean, call->arena, name, "name", APP_TOKEN_NAME_MAX, call->err)
                 : usher_error_set(call->err, USHER_EINVAL, NULL, "name", "name is required");
    if (rc)
        goto done;
    char raw[CRYPTO_TOKEN_CHARS + 1];
    char hash[CRYPTO_HASH_HEX + 1];
    crypto_token_new(raw);
    snprintf(out->secret, sizeof(out->secret), "%s%s", APP_TOKEN_PREFIX, raw);
    sodium_memzero(raw, sizeof(raw));
    crypto_hmac_hex(hash, call->app->secret, sizeof(call->app->secret), out->secret,
                    strlen(out->secret));
    struct store_token t = {
        .id = crypto_id_new(call->arena, "tok"),
        .agency_id = agency_id ? arena_strdup(call->arena, agency_id) : NULL,
        .name = clean,
        .token_hash = arena_strdup(call->arena, hash),
        .created_by = call->actor->user_id ? arena_strdup(call->arena, call->actor->user_id) : NULL,
        .created_at = clock_now_ms(),
    };
    rc = app_call_begin(&c, call, true);
    if (rc)
        goto done;
    rc = manage_check(c, call->arena, call->actor, agency_id, call->err);
    if (rc)
        goto done;
    rc = store_token_insert(c, call->arena, &t, call->err);
    if (rc)
        goto done;
    struct app_audit_event ev = token_event(&t, "token.created");
    rc = app_audit_record(c, call->arena, call->actor, &ev, call->err);
    if (rc)
        goto done;
    rc = store_commit(c, call->err);
    if (rc)
        goto done;
    out->token = t;
done:
    store_conn_put(c);
    if (rc)
        sodium_memzero(out->secret, sizeof(out->secret));
    return rc;
}

int app_token_list(struct app_token_page *out, const struct app_call *call, const char *agency_id,
                   const struct app_page *page)
{
    memset(out, 0, sizeof(*out));
    struct store_conn *c = NULL;
    bool has_more = false;
    int rc = store_conn_get(call->app->store, &c, call->err);
    if (rc)
        goto done;
    rc = manage_check(c, call->arena, call->actor, agency_id, call->err);
    if (rc)
        goto done;
    rc = store_token_list(&out->items, &out->count, &has_more, c, call->arena, agency_id,
                          &page->after, page->limit, call->err);
    if (rc)
        goto done;
    if (has_more && out->count > 0) {
        const struct store_token *last = &out->items[out->count - 1];
        out->next_cursor = store_cursor_encode(call->arena, last->created_at, last->id);
    }
done:
    store_conn_put(c);
    return rc;
}

/* Whether token t belongs where the request says: agency_id, or the platform for NULL. */
static bool token_in(const struct store_token *t, const char *agency_id)
{
    if (!agency_id || !t->agency_id)
        return !agency_id && !t->agency_id;
    return strcmp(agency_id, t->agency_id) == 0;
}

int app_token_revoke(const struct app_call *call, const char *agency_id, const char *token_id)
{
    struct store_conn *c = NULL;
    struct store_token t;
    bool revoked = false;
    int rc = app_call_begin(&c, call, true);
    if (rc)
        goto done;
    rc = manage_check(c, call->arena, call->actor, agency_id, call->err);
    if (rc)
        goto done;
    rc = store_token_get(&t, c, call->arena, token_id, call->err);
    if (rc)
        goto done;
    if (!token_in(&t, agency_id)) {
        rc = usher_error_set(call->err, USHER_ENOTFOUND, NULL, NULL, "token not found");
        goto done;
    }
    rc = store_token_revoke(&revoked, c, call->arena, t.id, clock_now_ms(), call->err);
    if (rc)
        goto done;
    if (revoked) {
        struct app_audit_event ev = token_event(&t, "token.revoked");
        rc = app_audit_record(c, call->arena, call->actor, &ev, call->err);
        if (rc)
            goto done;
    }
    rc = store_commit(c, call->err);
    if (rc)
        goto done;
    store_conn_put(c);
    c = NULL;
    /* The very next request with this token is refused, here at least. */
    if (revoked)
        app_token_cache_clear(call->app->token_cache);
done:
    store_conn_put(c);
    return rc;
}

/* What a presented token is looked up by. */
struct token_lookup {
    char cache_key[CACHE_KEY_HEX + 1]; /* in app->token_cache ("" without a cache) */
    char hash[CRYPTO_HASH_HEX + 1];    /* the keyed hash the store is searched by */
    int64_t now;
    uint64_t generation; /* of the cache before the store is read: see cache_put */
};

/* Records the use of token t at now, in a transaction of its own. A failed touch only leaves
 * last_used_at older: it is logged and the request goes on. */
static void token_touch(struct store_token *t, struct store_conn *c, struct arena *a, int64_t now)
{
    struct usher_error touch = {0};
    int rc = store_begin(c, true, &touch);
    if (rc)
        goto done;
    rc = store_token_touch(c, a, t->id, now, &touch);
    if (rc)
        goto done;
    rc = store_commit(c, &touch);
done:
    if (rc) {
        store_rollback(c);
        log_msg(LOG_WARN, "token.touch_failed", "{s:s, s:s}", "token_id", t->id, "message",
                touch.message);
    } else {
        t->last_used_at = now;
    }
}

/* Reads the token q names from the store, records its use when due and remembers the row in
 * the cache (a revoked one too, so that it is refused without the store for a while). */
static int token_read(struct store_token *out, struct app *app, struct arena *a,
                      const struct token_lookup *q, struct usher_error *err)
{
    struct store_conn *c = NULL;
    struct usher_error inner = {0};
    int rc = store_conn_get(app->store, &c, err);
    if (rc)
        goto done;
    rc = store_token_by_hash(out, c, a, q->hash, &inner);
    if (rc == USHER_ENOTFOUND) {
        rc = usher_error_set(err, USHER_EUNAUTH, NULL, NULL, "unknown or revoked token");
        goto done;
    }
    if (rc) {
        rc = usher_error_set(err, rc, NULL, NULL, "%s", inner.message);
        goto done;
    }
    if (out->revoked_at != 0) {
        cache_put(app->token_cache, q->cache_key, out, q->now, q->generation);
        rc = usher_error_set(err, USHER_EUNAUTH, NULL, NULL, "unknown or revoked token");
        goto done;
    }
    if (q->now - out->last_used_at >= APP_TOKEN_TOUCH_MS)
        token_touch(out, c, a, q->now);
    cache_put(app->token_cache, q->cache_key, out, q->now, q->generation);
done:
    store_conn_put(c);
    return rc;
}

/* The token's row, from the cache or the store, as app_token_resolve without the agency's
 * state. */
static int token_find(struct store_token *out, struct app *app, struct arena *a,
                      const char *presented, struct usher_error *err)
{
    size_t len = presented ? strlen(presented) : 0;
    if (!app_token_is_api_token(presented) || len != APP_TOKEN_CHARS)
        return usher_error_set(err, USHER_EUNAUTH, NULL, NULL, "unknown token");
    struct token_lookup q;
    q.cache_key[0] = '\0';
    if (app->token_cache)
        cache_key(q.cache_key, app->token_cache, presented, len);
    q.now = clock_now_ms();
    if (cache_get(out, app->token_cache, a, q.cache_key, q.now)) {
        if (out->revoked_at != 0)
            return usher_error_set(err, USHER_EUNAUTH, NULL, NULL, "unknown or revoked token");
        if (q.now - out->last_used_at < APP_TOKEN_TOUCH_MS)
            return 0;
        /* Time to record the use: read the row again and write it. */
    }
    q.generation = cache_generation(app->token_cache);
    crypto_hmac_hex(q.hash, app->secret, sizeof(app->secret), presented, len);
    return token_read(out, app, a, &q, err);
}

int app_token_resolve(struct store_token *out, struct app *app, struct arena *a,
                      const char *presented, struct usher_error *err)
{
    int rc = token_find(out, app, a, presented, err);
    if (rc)
        return rc;
    /* A suspended (or deleted) agency's tokens are refused as a revoked one is, from the
     * decision index: a suspension reaches cached tokens at once, without SQL. */
    if (out->agency_id && app->authz &&
        authz_agency_state(app->authz, out->agency_id) != AUTHZ_AGENCY_ACTIVE)
        return usher_error_set(err, USHER_EUNAUTH, "agency_suspended", NULL,
                               "the token's agency is suspended");
    return 0;
}
