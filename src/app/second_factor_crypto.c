/* The second factor's building blocks: the sealed TOTP secret, code checks through liboath,
 * recovery codes and their keyed hashes, the otpauth:// URL and its QR code as SVG. Keys are
 * derived from the server secret with crypto_kdf, one subkey per purpose. */
#include <liboath/oath.h>
#include <pthread.h>
#include <qrencode.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "app/app_mail.h"
#include "app/second_factor.h"
#include "base/error.h"

#define SF_KDF_CONTEXT  "usher2fa"
#define SF_KDF_SEAL     1 /* the TOTP secrets' AEAD key */
#define SF_KDF_RECOVERY 2 /* the recovery codes' HMAC key */
#define SF_QUIET        4 /* modules of quiet zone around a QR code */

/* Crockford base32 without i, l, o, u, in lower case. */
static const char recovery_alphabet[] = "0123456789abcdefghjkmnpqrstvwxyz";

static pthread_once_t oath_once = PTHREAD_ONCE_INIT;

static void oath_start(void)
{
    oath_init();
}

static void subkey(unsigned char *out, size_t len, uint64_t id,
                   const unsigned char server_secret[CRYPTO_SECRET_BYTES])
{
    unsigned char master[crypto_kdf_KEYBYTES];
    crypto_generichash(master, sizeof(master), server_secret, CRYPTO_SECRET_BYTES, NULL, 0);
    crypto_kdf_derive_from_key(out, len, id, SF_KDF_CONTEXT, master);
    sodium_memzero(master, sizeof(master));
}

int app_second_factor_seal(char *out, size_t out_size,
                           const unsigned char server_secret[CRYPTO_SECRET_BYTES],
                           const char *user_id, const unsigned char *secret, size_t len)
{
    unsigned char key[crypto_aead_xchacha20poly1305_ietf_KEYBYTES];
    unsigned char box[crypto_aead_xchacha20poly1305_ietf_NPUBBYTES +
                      APP_SECOND_FACTOR_SECRET_BYTES + crypto_aead_xchacha20poly1305_ietf_ABYTES];
    size_t box_len = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES + len +
                     crypto_aead_xchacha20poly1305_ietf_ABYTES;
    if (len > APP_SECOND_FACTOR_SECRET_BYTES || out_size < box_len * 2 + 1)
        return USHER_EINVAL;
    subkey(key, sizeof(key), SF_KDF_SEAL, server_secret);
    randombytes_buf(box, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
    unsigned long long sealed = 0;
    crypto_aead_xchacha20poly1305_ietf_encrypt(box + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES,
                                               &sealed, secret, len, (const unsigned char *)user_id,
                                               strlen(user_id), NULL, box, key);
    sodium_bin2hex(out, out_size, box, box_len);
    sodium_memzero(key, sizeof(key));
    return 0;
}

int app_second_factor_open(unsigned char out[APP_SECOND_FACTOR_SECRET_BYTES],
                           const unsigned char server_secret[CRYPTO_SECRET_BYTES],
                           const char *user_id, const char *box_hex)
{
    unsigned char box[crypto_aead_xchacha20poly1305_ietf_NPUBBYTES +
                      APP_SECOND_FACTOR_SECRET_BYTES + crypto_aead_xchacha20poly1305_ietf_ABYTES];
    size_t box_len = 0;
    if (!box_hex ||
        sodium_hex2bin(box, sizeof(box), box_hex, strlen(box_hex), NULL, &box_len, NULL) != 0 ||
        box_len != sizeof(box))
        return USHER_EINTERNAL;
    unsigned char key[crypto_aead_xchacha20poly1305_ietf_KEYBYTES];
    subkey(key, sizeof(key), SF_KDF_SEAL, server_secret);
    unsigned long long opened = 0;
    int rc = crypto_aead_xchacha20poly1305_ietf_decrypt(
        out, &opened, NULL, box + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES,
        box_len - crypto_aead_xchacha20poly1305_ietf_NPUBBYTES, (const unsigned char *)user_id,
        strlen(user_id), box, key);
    sodium_memzero(key, sizeof(key));
    if (rc != 0 || opened != APP_SECOND_FACTOR_SECRET_BYTES) {
        sodium_memzero(out, APP_SECOND_FACTOR_SECRET_BYTES);
        return USHER_EINTERNAL;
    }
    return 0;
}

bool app_second_factor_code_check(int64_t *out_step,
                                  const unsigned char secret[APP_SECOND_FACTOR_SECRET_BYTES],
                                  const char *code, int64_t now_ms)
{
    if (!code || strlen(code) != 6)
        return false;
    for (size_t i = 0; i < 6; i++) {
        if (code[i] < '0' || code[i] > '9')
            return false;
    }
    pthread_once(&oath_once, oath_start);
    time_t now = (time_t)(now_ms / 1000);
    int pos = 0;
    int rc = oath_totp_validate2((const char *)secret, APP_SECOND_FACTOR_SECRET_BYTES, now,
                                 APP_SECOND_FACTOR_STEP_SECONDS, 0, APP_SECOND_FACTOR_WINDOW, &pos,
                                 code);
    if (rc < 0)
        return false;
    *out_step = (int64_t)(now / APP_SECOND_FACTOR_STEP_SECONDS) + pos;
    return true;
}

void app_recovery_code_new(char out[APP_RECOVERY_CODE_CHARS + 1])
{
    size_t n = 0;
    for (size_t i = 0; i < APP_RECOVERY_CODE_SYMBOLS; i++) {
        if (i == 4 || i == 8)
            out[n++] = '-';
        out[n++] = recovery_alphabet[randombytes_uniform(32)];
    }
    out[n] = '\0';
}

bool app_recovery_code_normalize(char out[APP_RECOVERY_CODE_SYMBOLS + 1], const char *typed)
{
    size_t n = 0;
    for (const char *p = typed ? typed : ""; *p; p++) {
        char ch = *p;
        if (ch == '-' || ch == ' ')
            continue;
        if (ch >= 'A' && ch <= 'Z')
            ch = (char)(ch - 'A' + 'a');
        if (ch == 'i' || ch == 'l')
            ch = '1';
        else if (ch == 'o')
            ch = '0';
        if (!strchr(recovery_alphabet, ch) || ch == '\0' || n == APP_RECOVERY_CODE_SYMBOLS)
            return false;
        out[n++] = ch;
    }
    out[n] = '\0';
    return n == APP_RECOVERY_CODE_SYMBOLS;
}

void app_recovery_code_hash(char out[CRYPTO_HASH_HEX + 1],
                            const unsigned char server_secret[CRYPTO_SECRET_BYTES],
                            const char *user_id, const char *normal)
{
    unsigned char key[crypto_auth_hmacsha256_KEYBYTES];
    subkey(key, sizeof(key), SF_KDF_RECOVERY, server_secret);
    char input[128];
    int len = snprintf(input, sizeof(input), "%s:%s", user_id, normal);
    if (len < 0 || (size_t)len >= sizeof(input))
        len = 0;
    crypto_hmac_hex(out, key, sizeof(key), input, (size_t)len);
    sodium_memzero(key, sizeof(key));
    sodium_memzero(input, sizeof(input));
}

bool app_recovery_code_find(size_t *out_index, const char *hash, const char *const *hashes,
                            size_t count)
{
    bool found = false;
    for (size_t i = 0; i < count; i++) {
        /* Every stored hash is compared in full: the time says nothing about which matched. */
        bool same = crypto_str_equal(hash, hashes[i]);
        if (same && !found) {
            *out_index = i;
            found = true;
        }
    }
    return found;
}

/* Appends s to b with every byte outside RFC 3986's unreserved set percent-encoded. */
static void percent_add(struct app_mail_buf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        char chunk[4] = {0};
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '.' || *p == '_' || *p == '~') {
            chunk[0] = (char)*p;
        } else {
            chunk[0] = '%';
            chunk[1] = hex[*p >> 4];
            chunk[2] = hex[*p & 15];
        }
        app_mail_buf_add(b, chunk);
    }
}

