/* Agencies, environments and bots: who may create, see and list them. Visibility follows
 * membership (a foreign agency is not found, never forbidden); permissions inside an agency
 * come from the decision function over the caller's grants. */
#include "app/tenancy.h"

#include <string.h>

#include "app/audit.h"
#include "app/grants.h"
#include "authz/authz.h"
#include "base/clock.h"
#include "base/text.h"
#include "store/store.h"

int app_page_parse(struct app_page *out, struct arena *a, const char *limit, const char *cursor,
                   struct usher_error *err)
{
    memset(out, 0, sizeof(*out));
    out->limit = STORE_PAGE_LIMIT_DEFAULT;
    if (limit) {
        size_t value = 0;
        size_t len = strlen(limit);
        bool ok = len > 0 && len <= 3;
        for (size_t i = 0; ok && i < len; i++) {
            if (limit[i] < '0' || limit[i] > '9')
                ok = false;
            else
                value = value * 10 + (size_t)(limit[i] - '0');
        }
        if (!ok || value < 1 || value > STORE_PAGE_LIMIT_MAX)
            return usher_error_set(err, USHER_EINVAL, NULL, "limit",
                                   "limit must be an integer between 1 and %d",
                                   STORE_PAGE_LIMIT_MAX);
        out->limit = value;
    }
    return store_cursor_decode(&out->after, a, cursor, err);
}

int app_grants_load(struct policy_decide_grants *out, struct store_conn *c, struct arena *a,
                    const char *agency_id, const char *user_id, struct usher_error *err)
{
    memset(out, 0, sizeof(*out));
    struct store_grant *rows = NULL;
    size_t count = 0;
    int rc = store_grant_list_in_agency(&rows, &count, c, a, agency_id, user_id, err);
    if (rc)
        return rc;
    struct app_role_set custom;
    rc = app_role_set_load(&custom, c, a, agency_id, err);
    if (rc)
        return rc;
    struct policy_decide_grant *agency = NULL;
    struct policy_decide_grant *envs = count ? arena_alloc(a, count * sizeof(*envs)) : NULL;
    struct policy_decide_grant *bots = count ? arena_alloc(a, count * sizeof(*bots)) : NULL;
    for (size_t i = 0; i < count; i++) {
        struct policy_decide_grant g = {
            .scope_id = rows[i].scope_id,
            .environment_id = rows[i].environment_id,
            .extra = policy_catalogue_permissions_parse(rows[i].extra_permissions, NULL),
        };
        /* Custom roles count at agency and environment scope, as extra permissions. */
        uint64_t custom_perms = 0;
        app_roles_csv_masks(&g.roles, &custom_perms, rows[i].roles, &custom);
        if (!rows[i].bot_id)
            g.extra |= custom_perms;
        /* A row that fits none of the three shapes grants nothing. */
        if (rows[i].bot_id) {
            g.scope_id = rows[i].bot_id;
            bots[out->bot_count++] = g;
        } else if (rows[i].environment_id) {
            g.scope_id = rows[i].environment_id;
            g.environment_id = NULL;
            envs[out->environment_count++] = g;
        } else if (rows[i].scope_id && strcmp(rows[i].scope_id, agency_id) == 0) {
            agency = arena_alloc(a, sizeof(*agency));
            *agency = g;
            agency->environment_id = NULL;
        }
    }
    out->agency = agency;
    out->environments = envs;
    out->bots = bots;
    return 0;
}

/* The actor's standing in one agency. */
struct access {
    bool is_admin;
    struct policy_decide_grants grants;
};

/* Admins pass; members get their grants loaded; anyone else learns only that the object they
 * asked for (named by what) does not exist. */
static int access_load(struct access *out, struct store_conn *c, struct arena *a,
                       const struct app_actor *actor, const char *agency_id, const char *what,
                       struct usher_error *err)
{
    memset(out, 0, sizeof(*out));
    /* A "view as" session sees one agency only. */
    if (actor->agency_limit && strcmp(actor->agency_limit, agency_id) != 0)
        return usher_error_set(err, USHER_ENOTFOUND, NULL, NULL, "%s not found", what);
    if (actor->is_platform_admin) {
        out->is_admin = true;
        return 0;
    }
    bool member = false;
    if (actor->user_id) {
        int rc = store_agency_has_member(&member, c, a, agency_id, actor->user_id, err);
        if (rc)
            return rc;
    }
    if (!member)
        return usher_error_set(err, USHER_ENOTFOUND, NULL, NULL, "%s not found", what);
    return app_grants_load(&out->grants, c, a, agency_id, actor->user_id, err);
}

