/* The OpenID Connect relying-party core: the URL rule, a bounded HTTP fetcher, discovery and
 * JWKS parsing, a per-connection cache of both, ID token verification over allow-listed
 * algorithms, the token exchange, PKCE/state/nonce, the callback query and the sealing of
 * client secrets at rest. No routes and no tables: the sign-in flow is built on top of this.
 *
 * Failures return a negative USHER_E* code; the struct usher_error's problem names the precise
 * reason (e.g. "id_token_wrong_issuer") for logs. No function here logs a secret. */
#ifndef USHER_OIDC_OIDC_H
#define USHER_OIDC_OIDC_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"

struct usher_error;

#define OIDC_DOC_MAX           (256 * 1024) /* discovery, JWKS and token responses */
#define OIDC_TOKEN_MAX         16384        /* an ID token in compact form */
#define OIDC_JWKS_KEYS_MAX     32           /* keys kept from one JWKS; more are refused */
#define OIDC_SUB_MAX           255          /* bytes of the sub claim */
#define OIDC_CLAIM_MAX         512          /* bytes of email, name, given_name, family_name */
#define OIDC_URL_MAX           2048         /* bytes of any URL read from an IdP */
#define OIDC_SKEW_DEFAULT_S    120          /* allowed clock difference with the IdP */
#define OIDC_REFETCH_MIN_MS    60000        /* unknown kid: at most one JWKS fetch per minute */
#define OIDC_MAX_AGE_MIN_S     60           /* Cache-Control max-age is clamped to this ... */
#define OIDC_MAX_AGE_MAX_S     86400        /* ... and this */
#define OIDC_MAX_AGE_DEFAULT_S 3600         /* when the IdP sends no max-age */
#define OIDC_RANDOM_CHARS      43           /* state, nonce, PKCE verifier: 32 random bytes */
#define OIDC_QUERY_MAX         8192         /* bytes of a callback query string */

/* The signing algorithms usher accepts, as a bit set. HMAC (HS*) and "none" have no bit:
 * they can never be allowed. */
enum {
    OIDC_ALG_RS256 = 1u << 0,
    OIDC_ALG_PS256 = 1u << 1,
    OIDC_ALG_ES256 = 1u << 2,
};
#define OIDC_ALGS_DEFAULT (OIDC_ALG_RS256 | OIDC_ALG_PS256 | OIDC_ALG_ES256)

/* The bit of an algorithm name ("RS256" -> OIDC_ALG_RS256), 0 for any other name. */
unsigned oidc_alg_from_name(const char *name);

/* The name of one algorithm bit, NULL for anything else. Static storage. */
const char *oidc_alg_name(unsigned alg);

/* Parses a comma-separated list of algorithm names ("RS256,ES256") into *out. "none", HS*
 * and unknown names give USHER_EINVAL (problem "oidc_alg_refused" or "oidc_alg_unknown");
 * an empty list gives USHER_EINVAL. */
int oidc_algs_parse(unsigned *out, const char *list, struct usher_error *err);

/* The URL rule, for issuers and every endpoint: https:// with a host, or, only when
 * allow_insecure_loopback, http:// to localhost, 127.0.0.0/8 or [::1]. Never userinfo
 * ("user@host"), never a fragment, never control characters or spaces, at most OIDC_URL_MAX
 * bytes. https to any host is allowed, private addresses included (an agency may run its IdP
 * on its own network). */
bool oidc_url_allowed(const char *url, bool allow_insecure_loopback);

/* ---- HTTP ---- */

struct oidc_http_options {
    bool allow_insecure_loopback; /* permits http:// loopback URLs (see oidc_url_allowed) */
    long connect_timeout_ms;      /* 0 = 3000 */
    long timeout_ms;              /* whole exchange; 0 = 5000 */
    size_t max_bytes;             /* response body cap; 0 = OIDC_DOC_MAX */
};

struct oidc_http_response {
    long status; /* HTTP status */
    char *body;  /* NUL-terminated, in the arena; len bytes */
    size_t len;
    int64_t max_age_s; /* Cache-Control max-age clamped to [MIN, MAX]; DEFAULT when absent */
    bool is_json;      /* Content-Type application/json or any +json type */
};

/* GETs url (which must pass oidc_url_allowed under opt) with Accept: application/json. No
 * redirect is followed (a 3xx is an error), only https (and http when allowed) is spoken, the
 * body is cut off and refused past max_bytes. Fills *out (body in a) for any status; the
 * caller checks status and is_json. Errors: USHER_EINVAL "oidc_url_refused"; USHER_EUNAVAIL
 * "oidc_http_failed" (connect, TLS, timeout), "oidc_http_redirect", "oidc_http_too_large". */
