/* Erasing an account, by the person (with their password, and a second-factor code when it is
 * on; without a password, by a recent company sign-in) or by a platform admin (with the address
 * typed as confirmation): the guards, then one transaction that blanks the audit log's personal
 * rows about them, deletes the account and every row holding its address, and writes
 * "member.removed" in each agency and "user.erased" on the platform chain. */
#include "app/erasure.h"

#include <sodium.h>
#include <string.h>

#include "app/account_int.h"
#include "app/audit.h"
#include "app/grants.h"
#include "app/password.h"
#include "app/second_factor_int.h"
#include "app/tokens.h"
#include "base/clock.h"
#include "base/text.h"
#include "store/store_audit.h"
#include "store/store_erasure.h"
#include "store/store_second_factor.h"
#include "store/store_user.h"

/* Who asked for an erasure ("self_service" or "platform_admin") and what proved the request:
 * "password" (the account's password, its second factor being off), "totp" or
 * "recovery_code" (the password and that proof of the second factor), "recent_company_sign_in"
 * (an account without a password, by a session its company login made moments before) or
 * "platform_admin" (a platform admin's session and the address typed to confirm). */
struct erase_how {
    const char *via;
    const char *proof;
};

/* Refuses while target is the only owner of an agency, or the last active platform admin. */
static int erase_guard(const struct app_call *call, struct store_conn *c,
                       const struct store_user *target)
{
    const char *agency = NULL;
    int rc =
        store_erasure_sole_owner(&agency, c, call->arena, target->id, clock_now_ms(), call->err);
    if (rc)
        return rc;
    if (agency)
        return usher_error_set(call->err, USHER_ECONFLICT, "last_owner", NULL,
                               "the account is the only owner of agency %s: make someone else "
                               "an owner first",
                               agency);
    if (!target->is_platform_admin)
        return 0;
    int64_t others = 0;
    rc = store_user_active_admin_count(&others, c, call->arena, target->id, call->err);
    if (rc)
        return rc;
    if (others == 0)
        return usher_error_set(call->err, USHER_ECONFLICT, "last_platform_admin", NULL,
                               "the platform would be left without an active platform admin");
    return 0;
}

/* The audit entries of an erasure, written after the personal rows were blanked: one
 * "member.removed" per agency (so each agency's log shows the member leaving) and
 * "user.erased", which names the kind of proof that allowed it (never the proof itself). None
 * carries an address or a name. */
static int erase_record(const struct app_call *call, struct store_conn *c, const char *user_id,
                        const struct erase_how *how, const char *const *agencies,
                        size_t agency_count, const struct store_erasure_counts *n,
                        int64_t audit_rows)
{
    for (size_t i = 0; i < agency_count; i++) {
        struct app_audit_event ev = {
            .agency_id = agencies[i],
            .action = "member.removed",
            .subject_user_id = user_id,
            .scope_type = "agency",
            .scope_id = agencies[i],
            .details = json_pack("{s:s}", "reason", "account_erased"),
        };
        int rc = app_audit_record(c, call->arena, call->actor, &ev, call->err);
        if (rc)
            return rc;
    }
    struct app_audit_event ev = {
        .action = "user.erased",
        .subject_user_id = user_id,
        .details = json_pack(
            "{s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I}", "via", how->via, "proof", how->proof,
            "agencies", (json_int_t)agency_count, "grants", (json_int_t)n->grants, "invitations",
            (json_int_t)n->invitations, "password_resets", (json_int_t)n->password_resets,
            "messages", (json_int_t)n->messages, "audit_personal_rows", (json_int_t)audit_rows),
    };
    return app_audit_record(c, call->arena, call->actor, &ev, call->err);
}

/* The erasure itself, in one write transaction; then the decision index and the token cache
 * forget the person at once (other instances through the change feed). proof, when not NULL,
 * is a checked second-factor proof taken in the same transaction: *out_taken is false (and
 * nothing is erased) when a concurrent use of the same code won. */
static int erase_run(bool *out_taken, const struct app_call *call, const char *user_id,
                     const struct erase_how *how, const struct app_second_factor_match *proof)
{
    struct store_conn *c = NULL;
    struct store_user target;
    const char **agencies = NULL;
    size_t agency_count = 0;
    struct store_erasure_counts n;
    int64_t audit_rows = 0;
    *out_taken = proof == NULL;
    int rc = app_call_begin(&c, call, true);
    if (rc)
        goto done;
    if (proof) {
        rc = app_second_factor_proof_take(out_taken, c, call, user_id, proof, false);
        if (rc || !*out_taken)
            goto done;
    }
    rc = store_user_get(&target, c, call->arena, user_id, call->err);
    if (rc)
        goto done;
    rc = erase_guard(call, c, &target);
    if (rc)
        goto done;
    rc = store_erasure_agencies(&agencies, &agency_count, c, call->arena, target.id, call->err);
    if (rc)
        goto done;
    rc = store_audit_personal_erase(&audit_rows, c, call->arena, target.id, target.email,
                                    clock_now_ms(), call->err);
    if (rc)
        goto done;
    rc = store_erasure_remove(&n, c, call->arena, target.id, target.email, call->err);
    if (rc)
        goto done;
    rc = erase_record(call, c, target.id, how, agencies, agency_count, &n, audit_rows);
    if (rc)
        goto done;
    rc = store_commit(c, call->err);
    if (rc)
        goto done;
    app_grants_refresh(call->app, c, target.id);
    app_token_cache_clear(call->app->token_cache);
done:
    store_conn_put(c);
    return rc;
}

/* erase_run for the person themselves, as the change their password and second factor guard:
 * ctx is the account's id. */
