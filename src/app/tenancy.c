/* Agencies, environments and bots: who may create, see and list them. Visibility follows
 * membership (a foreign agency is not found, never forbidden); permissions inside an agency
 * come from the decision function over the caller's grants. The name check and the audit row
 * of a change to a place, shared with places.c, are at the end (app/tenancy_int.h). */
#include "app/tenancy.h"
#include "app/tenancy_int.h"

#include <string.h>

#include "app/audit.h"
#include "app/access.h"
#include "app/grants.h"
#include "authz/authz.h"
#include "base/clock.h"
#include "base/log.h"
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

static int forbidden(struct usher_error *err, const char *permission, const char *where)
{
    return usher_error_set(err, USHER_EFORBIDDEN, NULL, NULL, "%s is required in this %s",
                           permission, where);
}

/* --- agencies --- */

/* Brings a place this call created into the index after the commit: read back from c as every
 * change is (a deletion another instance made meanwhile then wins), or, when that read fails, put
 * in as written. kind is "agency", "environment" or "bot". */
static void place_index_refresh(const struct app_call *call, struct store_conn *c, const char *kind,
                                const char *id, const char *environment_id, const char *agency_id)
{
    struct usher_error err = {0};
    if (authz_index_refresh_place(call->app->authz, c, kind, id, &err) == 0)
        return;
    log_msg(LOG_WARN, "authz.refresh_failed", "{s:s, s:s, s:s}", "kind", kind, "id", id, "error",
            err.message);
    if (strcmp(kind, "agency") == 0)
        authz_index_put_agency(call->app->authz, id);
    else if (strcmp(kind, "environment") == 0)
        authz_index_put_environment(call->app->authz, id, agency_id);
    else
        authz_index_put_bot(call->app->authz, id, environment_id, agency_id);
}

int app_agency_create(struct store_agency *out, const struct app_call *call, const char *name)
{
    struct store_conn *c = NULL;
    const char *clean = NULL;
    int rc = 0;
    if (!call->actor->is_platform_admin) {
        rc = usher_error_set(call->err, USHER_EFORBIDDEN, NULL, NULL,
                             "only platform admins create agencies");
        goto done;
    }
    rc = tenancy_name_clean(&clean, call, name);
    if (rc)
        goto done;
    struct store_agency agency = {
        .id = crypto_id_new(call->arena, "agy"),
        .name = clean,
        .created_at = clock_now_ms(),
        .created_by = call->actor->user_id,
    };
    rc = app_call_begin(&c, call, true);
    if (rc)
        goto done;
    rc = store_agency_insert(c, call->arena, &agency, call->err);
    if (rc)
        goto done;
    rc = tenancy_place_record(c, call, agency.id, "agency", agency.id, "created",
                              json_pack("{s:s}", "name", agency.name));
    if (rc)
        goto done;
    rc = store_commit(c, call->err);
    if (rc)
        goto done;
    if (call->app->authz)
        place_index_refresh(call, c, "agency", agency.id, NULL, agency.id);
    *out = agency;
done:
    store_conn_put(c);
    return rc;
}

int app_agency_get(struct store_agency *out, const struct app_call *call, const char *agency_id)
{
    struct store_conn *c = NULL;
    struct app_access acc;
    struct store_agency agency;
    int rc = store_conn_get(call->app->store, &c, call->err);
    if (rc)
        goto done;
    rc = store_agency_get(&agency, c, call->arena, agency_id, call->err);
    if (rc)
        goto done;
    rc = app_access_load(&acc, c, call->arena, call->actor, agency_id, "agency", call->err);
    if (rc)
        goto done;
    *out = agency;
done:
    store_conn_put(c);
    return rc;
}

int app_agency_check_visible(const struct app_call *call, const char *agency_id)
{
    struct store_agency agency;
    return app_agency_get(&agency, call, agency_id);
}

