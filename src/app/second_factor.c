/* The second factor's shared steps (who may act, the state read, the password and the proof
 * checked under the sign-in throttle) and the enrolment: starting it, confirming it with a first
 * code, and replacing the recovery codes. */
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

#define WRONG_CODE_MESSAGE "the code is not correct"

int app_second_factor_self_check(const struct app_call *call)
{
    if (call->actor->user_id && !call->actor->impersonator_id)
        return 0;
    return usher_error_set(call->err, USHER_EFORBIDDEN, NULL, NULL,
                           "only the person themselves manages their second factor");
}

int app_second_factor_state_load(struct store_user *out_user, struct store_second_factor *out_sf,
                                 bool *out_has, const struct app_call *call, const char *user_id)
{
    struct store_conn *c = NULL;
    struct usher_error lookup = {0};
    *out_has = false;
    int rc = store_conn_get(call->app->store, &c, call->err);
    if (rc)
        goto done;
    rc = store_user_get(out_user, c, call->arena, user_id, call->err);
    if (rc)
        goto done;
    rc = store_second_factor_get(out_sf, c, call->arena, user_id, &lookup);
    if (rc == 0)
        *out_has = true;
    else if (rc == USHER_ENOTFOUND)
        rc = 0;
    else
        rc = usher_error_set(call->err, rc, NULL, NULL, "%s", lookup.message);
done:
    store_conn_put(c);
    return rc;
}

int app_second_factor_state_expect(struct store_user *out_user, struct store_second_factor *out_sf,
                                   bool *out_has, const struct app_call *call, bool want_on)
{
    int rc = app_second_factor_self_check(call);
    if (rc)
        return rc;
    rc = app_second_factor_state_load(out_user, out_sf, out_has, call, call->actor->user_id);
    if (rc)
        return rc;
    bool on = *out_has && out_sf->enabled_at;
    if (on && !want_on)
        return usher_error_set(call->err, USHER_ECONFLICT, "second_factor_on", NULL,
                               "two-step verification is already on");
    if (!on && want_on)
        return usher_error_set(call->err, USHER_ECONFLICT, "second_factor_off", NULL,
                               "two-step verification is not on");
    return 0;
}

/* Ends ticket as a failed attempt and writes an audit row action (subject user_id, details
 * {"reason": reason}) in a transaction of its own. Returns the store's error, if any (the
 * caller's error slot is left alone). */
static int attempt_failed(const struct app_call *call, struct app_throttle_ticket *ticket,
                          const char *action, const char *user_id, const char *reason)
{
    app_throttle_failure(call->app->throttle, ticket, clock_now_ms());
    struct store_conn *c = NULL;
    struct usher_error ignored = {0};
    int rc = app_call_begin(&c, call, true);
    if (rc)
        goto done;
    struct app_audit_event ev = {
        .action = action,
        .subject_user_id = user_id,
        .details = json_pack("{s:s}", "reason", reason),
    };
    rc = app_audit_record(c, call->arena, call->actor, &ev, &ignored);
    if (rc)
        goto done;
    rc = store_commit(c, &ignored);
done:
    store_conn_put(c);
    return rc;
}

/* Verifies user's current password with a place already reserved in ticket; a wrong one (or
 * none) counts as a failed sign-in, writes action and answers USHER_EFORBIDDEN
 * "invalid_credentials" naming current_password. */
static int password_prove(const struct app_call *call, struct app_throttle_ticket *ticket,
                          const struct store_user *user, const char *password, const char *action)
{
    bool ok = false, needs_rehash = false;
    int rc = app_password_check(password, "current_password", call->err);
    if (rc)
        return rc;
    rc = app_password_verify(call->app->hash_pool, &ok, &needs_rehash, user->password_hash,
                             password, call->err);
    if (rc)
        return rc;
    if (user->password_hash && ok)
        return 0;
    rc = attempt_failed(call, ticket, action, user->id,
                        user->password_hash ? "wrong_password" : "no_password");
    if (rc)
        return usher_error_set(call->err, rc, NULL, NULL, "the attempt could not be recorded");
    return usher_error_set(call->err, USHER_EFORBIDDEN, "invalid_credentials", "current_password",
                           APP_ACCOUNT_WRONG_PASSWORD);
}

