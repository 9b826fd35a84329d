/* Client secrets at rest: XChaCha20-Poly1305 under a key derived from the server secret for
 * this purpose only, with the connection id as additional data so a sealed secret copied onto
 * another connection's row does not open. */
#include <sodium.h>
#include <string.h>

#include "base/crypto.h"
#include "base/error.h"
#include "oidc/oidc.h"
#include "oidc/oidc_int.h"

#define SECRET_KDF_CONTEXT "usheroid" /* crypto_kdf contexts are 8 characters */
#define SECRET_KDF_ID      1
#define SEALED_PREFIX      "v1."

void oidc_secret_key_derive(unsigned char out[OIDC_SECRET_KEY_BYTES], const unsigned char *secret,
                            size_t secret_len)
{
    crypto_subkey_derive(out, OIDC_SECRET_KEY_BYTES, secret, secret_len, SECRET_KDF_CONTEXT,
                         SECRET_KDF_ID);
}

int oidc_secret_seal(char **out, struct arena *a, const unsigned char key[OIDC_SECRET_KEY_BYTES],
                     const char *connection_id, const char *secret, struct usher_error *err)
{
    *out = NULL;
    size_t len = secret ? strnlen(secret, OIDC_SECRET_MAX + 1) : 0;
    if (len == 0 || len > OIDC_SECRET_MAX)
        return usher_error_set(err, USHER_EINVAL, "oidc_secret_invalid", "client_secret",
                               "client secret must be 1 to %d bytes", OIDC_SECRET_MAX);
    const char *ad = connection_id ? connection_id : "";
    size_t nonce_len = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
    size_t raw_len = nonce_len + len + crypto_aead_xchacha20poly1305_ietf_ABYTES;
    unsigned char *raw = arena_alloc(a, raw_len);
    randombytes_buf(raw, nonce_len);
    unsigned long long clen = 0;
    crypto_aead_xchacha20poly1305_ietf_encrypt(
        raw + nonce_len, &clen, (const unsigned char *)secret, len, (const unsigned char *)ad,
        strlen(ad), NULL, raw, key);
    size_t b64_cap =
        sodium_base64_ENCODED_LEN(nonce_len + clen, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    char *text = arena_alloc(a, sizeof(SEALED_PREFIX) - 1 + b64_cap);
    memcpy(text, SEALED_PREFIX, sizeof(SEALED_PREFIX) - 1);
    sodium_bin2base64(text + sizeof(SEALED_PREFIX) - 1, b64_cap, raw, nonce_len + clen,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    *out = text;
    return 0;
}

int oidc_secret_open(char **out, struct arena *a, const unsigned char key[OIDC_SECRET_KEY_BYTES],
                     const char *connection_id, const char *sealed, struct usher_error *err)
{
    *out = NULL;
    size_t prefix = sizeof(SEALED_PREFIX) - 1;
    size_t nonce_len = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
    size_t abytes = crypto_aead_xchacha20poly1305_ietf_ABYTES;
    size_t raw_len = 0;
    unsigned char *raw = NULL;
    if (sealed && strncmp(sealed, SEALED_PREFIX, prefix) == 0 &&
        strlen(sealed) <= prefix + (OIDC_SECRET_MAX + 64) * 4 / 3 + 4)
        raw = oidc_b64url_decode(a, sealed + prefix, strlen(sealed + prefix), &raw_len);
    if (!raw || raw_len <= nonce_len + abytes)
        return usher_error_set(err, USHER_EINTERNAL, "oidc_secret_corrupt", NULL,
                               "sealed client secret is malformed");
    const char *ad = connection_id ? connection_id : "";
    char *plain = arena_alloc(a, raw_len - nonce_len - abytes + 1);
    unsigned long long plen = 0;
    if (crypto_aead_xchacha20poly1305_ietf_decrypt(
            (unsigned char *)plain, &plen, NULL, raw + nonce_len, raw_len - nonce_len,
            (const unsigned char *)ad, strlen(ad), raw, key) != 0 ||
        memchr(plain, '\0', plen))
        return usher_error_set(err, USHER_EINTERNAL, "oidc_secret_corrupt", NULL,
                               "sealed client secret does not open with this key and connection");
    plain[plen] = '\0';
    *out = plain;
    return 0;
}