int oidc_http_get(struct oidc_http_response *out, struct arena *a, const char *url,
                  const struct oidc_http_options *opt, struct usher_error *err);

/* POSTs form (application/x-www-form-urlencoded) to url under the same rules as
 * oidc_http_get, with an Authorization header when authorization is not NULL. Fills *out for
 * any status (a token endpoint answers errors with 400 and a JSON body). */
int oidc_http_post_form(struct oidc_http_response *out, struct arena *a, const char *url,
                        const char *form, const char *authorization,
                        const struct oidc_http_options *opt, struct usher_error *err);

/* ---- Discovery ---- */

enum oidc_client_auth { OIDC_AUTH_BASIC = 1u << 0, OIDC_AUTH_POST = 1u << 1 };

struct oidc_discovery {
    const char *issuer;
    const char *authorization_endpoint;
    const char *token_endpoint;
    const char *jwks_uri;
    const char *end_session_endpoint; /* NULL when the IdP names none */
    unsigned auth_methods;            /* OIDC_AUTH_* bits; BASIC when the IdP names none */
    unsigned algs;                    /* OIDC_ALG_* bits the IdP says it signs ID tokens with */
};

/* Parses a /.well-known/openid-configuration document (at most OIDC_DOC_MAX bytes). The
 * issuer must equal expected_issuer byte for byte; every endpoint must pass oidc_url_allowed.
 * Strings are copied into a. Errors (USHER_EINVAL): "oidc_discovery_invalid" (not a JSON
 * object, a member of the wrong type or too long, a required member missing),
 * "oidc_issuer_mismatch", "oidc_url_refused" (field names the member),
 * "oidc_auth_unsupported" (neither client_secret_basic nor client_secret_post offered),
 * "oidc_alg_unsupported" (no algorithm usher accepts is offered). */
int oidc_discovery_parse(struct oidc_discovery *out, struct arena *a, const char *body, size_t len,
                         const char *expected_issuer, bool allow_insecure_loopback,
                         struct usher_error *err);

/* ---- JWKS ---- */

/* Parses a JWKS document (at most OIDC_DOC_MAX bytes) into *out, a new {"keys": [...]} that
 * holds only public signing keys usher can use with algs: kty RSA (n, e) or EC with crv P-256
 * (x, y); keys with a "use" other than "sig", with an "alg" outside algs, with key_ops lacking
 * "verify", or with private members are skipped. Each kept key holds only kty, kid, alg and its
 * public parameters. Errors (USHER_EINVAL): "oidc_jwks_invalid" (not a JSON object with a keys
 * array; a key that is not an object or has a kid that is not a string of 1..256 bytes is
 * skipped), "oidc_jwks_too_many" (more than OIDC_JWKS_KEYS_MAX
 * usable keys), "oidc_jwks_empty" (no usable key). The caller owns *out (json_decref). */
int oidc_jwks_parse(json_t **out, const char *body, size_t len, unsigned algs,
                    struct usher_error *err);

/* Whether jwks (as made by oidc_jwks_parse) holds a key with this kid. */
bool oidc_jwks_has_kid(const json_t *jwks, const char *kid);

/* ---- ID token ---- */

struct oidc_id_token_check {
    const char *issuer;    /* expected iss, byte for byte */
    const char *client_id; /* must be in aud; must be azp when aud has several values */
    const char *nonce;     /* the nonce sent with the authorization request */
    unsigned algs;         /* allowed algorithms; 0 = OIDC_ALGS_DEFAULT */
    int64_t now_s;         /* current time, Unix seconds */
    int64_t skew_s;        /* allowed clock difference; negative = OIDC_SKEW_DEFAULT_S */
};

struct oidc_claims {
    const char *sub;         /* never NULL on success, 1..OIDC_SUB_MAX bytes */
    const char *email;       /* NULL when absent */
    bool email_verified;     /* true only for the JSON value true */
    const char *name;        /* NULL when absent */
    const char *given_name;  /* NULL when absent */
    const char *family_name; /* NULL when absent */
    int64_t exp, iat;        /* Unix seconds */
};