/* A recovery code against the account's unused ones, every hash compared in constant time. */
static int recovery_check(bool *out_ok, struct app_second_factor_match *m,
                          const struct app_call *call, const char *user_id, const char *typed)
{
    char normal[APP_RECOVERY_CODE_SYMBOLS + 1];
    const char **hashes = NULL;
    size_t count = 0, index = 0;
    struct store_conn *c = NULL;
    int rc = 0;
    m->is_recovery = true;
    if (!app_recovery_code_normalize(normal, typed))
        goto done;
    app_recovery_code_hash(m->hash, call->app->secret, user_id, normal);
    rc = store_conn_get(call->app->store, &c, call->err);
    if (rc)
        goto done;
    rc = store_recovery_codes_unused(&hashes, &count, c, call->arena, user_id, call->err);
    if (rc)
        goto done;
    *out_ok = app_recovery_code_find(&index, m->hash, hashes, count);
done:
    store_conn_put(c);
    sodium_memzero(normal, sizeof(normal));
    return rc;
}

/* Checks proof against sf: a code with liboath on the opened secret, for a step after the last
 * accepted one; a recovery code by its hash among the unused ones (constant time). *out_ok
 * false for a wrong, replayed or malformed one; *m says what to take. Errors: USHER_EINTERNAL
 * when the secret does not open; store errors. */
static int proof_check(bool *out_ok, struct app_second_factor_match *m, const struct app_call *call,
                       const struct store_second_factor *sf,
                       const struct app_second_factor_proof *proof)
{
    unsigned char secret[APP_SECOND_FACTOR_SECRET_BYTES];
    int rc = 0;
    *out_ok = false;
    memset(m, 0, sizeof(*m));
    if (proof->recovery_code) {
        rc = recovery_check(out_ok, m, call, sf->user_id, proof->recovery_code);
        goto done;
    }
    if (app_second_factor_open(secret, call->app->secret, sf->user_id, sf->secret_box) != 0) {
        log_msg(LOG_ERROR, "second_factor.secret_unreadable", "{s:s}", "user_id", sf->user_id);
        rc = usher_error_set(call->err, USHER_EINTERNAL, NULL, NULL,
                             "the second factor could not be read");
        goto done;
    }
    *out_ok = app_second_factor_code_check(&m->step, secret, proof->code, clock_now_ms()) &&
              m->step > sf->last_step;
done:
    sodium_memzero(secret, sizeof(secret));
    return rc;
}

int app_second_factor_proof_take(bool *out_taken, struct store_conn *c, const struct app_call *call,
                                 const char *user_id, const struct app_second_factor_match *m,
                                 bool enable)
{
    int64_t changed = 0;
    int rc = m->is_recovery
                 ? store_recovery_code_use(&changed, c, call->arena, user_id, m->hash,
                                           clock_now_ms(), call->err)
                 : store_second_factor_step_take(&changed, c, call->arena, user_id, m->step, enable,
                                                 clock_now_ms(), call->err);
    *out_taken = changed == 1;
    return rc;
}

int app_second_factor_proof_shape(const struct app_call *call,
                                  const struct app_second_factor_proof *proof)
{
    if ((proof->code != NULL) == (proof->recovery_code != NULL))
        return usher_error_set(call->err, USHER_EINVAL, NULL, "code",
                               "give either code or recovery_code");
    return 0;
}

/* Sets the "invalid_code" error with code, naming the field m was about, and returns code. */
static int code_refused(const struct app_call *call, int code,
                        const struct app_second_factor_match *m)
{
    return usher_error_set(call->err, code, "invalid_code",
                           m->is_recovery ? "recovery_code" : "code", WRONG_CODE_MESSAGE);
}

