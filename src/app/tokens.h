/* API tokens (docs/rules.md, API tokens): named credentials for the studio's services that
 * call the check API.
 *
 * A token belongs to one agency, or to the platform. Its secret is "usk_" followed by 256
 * random bits, shown once when it is created; the database holds only its keyed hash under the
 * server secret. Revoking sets revoked_at, and the token stops working on the very next
 * request. Agency tokens are managed by holders of agency.manage at agency scope and by
 * platform admins; platform tokens by platform admins (or a command-line operator, whose actor
 * has no user id). Every change writes its audit row (token.created, token.revoked) in the same
 * transaction, never with the secret. Creating, listing and revoking take the call context of
 * app/app.h (call->actor is who manages the tokens); resolving a presented token comes before
 * there is an actor. */
#ifndef USHER_APP_TOKENS_H
#define USHER_APP_TOKENS_H

#include <stdbool.h>
#include <stddef.h>

#include "app/app.h"
#include "app/tenancy.h"
#include "base/crypto.h"
#include "store/store_token.h"

#define APP_TOKEN_PREFIX     "usk_"
#define APP_TOKEN_PREFIX_LEN 4
#define APP_TOKEN_CHARS      (APP_TOKEN_PREFIX_LEN + CRYPTO_TOKEN_CHARS)
#define APP_TOKEN_NAME_MAX   200   /* characters of a token's name */
#define APP_TOKEN_TOUCH_MS   60000 /* last_used_at is written at most this often */
#define APP_TOKEN_CACHE_MS   50    /* a resolved token is trusted this long without the store */
#define APP_TOKEN_CACHE_MAX  4096  /* tokens remembered at once; more empties the cache */

/* A new token as returned once to its creator. */
struct app_token_new {
    struct store_token token;         /* the stored row (arena strings) */
    char secret[APP_TOKEN_CHARS + 1]; /* "usk_..."; never logged, stored or audited */
};

/* One page of tokens. */
struct app_token_page {
    struct store_token *items;
    size_t count;
    const char *next_cursor; /* NULL on the last page */
};

/* Tokens resolved recently, so that a check does not read the store for its credential. An
 * entry is keyed by a 128-bit SipHash of the presented secret under a key derived from the
 * server secret (cheaper than the HMAC the store is searched by) and trusted for
 * APP_TOKEN_CACHE_MS: a
 * revocation made by this process empties the cache at once, one made elsewhere (another
 * instance on the same database) is seen within that time, as the change feed sees other
 * changes. Thread-safe. */
struct app_token_cache;

/* An empty cache whose key is derived from the server secret. */
struct app_token_cache *app_token_cache_new(const unsigned char *secret, size_t secret_len);

/* Frees the cache; accepts NULL. */
void app_token_cache_free(struct app_token_cache *cache);

/* Forgets every entry, so the next use of each token reads the store: after a revocation
 * here, and after the change feed brought changes made elsewhere. Entries are keyed by what
 * only the token's holder knows, so nothing finer is possible. Accepts NULL. */
void app_token_cache_clear(struct app_token_cache *cache);

/* True when a presented bearer credential has the shape of an API token ("usk_" prefix). */
bool app_token_is_api_token(const char *presented);

/* Creates a token named name (trimmed, 1..APP_TOKEN_NAME_MAX characters: USHER_EINVAL naming
 * "name") for agency_id, or for the platform when agency_id is NULL. Agency tokens need a
 * platform admin or agency.manage at agency scope (USHER_EFORBIDDEN); an agency the actor
 * cannot see is USHER_ENOTFOUND. Platform tokens need a platform admin (USHER_EFORBIDDEN).
 * Audited as token.created. */
int app_token_create(struct app_token_new *out, const struct app_call *call, const char *agency_id,
                     const char *name);

/* Lists the tokens of agency_id (NULL: platform tokens), revoked ones included, oldest first.
 * Permissions and errors as app_token_create. */
int app_token_list(struct app_token_page *out, const struct app_call *call, const char *agency_id,
                   const struct app_page *page);

/* Revokes token_id of agency_id (NULL: a platform token). A token of another agency, or of an
 * agency the actor cannot see, is USHER_ENOTFOUND. Revoking a revoked token changes nothing.
 * Permissions as app_token_create. Audited as token.revoked. */
int app_token_revoke(const struct app_call *call, const char *agency_id, const char *token_id);

/* Resolves a presented API token to its working row, and records its use (at most once per
 * APP_TOKEN_TOUCH_MS). The row comes from app->token_cache when it was read less than
 * APP_TOKEN_CACHE_MS ago, else from the store. Strings in *out live in a. Errors:
 * USHER_EUNAUTH when the token is malformed, unknown or revoked, or its agency is suspended or
 * gone (problem code agency_suspended; read from app->authz); USHER_EUNAVAIL /
 * USHER_EINTERNAL when the store fails. */
int app_token_resolve(struct store_token *out, struct app *app, struct arena *a,
                      const char *presented, struct usher_error *err);

#endif
