/* The second factor's operations: enrolment and its confirmation, turning it off (by the person
 * or by a platform admin), the two-step sign-in, and the agency policy that requires one. Every
 * code check reserves a place in the sign-in throttle first. */
#include "app/second_factor.h"

#include <liboath/oath.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "app/access.h"
#include "app/account_int.h"
#include "app/audit.h"
#include "app/grants.h"
#include "app/password.h"
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

#define WRONG_PASSWORD_MESSAGE "the current password is not correct"
#define WRONG_CODE_MESSAGE     "the code is not correct"
#define TOKEN_INVALID_MESSAGE  "this sign-in has expired or was already completed; sign in again"

static int only_the_person(const struct app_call *call)
{
    if (call->actor->user_id && !call->actor->impersonator_id)
        return 0;
    return usher_error_set(call->err, USHER_EFORBIDDEN, NULL, NULL,
                           "only the person themselves manages their second factor");
}

/* The user row and factor row of user_id (the factor's found flag in *out_has), without holding
 * a connection afterwards. */
static int state_load(struct store_user *out_user, struct store_second_factor *out_sf,
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

/* One failed attempt: a throttle mark and an audit row, then the error already chosen. */
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

/* Proves user's current password with a place already reserved in *ticket: a wrong one counts
 * as a failed sign-in and answers as a password change does. */
static int password_prove(const struct app_call *call, struct app_throttle_ticket *ticket,
                          const struct store_user *user, const char *password)
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
    rc = attempt_failed(call, ticket, "second_factor.change_failed", user->id,
                        user->password_hash ? "wrong_password" : "no_password");
    if (rc)
        return usher_error_set(call->err, rc, NULL, NULL, "the attempt could not be recorded");
    return usher_error_set(call->err, USHER_EFORBIDDEN, "invalid_credentials", "current_password",
                           WRONG_PASSWORD_MESSAGE);
}

/* What a checked proof will take when the write commits. */
struct proof_match {
    bool is_recovery;
    int64_t step;                   /* a code's time step */
    char hash[CRYPTO_HASH_HEX + 1]; /* a recovery code's hash */
};

/* Checks proof against sf (code: liboath on the opened secret, after the last accepted step;
 * recovery code: its hash among the unused ones). False for a wrong, replayed or malformed one. */
static int proof_check(bool *out_ok, struct proof_match *m, const struct app_call *call,
                       const struct store_second_factor *sf,
                       const struct app_second_factor_proof *proof)
{
    *out_ok = false;
    memset(m, 0, sizeof(*m));
    if (proof->recovery_code) {
        char normal[APP_RECOVERY_CODE_SYMBOLS + 1];
        if (!app_recovery_code_normalize(normal, proof->recovery_code))
            return 0;
        app_recovery_code_hash(m->hash, call->app->secret, sf->user_id, normal);
        sodium_memzero(normal, sizeof(normal));
        const char **hashes = NULL;
        size_t count = 0, index = 0;
        struct store_conn *c = NULL;
        int rc = store_conn_get(call->app->store, &c, call->err);
        if (rc == 0)
            rc = store_recovery_codes_unused(&hashes, &count, c, call->arena, sf->user_id,
                                             call->err);
        store_conn_put(c);
        if (rc)
            return rc;
        m->is_recovery = true;
        *out_ok = app_recovery_code_find(&index, m->hash, hashes, count);
        return 0;
    }
    unsigned char secret[APP_SECOND_FACTOR_SECRET_BYTES];
    if (app_second_factor_open(secret, call->app->secret, sf->user_id, sf->secret_box) != 0) {
        log_msg(LOG_ERROR, "second_factor.secret_unreadable", "{s:s}", "user_id", sf->user_id);
        return usher_error_set(call->err, USHER_EINTERNAL, NULL, NULL,
                               "the second factor could not be read");
    }
    *out_ok = app_second_factor_code_check(&m->step, secret, proof->code, clock_now_ms()) &&
              m->step > sf->last_step;
    sodium_memzero(secret, sizeof(secret));
    return 0;
}

/* Takes the matched proof inside the write transaction on c: the step (only if still newer) or
 * the recovery code (only if still unused). *out_taken false when a concurrent use won. */