/* A wrong or replayed proof, or one a concurrent use took: counted, audited, refused. */
static int guard_refused(const struct app_call *call, struct app_throttle_ticket *ticket,
                         const struct app_second_factor_guard *g,
                         const struct app_second_factor_match *m)
{
    if (g->failed)
        g->failed(call, ticket, g->ctx);
    else
        attempt_failed(call, ticket, g->failed_action, g->user->id, "wrong_code");
    return code_refused(call, g->refusal, m);
}

int app_second_factor_guard_run(int64_t *out_retry_after, const struct app_call *call,
                                const struct app_second_factor_guard *g)
{
    struct app_throttle_ticket ticket = {0};
    struct app_second_factor_match m = {0};
    bool ok = true, taken = false;
    int64_t retry_after = 0;
    int rc =
        app_account_throttle_reserve(&ticket, &retry_after, call, g->user->email, g->device_cookie);
    if (rc)
        goto done;
    if (g->password) {
        rc = password_prove(call, &ticket, g->user, g->password, g->failed_action);
        if (rc)
            goto done;
    }
    if (g->sf) {
        rc = proof_check(&ok, &m, call, g->sf, g->proof);
        if (rc)
            goto done;
    }
    if (ok)
        rc = g->write(&taken, call, g->sf ? &m : NULL, g->ctx);
    if (rc)
        goto done;
    if (!taken) {
        rc = guard_refused(call, &ticket, g, &m);
        goto done;
    }
    app_throttle_success(call->app->throttle, &ticket);
done:
    app_throttle_release(call->app->throttle, &ticket);
    if (out_retry_after)
        *out_retry_after = retry_after;
    return rc;
}

/* --- enrolment --- */

/* Stores a new unconfirmed secret for user, refusing when the factor is on. */
static int enrol_write(const struct app_call *call, const struct store_user *user, const char *box)
{
    struct store_conn *c = NULL;
    struct store_second_factor sf;
    struct usher_error lookup = {0};
    int rc = app_call_begin(&c, call, true);
    if (rc)
        goto done;
    rc = store_second_factor_get(&sf, c, call->arena, user->id, &lookup);
    if (rc && rc != USHER_ENOTFOUND) {
        rc = usher_error_set(call->err, rc, NULL, NULL, "%s", lookup.message);
        goto done;
    }
    bool found = rc == 0;
    if (found && sf.enabled_at) {
        rc = usher_error_set(call->err, USHER_ECONFLICT, "second_factor_on", NULL,
                             "two-step verification is already on");
        goto done;
    }
    struct store_second_factor fresh = {
        .user_id = user->id,
        .secret_box = box,
        .created_at = clock_now_ms(),
    };
    rc = store_second_factor_pending_put(c, call->arena, &fresh, call->err);
    if (rc)
        goto done;
    rc = store_commit(c, call->err);
done:
    store_conn_put(c);
    return rc;
}

/* The secret as base32 in call->arena. */
static int secret_base32(const char **out, const struct app_call *call,
                         const unsigned char secret[APP_SECOND_FACTOR_SECRET_BYTES])
{
    char *b32 = NULL;
    size_t len = 0;
    if (oath_base32_encode((const char *)secret, APP_SECOND_FACTOR_SECRET_BYTES, &b32, &len) !=
        OATH_OK)
        return usher_error_set(call->err, USHER_EINTERNAL, NULL, NULL,
                               "the secret could not be encoded");
    *out = arena_strdup(call->arena, b32);
    sodium_memzero(b32, len);
    free(b32);
    return 0;
}

/* The enrolment once the password is proved: a new secret, sealed and stored unconfirmed, and
 * what the authenticator app needs, in ctx (struct enrol_step). */
struct enrol_step {
    struct app_second_factor_enrolment *out;
    const struct store_user *user;
};

