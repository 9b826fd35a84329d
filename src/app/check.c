/* Decisions: parsing questions, who may ask what, answers from the decision index, effective
 * permissions and notification recipients. Only the visibility checks and the recipient list
 * read the store; the answers themselves come from the index. */
#include "app/check.h"

#include <stdio.h>
#include <string.h>

#include "app/access.h"
#include "policy/catalogue.h"
#include "app/tenancy.h"
#include "authz/authz.h"
#include "base/clock.h"
#include "base/json.h"
#include "store/store_tenancy.h"
#include "store/store_user.h"

static const char *field_name(struct arena *a, const char *prefix, const char *key)
{
    return prefix ? arena_printf(a, "%s.%s", prefix, key) : key;
}

/* Reads an optional (or required) string member of 1..max bytes without NUL. */
static int member_text(const char **out, json_t *obj, const char *key, bool required, size_t max,
                       const char *prefix, struct arena *a, struct usher_error *err)
{
    *out = NULL;
    json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v)) {
        if (!required)
            return 0;
        const char *field = field_name(a, prefix, key);
        return usher_error_set(err, USHER_EINVAL, NULL, field, "%s is required", field);
    }
    const char *field = field_name(a, prefix, key);
    if (!json_is_string(v))
        return usher_error_set(err, USHER_EINVAL, NULL, field, "%s must be a string", field);
    size_t len = json_string_length(v);
    const char *s = json_string_value(v);
    if (len == 0 || len > max || strlen(s) != len)
        return usher_error_set(err, USHER_EINVAL, NULL, field,
                               "%s must have 1 to %zu bytes and no NUL", field, max);
    *out = s;
    return 0;
}

int app_check_scope_pick(enum policy_scope *out_scope, const char **out_id, const char *agency_id,
                         const char *environment_id, const char *bot_id, const char *prefix,
                         struct usher_error *err)
{
    /* In the order the API documents them: environment_id | bot_id | agency_id. */
    const struct {
        const char *key;
        const char *id;
        enum policy_scope scope;
    } given[] = {
        {"environment_id", environment_id, POLICY_SCOPE_ENVIRONMENT},
        {"bot_id", bot_id, POLICY_SCOPE_BOT},
        {"agency_id", agency_id, POLICY_SCOPE_AGENCY},
    };
    *out_id = NULL;
    *out_scope = POLICY_SCOPE_AGENCY;
    char field[USHER_ERROR_FIELD_MAX];
    for (size_t i = 0; i < sizeof(given) / sizeof(given[0]); i++) {
        if (!given[i].id)
            continue;
        if (*out_id) {
            snprintf(field, sizeof(field), "%s%s%s", prefix ? prefix : "", prefix ? "." : "",
                     given[i].key);
            return usher_error_set(err, USHER_EINVAL, NULL, field,
                                   "name exactly one of environment_id, bot_id and agency_id");
        }
        *out_id = given[i].id;
        *out_scope = given[i].scope;
    }
    if (!*out_id) {
        snprintf(field, sizeof(field), "%s%senvironment_id", prefix ? prefix : "",
                 prefix ? "." : "");
        return usher_error_set(err, USHER_EINVAL, NULL, field,
                               "one of environment_id, bot_id and agency_id is required");
    }
    return 0;
}