int app_agency_list(struct app_agency_page *out, const struct app_call *call,
                    const struct app_page *page)
{
    memset(out, 0, sizeof(*out));
    struct store_conn *c = NULL;
    bool has_more = false;
    int rc = 0;
    /* Someone who is neither a platform admin nor a person sees no agency. */
    if (!call->actor->is_platform_admin && !call->actor->user_id)
        goto done;
    rc = store_conn_get(call->app->store, &c, call->err);
    if (rc)
        goto done;
    if (call->actor->is_platform_admin)
        rc = store_agency_list(&out->items, &out->count, &has_more, c, call->arena, &page->after,
                               page->limit, call->err);
    else
        rc = store_agency_list_for_user(&out->items, &out->count, &has_more, c, call->arena,
                                        call->actor->user_id, &page->after, page->limit, call->err);
    if (rc)
        goto done;
    if (has_more && out->count > 0) {
        const struct store_agency *last = &out->items[out->count - 1];
        out->next_cursor = store_cursor_encode(call->arena, last->created_at, last->id);
    }
    if (call->actor->agency_limit) {
        /* A "view as" session lists its one agency, wherever it fell in the page. */
        size_t kept = 0;
        for (size_t i = 0; i < out->count; i++) {
            if (strcmp(out->items[i].id, call->actor->agency_limit) == 0)
                out->items[kept++] = out->items[i];
        }
        out->count = kept;
        out->next_cursor = NULL;
        if (kept == 0) {
            struct store_agency one;
            struct usher_error e2 = {0};
            if (store_agency_get(&one, c, call->arena, call->actor->agency_limit, &e2) == 0) {
                out->items = arena_alloc(call->arena, sizeof(*out->items));
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

int app_environment_create(struct store_environment *out, const struct app_call *call,
                           const char *agency_id, const char *name)
{
    struct store_conn *c = NULL;
    struct store_agency agency;
    struct app_access acc;
    const char *clean = NULL;
    int rc = app_call_begin(&c, call, true);
    if (rc)
        goto done;
    rc = store_agency_get(&agency, c, call->arena, agency_id, call->err);
    if (rc)
        goto done;
    rc = app_access_load(&acc, c, call->arena, call->actor, agency_id, "agency", call->err);
    if (rc)
        goto done;
    if (!app_access_allows(&acc, POLICY_SCOPE_AGENCY, agency_id, NULL, "environments.create")) {
        rc = forbidden(call->err, "environments.create", "agency");
        goto done;
    }
    rc = tenancy_name_clean(&clean, call, name);
    if (rc)
        goto done;
    struct store_environment env = {
        .id = crypto_id_new(call->arena, "env"),
        .agency_id = agency.id,
        .name = clean,
        .created_at = clock_now_ms(),
    };
    rc = store_environment_insert(c, call->arena, &env, call->err);
    if (rc)
        goto done;
    rc = tenancy_place_record(c, call, agency.id, "environment", env.id, "created",
                              json_pack("{s:s}", "name", env.name));
    if (rc)
        goto done;
    rc = store_commit(c, call->err);
    if (rc)
        goto done;
    if (call->app->authz)
        place_index_refresh(call, c, "environment", env.id, NULL, env.agency_id);
    *out = env;
done:
    store_conn_put(c);
    return rc;
}

int app_environment_get(struct store_environment *out, const struct app_call *call,
                        const char *environment_id)
{
    struct store_conn *c = NULL;
    struct store_environment env;
    struct app_access acc;
    int rc = store_conn_get(call->app->store, &c, call->err);
    if (rc)
        goto done;
    rc = store_environment_get(&env, c, call->arena, environment_id, call->err);
    if (rc)
        goto done;
    rc =
        app_access_load(&acc, c, call->arena, call->actor, env.agency_id, "environment", call->err);
    if (rc)
        goto done;
    if (!app_access_sees_environment(&acc, env.id)) {
        rc = usher_error_set(call->err, USHER_EFORBIDDEN, NULL, NULL,
                             "no permission in this environment");
        goto done;
    }
    *out = env;
done:
    store_conn_put(c);
    return rc;
}

int app_environment_list(struct app_environment_page *out, const struct app_call *call,
                         const char *agency_id, const struct app_page *page)
{
    memset(out, 0, sizeof(*out));
    struct store_conn *c = NULL;
    struct store_agency agency;
    struct app_access acc;
    size_t limit = page->limit ? page->limit : STORE_PAGE_LIMIT_DEFAULT;
    int rc = store_conn_get(call->app->store, &c, call->err);
    if (rc)
        goto done;
    rc = store_agency_get(&agency, c, call->arena, agency_id, call->err);
    if (rc)
        goto done;
    rc = app_access_load(&acc, c, call->arena, call->actor, agency_id, "agency", call->err);
    if (rc)
        goto done;
    /* Members' lists are filtered, so pages are read until limit + 1 visible rows are found
     * (the extra one proves that a next page exists) or the environments run out. */
    struct store_environment *items = arena_alloc(call->arena, (limit + 1) * sizeof(*items));
    size_t n = 0;
    struct store_cursor after = page->after;
    for (;;) {
        struct store_environment *batch = NULL;
        size_t batch_count = 0;
        bool more = false;
        rc = store_environment_list(&batch, &batch_count, &more, c, call->arena, agency_id, &after,
                                    limit, call->err);
        if (rc)
            goto done;
        for (size_t i = 0; i < batch_count && n <= limit; i++) {
            if (app_access_sees_environment(&acc, batch[i].id))
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
        out->next_cursor =
            store_cursor_encode(call->arena, items[limit - 1].created_at, items[limit - 1].id);
done:
    store_conn_put(c);
    return rc;
}

/* --- bots --- */

int app_bot_create(struct store_bot *out, const struct app_call *call, const char *environment_id,
                   const char *name)
{
    struct store_conn *c = NULL;
    struct store_environment env;
    struct app_access acc;
    const char *clean = NULL;
    int rc = app_call_begin(&c, call, true);
    if (rc)
        goto done;
    rc = store_environment_get(&env, c, call->arena, environment_id, call->err);
    if (rc)
        goto done;
    rc =
        app_access_load(&acc, c, call->arena, call->actor, env.agency_id, "environment", call->err);
    if (rc)
        goto done;
    if (!app_access_allows(&acc, POLICY_SCOPE_ENVIRONMENT, env.id, NULL, "bot.develop")) {
        rc = forbidden(call->err, "bot.develop", "environment");
        goto done;
    }
    rc = tenancy_name_clean(&clean, call, name);
    if (rc)
        goto done;
    struct store_bot bot = {
        .id = crypto_id_new(call->arena, "bot"),
        .agency_id = env.agency_id,
        .environment_id = env.id,
        .name = clean,
        .created_at = clock_now_ms(),
        .is_shared = false,
    };
    rc = store_bot_insert(c, call->arena, &bot, call->err);
    if (rc)
        goto done;
    rc = tenancy_place_record(c, call, bot.agency_id, "bot", bot.id, "created",
                              json_pack("{s:s, s:s}", "name", bot.name, "environment_id", env.id));
    if (rc)
        goto done;
    rc = store_commit(c, call->err);
    if (rc)
        goto done;
    if (call->app->authz)
        place_index_refresh(call, c, "bot", bot.id, bot.environment_id, bot.agency_id);
    *out = bot;
done:
    store_conn_put(c);
    return rc;
}

int app_bot_get(struct store_bot *out, const struct app_call *call, const char *bot_id)
{
    struct store_conn *c = NULL;
    struct store_bot bot;
    struct app_access acc;
    int rc = store_conn_get(call->app->store, &c, call->err);
    if (rc)
        goto done;
    rc = store_bot_get(&bot, c, call->arena, bot_id, clock_now_ms(), call->err);
    if (rc)
        goto done;
    rc = app_access_load(&acc, c, call->arena, call->actor, bot.agency_id, "bot", call->err);
    if (rc)
        goto done;
    if (!app_access_allows(&acc, POLICY_SCOPE_BOT, bot.id, bot.environment_id, "bot.read")) {
        rc = forbidden(call->err, "bot.read", "bot");
        goto done;
    }
    *out = bot;
done:
    store_conn_put(c);
    return rc;
}

int app_bot_list(struct app_bot_page *out, const struct app_call *call, const char *environment_id,
                 const struct app_page *page)
{
    memset(out, 0, sizeof(*out));
    struct store_conn *c = NULL;
    struct store_environment env;
    struct app_access acc;
    size_t limit = page->limit ? page->limit : STORE_PAGE_LIMIT_DEFAULT;
    int rc = store_conn_get(call->app->store, &c, call->err);
    if (rc)
        goto done;
    rc = store_environment_get(&env, c, call->arena, environment_id, call->err);
    if (rc)
        goto done;
    rc =
        app_access_load(&acc, c, call->arena, call->actor, env.agency_id, "environment", call->err);
    if (rc)
        goto done;
    bool sees_all = app_access_allows(&acc, POLICY_SCOPE_ENVIRONMENT, env.id, NULL, "bot.read");
    if (!sees_all && !app_access_reads_bot_in(&acc, env.id)) {
        rc = forbidden(call->err, "bot.read", "environment");
        goto done;
    }
    /* As for environments: members whose access comes from bot grants see only those bots. */
    struct store_bot *items = arena_alloc(call->arena, (limit + 1) * sizeof(*items));
    size_t n = 0;
    struct store_cursor after = page->after;
    /* One instant for every batch: a bot's shared flag does not change between two of them. */
    int64_t now = clock_now_ms();
    for (;;) {
        struct store_bot *batch = NULL;
        size_t batch_count = 0;
        bool more = false;
        rc = store_bot_list(&batch, &batch_count, &more, c, call->arena, env.id, &after, limit, now,
                            call->err);
        if (rc)
            goto done;
        for (size_t i = 0; i < batch_count && n <= limit; i++) {
            if (sees_all ||
                app_access_allows(&acc, POLICY_SCOPE_BOT, batch[i].id, env.id, "bot.read"))
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
        out->next_cursor =
            store_cursor_encode(call->arena, items[limit - 1].created_at, items[limit - 1].id);
done:
    store_conn_put(c);
    return rc;
}

/* --- shared with places.c (app/tenancy_int.h) --- */

int tenancy_name_clean(const char **out, const struct app_call *call, const char *name)
{
    if (!name)
        return usher_error_set(call->err, USHER_EINVAL, NULL, "name", "name is required");
    return text_name_check(out, call->arena, name, "name", TEXT_NAME_MAX_CHARS, call->err);
}

int tenancy_place_record(struct store_conn *c, const struct app_call *call, const char *agency_id,
                         const char *kind, const char *id, const char *what, json_t *details)
{
    struct app_audit_event ev = {
        .agency_id = agency_id,
        .action = arena_printf(call->arena, "%s.%s", kind, what),
        .scope_type = kind,
        .scope_id = id,
        .details = details,
    };
    return app_audit_record(c, call->arena, call->actor, &ev, call->err);
}
