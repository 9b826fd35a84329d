/* Impersonation: gathering what the rights check needs (the rule itself is in app/access.c:
 * users.manage wherever the target has access and every authority permission the target holds),
 * the session that carries both people, and its end. */
#include "app/impersonation.h"

#include <string.h>

#include "app/audit.h"
#include "policy/catalogue.h"
#include "policy/decide.h"
#include "app/access.h"
#include "app/tenancy.h"
#include "base/clock.h"
#include "config/config.h"
#include "store/store_member.h"
#include "store/store_tenancy.h"

static int forbidden(struct usher_error *err, const char *why)
{
    return usher_error_set(err, USHER_EFORBIDDEN, "impersonation_forbidden", NULL, "%s", why);
}

/* Every scope of the agency as a decision target (arena-owned). */
static int agency_targets(struct policy_decide_target **out, size_t *count, struct store_conn *c,
                          struct arena *a, const char *agency_id, struct usher_error *err)
{
    struct store_rows envs, bots;
    int rc = store_agency_scopes(&envs, &bots, c, a, agency_id, err);
    if (rc)
        return rc;
    size_t n = 0;
    struct policy_decide_target *t = arena_alloc(a, (1 + envs.count + bots.count) * sizeof(*t));
    t[n++] = (struct policy_decide_target){POLICY_SCOPE_AGENCY, agency_id, NULL};
    for (size_t i = 0; i < envs.count; i++)
        t[n++] = (struct policy_decide_target){POLICY_SCOPE_ENVIRONMENT, store_cell(&envs, i, 0)->s,
                                               NULL};
    for (size_t i = 0; i < bots.count; i++)
        t[n++] = (struct policy_decide_target){POLICY_SCOPE_BOT, store_cell(&bots, i, 0)->s,
                                               store_cell(&bots, i, 1)->s};
    *out = t;
    *count = n;
    return 0;
}

/* May impersonator (a user row) view as target in agency_id? Reads on c; the rule itself is
 * app_access_may_impersonate. */
static int allowed(struct store_conn *c, struct arena *a, const struct store_user *impersonator,
                   const struct store_user *target, const char *agency_id, struct usher_error *err)
{
    if (strcmp(impersonator->status, STORE_USER_ACTIVE) != 0)
        return forbidden(err, "your account is not active");
    struct app_actor as_impersonator = {.user_id = impersonator->id,
                                        .is_platform_admin = impersonator->is_platform_admin};
    struct app_access acc;
    int rc = app_access_load(&acc, c, a, &as_impersonator, agency_id, "agency", err);
    if (rc)
        return rc;
    struct policy_decide_grants theirs = {0};
    struct policy_decide_target *targets = NULL;
    size_t count = 0;
    /* Oneself and platform admins are refused by the rule itself; nothing to read for them. */
    if (strcmp(impersonator->id, target->id) != 0 && !target->is_platform_admin) {
        if (strcmp(target->status, STORE_USER_ACTIVE) != 0)
            return forbidden(err, "a disabled user cannot be impersonated");
        bool member = false;
        rc = store_agency_has_member(&member, c, a, agency_id, target->id, err);
        if (rc)
            return rc;
        if (!member)
            return usher_error_set(err, USHER_ENOTFOUND, NULL, NULL, "member not found");
        rc = app_access_member_grants(&theirs, &acc, c, a, target->id, err);
        if (rc)
            return rc;
        rc = agency_targets(&targets, &count, c, a, agency_id, err);
        if (rc)
            return rc;
    }
    return app_access_may_impersonate(&acc, target->id, target->is_platform_admin, &theirs, targets,
                                      count, err);
}