int app_check_question_parse(struct app_check_question *out, json_t *obj, const char *prefix,
                             struct arena *a, struct usher_error *err)
{
    static const char *const allowed[] = {"user_id", "permission", "environment_id",
                                          "bot_id",  "agency_id",  NULL};
    memset(out, 0, sizeof(*out));
    if (!json_is_object(obj)) {
        const char *field = prefix ? prefix : "body";
        return usher_error_set(err, USHER_EINVAL, NULL, prefix, "%s must be an object", field);
    }
    const char *agency_id, *environment_id, *bot_id;
    int rc = json_fields_check(obj, allowed, prefix, err);
    if (rc)
        return rc;
    rc = member_text(&out->user_id, obj, "user_id", true, APP_CHECK_ID_MAX, prefix, a, err);
    if (rc)
        return rc;
    rc = member_text(&out->permission, obj, "permission", true, APP_CHECK_NAME_MAX, prefix, a, err);
    if (rc)
        return rc;
    rc = member_text(&environment_id, obj, "environment_id", false, APP_CHECK_ID_MAX, prefix, a,
                     err);
    if (rc)
        return rc;
    rc = member_text(&bot_id, obj, "bot_id", false, APP_CHECK_ID_MAX, prefix, a, err);
    if (rc)
        return rc;
    rc = member_text(&agency_id, obj, "agency_id", false, APP_CHECK_ID_MAX, prefix, a, err);
    if (rc)
        return rc;
    return app_check_scope_pick(&out->scope, &out->scope_id, agency_id, environment_id, bot_id,
                                prefix, err);
}

int app_check_batch_parse(struct app_check_question **out, size_t *count, json_t *checks,
                          struct arena *a, struct usher_error *err)
{
    *out = NULL;
    *count = 0;
    if (!checks || json_is_null(checks))
        return usher_error_set(err, USHER_EINVAL, NULL, "checks", "checks is required");
    if (!json_is_array(checks))
        return usher_error_set(err, USHER_EINVAL, NULL, "checks", "checks must be an array");
    size_t n = json_array_size(checks);
    if (n == 0 || n > APP_CHECK_BATCH_MAX)
        return usher_error_set(err, USHER_EINVAL, NULL, "checks",
                               "checks must hold 1 to %d questions", APP_CHECK_BATCH_MAX);
    struct app_check_question *items = arena_alloc(a, n * sizeof(*items));
    for (size_t i = 0; i < n; i++) {
        char prefix[32];
        snprintf(prefix, sizeof(prefix), "checks[%zu]", i);
        int rc = app_check_question_parse(&items[i], json_array_get(checks, i), prefix, a, err);
        if (rc)
            return rc;
    }
    *out = items;
    *count = n;
    return 0;
}

int app_check_may_ask(const struct app_check_caller *caller, const struct app_check_question *q,
                      const char *field, struct usher_error *err)
{
    if (caller->is_service || caller->is_platform_admin)
        return 0;
    if (caller->user_id && q->user_id && strcmp(caller->user_id, q->user_id) == 0)
        return 0;
    return usher_error_set(err, USHER_EFORBIDDEN, NULL, field, "you may only ask about yourself");
}

/* The agency an agency token is limited to; NULL for everyone else. */
static const char *caller_limit(const struct app_check_caller *caller)
{
    return caller->is_service ? caller->token_agency_id : caller->agency_limit;
}

static void roles_names(struct app_check_answer *out, uint64_t roles)
{
    out->role_count = 0;
    for (size_t i = 0; i < POLICY_ROLE_COUNT; i++) {
        if (roles & POLICY_BIT(i))
            out->roles[out->role_count++] = policy_catalogue_role_at(i)->name;
    }
}

void app_check_answer(struct app_check_answer *out, struct app *app,
                      const struct app_check_caller *caller, const struct app_check_question *q,
                      struct arena *a)
{
    memset(out, 0, sizeof(*out));
    out->source = policy_decide_source_name(POLICY_DECIDE_NONE);
    if (!app->authz)
        return;
    const char *limit = caller_limit(caller);
    struct authz_question aq = {q->user_id, q->permission, q->scope, q->scope_id, limit};
    struct authz_answer ans;
    authz_check(&ans, app->authz, &aq, a);
    out->allowed = ans.allowed;
    if (ans.agency_suspended) {
        out->reason = "agency_suspended";
        return;
    }
    if (ans.is_platform_admin) {
        out->source = "platform_admin";
        return;
    }
    if (ans.allowed)
        out->source = policy_decide_source_name(ans.source);
    for (size_t i = 0; i < ans.role_count && out->role_count < POLICY_ROLE_COUNT; i++)
        out->roles[out->role_count++] = ans.roles[i];
    if (policy_catalogue_permission_bit(q->permission) != 0)
        return;
    /* An unknown permission is denied before the index looks at grants; the explanation still
     * shows the roles in force there, as the decision function reports them. */
    struct policy_decide_effective eff;
    bool is_admin = false;
    const char *agency_id = NULL;
    if (authz_effective(&eff, &is_admin, app->authz, q->user_id, q->scope, q->scope_id, &agency_id,
                        a) &&
        !is_admin && (!limit || (agency_id && strcmp(agency_id, limit) == 0)))
        roles_names(out, eff.roles);
}