static bool access_allows(const struct access *acc, enum policy_scope scope, const char *scope_id,
                          const char *environment_id, const char *permission)
{
    if (acc->is_admin)
        return true;
    struct policy_decide_target t = {scope, scope_id, environment_id};
    struct policy_decide_result res;
    policy_decide_check(&res, &acc->grants, &t, permission);
    return res.allowed;
}

/* A member sees an environment where they hold any permission, or where a grant on one of its
 * bots gives them something. */
static bool environment_visible(const struct access *acc, const char *environment_id)
{
    if (acc->is_admin)
        return true;
    struct policy_decide_target t = {POLICY_SCOPE_ENVIRONMENT, environment_id, NULL};
    struct policy_decide_effective eff;
    policy_decide_effective(&eff, &acc->grants, &t);
    if (eff.permissions)
        return true;
    for (size_t i = 0; i < acc->grants.bot_count; i++) {
        const struct policy_decide_grant *b = &acc->grants.bots[i];
        if (!b->environment_id || strcmp(b->environment_id, environment_id) != 0)
            continue;
        struct policy_decide_target bt = {POLICY_SCOPE_BOT, b->scope_id, environment_id};
        policy_decide_effective(&eff, &acc->grants, &bt);
        if (eff.bot_permissions)
            return true;
    }
    return false;
}

/* Whether a bot grant in the environment lets the member read at least one of its bots. */
static bool environment_has_readable_bot(const struct access *acc, const char *environment_id)
{
    for (size_t i = 0; i < acc->grants.bot_count; i++) {
        const struct policy_decide_grant *b = &acc->grants.bots[i];
        if (b->environment_id && strcmp(b->environment_id, environment_id) == 0 &&
            access_allows(acc, POLICY_SCOPE_BOT, b->scope_id, environment_id, "bot.read"))
            return true;
    }
    return false;
}

static int forbidden(struct usher_error *err, const char *permission, const char *where)
{
    return usher_error_set(err, USHER_EFORBIDDEN, NULL, NULL, "%s is required in this %s",
                           permission, where);
}

/* --- agencies --- */

int app_agency_create(struct store_agency *out, struct app *app, struct arena *a,
                      const struct app_actor *actor, const char *name, struct usher_error *err)
{
    if (!actor->is_platform_admin)
        return usher_error_set(err, USHER_EFORBIDDEN, NULL, NULL,
                               "only platform admins create agencies");
    const char *clean = NULL;
    int rc = name ? text_name_check(&clean, a, name, "name", TEXT_NAME_MAX_CHARS, err)
                  : usher_error_set(err, USHER_EINVAL, NULL, "name", "name is required");
    if (rc)
        return rc;
    struct store_agency agency = {
        .id = crypto_id_new(a, "agy"),
        .name = clean,
        .created_at = clock_now_ms(),
        .created_by = actor->user_id,
    };
    struct store_conn *c = NULL;
    rc = store_conn_get(app->store, &c, err);
    if (rc)
        goto done;
    rc = store_begin(c, true, err);
    if (rc)
        goto done;
    rc = store_agency_insert(c, a, &agency, err);
    if (rc)
        goto done;
    struct app_audit_event ev = {
        .agency_id = agency.id,
        .action = "agency.created",
        .scope_type = "agency",
        .scope_id = agency.id,
        .details = json_pack("{s:s}", "name", agency.name),
    };
    rc = app_audit_record(c, a, actor, &ev, err);
    if (rc)
        goto done;
    rc = store_commit(c, err);
    if (rc)
        goto done;
    if (app->authz)
        authz_index_put_agency(app->authz, agency.id);
    *out = agency;
done:
    store_conn_put(c);
    return rc;
}