static int enrol_start(bool *out_taken, const struct app_call *call,
                       const struct app_second_factor_match *m, void *ctx)
{
    (void)m;
    const struct enrol_step *step = ctx;
    const struct store_user *user = step->user;
    unsigned char secret[APP_SECOND_FACTOR_SECRET_BYTES];
    char box[APP_SECOND_FACTOR_SECRET_BOX_MAX];
    randombytes_buf(secret, sizeof(secret));
    int rc = app_second_factor_seal(box, sizeof(box), call->app->secret, user->id, secret,
                                    sizeof(secret));
    if (rc) {
        rc = usher_error_set(call->err, USHER_EINTERNAL, NULL, NULL,
                             "the secret could not be sealed");
        goto done;
    }
    rc = enrol_write(call, user, box);
    if (rc)
        goto done;
    rc = secret_base32(&step->out->secret, call, secret);
    if (rc)
        goto done;
    step->out->otpauth_url =
        app_second_factor_otpauth_url(call->arena, user->email, step->out->secret);
    rc = app_second_factor_qr_svg(&step->out->qr_svg, call->arena, step->out->otpauth_url,
                                  call->err);
    if (rc)
        goto done;
    *out_taken = true;
done:
    sodium_memzero(secret, sizeof(secret));
    return rc;
}

int app_second_factor_enrol(struct app_second_factor_enrolment *out, int64_t *out_retry_after,
                            const struct app_call *call, const char *current_password,
                            const char *device_cookie)
{
    if (out_retry_after)
        *out_retry_after = 0;
    struct store_user user;
    struct store_second_factor sf;
    bool has = false;
    int rc = app_second_factor_state_expect(&user, &sf, &has, call, false);
    if (rc)
        goto done;
    /* A sign-in through a provider never asks for usher's code (the provider does its own
     * checks), so on an account without a password the factor would guard nothing. */
    if (!user.password_hash) {
        rc = usher_error_set(call->err, USHER_ECONFLICT, "second_factor_needs_password", NULL,
                             "you sign in through your organisation's provider, which handles "
                             "two-step verification; set a password first to use usher's");
        goto done;
    }
    struct enrol_step step = {out, &user};
    struct app_second_factor_guard g = {
        .user = &user,
        .password = current_password,
        .failed_action = "second_factor.change_failed",
        .refusal = USHER_EINVAL,
        .device_cookie = device_cookie,
        .write = enrol_start,
        .ctx = &step,
    };
    rc = app_second_factor_guard_run(out_retry_after, call, &g);
done:
    return rc;
}

struct app_second_factor_mail app_second_factor_mail_now(const struct app_call *call,
                                                         enum app_second_factor_mail_kind kind)
{
    struct app_second_factor_mail m = {
        .kind = kind,
        .at = clock_now_ms(),
        .source_ip = call->actor->source_ip,
        .user_agent = app_account_user_agent_clean(call->arena, call->actor->user_agent),
    };
    return m;
}

/* A new set of recovery codes for user_id: the plain codes (for the answer) and their hashes,
 * in call->arena. */
static const char **codes_make(const char **hashes, const struct app_call *call,
                               const char *user_id)
{
    const char **codes = arena_alloc(call->arena, APP_RECOVERY_CODE_COUNT * sizeof(*codes));
    for (size_t i = 0; i < APP_RECOVERY_CODE_COUNT; i++) {
        char plain[APP_RECOVERY_CODE_CHARS + 1], normal[APP_RECOVERY_CODE_SYMBOLS + 1];
        char *hash = arena_alloc(call->arena, CRYPTO_HASH_HEX + 1);
        app_recovery_code_new(plain);
        app_recovery_code_normalize(normal, plain);
        app_recovery_code_hash(hash, call->app->secret, user_id, normal);
        codes[i] = arena_strdup(call->arena, plain);
        hashes[i] = hash;
        sodium_memzero(plain, sizeof(plain));
        sodium_memzero(normal, sizeof(normal));
    }
    return codes;
}

/* Turns the factor on (enable) or keeps it on, taking the matched code, and replaces the
 * recovery codes (plain ones in *out), with the audit row and, when turning it on, the email,
 * in one transaction. */
