/* Device cookies: a random nonce bound to an account by a MAC under a key derived from the
 * server secret. Verification is a recomputation and a constant-time comparison. */
#include "app/device.h"

#include <sodium.h>
#include <string.h>

#define DEVICE_DOMAIN      "usher device cookie v1"
#define DEVICE_NONCE_BYTES 16

/* A key for device cookies only, so a MAC made here means nothing anywhere else. */
static void device_key(unsigned char out[crypto_auth_hmacsha512256_KEYBYTES],
                       const unsigned char secret[CRYPTO_SECRET_BYTES])
{
    crypto_generichash(out, crypto_auth_hmacsha512256_KEYBYTES,
                       (const unsigned char *)DEVICE_DOMAIN, strlen(DEVICE_DOMAIN), secret,
                       CRYPTO_SECRET_BYTES);
}

/* The MAC of (account, nonce) as base64url, NUL-terminated. */
static void device_mac(char out[APP_DEVICE_MAC_CHARS + 1],
                       const unsigned char secret[CRYPTO_SECRET_BYTES], const char *account,
                       const char *nonce)
{
    unsigned char key[crypto_auth_hmacsha512256_KEYBYTES];
    unsigned char mac[crypto_auth_hmacsha512256_BYTES];
    crypto_auth_hmacsha512256_state st;
    device_key(key, secret);
    crypto_auth_hmacsha512256_init(&st, key, sizeof(key));
    crypto_auth_hmacsha512256_update(&st, (const unsigned char *)account, strlen(account));
    /* The NUL separates the account from the nonce: neither can borrow from the other. */
    crypto_auth_hmacsha512256_update(&st, (const unsigned char *)"", 1);
    crypto_auth_hmacsha512256_update(&st, (const unsigned char *)nonce, strlen(nonce));
    crypto_auth_hmacsha512256_final(&st, mac);
    sodium_bin2base64(out, APP_DEVICE_MAC_CHARS + 1, mac, sizeof(mac),
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(key, sizeof(key));
    sodium_memzero(&st, sizeof(st));
}

static bool is_base64url(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '_';
        if (!ok)
            return false;
    }
    return true;
}

void app_device_cookie_new(char out[APP_DEVICE_COOKIE_CHARS + 1],
                           const unsigned char secret[CRYPTO_SECRET_BYTES], const char *account)
{
    unsigned char raw[DEVICE_NONCE_BYTES];
    randombytes_buf(raw, sizeof(raw));
    sodium_bin2base64(out, APP_DEVICE_NONCE_CHARS + 1, raw, sizeof(raw),
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    out[APP_DEVICE_NONCE_CHARS] = '.';
    char nonce[APP_DEVICE_NONCE_CHARS + 1];
    memcpy(nonce, out, APP_DEVICE_NONCE_CHARS);
    nonce[APP_DEVICE_NONCE_CHARS] = '\0';
    device_mac(out + APP_DEVICE_NONCE_CHARS + 1, secret, account, nonce);
}

bool app_device_cookie_verify(char out_nonce[APP_DEVICE_NONCE_CHARS + 1],
                              const unsigned char secret[CRYPTO_SECRET_BYTES], const char *account,
                              const char *value)
{
    out_nonce[0] = '\0';
    if (!value || !account || strlen(value) != APP_DEVICE_COOKIE_CHARS ||
        value[APP_DEVICE_NONCE_CHARS] != '.' || !is_base64url(value, APP_DEVICE_NONCE_CHARS))
        return false;
    char nonce[APP_DEVICE_NONCE_CHARS + 1];
    memcpy(nonce, value, APP_DEVICE_NONCE_CHARS);
    nonce[APP_DEVICE_NONCE_CHARS] = '\0';
    char expected[APP_DEVICE_MAC_CHARS + 1];
    device_mac(expected, secret, account, nonce);
    if (!crypto_str_equal(expected, value + APP_DEVICE_NONCE_CHARS + 1))
        return false;
    memcpy(out_nonce, nonce, sizeof(nonce));
    return true;
}