int app_agency_get(struct store_agency *out, struct app *app, struct arena *a,
                   const struct app_actor *actor, const char *agency_id, struct usher_error *err)
{
    struct store_conn *c = NULL;
    struct access acc;
    struct store_agency agency;
    int rc = store_conn_get(app->store, &c, err);
    if (rc)
        goto done;
    rc = store_agency_get(&agency, c, a, agency_id, err);
    if (rc)
        goto done;
    rc = access_load(&acc, c, a, actor, agency_id, "agency", err);
    if (rc)
        goto done;
    *out = agency;
done:
    store_conn_put(c);
    return rc;
}

int app_agency_check_visible(struct app *app, struct arena *a, const struct app_actor *actor,
                             const char *agency_id, struct usher_error *err)
{
    struct store_agency agency;
    return app_agency_get(&agency, app, a, actor, agency_id, err);
}

int app_agency_list(struct app_agency_page *out, struct app *app, struct arena *a,
                    const struct app_actor *actor, const struct app_page *page,
                    struct usher_error *err)
{
    memset(out, 0, sizeof(*out));
    if (!actor->is_platform_admin && !actor->user_id)
        return 0;
    struct store_conn *c = NULL;
    bool has_more = false;
    int rc = store_conn_get(app->store, &c, err);
    if (rc)
        goto done;
    if (actor->is_platform_admin)
        rc = store_agency_list(&out->items, &out->count, &has_more, c, a, &page->after, page->limit,
                               err);
    else
        rc = store_agency_list_for_user(&out->items, &out->count, &has_more, c, a, actor->user_id,
                                        &page->after, page->limit, err);
    if (rc)
        goto done;
    if (has_more && out->count > 0) {
        const struct store_agency *last = &out->items[out->count - 1];
        out->next_cursor = store_cursor_encode(a, last->created_at, last->id);
    }
    if (actor->agency_limit) {
        /* A "view as" session lists its one agency, wherever it fell in the page. */
        size_t kept = 0;
        for (size_t i = 0; i < out->count; i++) {
            if (strcmp(out->items[i].id, actor->agency_limit) == 0)
                out->items[kept++] = out->items[i];
        }
        out->count = kept;
        out->next_cursor = NULL;
        if (kept == 0) {
            struct store_agency one;
            struct usher_error e2 = {0};
            if (store_agency_get(&one, c, a, actor->agency_limit, &e2) == 0) {
                out->items = arena_alloc(a, sizeof(*out->items));
                out->items[0] = one;
                out->count = 1;
            }
        }
    }
done:
    store_conn_put(c);
    return rc;
}

/* --- environments --- */

int app_environment_create(struct store_environment *out, struct app *app, struct arena *a,
                           const struct app_actor *actor, const char *agency_id, const char *name,
                           struct usher_error *err)
{
    struct store_conn *c = NULL;
    struct store_agency agency;
    struct access acc;
    const char *clean = NULL;
    int rc = store_conn_get(app->store, &c, err);
    if (rc)
        goto done;
    rc = store_begin(c, true, err);
    if (rc)
        goto done;
    rc = store_agency_get(&agency, c, a, agency_id, err);
    if (rc)
        goto done;
    rc = access_load(&acc, c, a, actor, agency_id, "agency", err);
    if (rc)
        goto done;
    if (!access_allows(&acc, POLICY_SCOPE_AGENCY, agency_id, NULL, "environments.create")) {
        rc = forbidden(err, "environments.create", "agency");
        goto done;
    }
    rc = name ? text_name_check(&clean, a, name, "name", TEXT_NAME_MAX_CHARS, err)
              : usher_error_set(err, USHER_EINVAL, NULL, "name", "name is required");
    if (rc)
        goto done;
    struct store_environment env = {
        .id = crypto_id_new(a, "env"),
        .agency_id = agency.id,
        .name = clean,
        .created_at = clock_now_ms(),
    };
    rc = store_environment_insert(c, a, &env, err);
    if (rc)
        goto done;
    struct app_audit_event ev = {
        .agency_id = agency.id,
        .action = "environment.created",
        .scope_type = "environment",
        .scope_id = env.id,
        .details = json_pack("{s:s}", "name", env.name),
    };
    rc = app_audit_record(c, a, actor, &ev, err);
    if (rc)
        goto done;
    rc = store_commit(c, err);
    if (rc)
        goto done;
    if (app->authz)
        authz_index_put_environment(app->authz, env.id, env.agency_id);
    *out = env;
done:
    store_conn_put(c);
    return rc;
}