/* An impersonation session: the target's, naming the impersonator and the agency. */
static int session_insert(struct app_session_new *out, const char **out_public_id, struct app *app,
                          struct store_conn *c, struct arena *a, const struct store_user *target,
                          const char *impersonator_id, const char *agency_id, const char *reason,
                          struct usher_error *err)
{
    int64_t now = clock_now_ms();
    crypto_token_new(out->token);
    crypto_hmac_hex(out->token_hash, app->secret, sizeof(app->secret), out->token,
                    strlen(out->token));
    app_account_csrf_token(out->csrf_token, app, out->token_hash);
    int64_t limit = app->cfg->session_absolute_seconds < APP_IMPERSONATION_MAX_S
                        ? app->cfg->session_absolute_seconds
                        : APP_IMPERSONATION_MAX_S;
    out->expires_at = now + limit * 1000;
    out->user = *target;
    struct store_session s = {
        .token_hash = out->token_hash,
        .user_id = target->id,
        .created_at = now,
        .last_seen_at = now,
        .expires_at = out->expires_at,
        .impersonator_id = impersonator_id,
        .impersonation_agency_id = agency_id,
        .impersonation_reason = reason,
        .public_id = crypto_id_new(a, "ses"),
    };
    *out_public_id = s.public_id;
    return store_session_insert(c, a, &s, err);
}

int app_impersonation_start(struct app_impersonation *out, const struct app_call *call,
                            const char *current_session_hash, const char *target_id,
                            const char *agency_id, const char *reason)
{
    memset(out, 0, sizeof(*out));
    struct store_conn *c = NULL;
    struct store_user target;
    int rc = 0;
    if (call->actor->impersonator_id) {
        rc = usher_error_set(call->err, USHER_ECONFLICT, "impersonation_nested", NULL,
                             "you are already viewing as someone; exit first");
        goto done;
    }
    if (!call->actor->user_id) {
        rc = usher_error_set(call->err, USHER_EFORBIDDEN, NULL, NULL, "sign in as a person first");
        goto done;
    }
    rc = app_call_begin(&c, call, true);
    if (rc)
        goto done;
    rc = store_user_get(&out->impersonator, c, call->arena, call->actor->user_id, call->err);
    if (rc)
        goto done;
    rc = store_user_get(&target, c, call->arena, target_id, call->err);
    if (rc == USHER_ENOTFOUND) {
        usher_error_clear(call->err);
        rc = usher_error_set(call->err, USHER_ENOTFOUND, NULL, "user_id", "member not found");
    }
    if (rc)
        goto done;
    rc = allowed(c, call->arena, &out->impersonator, &target, agency_id, call->err);
    if (rc)
        goto done;
    rc = session_insert(&out->session, &out->session_id, call->app, c, call->arena, &target,
                        call->actor->user_id, agency_id, reason, call->err);
    if (rc)
        goto done;
    /* The session that asked ends: the impersonator returns with a fresh one. */
    if (current_session_hash) {
        rc = store_session_delete(NULL, c, call->arena, current_session_hash, call->err);
        if (rc)
            goto done;
    }
    struct app_actor who = *call->actor;
    who.impersonator_id = call->actor->user_id;
    struct app_audit_event ev = {
        .agency_id = agency_id,
        .action = "impersonation.started",
        .subject_user_id = target.id,
        .scope_type = "agency",
        .scope_id = agency_id,
        .details = json_pack("{s:s?, s:s, s:s}", "reason", reason, "expires_at",
                             clock_format_ms(call->arena, out->session.expires_at), "session_id",
                             out->session_id),
    };
    rc = app_audit_record(c, call->arena, &who, &ev, call->err);
    if (rc)
        goto done;
    rc = store_commit(c, call->err);
    if (rc)
        goto done;
    out->agency_id = agency_id;
done:
    store_conn_put(c);
    return rc;
}

