/* The provider cache (one oidc_provider per connection, made again when the connection
 * changes), the sealing of values kept between requests, and small helpers of the oidc files. */
#include "app/oidc_int.h"

#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "base/crypto.h"
#include "base/log.h"
#include "config/config.h"

#define CACHE_SLOTS 64 /* connections kept at once; the least used is dropped beyond */
#define SEAL_MAX    (64 * 1024)

/* A provider shared by the requests using it: freed when replaced and no longer used. */
struct app_oidc_provider_ref {
    struct oidc_provider *provider;
    unsigned users;
    bool detached; /* no longer in the table: freed by the last release */
};

struct slot {
    char id[64];
    int64_t updated_at;
    uint64_t last_used;
    struct app_oidc_provider_ref *ref;
};

struct app_oidc_cache {
    pthread_mutex_t mu;
    struct slot slots[CACHE_SLOTS];
    uint64_t tick;
};

struct app_oidc_cache *app_oidc_cache_new(void)
{
    struct app_oidc_cache *cache = calloc(1, sizeof(*cache));
    if (!cache)
        abort();
    pthread_mutex_init(&cache->mu, NULL);
    return cache;
}

static void ref_free(struct app_oidc_provider_ref *ref)
{
    if (!ref)
        return;
    oidc_provider_free(ref->provider);
    free(ref);
}

void app_oidc_cache_free(struct app_oidc_cache *cache)
{
    if (!cache)
        return;
    for (size_t i = 0; i < CACHE_SLOTS; i++)
        ref_free(cache->slots[i].ref);
    pthread_mutex_destroy(&cache->mu);
    free(cache);
}

struct oidc_http_options app_oidc_http_options(const struct app *app)
{
    return (struct oidc_http_options){
        .allow_insecure_loopback = app->cfg->oidc_allow_insecure_loopback,
    };
}

unsigned app_oidc_algs(const struct store_oidc_connection *conn)
{
    unsigned algs = 0;
    struct usher_error ignored = {0};
    if (!conn->algorithms || oidc_algs_parse(&algs, conn->algorithms, &ignored) != 0 || !algs)
        return OIDC_ALGS_DEFAULT;
    return algs;
}

/* Drops slot s from the table; its provider lives on until its last user releases it. */
static void slot_clear(struct slot *s)
{
    if (s->ref) {
        if (s->ref->users == 0)
            ref_free(s->ref);
        else
            s->ref->detached = true;
    }
    memset(s, 0, sizeof(*s));
}

int app_oidc_provider_get(struct oidc_provider **out, struct app_oidc_provider_ref **ref,
                          struct app *app, const struct store_oidc_connection *conn,
                          struct usher_error *err)
{
    *out = NULL;
    *ref = NULL;
    struct app_oidc_cache *cache = app->oidc;
    if (strlen(conn->id) >= sizeof(cache->slots[0].id))
        return usher_error_set(err, USHER_EINTERNAL, NULL, NULL, "connection id too long");
    int rc = 0;
    pthread_mutex_lock(&cache->mu);
    struct slot *found = NULL, *victim = &cache->slots[0];
    for (size_t i = 0; i < CACHE_SLOTS; i++) {
        struct slot *s = &cache->slots[i];
        if (s->ref && strcmp(s->id, conn->id) == 0) {
            found = s;
            break;
        }
        if (!s->ref)
            victim = s;
        else if (victim->ref && s->last_used < victim->last_used)
            victim = s;
    }
    /* A connection changed since its provider was made: its issuer, keys or algorithms may
     * differ, so the old cache is not used again. */
    if (found && found->updated_at != conn->updated_at) {
        slot_clear(found);
        victim = found;
        found = NULL;
    }
    if (!found) {
        slot_clear(victim);
        struct oidc_provider_options opt = {
            .issuer = conn->issuer,
            .algs = app_oidc_algs(conn),
            .http = app_oidc_http_options(app),
        };
        struct oidc_provider *p = NULL;
        rc = oidc_provider_new(&p, &opt, err);
        if (rc)
            goto done;
        victim->ref = calloc(1, sizeof(*victim->ref));
        if (!victim->ref)
            abort();
        victim->ref->provider = p;
        snprintf(victim->id, sizeof(victim->id), "%s", conn->id);
        victim->updated_at = conn->updated_at;
        found = victim;
    }
    found->last_used = ++cache->tick;
    found->ref->users++;
    *out = found->ref->provider;
    *ref = found->ref;
done:
    pthread_mutex_unlock(&cache->mu);
    return rc;
}