int app_environment_get(struct store_environment *out, struct app *app, struct arena *a,
                        const struct app_actor *actor, const char *environment_id,
                        struct usher_error *err)
{
    struct store_conn *c = NULL;
    struct store_environment env;
    struct access acc;
    int rc = store_conn_get(app->store, &c, err);
    if (rc)
        goto done;
    rc = store_environment_get(&env, c, a, environment_id, err);
    if (rc)
        goto done;
    rc = access_load(&acc, c, a, actor, env.agency_id, "environment", err);
    if (rc)
        goto done;
    if (!environment_visible(&acc, env.id)) {
        rc =
            usher_error_set(err, USHER_EFORBIDDEN, NULL, NULL, "no permission in this environment");
        goto done;
    }
    *out = env;
done:
    store_conn_put(c);
    return rc;
}

int app_environment_list(struct app_environment_page *out, struct app *app, struct arena *a,
                         const struct app_actor *actor, const char *agency_id,
                         const struct app_page *page, struct usher_error *err)
{
    memset(out, 0, sizeof(*out));
    struct store_conn *c = NULL;
    struct store_agency agency;
    struct access acc;
    size_t limit = page->limit ? page->limit : STORE_PAGE_LIMIT_DEFAULT;
    int rc = store_conn_get(app->store, &c, err);
    if (rc)
        goto done;
    rc = store_agency_get(&agency, c, a, agency_id, err);
    if (rc)
        goto done;
    rc = access_load(&acc, c, a, actor, agency_id, "agency", err);
    if (rc)
        goto done;
    /* Members' lists are filtered, so pages are read until limit + 1 visible rows are found
     * (the extra one proves that a next page exists) or the environments run out. */
    struct store_environment *items = arena_alloc(a, (limit + 1) * sizeof(*items));
    size_t n = 0;
    struct store_cursor after = page->after;
    for (;;) {
        struct store_environment *batch = NULL;
        size_t batch_count = 0;
        bool more = false;
        rc = store_environment_list(&batch, &batch_count, &more, c, a, agency_id, &after, limit,
                                    err);
        if (rc)
            goto done;
        for (size_t i = 0; i < batch_count && n <= limit; i++) {
            if (environment_visible(&acc, batch[i].id))
                items[n++] = batch[i];
        }
        if (n > limit || !more || batch_count == 0)
            break;
        after.is_set = true;
        after.created_at = batch[batch_count - 1].created_at;
        after.id = batch[batch_count - 1].id;
    }
    out->items = items;
    out->count = n > limit ? limit : n;
    if (n > limit)
        out->next_cursor = store_cursor_encode(a, items[limit - 1].created_at, items[limit - 1].id);
done:
    store_conn_put(c);
    return rc;
}

/* --- bots --- */

int app_bot_create(struct store_bot *out, struct app *app, struct arena *a,
                   const struct app_actor *actor, const char *environment_id, const char *name,
                   struct usher_error *err)
{
    struct store_conn *c = NULL;
    struct store_environment env;
    struct access acc;
    const char *clean = NULL;
    int rc = store_conn_get(app->store, &c, err);
    if (rc)
        goto done;
    rc = store_begin(c, true, err);
    if (rc)
        goto done;
    rc = store_environment_get(&env, c, a, environment_id, err);
    if (rc)
        goto done;
    rc = access_load(&acc, c, a, actor, env.agency_id, "environment", err);
    if (rc)
        goto done;
    if (!access_allows(&acc, POLICY_SCOPE_ENVIRONMENT, env.id, NULL, "bot.develop")) {
        rc = forbidden(err, "bot.develop", "environment");
        goto done;
    }
    rc = name ? text_name_check(&clean, a, name, "name", TEXT_NAME_MAX_CHARS, err)
              : usher_error_set(err, USHER_EINVAL, NULL, "name", "name is required");
    if (rc)
        goto done;
    struct store_bot bot = {
        .id = crypto_id_new(a, "bot"),
        .agency_id = env.agency_id,
        .environment_id = env.id,
        .name = clean,
        .created_at = clock_now_ms(),
        .is_shared = false,
    };
    rc = store_bot_insert(c, a, &bot, err);
    if (rc)
        goto done;
    struct app_audit_event ev = {
        .agency_id = bot.agency_id,
        .action = "bot.created",
        .scope_type = "bot",
        .scope_id = bot.id,
        .details = json_pack("{s:s, s:s}", "name", bot.name, "environment_id", env.id),
    };
    rc = app_audit_record(c, a, actor, &ev, err);
    if (rc)
        goto done;
    rc = store_commit(c, err);
    if (rc)
        goto done;
    if (app->authz)
        authz_index_put_bot(app->authz, bot.id, bot.environment_id, bot.agency_id);
    *out = bot;
done:
    store_conn_put(c);
    return rc;
}