static int erase_self_write(bool *out_taken, const struct app_call *call,
                            const struct app_second_factor_match *m, void *ctx)
{
    const struct store_user *user = ctx;
    /* The password was proved first; with the factor on, so was a code or a recovery code. */
    struct erase_how how = {"self_service", "password"};
    if (m)
        how.proof = m->is_recovery ? "recovery_code" : "totp";
    return erase_run(out_taken, call, user->id, &how, m);
}

int64_t app_erasure_recent_sign_in_until(const struct app_actor *actor)
{
    if (!actor || !actor->user_id || actor->impersonator_id || !actor->session_method ||
        strcmp(actor->session_method, "oidc") != 0 || !actor->session_connection_id ||
        actor->session_started_at <= 0)
        return 0;
    return actor->session_started_at + APP_ERASURE_RECENT_SIGN_IN_MS;
}

/* A refused deletion without a password: "user.erase_failed" with reason, in a transaction
 * of its own, then USHER_EFORBIDDEN "recent_sign_in_required". */
static int erase_refuse_not_recent(const struct app_call *call, const char *user_id,
                                   const char *reason)
{
    struct store_conn *c = NULL;
    struct app_audit_event ev = {
        .action = "user.erase_failed",
        .subject_user_id = user_id,
        .details = json_pack("{s:s}", "reason", reason),
    };
    int rc = app_call_begin(&c, call, true);
    if (rc)
        goto done;
    rc = app_audit_record(c, call->arena, call->actor, &ev, call->err);
    if (rc)
        goto done;
    rc = store_commit(c, call->err);
    if (rc)
        goto done;
    rc = usher_error_set(call->err, USHER_EFORBIDDEN, "recent_sign_in_required", NULL,
                         "your account has no password: sign in again with your company login, "
                         "then delete the account within %d minutes",
                         APP_ERASURE_RECENT_SIGN_IN_MS / 60000);
done:
    store_conn_put(c);
    return rc;
}

/* The deletion of an account without a password, asked without one: the session must have
 * been started by a company sign-in within the window. */
static int erase_self_by_sign_in(const struct app_call *call, const struct store_user *user)
{
    int64_t until = app_erasure_recent_sign_in_until(call->actor);
    if (until == 0)
        return erase_refuse_not_recent(call, user->id, "no_company_sign_in");
    if (clock_now_ms() > until)
        return erase_refuse_not_recent(call, user->id, "sign_in_not_recent");
    bool taken = false;
    const struct erase_how how = {"self_service", "recent_company_sign_in"};
    return erase_run(&taken, call, user->id, &how, NULL);
}

int app_erasure_self(int64_t *out_retry_after, const struct app_call *call,
                     const struct app_erasure_self *in)
{
    struct store_user user;
    struct store_second_factor sf;
    bool has_factor = false;
    if (out_retry_after)
        *out_retry_after = 0;
    int rc = 0;
    if (!call->actor->user_id || call->actor->impersonator_id || !in->session_hash) {
        rc = usher_error_set(call->err, USHER_EFORBIDDEN, NULL, NULL,
                             "only the person themselves, signed in, deletes their account");
        goto done;
    }
    rc = app_second_factor_state_load(&user, &sf, &has_factor, call, call->actor->user_id);
    if (rc)
        goto done;
    /* No password to prove: the provider's recent sign-in is the proof (it ran its own
     * checks, second factor included, as for every sign-in through it). A password given
     * anyway goes the password way below, and is refused there as one that does not match. */
    if (!user.password_hash && !in->current_password) {
        rc = erase_self_by_sign_in(call, &user);
        goto done;
    }
    rc = app_password_check(in->current_password, "current_password", call->err);
    if (rc)
        goto done;
    has_factor = has_factor && sf.enabled_at;
    if (has_factor) {
        rc = app_second_factor_proof_shape(call, &in->proof);
        if (rc)
            goto done;
    }
    struct app_second_factor_guard g = {
        .user = &user,
        .sf = has_factor ? &sf : NULL,
        .proof = &in->proof,
        .password = in->current_password,
        .failed_action = "user.erase_failed",
        .refusal = USHER_EINVAL,
        .device_cookie = in->device_cookie,
        .write = erase_self_write,
        .ctx = &user,
    };
    rc = app_second_factor_guard_run(out_retry_after, call, &g);
done:
    return rc;
}

int app_erasure_user(const struct app_call *call, const char *user_id, const char *confirm)
{
    struct store_conn *c = NULL;
    struct store_user target;
    const char *typed = NULL;
    int rc = 0;
    if (!call->actor->is_platform_admin || call->actor->impersonator_id) {
        rc = usher_error_set(call->err, USHER_EFORBIDDEN, NULL, NULL,
                             "only platform admins erase accounts");
        goto done;
    }
    rc = store_conn_get(call->app->store, &c, call->err);
    if (rc)
        goto done;
    rc = store_user_get(&target, c, call->arena, user_id, call->err);
    store_conn_put(c);
    c = NULL;
    if (rc)
        goto done;
    if (call->actor->user_id && strcmp(call->actor->user_id, target.id) == 0) {
        rc = usher_error_set(call->err, USHER_ECONFLICT, "cannot_erase_self", NULL,
                             "you cannot erase your own account here: delete it from your "
                             "profile (DELETE /me)");
        goto done;
    }
    typed = text_trim(call->arena, confirm ? confirm : "");
    char *lower = arena_strdup(call->arena, typed);
    for (char *p = lower; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    if (strcmp(lower, target.email) != 0) {
        rc = usher_error_set(call->err, USHER_EINVAL, "confirm_mismatch", "confirm",
                             "confirm must be the account's email address");
        goto done;
    }
    bool taken = false;
    const struct erase_how how = {"platform_admin", "platform_admin"};
    rc = erase_run(&taken, call, target.id, &how, NULL);
done:
    store_conn_put(c);
    return rc;
}