static int codes_write(const char ***out, bool *out_taken, const struct app_call *call,
                       const struct store_user *user, const struct app_second_factor_match *m,
                       bool enable)
{
    struct store_conn *c = NULL;
    const char *hashes[APP_RECOVERY_CODE_COUNT];
    const char **codes = codes_make(hashes, call, user->id);
    int rc = app_call_begin(&c, call, true);
    if (rc)
        goto done;
    rc = app_second_factor_proof_take(out_taken, c, call, user->id, m, enable);
    if (rc || !*out_taken)
        goto done;
    rc = store_recovery_codes_replace(c, call->arena, user->id, hashes, APP_RECOVERY_CODE_COUNT,
                                      clock_now_ms(), call->err);
    if (rc)
        goto done;
    struct app_audit_event ev = {
        .action = enable ? "second_factor.enabled" : "second_factor.recovery_codes_replaced",
        .subject_user_id = user->id,
        .details =
            json_pack("{s:s, s:i}", "method", "totp", "recovery_codes", APP_RECOVERY_CODE_COUNT),
    };
    rc = app_audit_record(c, call->arena, call->actor, &ev, call->err);
    if (rc)
        goto done;
    if (enable) {
        struct app_second_factor_mail mail =
            app_second_factor_mail_now(call, APP_SECOND_FACTOR_MAIL_ENABLED);
        rc = app_second_factor_mail_queue(c, call->arena, user, &mail, call->err);
        if (rc)
            goto done;
    }
    rc = store_commit(c, call->err);
    if (rc)
        goto done;
    app_grants_refresh(call->app, c, user->id);
    *out = codes;
done:
    store_conn_put(c);
    return rc;
}

/* codes_write as the guarded change: ctx is a struct codes_step. */
struct codes_step {
    const char ***out;
    const struct store_user *user;
    bool enable;
};

static int codes_step_write(bool *out_taken, const struct app_call *call,
                            const struct app_second_factor_match *m, void *ctx)
{
    const struct codes_step *step = ctx;
    return codes_write(step->out, out_taken, call, step->user, m, step->enable);
}

int app_second_factor_confirm(const char ***out_codes, int64_t *out_retry_after,
                              const struct app_call *call, const char *code,
                              const char *device_cookie)
{
    if (out_retry_after)
        *out_retry_after = 0;
    struct store_user user;
    struct store_second_factor sf;
    bool has = false;
    int rc = app_second_factor_state_expect(&user, &sf, &has, call, false);
    if (rc)
        goto done;
    if (!has) {
        rc = usher_error_set(call->err, USHER_ECONFLICT, "no_enrolment", NULL,
                             "start the enrolment first (POST /api/v1/me/totp)");
        goto done;
    }
    struct app_second_factor_proof proof = {.code = code};
    struct codes_step step = {out_codes, &user, true};
    struct app_second_factor_guard g = {
        .user = &user,
        .sf = &sf,
        .proof = &proof,
        .failed_action = "second_factor.change_failed",
        .refusal = USHER_EINVAL,
        .device_cookie = device_cookie,
        .write = codes_step_write,
        .ctx = &step,
    };
    rc = app_second_factor_guard_run(out_retry_after, call, &g);
    if (rc)
        goto done;
    mail_sender_wake(call->app->mail);
done:
    return rc;
}

int app_second_factor_codes_replace(const char ***out_codes, int64_t *out_retry_after,
                                    const struct app_call *call, const char *current_password,
                                    const char *code, const char *device_cookie)
{
    if (out_retry_after)
        *out_retry_after = 0;
    struct store_user user;
    struct store_second_factor sf;
    bool has = false;
    int rc = app_second_factor_state_expect(&user, &sf, &has, call, true);
    if (rc)
        goto done;
    struct app_second_factor_proof proof = {.code = code};
    struct codes_step step = {out_codes, &user, false};
    struct app_second_factor_guard g = {
        .user = &user,
        .sf = &sf,
        .proof = &proof,
        .password = current_password,
        .failed_action = "second_factor.change_failed",
        .refusal = USHER_EINVAL,
        .device_cookie = device_cookie,
        .write = codes_step_write,
        .ctx = &step,
    };
    rc = app_second_factor_guard_run(out_retry_after, call, &g);
done:
    return rc;
}