int app_bot_get(struct store_bot *out, struct app *app, struct arena *a,
                const struct app_actor *actor, const char *bot_id, struct usher_error *err)
{
    struct store_conn *c = NULL;
    struct store_bot bot;
    struct access acc;
    int rc = store_conn_get(app->store, &c, err);
    if (rc)
        goto done;
    rc = store_bot_get(&bot, c, a, bot_id, err);
    if (rc)
        goto done;
    rc = access_load(&acc, c, a, actor, bot.agency_id, "bot", err);
    if (rc)
        goto done;
    if (!access_allows(&acc, POLICY_SCOPE_BOT, bot.id, bot.environment_id, "bot.read")) {
        rc = forbidden(err, "bot.read", "bot");
        goto done;
    }
    *out = bot;
done:
    store_conn_put(c);
    return rc;
}

int app_bot_list(struct app_bot_page *out, struct app *app, struct arena *a,
                 const struct app_actor *actor, const char *environment_id,
                 const struct app_page *page, struct usher_error *err)
{
    memset(out, 0, sizeof(*out));
    struct store_conn *c = NULL;
    struct store_environment env;
    struct access acc;
    size_t limit = page->limit ? page->limit : STORE_PAGE_LIMIT_DEFAULT;
    int rc = store_conn_get(app->store, &c, err);
    if (rc)
        goto done;
    rc = store_environment_get(&env, c, a, environment_id, err);
    if (rc)
        goto done;
    rc = access_load(&acc, c, a, actor, env.agency_id, "environment", err);
    if (rc)
        goto done;
    bool sees_all = access_allows(&acc, POLICY_SCOPE_ENVIRONMENT, env.id, NULL, "bot.read");
    if (!sees_all && !environment_has_readable_bot(&acc, env.id)) {
        rc = forbidden(err, "bot.read", "environment");
        goto done;
    }
    /* As for environments: members whose access comes from bot grants see only those bots. */
    struct store_bot *items = arena_alloc(a, (limit + 1) * sizeof(*items));
    size_t n = 0;
    struct store_cursor after = page->after;
    for (;;) {
        struct store_bot *batch = NULL;
        size_t batch_count = 0;
        bool more = false;
        rc = store_bot_list(&batch, &batch_count, &more, c, a, env.id, &after, limit, err);
        if (rc)
            goto done;
        for (size_t i = 0; i < batch_count && n <= limit; i++) {
            if (sees_all || access_allows(&acc, POLICY_SCOPE_BOT, batch[i].id, env.id, "bot.read"))
                items[n++] = batch[i];
        }
        if (n > limit || !more || batch_count == 0)
            break;
        after.is_set = true;
        after.created_at = batch[batch_count - 1].created_at;
        after.id = batch[batch_count - 1].id;
    }
    out->items = items;
    out->count = n > limit ? limit : n;
    if (n > limit)
        out->next_cursor = store_cursor_encode(a, items[limit - 1].created_at, items[limit - 1].id);
done:
    store_conn_put(c);
    return rc;
}

int app_actor_is_member(bool *out, struct store_conn *c, struct arena *a,
                        const struct app_actor *actor, const char *agency_id,
                        struct usher_error *err)
{
    *out = false;
    if (!actor->user_id || (actor->agency_limit && strcmp(actor->agency_limit, agency_id) != 0))
        return 0;
    return store_agency_has_member(out, c, a, agency_id, actor->user_id, err);
}
