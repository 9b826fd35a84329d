/* Turning the second factor off (by the person, or by a platform admin for a lost one), reading
 * whether it is on, and the agency policy that requires one. */
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
#include "app/tenancy.h"
#include "app/throttle.h"
#include "authz/authz.h"
#include "base/clock.h"
#include "base/error.h"
#include "base/log.h"
#include "mail/mail.h"
#include "store/store_second_factor.h"
#include "store/store_tenancy.h"
#include "store/store_user.h"

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
    struct app_second_factor_mail mail = app_second_factor_mail_now(call, kind);
    return app_second_factor_mail_queue(c, call->arena, user, &mail, call->err);
}

/* Takes the proof and turns the factor off, in one transaction (a guarded change). */
static int disable_write(bool *out_taken, const struct app_call *call,
                         const struct app_second_factor_match *m, void *ctx)
{
    const struct store_user *user = ctx;
    struct store_conn *c = NULL;
    int rc = app_call_begin(&c, call, true);
    if (rc)
        goto done;
    rc = app_second_factor_proof_take(out_taken, c, call, user->id, m, false);
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
    struct store_user user;
    struct store_second_factor sf;
    bool has = false;
    if (out_retry_after)
        *out_retry_after = 0;
    int rc = app_second_factor_self_check(call);
    if (rc)
        goto done;
    rc = app_second_factor_proof_shape(call, proof);
    if (rc)
        goto done;
    rc = app_second_factor_state_expect(&user, &sf, &has, call, true);
    if (rc)
        goto done;
    struct app_second_factor_guard g = {
        .user = &user,
        .sf = &sf,
        .proof = proof,
        .password = current_password,
        .failed_action = "second_factor.change_failed",
        .refusal = USHER_EINVAL,
        .device_cookie = device_cookie,
        .write = disable_write,
        .ctx = &user,
    };
    rc = app_second_factor_guard_run(out_retry_after, call, &g);
    if (rc)
        goto done;
    mail_sender_wake(call->app->mail);
done:
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

/* --- agency policy --- */

int app_agency_second_factor_set(struct store_agency *out, const struct app_call *call,
                                 const char *agency_id, bool required)
{
    struct app_agency_change change = {
        .second_factor = required ? APP_AGENCY_SECOND_FACTOR_ON : APP_AGENCY_SECOND_FACTOR_OFF,
    };
    return app_agency_update(out, call, agency_id, &change);
}