int app_impersonation_end(struct app_session_new *out, const struct app_call *call,
                          const char *session_hash)
{
    memset(out, 0, sizeof(*out));
    struct store_conn *c = NULL;
    struct store_session s;
    struct store_user impersonator;
    int rc = 0;
    if (!call->actor->impersonator_id || !session_hash) {
        rc = usher_error_set(call->err, USHER_ECONFLICT, "not_impersonating", NULL,
                             "this session is not viewing as anyone");
        goto done;
    }
    rc = app_call_begin(&c, call, true);
    if (rc)
        goto done;
    rc = store_session_get(&s, c, call->arena, session_hash, call->err);
    if (rc)
        goto done;
    if (!s.impersonator_id || strcmp(s.impersonator_id, call->actor->impersonator_id) != 0) {
        rc = usher_error_set(call->err, USHER_ECONFLICT, "not_impersonating", NULL,
                             "this session is not viewing as anyone");
        goto done;
    }
    rc = store_session_delete(NULL, c, call->arena, session_hash, call->err);
    if (rc)
        goto done;
    rc = store_user_get(&impersonator, c, call->arena, s.impersonator_id, call->err);
    if (rc)
        goto done;
    struct app_audit_event ev = {
        .agency_id = s.impersonation_agency_id,
        .action = "impersonation.ended",
        .subject_user_id = s.user_id,
        .scope_type = "agency",
        .scope_id = s.impersonation_agency_id,
        .details = json_pack("{s:s, s:s?}", "reason", "exit", "session_id", s.public_id),
    };
    struct app_actor ending = *call->actor;
    ending.user_id = impersonator.id;
    ending.impersonator_id = impersonator.id;
    rc = app_audit_record(c, call->arena, &ending, &ev, call->err);
    if (rc)
        goto done;
    if (strcmp(impersonator.status, STORE_USER_ACTIVE) != 0) {
        rc = usher_error_set(call->err, USHER_EUNAUTH, NULL, NULL, "your account is not active");
        goto done;
    }
    struct app_actor back = *call->actor;
    back.user_id = impersonator.id;
    back.impersonator_id = NULL;
    rc = app_account_session_start(out, call->app, c, call->arena, &back, &impersonator, call->err);
    if (rc)
        goto done;
    rc = store_commit(c, call->err);
done:
    store_conn_put(c);
    return rc;
}

/* Whether the impersonator of session s may still view as its user: 0, USHER_EFORBIDDEN or
 * USHER_ENOTFOUND when the right is gone, or another error, with the reason in why. */
static int recheck_verdict(struct store_conn *c, struct arena *a, const struct store_session *s,
                           struct usher_error *why)
{
    struct store_user impersonator, target;
    int rc = store_user_get(&impersonator, c, a, s->impersonator_id, why);
    if (rc)
        return rc;
    rc = store_user_get(&target, c, a, s->user_id, why);
    if (rc)
        return rc;
    return allowed(c, a, &impersonator, &target, s->impersonation_agency_id, why);
}

int app_impersonation_recheck(const struct app_call *call, const struct store_session *s)
{
    struct store_conn *c = NULL;
    struct usher_error why = {0};
    int rc = store_conn_get(call->app->store, &c, call->err);
    if (rc)
        goto done;
    int verdict = recheck_verdict(c, call->arena, s, &why);
    if (verdict != USHER_EFORBIDDEN && verdict != USHER_ENOTFOUND) {
        if (verdict)
            rc = usher_error_set(call->err, verdict, NULL, NULL, "%s", why.message);
        goto done;
    }
    /* The right is gone: the session ends now, on the record. */
    rc = store_begin(c, true, call->err);
    if (rc)
        goto done;
    rc = store_session_delete(NULL, c, call->arena, s->token_hash, call->err);
    if (rc)
        goto done;
    struct app_actor who = *call->actor;
    who.user_id = s->impersonator_id;
    who.impersonator_id = s->impersonator_id;
    struct app_audit_event ev = {
        .agency_id = s->impersonation_agency_id,
        .action = "impersonation.ended",
        .subject_user_id = s->user_id,
        .scope_type = "agency",
        .scope_id = s->impersonation_agency_id,
        .details = json_pack("{s:s, s:s, s:s?}", "reason", "right_lost", "detail", why.message,
                             "session_id", s->public_id),
    };
    rc = app_audit_record(c, call->arena, &who, &ev, call->err);
    if (rc)
        goto done;
    rc = store_commit(c, call->err);
    if (rc)
        goto done;
    rc = usher_error_set(call->err, USHER_EUNAUTH, "impersonation_ended", NULL,
                         "the view-as session ended: its starter may no longer view as this user");
done:
    store_conn_put(c);
    return rc;
}

int app_impersonation_record_request(const struct app_call *call, const char *agency_id,
                                     const char *session_id, const char *method, const char *route)
{
    struct store_conn *c = NULL;
    int rc = store_conn_get(call->app->store, &c, call->err);
    if (rc)
        goto done;
    struct app_audit_event ev = {
        .agency_id = agency_id,
        .action = "impersonation.request",
        .details = json_pack("{s:s, s:s, s:s?}", "method", method, "route", route ? route : "",
                             "session_id", session_id),
    };
    rc = app_audit_record(c, call->arena, call->actor, &ev, call->err);
done:
    store_conn_put(c);
    return rc;
}
