/* The two-step sign-in: the token a first step makes for an account with a second factor, and
 * the second step that turns it and a code (or a recovery code) into a session. */
#include <liboath/oath.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "app/access.h"
#include "app/account_int.h"
#include "app/audit.h"
#include "app/grants.h"
#include "app/password.h"
#include "app/second_factor.h"
#include "app/second_factor_int.h"
#include "app/throttle.h"
#include "authz/authz.h"
#include "base/clock.h"
#include "base/error.h"
#include "base/log.h"
#include "mail/mail.h"
#include "store/store_second_factor.h"
#include "store/store_tenancy.h"
#include "store/store_user.h"

#define TOKEN_INVALID_MESSAGE "this sign-in has expired or was already completed; sign in again"

/* --- two-step sign-in --- */

/* The keyed hash a two-step token is stored as; the label keeps it apart from session hashes. */
static void mfa_token_hash(char out[CRYPTO_HASH_HEX + 1], const struct app *app, struct arena *a,
                           const char *token)
{
    const char *input = arena_printf(a, "mfa_sign_in:%s", token);
    crypto_hmac_hex(out, app->secret, sizeof(app->secret), input, strlen(input));
}

int app_second_factor_challenge(struct app_session_new *out, struct app *app, struct store_conn *c,
                                struct arena *a, const struct store_user *user, const char *via,
                                struct usher_error *err)
{
    struct store_second_factor sf;
    struct usher_error lookup = {0};
    out->mfa_required = false;
    int rc = store_second_factor_get(&sf, c, a, user->id, &lookup);
    if (rc == USHER_ENOTFOUND || (rc == 0 && !sf.enabled_at))
        return 0;
    if (rc)
        return usher_error_set(err, rc, NULL, NULL, "%s", lookup.message);
    int64_t now = clock_now_ms();
    char hash[CRYPTO_HASH_HEX + 1];
    crypto_token_new(out->mfa_token);
    mfa_token_hash(hash, app, a, out->mfa_token);
    struct store_mfa_token t = {
        .token_hash = hash,
        .user_id = user->id,
        .purpose = "sign_in",
        .via = via,
        .created_at = now,
        .expires_at = now + APP_MFA_TOKEN_TTL_MS,
    };
    rc = store_mfa_token_insert(c, a, &t, now, err);
    if (rc)
        return rc;
    /* No session: nothing of one is left in out. */
    out->token[0] = out->token_hash[0] = out->csrf_token[0] = out->device_cookie[0] = '\0';
    out->expires_at = 0;
    out->mfa_required = true;
    out->mfa_expires_at = t.expires_at;
    out->user = *user;
    return 0;
}

/* Reads the token, its account and its second factor; USHER_ENOTFOUND when the token is not a
 * live sign-in token of an active account whose second factor is on. */
static int mfa_read(struct store_mfa_token *out_t, struct store_user *out_user,
                    struct store_second_factor *out_sf, struct store_conn *c, struct arena *a,
                    const char *token_hash, struct usher_error *lookup)
{
    int rc = store_mfa_token_get(out_t, c, a, token_hash, lookup);
    if (rc)
        return rc;
    if (strcmp(out_t->purpose, "sign_in") != 0 || out_t->expires_at <= clock_now_ms())
        return USHER_ENOTFOUND;
    rc = store_user_get(out_user, c, a, out_t->user_id, lookup);
    if (rc)
        return rc;
    if (strcmp(out_user->status, STORE_USER_ACTIVE) != 0)
        return USHER_ENOTFOUND;
    rc = store_second_factor_get(out_sf, c, a, out_t->user_id, lookup);
    if (rc)
        return rc;
    return out_sf->enabled_at ? 0 : USHER_ENOTFOUND;
}

/* The token and its active account, or the uniform mfa_token_invalid. */
static int mfa_load(struct store_mfa_token *out_t, struct store_user *out_user,
                    struct store_second_factor *out_sf, const struct app_call *call,
                    const char *token_hash)
{
    struct store_conn *c = NULL;
    struct usher_error lookup = {0};
    int rc = store_conn_get(call->app->store, &c, call->err);
    if (rc)
        goto done;
    rc = mfa_read(out_t, out_user, out_sf, c, call->arena, token_hash, &lookup);
    if (rc == USHER_ENOTFOUND)
        rc = usher_error_set(call->err, USHER_EUNAUTH, "mfa_token_invalid", "mfa_token",
                             TOKEN_INVALID_MESSAGE);
    else if (rc)
        rc = usher_error_set(call->err, rc, NULL, NULL, "%s", lookup.message);
done:
    store_conn_put(c);
    return rc;
}

