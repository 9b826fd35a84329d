/* libsodium wrappers: ids, tokens, keyed hashes, constant-time comparison, the server secret. */
#include "base/crypto.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/error.h"

int crypto_setup(void)
{
    return sodium_init() < 0 ? USHER_EINTERNAL : 0;
}

char *crypto_id_new(struct arena *a, const char *prefix)
{
    unsigned char raw[16];
    randombytes_buf(raw, sizeof(raw));
    char enc[32];
    sodium_bin2base64(enc, sizeof(enc), raw, sizeof(raw), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    return arena_printf(a, "%s_%s", prefix, enc);
}

void crypto_subkey_derive(unsigned char *out, size_t out_len, const unsigned char *secret,
                          size_t secret_len, const char context[8], unsigned long long id)
{
    unsigned char master[crypto_kdf_KEYBYTES];
    crypto_generichash(master, sizeof(master), secret, secret_len, NULL, 0);
    crypto_kdf_derive_from_key(out, out_len, id, context, master);
    sodium_memzero(master, sizeof(master));
}

void crypto_token_new(char out[CRYPTO_TOKEN_CHARS + 1])
{
    unsigned char raw[CRYPTO_TOKEN_BYTES];
    randombytes_buf(raw, sizeof(raw));
    sodium_bin2base64(out, CRYPTO_TOKEN_CHARS + 1, raw, sizeof(raw),
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(raw, sizeof(raw));
}

void crypto_hmac_hex(char out[CRYPTO_HASH_HEX + 1], const unsigned char *key, size_t key_len,
                     const char *data, size_t data_len)
{
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, key, key_len);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)data, data_len);
    crypto_auth_hmacsha256_final(&st, mac);
    sodium_bin2hex(out, CRYPTO_HASH_HEX + 1, mac, sizeof(mac));
}

void crypto_link_token(char out[CRYPTO_TOKEN_CHARS + 1], const unsigned char *key, size_t key_len,
                       const char *label, const char *id, const char *nonce)
{
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, key, key_len);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)label, strlen(label));
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)":", 1);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)id, strlen(id));
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)":", 1);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)nonce, strlen(nonce));
    crypto_auth_hmacsha256_final(&st, mac);
    sodium_bin2base64(out, CRYPTO_TOKEN_CHARS + 1, mac, sizeof(mac),
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(mac, sizeof(mac));
    sodium_memzero(&st, sizeof(st));
}

bool crypto_str_equal(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    /* Compare keyed digests so the time does not depend on where the strings differ or on
     * their lengths. */
    unsigned char ka[32], kb[32];
    crypto_generichash(ka, sizeof(ka), (const unsigned char *)a, la, NULL, 0);
    crypto_generichash(kb, sizeof(kb), (const unsigned char *)b, lb, NULL, 0);
    return sodium_memcmp(ka, kb, sizeof(ka)) == 0 && la == lb;
}

/* Reads the secret at path: 0 when read, 1 when there is no file yet, or an error. */
static int secret_read(unsigned char out[CRYPTO_SECRET_BYTES], const char *path,
                       struct usher_error *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return 1;
        return usher_error_set(err, USHER_EINTERNAL, NULL, NULL, "cannot read %s: %s", path,
                               strerror(errno));
    }
    ssize_t n = read(fd, out, CRYPTO_SECRET_BYTES);
    close(fd);
    if (n != CRYPTO_SECRET_BYTES)
        return usher_error_set(err, USHER_EINTERNAL, NULL, NULL,
                               "server secret file %s is truncated", path);
    return 0;
}

/* Makes the directory entries of path's directory durable. */
static void dir_sync(const char *path)
{
    const char *slash = strrchr(path, '/');
    char dir[4096];
    if (!slash)
        snprintf(dir, sizeof(dir), ".");
    else
        snprintf(dir, sizeof(dir), "%.*s", slash == path ? 1 : (int)(slash - path), path);
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

int crypto_secret_load(unsigned char out[CRYPTO_SECRET_BYTES], const char *path,
                       struct usher_error *err)
{
    int rc = secret_read(out, path, err);
    if (rc <= 0)
        return rc;
    /* The new secret is written under a temporary name and linked into place, so the file
     * appears whole or not at all (a crash cannot leave a short one), and of two processes
     * starting together the second finds the first one's secret and uses it. */
    unsigned char fresh[CRYPTO_SECRET_BYTES];
    randombytes_buf(fresh, sizeof(fresh));
    /* A random name created exclusively: no other process can hold the same one. */
    size_t len = strlen(path) + 24;
    char *tmp = xmalloc(len);
    snprintf(tmp, len, "%s.new-%08x%08x", path, randombytes_random(), randombytes_random());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        rc = usher_error_set(err, USHER_EINTERNAL, NULL, NULL, "cannot create %s: %s", path,
                             strerror(errno));
        goto done;
    }
    ssize_t w = write(fd, fresh, sizeof(fresh));
    int ok = w == (ssize_t)sizeof(fresh) && fchmod(fd, 0600) == 0 && fsync(fd) == 0;
    close(fd);
    if (!ok) {
        rc = usher_error_set(err, USHER_EINTERNAL, NULL, NULL, "cannot write %s", path);
        goto done;
    }
    if (link(tmp, path) != 0 && errno != EEXIST) {
        rc = usher_error_set(err, USHER_EINTERNAL, NULL, NULL, "cannot create %s: %s", path,
                             strerror(errno));
        goto done;
    }
    dir_sync(path);
    rc = secret_read(out, path, err);
    if (rc > 0)
        rc = usher_error_set(err, USHER_EINTERNAL, NULL, NULL, "%s vanished", path);
done:
    if (fd >= 0)
        unlink(tmp);
    free(tmp);
    sodium_memzero(fresh, sizeof(fresh));
    return rc;
}