const char *app_second_factor_otpauth_url(struct arena *a, const char *email,
                                          const char *secret_base32)
{
    struct app_mail_buf b = {a, NULL, 0, 0};
    app_mail_buf_add(&b, "otpauth://totp/usher:");
    percent_add(&b, email);
    app_mail_buf_add(&b, "?secret=");
    percent_add(&b, secret_base32);
    app_mail_buf_add(&b, "&issuer=usher&algorithm=SHA1&digits=6&period=30");
    return b.data;
}

int app_second_factor_qr_svg(const char **out, struct arena *a, const char *text,
                             struct usher_error *err)
{
    QRcode *qr = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
    if (!qr)
        return usher_error_set(err, USHER_EINTERNAL, NULL, NULL, "the QR code could not be made");
    int side = qr->width + 2 * SF_QUIET;
    struct app_mail_buf b = {a, NULL, 0, 0};
    char chunk[160];
    snprintf(chunk, sizeof(chunk),
             "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" "
             "shape-rendering=\"crispEdges\">",
             side, side);
    app_mail_buf_add(&b, chunk);
    snprintf(chunk, sizeof(chunk), "<rect width=\"%d\" height=\"%d\" fill=\"#fff\"/>", side, side);
    app_mail_buf_add(&b, chunk);
    app_mail_buf_add(&b, "<path fill=\"#000\" d=\"");
    for (int y = 0; y < qr->width; y++) {
        for (int x = 0; x < qr->width; x++) {
            if (!(qr->data[y * qr->width + x] & 1))
                continue;
            snprintf(chunk, sizeof(chunk), "M%d %dh1v1h-1z", x + SF_QUIET, y + SF_QUIET);
            app_mail_buf_add(&b, chunk);
        }
    }
    app_mail_buf_add(&b, "\"/></svg>");
    QRcode_free(qr);
    *out = b.data;
    return 0;
}
