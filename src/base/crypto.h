/* Randomness, opaque ids, secret tokens and keyed hashes, all from libsodium. */
#ifndef USHER_BASE_CRYPTO_H
#define USHER_BASE_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>

#include "base/arena.h"

#define CRYPTO_TOKEN_BYTES  32 /* 256 random bits per session, invitation or API token */
#define CRYPTO_TOKEN_CHARS  43 /* base64url without padding */
#define CRYPTO_HASH_HEX     64 /* keyed SHA-256 as lower-case hex */
#define CRYPTO_SECRET_BYTES 32

/* Initialises libsodium; returns 0 or USHER_EINTERNAL. Safe to call more than once. */
int crypto_setup(void);

/* A new opaque id "<prefix>_<22 base64url chars>" (128 random bits) in the arena. */
char *crypto_id_new(struct arena *a, const char *prefix);

/* Writes a fresh random token (CRYPTO_TOKEN_CHARS chars + NUL) into out. */
void crypto_token_new(char out[CRYPTO_TOKEN_CHARS + 1]);

/* HMAC-SHA-256 of data under key, as hex (CRYPTO_HASH_HEX chars + NUL) in out. Used to store
 * token hashes: the database alone never yields a working token. */
void crypto_hmac_hex(char out[CRYPTO_HASH_HEX + 1], const unsigned char *key, size_t key_len,
                     const char *data, size_t data_len);

/* A link token derived from a key: base64url (no padding) of HMAC-SHA-256 under key of
 * "<label>:<id>:<nonce>", CRYPTO_TOKEN_CHARS chars + NUL in out. Emailed links (invitations,
 * password resets) carry it; the database keeps only the nonce and the token's keyed hash, so
 * the token is derived again at send time and a new nonce voids it. */
void crypto_link_token(char out[CRYPTO_TOKEN_CHARS + 1], const unsigned char *key, size_t key_len,
                       const char *label, const char *id, const char *nonce);

/* Derives a key of out_len bytes (16..64) for one purpose from the server secret: BLAKE2b of
 * the secret as the master key, then crypto_kdf with context (exactly 8 characters, one per
 * purpose) and subkey id. Distinct contexts or ids give unrelated keys. */
void crypto_subkey_derive(unsigned char *out, size_t out_len, const unsigned char *secret,
                          size_t secret_len, const char context[8], unsigned long long id);

/* Constant-time equality of two NUL-terminated strings of any length. */
bool crypto_str_equal(const char *a, const char *b);

/* Loads the server secret from path, creating it (mode 0600, random) if missing.
 * Returns 0, or USHER_EINTERNAL with a message in err. */
struct usher_error;
int crypto_secret_load(unsigned char out[CRYPTO_SECRET_BYTES], const char *path,
                       struct usher_error *err);

#endif
