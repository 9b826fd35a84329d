/* What the files of app/oidc_* share: the provider cache's handles, sealing of values kept
 * for a while (PKCE verifiers, ID tokens), and the loading of a connection. */
#ifndef USHER_APP_OIDC_INT_H
#define USHER_APP_OIDC_INT_H

#include "app/oidc.h"
#include "base/crypto.h"

/* The provider of conn from the cache, made (or made again when conn changed since) as needed;
 * *out stays valid until app_oidc_provider_release. Errors: those of oidc_provider_new. */
struct app_oidc_provider_ref;
int app_oidc_provider_get(struct oidc_provider **out, struct app_oidc_provider_ref **ref,
                          struct app *app, const struct store_oidc_connection *conn,
                          struct usher_error *err);
void app_oidc_provider_release(struct app *app, struct app_oidc_provider_ref *ref);

/* The HTTP options of every request to a provider. */
struct oidc_http_options app_oidc_http_options(const struct app *app);

/* Seals plain (any length up to 64 KiB) under a key derived from the server secret for
 * purpose, bound to ad: "v1." + base64url(nonce || ciphertext) in a. */
char *app_oidc_seal(struct arena *a, const struct app *app, const char *ad, const char *plain);

/* Opens what app_oidc_seal made with the same ad; NULL when it does not open. */
char *app_oidc_open(struct arena *a, const struct app *app, const char *ad, const char *sealed);

/* The keyed hash (HMAC under the server secret) under which a value of kind what ("state",
 * "browser") is kept, as hex. */
void app_oidc_keyed_hash(char out[CRYPTO_HASH_HEX + 1], const struct app *app, struct arena *a,
                         const char *what, const char *value);

/* query with "name=value" appended ("&" between), value percent-encoded (RFC 3986 unreserved
 * characters kept); in a. */
char *app_oidc_query_add(struct arena *a, const char *query, const char *name, const char *value);

/* The algorithms of a stored connection as bits (OIDC_ALGS_DEFAULT when unreadable). */
unsigned app_oidc_algs(const struct store_oidc_connection *conn);

/* A connection of agency_id. USHER_ENOTFOUND "connection not found" for another agency's. */
int app_oidc_connection_load(struct store_oidc_connection *out, struct store_conn *c,
                             struct arena *a, const char *agency_id, const char *id,
                             struct usher_error *err);

#endif