/* --- visibility --- */

/* Platform admins and platform tokens see every agency. */
static bool caller_sees_all(const struct app_check_caller *caller)
{
    return caller->is_platform_admin || (caller->is_service && !caller->token_agency_id);
}

static struct app_actor caller_actor(const struct app_check_caller *caller)
{
    struct app_actor actor = {0};
    actor.user_id = caller->is_service ? NULL : caller->user_id;
    actor.is_platform_admin = caller->is_platform_admin;
    actor.agency_limit = caller->agency_limit;
    return actor;
}

/* Whether caller may read about user_id at a scope of agency_id: see app_check_effective. */
static int effective_visible(struct store_conn *c, struct arena *a,
                             const struct app_check_caller *caller, const char *user_id,
                             const char *agency_id, enum policy_scope scope, const char *scope_id,
                             struct usher_error *err)
{
    if (caller_sees_all(caller))
        return 0;
    if (caller->agency_limit && strcmp(caller->agency_limit, agency_id) != 0)
        return usher_error_set(err, USHER_ENOTFOUND, NULL, NULL, "scope not found");
    bool is_self = !caller->is_service && caller->user_id && strcmp(caller->user_id, user_id) == 0;
    bool member = false;
    int rc = 0;
    if (caller->is_service) {
        if (strcmp(caller->token_agency_id, agency_id) != 0)
            return usher_error_set(err, USHER_ENOTFOUND, NULL, NULL, "scope not found");
    } else if (is_self) {
        rc = store_agency_has_member(&member, c, a, agency_id, user_id, err);
        if (rc)
            return rc;
        return member ? 0 : usher_error_set(err, USHER_ENOTFOUND, NULL, NULL, "scope not found");
    } else {
        struct app_actor actor = caller_actor(caller);
        rc =
            app_access_demand(c, a, &actor, agency_id, scope, scope_id, "users.read", "scope", err);
        if (rc)
            return rc;
    }
    rc = store_agency_has_member(&member, c, a, agency_id, user_id, err);
    if (rc)
        return rc;
    return member ? 0 : usher_error_set(err, USHER_ENOTFOUND, NULL, NULL, "user not found");
}

/* Where an effective standing comes from, and whether a wider scope contributes. */
static void effective_source(struct app_effective *out, const struct policy_decide_effective *eff,
                             enum policy_scope scope)
{
    out->source = policy_decide_source_name(eff->base);
    switch (scope) {
    case POLICY_SCOPE_ENVIRONMENT:
        out->is_inherited = eff->base == POLICY_DECIDE_AGENCY;
        break;
    case POLICY_SCOPE_BOT:
        if (eff->has_bot_grant)
            out->source = policy_decide_source_name(POLICY_DECIDE_BOT);
        out->is_inherited = eff->base != POLICY_DECIDE_NONE && eff->base_permissions != 0;
        break;
    default:
        out->is_inherited = false;
        break;
    }
}

/* Whether caller may read about user_id at the scope (effective_visible), and that the user
 * exists, from the store. */
