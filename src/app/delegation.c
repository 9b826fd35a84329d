/* Bot managers: invitations with a bot grant, the list of managers, and removal. */
#include "app/delegation.h"

#include <stdio.h>
#include <string.h>

#include "app/audit.h"
#include "policy/catalogue.h"
#include "app/access.h"
#include "app/tenancy.h"
#include "base/clock.h"
#include "base/json.h"
#include "store/store_tenancy.h"

/* Reads bot_id on c and the actor's standing in its agency into *acc: a bot outside the actor's
 * agencies is not found (404); one they may not delegate is forbidden (403). */
static int delegable_bot(struct store_bot *out, struct app_access *acc, struct store_conn *c,
                         const struct app_call *call, const char *bot_id)
{
    int rc = store_bot_get(out, c, call->arena, bot_id, clock_now_ms(), call->err);
    if (rc)
        return rc;
    rc = app_access_load(acc, c, call->arena, call->actor, out->agency_id, "bot", call->err);
    if (rc)
        return rc;
    if (!app_access_allows(acc, POLICY_SCOPE_BOT, out->id, out->environment_id, "bot.delegate"))
        return usher_error_set(call->err, USHER_EFORBIDDEN, NULL, NULL,
                               "you may not delegate this bot");
    return 0;
}

/* delegable_bot on a connection of its own. */
static int delegable_bot_read(struct store_bot *out, const struct app_call *call,
                              const char *bot_id)
{
    struct app_access acc;
    struct store_conn *c = NULL;
    int rc = store_conn_get(call->app->store, &c, call->err);
    if (rc)
        goto done;
    rc = delegable_bot(out, &acc, c, call, bot_id);
done:
    store_conn_put(c);
    return rc;
}

int app_bot_manager_invite(struct app_invitation_view *out, int64_t *out_retry_after,
                           const struct app_call *call, const char *bot_id,
                           const struct app_invitation_new *in, const char *expires_at)
{
    memset(out, 0, sizeof(*out));
    struct store_bot bot;
    int rc = delegable_bot_read(&bot, call, bot_id);
    if (rc)
        return rc;
    /* The grant is set here: the role is always bot_manager on this bot. */
    struct app_invitation_new mine = *in;
    mine.grants = json_pack("[{s:s, s:[s]}]", "bot_id", bot.id, "roles", "bot_manager");
    if (expires_at)
        json_object_set_new(json_array_get(mine.grants, 0), "expires_at", json_string(expires_at));
    rc = app_invitation_create(out, out_retry_after, call, bot.agency_id, &mine, "bot.delegate");
    json_decref(mine.grants);
    /* The caller sent no list of grants: a problem with the one grant is about its end. */
    if (rc && strncmp(call->err->field, "grants[0]", 9) == 0) {
        snprintf(call->err->field, sizeof(call->err->field), "expires_at");
        const char *rest = strstr(call->err->message, ": ");
        if (strncmp(call->err->message, "grants[0]", 9) == 0 && rest) {
            char why[sizeof(call->err->message)];
            snprintf(why, sizeof(why), "expires_at%s", rest);
            snprintf(call->err->message, sizeof(call->err->message), "%s", why);
        }
    }
    return rc;
}

/* The bot's managers and the pending invitations of its agency that name it, read in one go. */
static int managers_read(struct store_bot_manager **out_managers, size_t *manager_count,
                         struct store_invitation **out_rows, size_t *row_count,
                         const struct app_call *call, const struct store_bot *bot)
{
    struct store_conn *c = NULL;
    int rc = store_conn_get(call->app->store, &c, call->err);
    if (rc)
        goto done;
    rc = store_bot_managers_list(out_managers, manager_count, c, call->arena, bot->id,
                                 clock_now_ms(), call->err);
    if (rc)
        goto done;
    rc = store_invitation_pending_for_bot(out_rows, row_count, c, call->arena, bot->agency_id,
                                          bot->id, call->err);
done:
    store_conn_put(c);
    return rc;
}

