/* Device cookies (OWASP "Slow Down Online Guessing Attacks with Device Cookies"): after a
 * successful sign-in the client gets a cookie binding a random nonce to the account; a later
 * sign-in that presents it is judged by that device's own failures, not by the failures of
 * strangers (app/throttle.h).
 *
 * The value is "<nonce>.<mac>": 128 random bits and HMAC-SHA-512-256 over the account and the
 * nonce, both base64url without padding. The MAC key is derived from the server secret for
 * this one use, so a cookie cannot be forged without the secret, nor moved to another
 * account. Nothing is stored: a cookie holds until the secret changes. */
#ifndef USHER_APP_DEVICE_H
#define USHER_APP_DEVICE_H

#include <stdbool.h>

#include "base/crypto.h"

#define APP_DEVICE_NONCE_CHARS  22 /* 128 bits, base64url */
#define APP_DEVICE_MAC_CHARS    43 /* 256 bits, base64url */
#define APP_DEVICE_COOKIE_CHARS (APP_DEVICE_NONCE_CHARS + 1 + APP_DEVICE_MAC_CHARS)
#define APP_DEVICE_MAX_AGE      (365LL * 24 * 60 * 60) /* the cookie's Max-Age, in seconds */

/* Writes a new device cookie value for account (the normalised email) into out. */
void app_device_cookie_new(char out[APP_DEVICE_COOKIE_CHARS + 1],
                           const unsigned char secret[CRYPTO_SECRET_BYTES], const char *account);

/* Tells whether value is a device cookie made by app_device_cookie_new for account under
 * secret, comparing in constant time; if so, copies its nonce into out_nonce. A NULL,
 * malformed, forged or other account's value is false. */
bool app_device_cookie_verify(char out_nonce[APP_DEVICE_NONCE_CHARS + 1],
                              const unsigned char secret[CRYPTO_SECRET_BYTES], const char *account,
                              const char *value);

#endif
