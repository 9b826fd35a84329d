/* Second factors: the sealed TOTP secret of an account and its last accepted time step, the
 * account's recovery codes (keyed hashes) and the tokens of two-step sign-ins. Strings returned
 * live in the caller's arena. Errors are those of store.h. */
#ifndef USHER_STORE_STORE_SECOND_FACTOR_H
#define USHER_STORE_STORE_SECOND_FACTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

/* One row of second_factors. */
struct store_second_factor {
    const char *user_id;
    const char *secret_box; /* hex of nonce then ciphertext (app/second_factor.c) */
    int64_t created_at;
    int64_t enabled_at; /* 0 while the enrolment is unconfirmed */
    int64_t last_step;  /* newest accepted time step; -1 before any */
};

/* Reads the row of user_id. Errors: USHER_ENOTFOUND when the account has none. */
int store_second_factor_get(struct store_second_factor *out, struct store_conn *c, struct arena *a,
                            const char *user_id, struct usher_error *err);

/* Replaces the row of sf->user_id by an unconfirmed one (enabled_at NULL, last_step -1). */
int store_second_factor_pending_put(struct store_conn *c, struct arena *a,
                                    const struct store_second_factor *sf, struct usher_error *err);

/* Takes time step `step` for user_id: sets last_step when it is below step and the factor is
 * on (enable false) or, with enable true, when the enrolment is unconfirmed, which it then
 * turns on at `now`. *out_taken is 1 when the row changed, 0 otherwise (a replayed or older
 * step, or a state that does not match): of two concurrent uses of one code, one wins. */
int store_second_factor_step_take(int64_t *out_taken, struct store_conn *c, struct arena *a,
                                  const char *user_id, int64_t step, bool enable, int64_t now,
                                  struct usher_error *err);

/* Deletes the factor, the recovery codes and the pending two-step tokens of user_id;
 * *out_deleted (may be NULL) is 1 when there was a factor. */
int store_second_factor_delete(int64_t *out_deleted, struct store_conn *c, struct arena *a,
                               const char *user_id, struct usher_error *err);

/* Replaces the recovery codes of user_id by the count hashes given, made at `now`. */
int store_recovery_codes_replace(struct store_conn *c, struct arena *a, const char *user_id,
                                 const char *const *hashes, size_t count, int64_t now,
                                 struct usher_error *err);

/* The hashes of the unused recovery codes of user_id, *out an array in a (NULL when none). */
int store_recovery_codes_unused(const char ***out, size_t *out_count, struct store_conn *c,
                                struct arena *a, const char *user_id, struct usher_error *err);

/* Marks the code with code_hash of user_id used at `now` if it is unused; *out_used is 1 when
 * it was. */
int store_recovery_code_use(int64_t *out_used, struct store_conn *c, struct arena *a,
                            const char *user_id, const char *code_hash, int64_t now,
                            struct usher_error *err);

/* One row of mfa_tokens. */
struct store_mfa_token {
    const char *token_hash;
    const char *user_id;
    const char *purpose; /* "sign_in" */
    const char *via;     /* what proved the first step: "password" or "password_reset" */
    int64_t failures;
    int64_t created_at;
    int64_t expires_at;
};

/* Deletes the tokens that expired before `now` (every account's), then inserts t. */
int store_mfa_token_insert(struct store_conn *c, struct arena *a, const struct store_mfa_token *t,
                           int64_t now, struct usher_error *err);

/* Reads the token with token_hash. Errors: USHER_ENOTFOUND. */
int store_mfa_token_get(struct store_mfa_token *out, struct store_conn *c, struct arena *a,
                        const char *token_hash, struct usher_error *err);

/* Deletes the token with token_hash if it has not expired at `now`; *out_used is 1 when it did
 * (only one of two concurrent uses does). */
int store_mfa_token_use(int64_t *out_used, struct store_conn *c, struct arena *a,
                        const char *token_hash, int64_t now, struct usher_error *err);

/* Adds one failure to the token with token_hash and deletes it once it has max_failures. */
int store_mfa_token_fail(struct store_conn *c, struct arena *a, const char *token_hash,
                         int64_t max_failures, struct usher_error *err);

#endif
