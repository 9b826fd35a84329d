/* The argon2id hashing pool: a counting semaphore (mutex + condition variable) in front of
 * libsodium's crypto_pwhash, with a bounded number of waiters and a dummy hash that makes a
 * sign-in for an unknown user cost the same as one for a real user. */
#include "app/password.h"

#include <errno.h>
#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/arena.h"
#include "base/clock.h"
#include "base/error.h"
#include "base/text.h"

_Static_assert(APP_PASSWORD_HASH_MAX == crypto_pwhash_STRBYTES, "PHC string buffer size");

struct app_hash_pool {
    pthread_mutex_t lock;
    pthread_cond_t freed;
    int workers; /* slots */
    int queue;   /* most callers allowed to wait */
    int running;
    int waiting;
    app_hash_observer observer; /* set before use, read without the lock */
    void *observer_ctx;
    char dummy[APP_PASSWORD_HASH_MAX];
};

/* Waits for a slot. Returns 0 with the slot taken, or USHER_EUNAVAIL. */
static int pool_acquire(struct app_hash_pool *pool, struct usher_error *err)
{
    int rc = 0;
    pthread_mutex_lock(&pool->lock);
    if (pool->running >= pool->workers) {
        if (pool->waiting >= pool->queue) {
            rc = usher_error_set(err, USHER_EUNAVAIL, NULL, NULL,
                                 "too many sign-ins at once, try again shortly");
            goto done;
        }
        struct timespec deadline;
        clock_gettime(CLOCK_MONOTONIC, &deadline);
        deadline.tv_sec += APP_PASSWORD_WAIT_MS / 1000;
        pool->waiting++;
        while (pool->running >= pool->workers) {
            if (pthread_cond_timedwait(&pool->freed, &pool->lock, &deadline) == ETIMEDOUT &&
                pool->running >= pool->workers) {
                rc = usher_error_set(err, USHER_EUNAVAIL, NULL, NULL,
                                     "too many sign-ins at once, try again shortly");
                break;
            }
        }
        pool->waiting--;
        if (rc)
            goto done;
    }
    pool->running++;
done:
    pthread_mutex_unlock(&pool->lock);
    return rc;
}

static void pool_release(struct app_hash_pool *pool)
{
    pthread_mutex_lock(&pool->lock);
    pool->running--;
    pthread_cond_signal(&pool->freed);
    pthread_mutex_unlock(&pool->lock);
}

static void hash_observe(const struct app_hash_pool *pool, int64_t asked_ns, int64_t started_ns)
{
    if (!pool->observer)
        return;
    int64_t now = clock_mono_ns();
    pool->observer(pool->observer_ctx, (double)(started_ns - asked_ns) / 1e9,
                   (double)(now - started_ns) / 1e9);
}

static int hash_compute(char out[APP_PASSWORD_HASH_MAX], const char *password, size_t len,
                        struct usher_error *err)
{
    if (crypto_pwhash_str_alg(out, password, len, APP_PASSWORD_OPSLIMIT,
                              (size_t)APP_PASSWORD_MEMLIMIT, crypto_pwhash_ALG_ARGON2ID13) != 0)
        return usher_error_set(err, USHER_EINTERNAL, NULL, NULL,
                               "password hashing failed (out of memory)");
    return 0;
}

int app_hash_pool_new(struct app_hash_pool **out, int workers, int queue, struct usher_error *err)
{
    *out = NULL;
    if (workers < 1 || queue < 0)
        return usher_error_set(err, USHER_EINVAL, NULL, "hash_workers",
                               "hash_workers must be at least 1 and hash_queue at least 0");
    struct app_hash_pool *pool = xcalloc(1, sizeof(*pool));
    pthread_mutex_init(&pool->lock, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&pool->freed, &attr);
    pthread_condattr_destroy(&attr);
    pool->workers = workers;
    pool->queue = queue;

    /* The dummy is the hash of a random password nobody knows, made with the current
     * parameters so that verifying against it takes as long as verifying a real hash. */
    unsigned char secret[32];
    char hex[sizeof(secret) * 2 + 1];
    randombytes_buf(secret, sizeof(secret));
    sodium_bin2hex(hex, sizeof(hex), secret, sizeof(secret));
    int rc = hash_compute(pool->dummy, hex, strlen(hex), err);
    sodium_memzero(secret, sizeof(secret));
    sodium_memzero(hex, sizeof(hex));
    if (rc) {
        app_hash_pool_free(pool);
        return rc;
    }
    *out = pool;
    return 0;
}

