/* Password hashing: argon2id PHC strings computed in a bounded pool, so that a storm of
 * sign-ins waits for a few hashing slots (19 MiB each) instead of exhausting memory.
 *
 * Parameters: argon2id v1.3, t=2, m=19 MiB, p=1 (OWASP's minimum). A stored hash made with
 * weaker parameters is reported by app_password_verify so the caller can re-hash it. */
#ifndef USHER_APP_PASSWORD_H
#define USHER_APP_PASSWORD_H

#include <stdbool.h>
#include <stddef.h>

struct usher_error;
struct app_hash_pool;

#define APP_PASSWORD_MIN_BYTES 8
#define APP_PASSWORD_MAX_BYTES 1024
#define APP_PASSWORD_HASH_MAX  128 /* crypto_pwhash_STRBYTES, including the NUL */
#define APP_PASSWORD_OPSLIMIT  2ULL
#define APP_PASSWORD_MEMLIMIT  (19ULL * 1024 * 1024)
#define APP_PASSWORD_WAIT_MS   15000 /* longest wait for a slot before giving up with 503 */

/* Creates a pool letting `workers` hashes run at once and at most `queue` callers wait for a
 * slot; computes the dummy hash used for unknown users. *out is freed with
 * app_hash_pool_free. Errors: USHER_EINVAL (workers < 1 or queue < 0), USHER_EINTERNAL (the
 * dummy hash could not be computed). */
int app_hash_pool_new(struct app_hash_pool **out, int workers, int queue, struct usher_error *err);

/* Receives the figures of one hash or verification once its slot is released: the seconds it
 * waited for a slot and the seconds it spent hashing. It runs on the calling thread, possibly
 * on many threads at once, so it must be thread-safe and quick. */
typedef void (*app_hash_observer)(void *ctx, double wait_seconds, double hash_seconds);

/* Sets the observer of every later hash and verification (NULL: none), with ctx passed back
 * to it. Call before the pool is shared between threads: it is read without a lock. The
 * server wires it to its metrics; app itself knows nothing of them. */
void app_hash_pool_observe(struct app_hash_pool *pool, app_hash_observer observer, void *ctx);

/* Releases the pool; accepts NULL. No call may be running. */
void app_hash_pool_free(struct app_hash_pool *pool);

/* Checks a candidate password: APP_PASSWORD_MIN_BYTES..APP_PASSWORD_MAX_BYTES bytes of valid
 * UTF-8 without NUL, no composition rules. On failure: USHER_EINVAL (400 invalid_input)
 * naming field. */
int app_password_check(const char *password, const char *field, struct usher_error *err);

/* Hashes password into out (a NUL-terminated PHC string "$argon2id$v=19$m=19456,t=2,p=1$...").
 * The password must have passed app_password_check. Errors: USHER_EUNAVAIL (every slot busy
 * and the queue full, or the wait timed out: 503), USHER_EINTERNAL. */
int app_password_hash(struct app_hash_pool *pool, char out[APP_PASSWORD_HASH_MAX],
                      const char *password, struct usher_error *err);

/* Verifies password against hash. A NULL hash (unknown user, or a user without a password)
 * is verified against the pool's dummy hash, so the call costs the same and *out_ok is false.
 * *out_needs_rehash (may be NULL) is set when the password matched a hash made with other
 * parameters. A wrong password is not an error: the call returns 0 with *out_ok false.
 * Errors: USHER_EUNAVAIL (pool saturated), USHER_EINTERNAL. */
int app_password_verify(struct app_hash_pool *pool, bool *out_ok, bool *out_needs_rehash,
                        const char *hash, const char *password, struct usher_error *err);

/* How many hashes are running and how many callers wait (for tests and diagnostics). */
void app_hash_pool_load(struct app_hash_pool *pool, int *out_running, int *out_waiting);

#endif