static int proof_take(bool *out_taken, struct store_conn *c, const struct app_call *call,
                      const char *user_id, const struct proof_match *m, bool enable)
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

static int proof_shape(const struct app_call *call, const struct app_second_factor_proof *proof)
{
    if ((proof->code != NULL) == (proof->recovery_code != NULL))
        return usher_error_set(call->err, USHER_EINVAL, NULL, "code",
                               "give either code or recovery_code");
    return 0;
}

static int wrong_code(const struct app_call *call, int code, const struct proof_match *m)
{
    return usher_error_set(call->err, code, "invalid_code",
                           m->is_recovery ? "recovery_code" : "code", WRONG_CODE_MESSAGE);
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
    if (rc == 0 && sf.enabled_at) {
        rc = usher_error_set(call->err, USHER_ECONFLICT, "second_factor_on", NULL,
                             "two-step verification is already on");
        goto done;
    }
    if (rc && rc != USHER_ENOTFOUND) {
        rc = usher_error_set(call->err, rc, NULL, NULL, "%s", lookup.message);
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

int app_second_factor_enrol(struct app_second_factor_enrolment *out, int64_t *out_retry_after,
                            const struct app_call *call, const char *current_password,
                            const char *device_cookie)
{
    struct app_throttle_ticket ticket = {0};
    struct store_user user;
    struct store_second_factor sf;
    unsigned char secret[APP_SECOND_FACTOR_SECRET_BYTES];
    char box[APP_SECOND_FACTOR_SECRET_BOX_MAX];
    bool has = false;
    int64_t retry_after = 0;
    int rc = only_the_person(call);
    if (rc)
        goto done;
    rc = state_load(&user, &sf, &has, call, call->actor->user_id);
    if (rc)
        goto done;
    if (has && sf.enabled_at) {
        rc = usher_error_set(call->err, USHER_ECONFLICT, "second_factor_on", NULL,
                             "two-step verification is already on");
        goto done;
    }
    rc = app_account_throttle_reserve(&ticket, &retry_after, call, user.email, device_cookie);
    if (rc)
        goto done;
    rc = password_prove(call, &ticket, &user, current_password);
    if (rc)
        goto done;
    randombytes_buf(secret, sizeof(secret));
    rc = app_second_factor_seal(box, sizeof(box), call->app->secret, user.id, secret,
                                sizeof(secret));
    if (rc) {
        rc = usher_error_set(call->err, USHER_EINTERNAL, NULL, NULL,
                             "the secret could not be sealed");
        goto done;
    }
    rc = enrol_write(call, &user, box);
    if (rc)
        goto done;
    rc = secret_base32(&out->secret, call, secret);
    if (rc)
        goto done;
    out->otpauth_url = app_second_factor_otpauth_url(call->arena, user.email, out->secret);
    rc = app_second_factor_qr_svg(&out->qr_svg, call->arena, out->otpauth_url, call->err);
    if (rc)
        goto done;
    app_throttle_success(call->app->throttle, &ticket);
done:
    app_throttle_release(call->app->throttle, &ticket);
    sodium_memzero(secret, sizeof(secret));
    if (out_retry_after)
        *out_retry_after = retry_after;
    return rc;
}

/* When and from where, for the emails. */
static struct app_second_factor_mail when_now(const struct app_call *call,
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

/* Turns the factor on with the matched code, makes the recovery codes (plain ones in *out),
 * writes the audit row and the email, in one transaction. */
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
                       const struct store_user *user, const struct proof_match *m, bool enable)
{
    struct store_conn *c = NULL;
    const char *hashes[APP_RECOVERY_CODE_COUNT];
    const char **codes = codes_make(hashes, call, user->id);
    int rc = app_call_begin(&c, call, true);
    if (rc)
        goto done;
    rc = proof_take(out_taken, c, call, user->id, m, enable);
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
        struct app_second_factor_mail mail = when_now(call, APP_SECOND_FACTOR_MAIL_ENABLED);
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

int app_second_factor_confirm(const char ***out_codes, int64_t *out_retry_after,
                              const struct app_call *call, const char *code,
                              const char *device_cookie)
{
    struct app_throttle_ticket ticket = {0};
    struct store_user user;
    struct store_second_factor sf;
    struct proof_match m;
    bool has = false, ok = false, taken = false;
    int64_t retry_after = 0;
    int rc = only_the_person(call);
    if (rc)
        goto done;
    rc = state_load(&user, &sf, &has, call, call->actor->user_id);
    if (rc)
        goto done;
    if (has && sf.enabled_at) {
        rc = usher_error_set(call->err, USHER_ECONFLICT, "second_factor_on", NULL,
                             "two-step verification is already on");
        goto done;
    }
    if (!has) {
        rc = usher_error_set(call->err, USHER_ECONFLICT, "no_enrolment", NULL,
                             "start the enrolment first (POST /api/v1/me/totp)");
        goto done;
    }
    rc = app_account_throttle_reserve(&ticket, &retry_after, call, user.email, device_cookie);
    if (rc)
        goto done;
    struct app_second_factor_proof proof = {.code = code};
    rc = proof_check(&ok, &m, call, &sf, &proof);
    if (rc)
        goto done;
    if (ok)
        rc = codes_write(out_codes, &taken, call, &user, &m, true);
    if (rc)
        goto done;
    if (!taken) {
        attempt_failed(call, &ticket, "second_factor.change_failed", user.id, "wrong_code");
        rc = wrong_code(call, USHER_EINVAL, &m);
        goto done;
    }
    app_throttle_success(call->app->throttle, &ticket);
    mail_sender_wake(call->app->mail);
done:
    app_throttle_release(call->app->throttle, &ticket);
    if (out_retry_after)
        *out_retry_after = retry_after;
    return rc;
}

int app_second_factor_codes_replace(const char ***out_codes, int64_t *out_retry_after,
                                    const struct app_call *call, const char *current_password,
                                    const char *code, const char *device_cookie)
{
    struct app_throttle_ticket ticket = {0};
    struct store_user user;
    struct store_second_factor sf;
    struct proof_match m;
    bool has = false, ok = false, taken = false;
    int64_t retry_after = 0;
    int rc = only_the_person(call);
    if (rc)
        goto done;
    rc = state_load(&user, &sf, &has, call, call->actor->user_id);
    if (rc)
        goto done;
    if (!has || !sf.enabled_at) {
        rc = usher_error_set(call->err, USHER_ECONFLICT, "second_factor_off", NULL,
                             "two-step verification is not on");
        goto done;
    }
    rc = app_account_throttle_reserve(&ticket, &retry_after, call, user.email, device_cookie);
    if (rc)
        goto done;
    rc = password_prove(call, &ticket, &user, current_password);
    if (rc)
        goto done;
    struct app_second_factor_proof proof = {.code = code};
    rc = proof_check(&ok, &m, call, &sf, &proof);
    if (rc)
        goto done;
    if (ok)
        rc = codes_write(out_codes, &taken, call, &user, &m, false);
    if (rc)
        goto done;
    if (!taken) {
        attempt_failed(call, &ticket, "second_factor.change_failed", user.id, "wrong_code");
        rc = wrong_code(call, USHER_EINVAL, &m);
        goto done;
    }
    app_throttle_success(call->app->throttle, &ticket);
done:
    app_throttle_release(call->app->throttle, &ticket);
    if (out_retry_after)
        *out_retry_after = retry_after;
    return rc;
}

/* --- turning it off --- */

/* Deletes user's factor with the audit row and the email, in the caller's transaction. */
static int factor_remove(struct store_conn *c, const struct app_call *call,
                         const struct store_user *user, const char *action,
                         enum app_second_factor_mail_kind kind)
{
    int64_t deleted = 0;
    int rc = store_second_factor_delete(&deleted, c, call->arena, user->id, call->err);
    if (rc)
        return rc;
    struct app_audit_event ev = {
        .action = action,
        .subject_user_id = user->id,
        .details = json_pack("{s:s}", "email", user->email),
    };
    rc = app_audit_record(c, call->arena, call->actor, &ev, call->err);
    if (rc)
        return rc;
    struct app_second_factor_mail mail = when_now(call, kind);
    return app_second_factor_mail_queue(c, call->arena, user, &mail, call->err);
}

static int disable_write(bool *out_taken, const struct app_call *call,
                         const struct store_user *user, const struct proof_match *m)
{
    struct store_conn *c = NULL;
    int rc = app_call_begin(&c, call, true);
    if (rc)
        goto done;
    rc = proof_take(out_taken, c, call, user->id, m, false);
    if (rc || !*out_taken)
        goto done;
    rc = factor_remove(c, call, user, "second_factor.disabled", APP_SECOND_FACTOR_MAIL_DISABLED);
    if (rc)
        goto done;
    rc = store_commit(c, call->err);
    if (rc)
        goto done;
    app_grants_refresh(call->app, c, user->id);
done:
    store_conn_put(c);
    return rc;
}

int app_second_factor_disable(int64_t *out_retry_after, const struct app_call *call,
                              const char *current_password,
                              const struct app_second_factor_proof *proof,
                              const char *device_cookie)
{
    struct app_throttle_ticket ticket = {0};
    struct store_user user;
    struct store_second_factor sf;
    struct proof_match m;
    bool has = false, ok = false, taken = false;
    int64_t retry_after = 0;
    int rc = only_the_person(call);
    if (rc)
        goto done;
    rc = proof_shape(call, proof);
    if (rc)
        goto done;
    rc = state_load(&user, &sf, &has, call, call->actor->user_id);
    if (rc)
        goto done;
    if (!has || !sf.enabled_at) {
        rc = usher_error_set(call->err, USHER_ECONFLICT, "second_factor_off", NULL,
                             "two-step verification is not on");
        goto done;
    }
    rc = app_account_throttle_reserve(&ticket, &retry_after, call, user.email, device_cookie);
    if (rc)
        goto done;
    rc = password_prove(call, &ticket, &user, current_password);
    if (rc)
        goto done;
    rc = proof_check(&ok, &m, call, &sf, proof);
    if (rc)
        goto done;
    if (ok)
        rc = disable_write(&taken, call, &user, &m);
    if (rc)
        goto done;
    if (!taken) {
        attempt_failed(call, &ticket, "second_factor.change_failed", user.id, "wrong_code");
        rc = wrong_code(call, USHER_EINVAL, &m);
        goto done;
    }
    app_throttle_success(call->app->throttle, &ticket);
    mail_sender_wake(call->app->mail);
done:
    app_throttle_release(call->app->throttle, &ticket);
    if (out_retry_after)
        *out_retry_after = retry_after;
    return rc;
}

int app_second_factor_reset(const struct app_call *call, const char *user_id)
{
    struct store_conn *c = NULL;
    struct store_user user;
    struct store_second_factor sf;
    struct usher_error lookup = {0};
    int rc = 0;
    if (!call->actor->is_platform_admin || call->actor->impersonator_id) {
        rc = usher_error_set(call->err, USHER_EFORBIDDEN, NULL, NULL,
                             "only platform admins reset a second factor");
        goto done;
    }
    rc = app_call_begin(&c, call, true);
    if (rc)
        goto done;
    rc = store_user_get(&user, c, call->arena, user_id, call->err);
    if (rc)
        goto done;
    rc = store_second_factor_get(&sf, c, call->arena, user_id, &lookup);
    if (rc == USHER_ENOTFOUND || (rc == 0 && !sf.enabled_at)) {
        rc = usher_error_set(call->err, USHER_ECONFLICT, "second_factor_off", NULL,
                             "this account has no second factor");
        goto done;
    }
    if (rc) {
        rc = usher_error_set(call->err, rc, NULL, NULL, "%s", lookup.message);
        goto done;
    }
    rc = factor_remove(c, call, &user, "second_factor.reset", APP_SECOND_FACTOR_MAIL_RESET);
    if (rc)
        goto done;
    rc = store_commit(c, call->err);
    if (rc)
        goto done;
    app_grants_refresh(call->app, c, user.id);
    mail_sender_wake(call->app->mail);
done:
    store_conn_put(c);
    return rc;
}

int app_second_factor_is_on(bool *out, const struct app_call *call, const char *user_id)
{
    struct store_conn *c = NULL;
    struct store_second_factor sf;
    struct usher_error lookup = {0};
    *out = false;
    int rc = store_conn_get(call->app->store, &c, call->err);
    if (rc)
        goto done;
    rc = store_second_factor_get(&sf, c, call->arena, user_id, &lookup);
    if (rc == 0)
        *out = sf.enabled_at != 0;
    else if (rc == USHER_ENOTFOUND)
        rc = 0;
    else
        rc = usher_error_set(call->err, rc, NULL, NULL, "%s", lookup.message);
done:
    store_conn_put(c);
    return rc;
}

bool app_second_factor_on_cached(struct app *app, const char *user_id)
{
    return app->authz && user_id && authz_user_second_factor(app->authz, user_id);
}

bool app_second_factor_required(struct app *app, const char *user_id)
{
    return app->authz && user_id && authz_second_factor_required(app->authz, user_id);
}

/* --- two-step sign-in --- */

/* The keyed hash a two-step token is stored as; the label keeps it apart from session hashes. */
static void mfa_token_hash(char out[CRYPTO_HASH_HEX + 1], const struct app *app, struct arena *a,
                           const char *token)
{
    const char *input = arena_printf(a, "mfa_sign_in:%s", token);
    crypto_hmac_hex(out, app->secret, sizeof(app->secret), input, strlen(input));
}

int app_second_factor_challenge(bool *out_challenged, struct app_session_new *out, struct app *app,
                                struct store_conn *c, struct arena *a,
                                const struct store_user *user, const char *via,
                                struct usher_error *err)
{
    struct store_second_factor sf;
    struct usher_error lookup = {0};
    *out_challenged = false;
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
    *out_challenged = true;
    return 0;
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
    rc = store_mfa_token_get(out_t, c, call->arena, token_hash, &lookup);
    if (rc == 0 && (strcmp(out_t->purpose, "sign_in") != 0 || out_t->expires_at <= clock_now_ms()))
        rc = USHER_ENOTFOUND;
    if (rc == 0)
        rc = store_user_get(out_user, c, call->arena, out_t->user_id, &lookup);
    if (rc == 0 && strcmp(out_user->status, STORE_USER_ACTIVE) != 0)
        rc = USHER_ENOTFOUND;
    if (rc == 0)
        rc = store_second_factor_get(out_sf, c, call->arena, out_t->user_id, &lookup);
    if (rc == 0 && !out_sf->enabled_at)
        rc = USHER_ENOTFOUND;
    if (rc == USHER_ENOTFOUND)
        rc = usher_error_set(call->err, USHER_EUNAUTH, "mfa_token_invalid", "mfa_token",
                             TOKEN_INVALID_MESSAGE);
    else if (rc)
        rc = usher_error_set(call->err, rc, NULL, NULL, "%s", lookup.message);
done:
    store_conn_put(c);
    return rc;
}

/* A wrong code on the second step: the throttle mark, one more failure on the token (gone at
 * the limit) and the "session.failed" row. */
static void mfa_failed(const struct app_call *call, struct app_throttle_ticket *ticket,
                       const struct store_mfa_token *t, const struct store_user *user)
{
    app_throttle_failure(call->app->throttle, ticket, clock_now_ms());
    struct store_conn *c = NULL;
    struct usher_error ignored = {0};
    struct app_call quiet = *call;
    quiet.err = &ignored;
    int rc = app_call_begin(&c, &quiet, true);
    if (rc == 0)
        rc = store_mfa_token_fail(c, call->arena, t->token_hash, APP_MFA_TOKEN_MAX_FAILURES,
                                  &ignored);
    if (rc == 0) {
        struct app_audit_event ev = {
            .action = "session.failed",
            .subject_user_id = user->id,
            .details = json_pack("{s:s, s:s}", "email", user->email, "reason", "wrong_code"),
        };
        rc = app_audit_record(c, call->arena, call->actor, &ev, &ignored);
    }
    if (rc == 0)
        rc = store_commit(c, &ignored);
    if (rc)
        log_msg(LOG_WARN, "second_factor.failure_unrecorded", "{s:s}", "message", ignored.message);
    store_conn_put(c);
}

/* Uses the token and the proof and starts the session, in one transaction. *out_result: 0 done,
 * 1 the token was used meanwhile, 2 the proof was taken meanwhile. */
static int mfa_write(struct app_session_new *out, int *out_result, const struct app_call *call,
                     const struct store_mfa_token *t, const struct store_user *user,
                     const struct proof_match *m)
{
    struct store_conn *c = NULL;
    int64_t used = 0;
    bool taken = false;
    *out_result = 0;
    int rc = app_call_begin(&c, call, true);
    if (rc)
        goto done;
    rc = store_mfa_token_use(&used, c, call->arena, t->token_hash, clock_now_ms(), call->err);
    if (rc)
        goto done;
    if (used != 1) {
        *out_result = 1;
        goto done;
    }
    rc = proof_take(&taken, c, call, user->id, m, false);
    if (rc)
        goto done;
    if (!taken) {
        *out_result = 2;
        goto done;
    }
    rc = app_account_session_start_with(out, call->app, c, call->arena, call->actor, user,
                                        m->is_recovery ? "recovery_code" : "totp", call->err);
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
    struct app_throttle_ticket ticket = {0};
    struct store_mfa_token t;
    struct store_user user;
    struct store_second_factor sf;
    struct proof_match m;
    char token_hash[CRYPTO_HASH_HEX + 1];
    bool ok = false;
    int result = 0;
    int64_t retry_after = 0;
    memset(out, 0, sizeof(*out));
    int rc = proof_shape(call, proof);
    if (rc)
        goto done;
    mfa_token_hash(token_hash, call->app, call->arena, mfa_token ? mfa_token : "");
    rc = mfa_load(&t, &user, &sf, call, token_hash);
    if (rc)
        goto done;
    rc = app_account_throttle_reserve(&ticket, &retry_after, call, user.email, device_cookie);
    if (rc)
        goto done;
    rc = proof_check(&ok, &m, call, &sf, proof);
    if (rc)
        goto done;
    if (ok)
        rc = mfa_write(out, &result, call, &t, &user, &m);
    if (rc)
        goto done;
    if (ok && result == 1) {
        rc = usher_error_set(call->err, USHER_EUNAUTH, "mfa_token_invalid", "mfa_token",
                             TOKEN_INVALID_MESSAGE);
        goto done;
    }
    if (!ok || result == 2) {
        mfa_failed(call, &ticket, &t, &user);
        rc = wrong_code(call, USHER_EUNAUTH, &m);
        goto done;
    }
    app_throttle_success(call->app->throttle, &ticket);
    app_device_cookie_new(out->device_cookie, call->app->secret, user.email);
done:
    app_throttle_release(call->app->throttle, &ticket);
    sodium_memzero(token_hash, sizeof(token_hash));
    if (out_retry_after)
        *out_retry_after = retry_after;
    return rc;
}

/* --- agency policy --- */

int app_agency_second_factor_set(struct store_agency *out, const struct app_call *call,
                                 const char *agency_id, bool required)
{
    struct store_conn *c = NULL;
    struct store_agency agency;
    int rc = app_call_begin(&c, call, true);
    if (rc)
        goto done;
    rc = store_agency_get(&agency, c, call->arena, agency_id, call->err);
    if (rc)
        goto done;
    rc = app_access_demand(c, call->arena, call->actor, agency_id, POLICY_SCOPE_AGENCY, agency_id,
                           "agency.manage", "agency", call->err);
    if (rc)
        goto done;
    if (agency.require_second_factor != required) {
        rc = store_agency_second_factor_set(c, call->arena, agency_id, required, call->err);
        if (rc)
            goto done;
        struct app_audit_event ev = {
            .agency_id = agency_id,
            .action = "agency.updated",
            .scope_type = "agency",
            .scope_id = agency_id,
            .details = json_pack("{s:b}", "require_second_factor", required),
        };
        rc = app_audit_record(c, call->arena, call->actor, &ev, call->err);
        if (rc)
            goto done;
    }
    rc = store_commit(c, call->err);
    if (rc)
        goto done;
    if (call->app->authz)
        authz_index_put_agency_policy(call->app->authz, agency_id, required);
    agency.require_second_factor = required;
    *out = agency;
done:
    store_conn_put(c);
    return rc;
}