static int effective_readable(const struct app_call *call, const struct app_check_caller *caller,
                              const char *user_id, const char *agency_id, enum policy_scope scope,
                              const char *scope_id)
{
    struct store_conn *c = NULL;
    struct store_user user;
    int rc = store_conn_get(call->app->store, &c, call->err);
    if (rc)
        goto done;
    rc = effective_visible(c, call->arena, caller, user_id, agency_id, scope, scope_id, call->err);
    if (rc)
        goto done;
    rc = store_user_get(&user, c, call->arena, user_id, call->err);
done:
    store_conn_put(c);
    return rc;
}

int app_check_effective(struct app_effective *out, const struct app_call *call,
                        const struct app_check_caller *caller, const char *user_id,
                        enum policy_scope scope, const char *scope_id)
{
    memset(out, 0, sizeof(*out));
    out->source = policy_decide_source_name(POLICY_DECIDE_NONE);
    if (!call->app->authz)
        return usher_error_set(call->err, USHER_EUNAVAIL, NULL, NULL,
                               "the decision index is not ready");
    const char *agency_id = authz_scope_agency(call->app->authz, scope, scope_id, call->arena);
    if (!agency_id)
        return usher_error_set(call->err, USHER_ENOTFOUND, NULL, NULL, "scope not found");
    int rc = effective_readable(call, caller, user_id, agency_id, scope, scope_id);
    if (rc)
        return rc;
    struct policy_decide_effective eff;
    bool is_admin = false;
    /* A disabled user holds nothing anywhere. */
    if (!authz_effective(&eff, &is_admin, call->app->authz, user_id, scope, scope_id, NULL,
                         call->arena))
        return 0;
    if (is_admin) {
        out->permissions = POLICY_PERMS_ALL;
        out->source = "platform_admin";
        return 0;
    }
    out->roles = eff.roles;
    out->permissions = eff.permissions;
    effective_source(out, &eff, scope);
    out->expires_at = authz_effective_until(call->app->authz, user_id, scope, scope_id);
    return 0;
}

int app_check_recipients(struct app_recipient_page *out, const struct app_call *call,
                         const struct app_check_caller *caller, const char *environment_id,
                         const struct app_page *page)
{
    memset(out, 0, sizeof(*out));
    struct store_conn *c = NULL;
    struct store_environment env;
    struct store_recipient *rows = NULL;
    size_t count = 0;
    bool has_more = false;
    int rc = store_conn_get(call->app->store, &c, call->err);
    if (rc)
        goto done;
    rc = store_environment_get(&env, c, call->arena, environment_id, call->err);
    if (rc)
        goto done;
    if (caller->is_service && caller->token_agency_id) {
        if (strcmp(caller->token_agency_id, env.agency_id) != 0) {
            rc = usher_error_set(call->err, USHER_ENOTFOUND, NULL, NULL, "environment not found");
            goto done;
        }
    } else if (!caller_sees_all(caller)) {
        struct app_actor actor = caller_actor(caller);
        rc = app_access_demand(c, call->arena, &actor, env.agency_id, POLICY_SCOPE_ENVIRONMENT,
                               env.id, "users.read", "environment", call->err);
        if (rc)
            goto done;
    }
    rc = store_recipient_list(&rows, &count, &has_more, c, call->arena, env.id, clock_now_ms(),
                              &page->after, page->limit, call->err);
    if (rc)
        goto done;
    if (has_more && count > 0)
        out->next_cursor =
            store_cursor_encode(call->arena, rows[count - 1].created_at, rows[count - 1].id);
    /* The query matches role names as text; the catalogue has the last word. */
    const uint64_t wanted = POLICY_BIT(POLICY_ROLE_AGENT) | POLICY_BIT(POLICY_ROLE_OPERATOR);
    out->items = rows;
    for (size_t i = 0; i < count; i++) {
        if (policy_catalogue_roles_parse(rows[i].roles, NULL) & wanted)
            out->items[out->count++] = rows[i];
    }
done:
    store_conn_put(c);
    return rc;
}
