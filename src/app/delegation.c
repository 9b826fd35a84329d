/* Bot managers: invitations with a bot grant, the list of managers, and removal. */
#include "app/delegation.h"

#include <string.h>

#include "app/audit.h"
#include "policy/catalogue.h"
#include "app/access.h"
#include "app/tenancy.h"
#include "base/json.h"
#include "store/store_tenancy.h"

/* The bot, visible to the actor (else 404), and whether the actor may delegate it (else 403). */
static int delegable_bot(struct store_bot *out, struct app *app, struct arena *a,
                         const struct app_actor *actor, const char *bot_id, struct usher_error *err)
{
    int rc = app_bot_get(out, app, a, actor, bot_id, err);
    if (rc || actor->is_platform_admin)
        return rc;
    struct store_conn *c = NULL;
    struct app_access acc;
    rc = store_conn_get(app->store, &c, err);
    if (rc)
        goto done;
    rc = app_access_load(&acc, c, a, actor, out->agency_id, "bot", err);
    if (rc)
        goto done;
    if (!app_access_allows(&acc, POLICY_SCOPE_BOT, out->id, out->environment_id, "bot.delegate"))
        rc = usher_error_set(err, USHER_EFORBIDDEN, NULL, NULL, "you may not delegate this bot");
done:
    store_conn_put(c);
    return rc;
}

int app_bot_manager_invite(struct app_invitation_view *out, int64_t *out_retry_after,
                           struct app *app, struct arena *a, const struct app_actor *actor,
                           const char *bot_id, const struct app_invitation_new *in,
                           struct usher_error *err)
{
    memset(out, 0, sizeof(*out));
    struct store_bot bot;
    int rc = delegable_bot(&bot, app, a, actor, bot_id, err);
    if (rc)
        return rc;
    /* The grant is set here: the role is always bot_manager on this bot. */
    struct app_invitation_new mine = *in;
    mine.grants = json_pack("[{s:s, s:[s]}]", "bot_id", bot.id, "roles", "bot_manager");
    rc = app_invitation_create(out, out_retry_after, app, a, actor, bot.agency_id, &mine,
                               "bot.delegate", err);
    json_decref(mine.grants);
    return rc;
}

int app_bot_managers_list(struct store_bot_manager **out_managers, size_t *manager_count,
                          struct app_invitation_view **out_pending, size_t *pending_count,
                          struct app *app, struct arena *a, const struct app_actor *actor,
                          const char *bot_id, struct usher_error *err)
{
    *out_managers = NULL;
    *manager_count = 0;
    *out_pending = NULL;
    *pending_count = 0;
    struct store_bot bot;
    int rc = delegable_bot(&bot, app, a, actor, bot_id, err);
    if (rc)
        return rc;
    struct store_conn *c = NULL;
    rc = store_conn_get(app->store, &c, err);
    if (rc)
        return rc;
    struct store_invitation *rows = NULL;
    size_t n = 0;
    rc = store_bot_managers_list(out_managers, manager_count, c, a, bot.id, err);
    if (rc == 0)
        rc = store_invitation_pending_for_bot(&rows, &n, c, a, bot.agency_id, bot.id, err);
    store_conn_put(c);
    if (rc)
        return rc;
    const char *needle = arena_printf(a, "\"bot_id\":\"%s\"", bot.id);
    struct app_invitation_view *views = arena_alloc(a, (n + 1) * sizeof(*views));
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        if (!rows[i].grants_json || !strstr(rows[i].grants_json, needle))
            continue;
        struct app_invitation_view v;
        rc = app_invitation_get(&v, app, a, actor, rows[i].id, false, err);
        if (rc == USHER_EFORBIDDEN || rc == USHER_ENOTFOUND) {
            usher_error_clear(err);
            rc = 0;
            continue;
        }
        if (rc)
            break;
        views[kept++] = v;
    }
    if (rc) {
        for (size_t i = 0; i < kept; i++)
            app_invitation_view_dispose(&views[i]);
        return rc;
    }
    *out_pending = views;
    *pending_count = kept;
    return 0;
}

int app_bot_manager_remove(struct app *app, struct arena *a, const struct app_actor *actor,
                           const char *bot_id, const char *user_id, struct usher_error *err)
{
    struct store_bot bot;
    int rc = app_bot_get(&bot, app, a, actor, bot_id, err);
    if (rc)
        return rc;
    struct store_conn *c = NULL;
    rc = store_conn_get(app->store, &c, err);
    if (rc)
        return rc;
    rc = store_begin(c, true, err);
    struct app_access acc;
    if (rc == 0)
        rc = app_access_load(&acc, c, a, actor, bot.agency_id, "bot", err);
    if (rc == 0 &&
        !app_access_allows(&acc, POLICY_SCOPE_BOT, bot.id, bot.environment_id, "bot.delegate"))
        rc = usher_error_set(err, USHER_EFORBIDDEN, NULL, NULL, "you may not delegate this bot");
    struct store_bot_manager *managers = NULL;
    size_t count = 0;
    bool found = false;
    if (rc == 0)
        rc = store_bot_managers_list(&managers, &count, c, a, bot.id, err);
    for (size_t i = 0; rc == 0 && i < count; i++)
        found = found || strcmp(managers[i].user_id, user_id) == 0;
    if (rc == 0 && !found)
        rc = usher_error_set(err, USHER_ENOTFOUND, NULL, NULL,
                             "this person does not manage this bot");
    /* Taking a bot away from someone is acting on them: it takes every authority they hold on
     * the bot (rule 4), unless they are leaving it themselves. */
    bool is_self = actor->user_id && strcmp(actor->user_id, user_id) == 0;
    struct policy_decide_grants theirs;
    if (rc == 0 && !is_self)
        rc = app_access_grants_load(&theirs, c, a, bot.agency_id, user_id, err);
    if (rc == 0 && !is_self) {
        struct policy_decide_target t = {POLICY_SCOPE_BOT, bot.id, bot.environment_id};
        rc = app_access_may_act_on(&acc, user_id, &theirs, &t, 1, err);
    }
    if (rc == 0)
        rc = store_grant_delete(NULL, c, a, user_id, bot.id, err);
    int64_t left = 0;
    if (rc == 0)
        rc = store_grant_count(&left, c, a, bot.agency_id, user_id, err);
    if (rc == 0 && left == 0)
        rc = store_member_remove(NULL, c, a, bot.agency_id, user_id, err);
    if (rc == 0) {
        struct app_audit_event ev = {
            .agency_id = bot.agency_id,
            .action = "bot.manager_removed",
            .subject_user_id = user_id,
            .scope_type = "bot",
            .scope_id = bot.id,
            .details = json_pack("{s:b}", "membership_ended", left == 0),
        };
        rc = app_audit_record(c, a, actor, &ev, err);
    }
    if (rc == 0)
        rc = store_commit(c, err);
    if (rc == 0)
        app_grants_refresh(app, c, user_id);
    store_conn_put(c);
    return rc;
}