void app_hash_pool_observe(struct app_hash_pool *pool, app_hash_observer observer, void *ctx)
{
    pool->observer = observer;
    pool->observer_ctx = ctx;
}

void app_hash_pool_free(struct app_hash_pool *pool)
{
    if (!pool)
        return;
    pthread_mutex_destroy(&pool->lock);
    pthread_cond_destroy(&pool->freed);
    free(pool);
}

int app_password_check(const char *password, const char *field, struct usher_error *err)
{
    size_t len = password ? strlen(password) : 0;
    if (len < APP_PASSWORD_MIN_BYTES)
        return usher_error_set(err, USHER_EINVAL, NULL, field, "%s must be at least %d bytes",
                               field, APP_PASSWORD_MIN_BYTES);
    if (len > APP_PASSWORD_MAX_BYTES)
        return usher_error_set(err, USHER_EINVAL, NULL, field, "%s must be at most %d bytes", field,
                               APP_PASSWORD_MAX_BYTES);
    if (text_utf8_count(password, len) < 0)
        return usher_error_set(err, USHER_EINVAL, NULL, field, "%s is not valid UTF-8", field);
    return 0;
}

int app_password_hash(struct app_hash_pool *pool, char out[APP_PASSWORD_HASH_MAX],
                      const char *password, struct usher_error *err)
{
    USHER_ASSERT(password && strlen(password) <= APP_PASSWORD_MAX_BYTES);
    int64_t asked = clock_mono_ns();
    int rc = pool_acquire(pool, err);
    if (rc)
        return rc;
    int64_t started = clock_mono_ns();
    rc = hash_compute(out, password, strlen(password), err);
    pool_release(pool);
    hash_observe(pool, asked, started);
    return rc;
}

int app_password_verify(struct app_hash_pool *pool, bool *out_ok, bool *out_needs_rehash,
                        const char *hash, const char *password, struct usher_error *err)
{
    *out_ok = false;
    if (out_needs_rehash)
        *out_needs_rehash = false;
    USHER_ASSERT(password && strlen(password) <= APP_PASSWORD_MAX_BYTES);
    /* A stored value that is not an argon2id PHC string (corrupt, or a future format) is
     * verified against the dummy so the answer and its time are those of a wrong password. */
    bool is_real =
        hash && strlen(hash) < APP_PASSWORD_HASH_MAX && strncmp(hash, "$argon2id$", 10) == 0;
    const char *target = is_real ? hash : pool->dummy;
    int64_t asked = clock_mono_ns();
    int rc = pool_acquire(pool, err);
    if (rc)
        return rc;
    int64_t started = clock_mono_ns();
    bool match = crypto_pwhash_str_verify(target, password, strlen(password)) == 0;
    pool_release(pool);
    hash_observe(pool, asked, started);
    if (!is_real)
        return 0;
    *out_ok = match;
    if (match && out_needs_rehash)
        *out_needs_rehash = crypto_pwhash_str_needs_rehash(hash, APP_PASSWORD_OPSLIMIT,
                                                           (size_t)APP_PASSWORD_MEMLIMIT) != 0;
    return 0;
}

void app_hash_pool_load(struct app_hash_pool *pool, int *out_running, int *out_waiting)
{
    pthread_mutex_lock(&pool->lock);
    *out_running = pool->running;
    *out_waiting = pool->waiting;
    pthread_mutex_unlock(&pool->lock);
}