/* The second step's sign-in: the token, its account and, once the proof is taken, the new
 * session. */
struct mfa_step {
    struct app_session_new *out;
    const struct store_mfa_token *t;
    const struct store_user *user;
};

/* A wrong code on the second step: the throttle mark, one more failure on the token (gone at
 * the limit) and the "session.failed" row. ctx is a struct mfa_step. */
static void mfa_failed(const struct app_call *call, struct app_throttle_ticket *ticket, void *ctx)
{
    const struct mfa_step *step = ctx;
    const struct store_mfa_token *t = step->t;
    const struct store_user *user = step->user;
    app_throttle_failure(call->app->throttle, ticket, clock_now_ms());
    struct store_conn *c = NULL;
    struct usher_error ignored = {0};
    struct app_call quiet = *call;
    quiet.err = &ignored;
    int rc = app_call_begin(&c, &quiet, true);
    if (rc)
        goto done;
    rc = store_mfa_token_fail(c, call->arena, t->token_hash, APP_MFA_TOKEN_MAX_FAILURES, &ignored);
    if (rc)
        goto done;
    struct app_audit_event ev = {
        .action = "session.failed",
        .subject_user_id = user->id,
        .details = json_pack("{s:s, s:s}", "email", user->email, "reason", "wrong_code"),
    };
    rc = app_audit_record(c, call->arena, call->actor, &ev, &ignored);
    if (rc)
        goto done;
    rc = store_commit(c, &ignored);
done:
    if (rc)
        log_msg(LOG_WARN, "second_factor.failure_unrecorded", "{s:s}", "message", ignored.message);
    store_conn_put(c);
}

/* Uses the token and the proof and starts the session, in one transaction (the guarded change;
 * ctx is a struct mfa_step). A token used meanwhile is the uniform mfa_token_invalid, not a
 * failed attempt. */
static int mfa_write(bool *out_taken, const struct app_call *call,
                     const struct app_second_factor_match *m, void *ctx)
{
    const struct mfa_step *step = ctx;
    struct store_conn *c = NULL;
    int64_t used = 0;
    int rc = app_call_begin(&c, call, true);
    if (rc)
        goto done;
    rc = store_mfa_token_use(&used, c, call->arena, step->t->token_hash, clock_now_ms(), call->err);
    if (rc)
        goto done;
    if (used != 1) {
        rc = usher_error_set(call->err, USHER_EUNAUTH, "mfa_token_invalid", "mfa_token",
                             TOKEN_INVALID_MESSAGE);
        goto done;
    }
    rc = app_second_factor_proof_take(out_taken, c, call, step->user->id, m, false);
    if (rc || !*out_taken)
        goto done;
    rc = app_account_session_start_with(step->out, call->app, c, call->arena, call->actor,
                                        step->user, m->is_recovery ? "recovery_code" : "totp",
                                        call->err);
    if (rc)
        goto done;
    rc = store_commit(c, call->err);
done:
    store_conn_put(c);
    return rc;
}

int app_second_factor_sign_in(struct app_session_new *out, int64_t *out_retry_after,
                              const struct app_call *call, const char *mfa_token,
                              const struct app_second_factor_proof *proof,
                              const char *device_cookie)
{
    struct store_mfa_token t;
    struct store_user user;
    struct store_second_factor sf;
    char token_hash[CRYPTO_HASH_HEX + 1];
    memset(out, 0, sizeof(*out));
    if (out_retry_after)
        *out_retry_after = 0;
    int rc = app_second_factor_proof_shape(call, proof);
    if (rc)
        goto done;
    mfa_token_hash(token_hash, call->app, call->arena, mfa_token ? mfa_token : "");
    rc = mfa_load(&t, &user, &sf, call, token_hash);
    if (rc)
        goto done;
    struct mfa_step step = {out, &t, &user};
    struct app_second_factor_guard g = {
        .user = &user,
        .sf = &sf,
        .proof = proof,
        .refusal = USHER_EUNAUTH,
        .device_cookie = device_cookie,
        .write = mfa_write,
        .failed = mfa_failed,
        .ctx = &step,
    };
    rc = app_second_factor_guard_run(out_retry_after, call, &g);
    if (rc)
        goto done;
    app_device_cookie_new(out->device_cookie, call->app->secret, user.email);
done:
    sodium_memzero(token_hash, sizeof(token_hash));
    return rc;
}