int app_bot_managers_list(struct store_bot_manager **out_managers, size_t *manager_count,
                          struct app_invitation_view **out_pending, size_t *pending_count,
                          const struct app_call *call, const char *bot_id)
{
    *out_managers = NULL;
    *manager_count = 0;
    *out_pending = NULL;
    *pending_count = 0;
    struct store_bot bot;
    struct store_invitation *rows = NULL;
    size_t n = 0;
    struct app_invitation_view *views = NULL;
    size_t kept = 0;
    int rc = delegable_bot_read(&bot, call, bot_id);
    if (rc)
        goto done;
    rc = managers_read(out_managers, manager_count, &rows, &n, call, &bot);
    if (rc)
        goto done;
    const char *needle = arena_printf(call->arena, "\"bot_id\":\"%s\"", bot.id);
    views = arena_alloc(call->arena, (n + 1) * sizeof(*views));
    for (size_t i = 0; i < n; i++) {
        if (!rows[i].grants_json || !strstr(rows[i].grants_json, needle))
            continue;
        struct app_invitation_view v;
        rc = app_invitation_get(&v, call, rows[i].id, false);
        if (rc == USHER_EFORBIDDEN || rc == USHER_ENOTFOUND) {
            usher_error_clear(call->err);
            rc = 0;
            continue;
        }
        if (rc)
            goto done;
        views[kept++] = v;
    }
    *out_pending = views;
    *pending_count = kept;
done:
    if (rc) {
        for (size_t i = 0; i < kept; i++)
            app_invitation_view_dispose(&views[i]);
    }
    return rc;
}

/* Whether user_id manages bot and whether acc's holder may take that away: taking a bot away
 * from someone is acting on them, which takes every authority they hold on the bot (rule 4),
 * unless they are leaving it themselves. */
static int manager_removal_check(struct store_conn *c, const struct app_call *call,
                                 const struct app_access *acc, const struct store_bot *bot,
                                 const char *user_id)
{
    struct store_bot_manager *managers = NULL;
    size_t count = 0;
    bool found = false;
    int rc = store_bot_managers_list(&managers, &count, c, call->arena, bot->id, clock_now_ms(),
                                     call->err);
    if (rc)
        return rc;
    for (size_t i = 0; i < count; i++)
        found = found || strcmp(managers[i].user_id, user_id) == 0;
    if (!found)
        return usher_error_set(call->err, USHER_ENOTFOUND, NULL, NULL,
                               "this person does not manage this bot");
    bool is_self = call->actor->user_id && strcmp(call->actor->user_id, user_id) == 0;
    if (is_self)
        return 0;
    struct policy_decide_grants theirs;
    rc = app_access_member_grants(&theirs, acc, c, call->arena, user_id, call->err);
    if (rc)
        return rc;
    struct policy_decide_target t = {POLICY_SCOPE_BOT, bot->id, bot->environment_id};
    return app_access_may_act_on(acc, user_id, &theirs, &t, 1, call->err);
}

int app_bot_manager_remove(const struct app_call *call, const char *bot_id, const char *user_id)
{
    struct store_bot bot;
    struct store_conn *c = NULL;
    struct app_access acc;
    int64_t left = 0;
    int rc = app_call_begin(&c, call, true);
    if (rc)
        goto done;
    rc = delegable_bot(&bot, &acc, c, call, bot_id);
    if (rc)
        goto done;
    rc = manager_removal_check(c, call, &acc, &bot, user_id);
    if (rc)
        goto done;
    rc = store_grant_delete(NULL, c, call->arena, user_id, bot.id, call->err);
    if (rc)
        goto done;
    rc = store_grant_count(&left, c, call->arena, bot.agency_id, user_id, call->err);
    if (rc)
        goto done;
    if (left == 0) {
        rc = store_member_remove(NULL, c, call->arena, bot.agency_id, user_id, call->err);
        if (rc)
            goto done;
    }
    struct app_audit_event ev = {
        .agency_id = bot.agency_id,
        .action = "bot.manager_removed",
        .subject_user_id = user_id,
        .scope_type = "bot",
        .scope_id = bot.id,
        .details = json_pack("{s:b}", "membership_ended", left == 0),
    };
    rc = app_audit_record(c, call->arena, call->actor, &ev, call->err);
    if (rc)
        goto done;
    rc = store_commit(c, call->err);
    if (rc)
        goto done;
    app_grants_refresh(call->app, c, user_id);
done:
    store_conn_put(c);
    return rc;
}