/* Verifies an ID token in compact form against jwks (as made by oidc_jwks_parse): a pure
 * function, no I/O, no clock. Order: size and shape, header alg in the allow-list, key choice
 * (kid names the key; without kid the one suitable key, or each suitable key in turn),
 * signature (libjose, with the key's alg forced to the header's), then iss, aud, azp, exp, iat,
 * nonce (constant time) and sub. Strings of *out are copied into a. Every failure gives
 * USHER_EUNAUTH with one of these problems: id_token_malformed, id_token_too_large,
 * id_token_alg_refused, id_token_unknown_kid, id_token_no_key, id_token_alg_key_mismatch,
 * id_token_bad_signature, id_token_wrong_issuer, id_token_wrong_audience, id_token_azp_missing,
 * id_token_wrong_azp, id_token_expired, id_token_issued_in_future, id_token_nonce_missing,
 * id_token_wrong_nonce, id_token_sub_missing, id_token_sub_too_long, id_token_bad_claim. */
int oidc_id_token_verify(struct oidc_claims *out, struct arena *a, const char *token,
                         const json_t *jwks, const struct oidc_id_token_check *check,
                         struct usher_error *err);

/* The kid of a compact token's header, copied into a; NULL when absent or unreadable (the
 * verification reports why). Reads only the header: nothing is trusted from it. */
const char *oidc_id_token_kid(struct arena *a, const char *token);

/* ---- Per-connection cache of discovery and JWKS ---- */

struct oidc_provider;

struct oidc_provider_options {
    const char *issuer; /* the configured issuer; discovery is issuer +
                         * "/.well-known/openid-configuration" */
    unsigned algs;      /* allowed algorithms; 0 = OIDC_ALGS_DEFAULT */
    struct oidc_http_options http;
};

/* A new cache for one connection. The issuer must pass oidc_url_allowed (USHER_EINVAL
 * "oidc_url_refused"); algs must hold only known bits. Free with oidc_provider_free. Nothing
 * is fetched until first use. Thread-safe: every call below takes the object's mutex. */
int oidc_provider_new(struct oidc_provider **out, const struct oidc_provider_options *opt,
                      struct usher_error *err);

/* Frees p and everything it caches; NULL is fine. */
void oidc_provider_free(struct oidc_provider *p);

/* The discovery document, fetched when missing or past its max-age, copied into a. Errors:
 * those of oidc_http_get and oidc_discovery_parse; USHER_EUNAVAIL "oidc_http_status" or
 * "oidc_http_not_json" for a non-200 or non-JSON answer. A failed refresh returns its error;
 * the next call tries again. */
int oidc_provider_discovery(struct oidc_discovery *out, struct arena *a, struct oidc_provider *p,
                            struct usher_error *err);

/* The JWKS to verify a token whose header names kid (NULL when it names none): *out is the
 * caller's own copy (json_decref it). The set is fetched when missing or past its max-age, and
 * fetched again when kid is not in it, but at most once per OIDC_REFETCH_MIN_MS for this
 * connection, so keys rotated at the IdP are picked up without a restart while a flood of
 * tokens with made-up kids cannot make usher hammer the IdP. When the kid is still unknown the
 * current set is returned (verification then fails with id_token_unknown_kid). Errors: those
 * of oidc_provider_discovery, oidc_http_get and oidc_jwks_parse. */
int oidc_provider_keys_for(json_t **out, struct oidc_provider *p, const char *kid,
                           struct usher_error *err);

/* How many times p has fetched the JWKS (for metrics and tests). */
unsigned oidc_provider_jwks_fetches(struct oidc_provider *p);

/* Verifies token with the keys of p (oidc_provider_keys_for on the header's kid, then
 * oidc_id_token_verify with p's issuer and algorithms). check->issuer and check->algs are
 * ignored. Errors: those two functions'. */
int oidc_provider_id_token_verify(struct oidc_claims *out, struct arena *a, struct oidc_provider *p,
                                  const char *token, const struct oidc_id_token_check *check,
                                  struct usher_error *err);

/* ---- Token exchange ---- */

struct oidc_token_request {
    const char *code;
    const char *redirect_uri;
    const char *code_verifier;
    const char *client_id;
    const char *client_secret;
    unsigned auth_methods; /* from discovery; BASIC is preferred when offered */
};

struct oidc_token_form {
    char *body;          /* application/x-www-form-urlencoded, in the arena */
    char *authorization; /* "Basic ..." for client_secret_basic, NULL for client_secret_post */
};