void app_oidc_provider_release(struct app *app, struct app_oidc_provider_ref *ref)
{
    if (!ref)
        return;
    struct app_oidc_cache *cache = app->oidc;
    pthread_mutex_lock(&cache->mu);
    ref->users--;
    bool gone = ref->detached && ref->users == 0;
    pthread_mutex_unlock(&cache->mu);
    if (gone)
        ref_free(ref);
}

/* The sealing key: its own KDF context, so it is no other key usher derives. */
static void seal_key(unsigned char key[crypto_aead_xchacha20poly1305_ietf_KEYBYTES],
                     const struct app *app)
{
    crypto_subkey_derive(key, crypto_aead_xchacha20poly1305_ietf_KEYBYTES, app->secret,
                         sizeof(app->secret), "oidcseal", 1);
}

char *app_oidc_seal(struct arena *a, const struct app *app, const char *ad, const char *plain)
{
    size_t len = strlen(plain);
    if (len > SEAL_MAX)
        return NULL;
    unsigned char key[crypto_aead_xchacha20poly1305_ietf_KEYBYTES];
    seal_key(key, app);
    size_t nonce_len = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
    size_t box_len = nonce_len + len + crypto_aead_xchacha20poly1305_ietf_ABYTES;
    unsigned char *box = arena_alloc(a, box_len);
    randombytes_buf(box, nonce_len);
    unsigned long long clen = 0;
    crypto_aead_xchacha20poly1305_ietf_encrypt(box + nonce_len, &clen, (const unsigned char *)plain,
                                               len, (const unsigned char *)ad, strlen(ad), NULL,
                                               box, key);
    sodium_memzero(key, sizeof(key));
    size_t b64_len =
        sodium_base64_encoded_len(nonce_len + clen, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    char *out = arena_alloc(a, 3 + b64_len);
    memcpy(out, "v1.", 3);
    sodium_bin2base64(out + 3, b64_len, box, nonce_len + clen,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    return out;
}

char *app_oidc_open(struct arena *a, const struct app *app, const char *ad, const char *sealed)
{
    if (!sealed || strncmp(sealed, "v1.", 3) != 0)
        return NULL;
    const char *b64 = sealed + 3;
    size_t b64_len = strlen(b64);
    if (b64_len > SEAL_MAX * 2)
        return NULL;
    unsigned char *box = arena_alloc(a, b64_len + 1);
    size_t box_len = 0;
    if (sodium_base642bin(box, b64_len + 1, b64, b64_len, NULL, &box_len, NULL,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0)
        return NULL;
    size_t nonce_len = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
    if (box_len < nonce_len + crypto_aead_xchacha20poly1305_ietf_ABYTES)
        return NULL;
    unsigned char key[crypto_aead_xchacha20poly1305_ietf_KEYBYTES];
    seal_key(key, app);
    char *out = arena_alloc(a, box_len + 1);
    unsigned long long mlen = 0;
    int rc = crypto_aead_xchacha20poly1305_ietf_decrypt(
        (unsigned char *)out, &mlen, NULL, box + nonce_len, box_len - nonce_len,
        (const unsigned char *)ad, strlen(ad), box, key);
    sodium_memzero(key, sizeof(key));
    if (rc != 0)
        return NULL;
    out[mlen] = '\0';
    return out;
}

int app_oidc_connection_load(struct store_oidc_connection *out, struct store_conn *c,
                             struct arena *a, const char *agency_id, const char *id,
                             struct usher_error *err)
{
    int rc = store_oidc_connection_get(out, c, a, id, err);
    if (rc == 0 && strcmp(out->agency_id, agency_id) != 0) {
        usher_error_clear(err);
        rc = usher_error_set(err, USHER_ENOTFOUND, "connection_not_found", NULL,
                             "connection not found");
    }
    return rc;
}

void app_oidc_keyed_hash(char out[CRYPTO_HASH_HEX + 1], const struct app *app, struct arena *a,
                         const char *what, const char *value)
{
    const char *text = arena_printf(a, "oidc_%s:%s", what, value);
    crypto_hmac_hex(out, app->secret, sizeof(app->secret), text, strlen(text));
}

char *app_oidc_query_add(struct arena *a, const char *query, const char *name, const char *value)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t len = strlen(value);
    char *enc = arena_alloc(a, len * 3 + 1);
    size_t j = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)value[i];
        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
            ch == '-' || ch == '.' || ch == '_' || ch == '~') {
            enc[j++] = (char)ch;
        } else {
            enc[j++] = '%';
            enc[j++] = hex[ch >> 4];
            enc[j++] = hex[ch & 15];
        }
    }
    enc[j] = '\0';
    return arena_printf(a, "%s%s%s=%s", query, *query ? "&" : "", name, enc);
}