/* Builds the authorization_code grant: grant_type, code, redirect_uri, code_verifier, and the
 * client's credentials as HTTP Basic of form-urlencoded id:secret (RFC 6749 section 2.3.1) or as
 * client_id/client_secret form fields. Errors: USHER_EINVAL "oidc_auth_unsupported" when
 * auth_methods holds neither method, "oidc_token_request_invalid" for a missing member. The
 * result holds the secret: never log it. */
int oidc_token_form_build(struct oidc_token_form *out, struct arena *a,
                          const struct oidc_token_request *req, struct usher_error *err);

struct oidc_tokens {
    const char *id_token;
    const char *access_token; /* NULL when absent */
    const char *token_type;   /* NULL when absent */
};

/* Parses a token endpoint's answer. A 200 with a JSON object holding a string id_token (at most
 * OIDC_TOKEN_MAX bytes) fills *out (strings in a). An OAuth error body gives USHER_EUNAUTH
 * with problem "oidc_token_error" and the IdP's error code (only the RFC 6749 character set,
 * at most 64 bytes) in the message; an id_token past OIDC_TOKEN_MAX gives USHER_EUNAUTH
 * "id_token_too_large"; anything else gives USHER_EUNAVAIL "oidc_token_response_invalid" or
 * USHER_EUNAUTH "oidc_token_no_id_token". */
int oidc_token_response_parse(struct oidc_tokens *out, struct arena *a, long status,
                              const char *body, size_t len, struct usher_error *err);

/* Builds the request, POSTs it to token_endpoint and parses the answer. Errors: those of the
 * three functions it calls. */
int oidc_token_exchange(struct oidc_tokens *out, struct arena *a, const char *token_endpoint,
                        const struct oidc_token_request *req, const struct oidc_http_options *opt,
                        struct usher_error *err);

/* ---- PKCE, state, nonce, callback ---- */

/* OIDC_RANDOM_CHARS base64url characters of 32 fresh random bytes, NUL-terminated: a state,
 * a nonce or a PKCE code verifier. */
void oidc_random_new(char out[OIDC_RANDOM_CHARS + 1]);

/* The S256 code challenge of verifier: base64url(SHA-256(verifier)) without padding. */
void oidc_pkce_challenge(char out[OIDC_RANDOM_CHARS + 1], const char *verifier);

struct oidc_callback {
    const char *code;              /* NULL when absent */
    const char *state;             /* NULL when absent */
    const char *error;             /* NULL when absent */
    const char *error_description; /* NULL when absent */
};

/* Parses the query string of the redirect back from the IdP (without the '?'), at most
 * OIDC_QUERY_MAX bytes. Percent-decodes and '+'-decodes; unknown parameters are ignored.
 * Errors (USHER_EINVAL, field naming the parameter): "oidc_callback_invalid" for a bad
 * escape, a NUL or a control character, "oidc_callback_duplicate" for a parameter given
 * twice, "oidc_callback_too_large"; and neither code nor error present also gives
 * "oidc_callback_invalid". */
int oidc_callback_parse(struct oidc_callback *out, struct arena *a, const char *query,
                        struct usher_error *err);

/* ---- Client secrets at rest ---- */

#define OIDC_SECRET_KEY_BYTES 32
#define OIDC_SECRET_MAX       1024 /* bytes of a client secret */

/* The key that seals client secrets, derived from the server secret with its own KDF context
 * (so it is no other key usher uses). */
void oidc_secret_key_derive(unsigned char out[OIDC_SECRET_KEY_BYTES], const unsigned char *secret,
                            size_t secret_len);

/* Seals secret (1..OIDC_SECRET_MAX bytes) with XChaCha20-Poly1305 under key, binding it to
 * connection_id as additional data: *out is "v1." + base64url(nonce || ciphertext), in a.
 * Errors: USHER_EINVAL "oidc_secret_invalid" for an empty or too long secret. */
int oidc_secret_seal(char **out, struct arena *a, const unsigned char key[OIDC_SECRET_KEY_BYTES],
                     const char *connection_id, const char *secret, struct usher_error *err);

/* Opens what oidc_secret_seal made for the same connection_id: *out is the secret, in a.
 * Errors: USHER_EINTERNAL "oidc_secret_corrupt" when the text is malformed, was tampered with,
 * belongs to another connection or was sealed under another key. */
int oidc_secret_open(char **out, struct arena *a, const unsigned char key[OIDC_SECRET_KEY_BYTES],
                     const char *connection_id, const char *sealed, struct usher_error *err);

#endif
