/* Places that change and go: renaming agencies, environments and bots, deleting an environment
 * or a bot with everything scoped to it, suspending and resuming an agency (with its name and
 * second-factor policy, in one transaction), and deleting a suspended one. Each change and its
 * audit row commit together; the decision index (and so /check, route enforcement and API tokens)
 * follows right after the commit here, and through the change feed on every other process. */
#include <jansson.h>
#include <string.h>

#include "app/access.h"
#include "app/audit.h"
#include "app/grants.h"
#include "app/tenancy.h"
#include "app/tenancy_int.h"
#include "app/tokens.h"
#include "authz/authz.h"
#include "base/clock.h"
#include "base/log.h"
#include "base/text.h"
#include "store/store.h"
#include "store/store_invitation.h"
#include "store/store_member.h"

static int forbidden(struct usher_error *err, const char *why)
{
    return usher_error_set(err, USHER_EFORBIDDEN, NULL, NULL, "%s", why);
}

/* Validates name and, when it differs from old_name, renames the place (kind "agency",
 * "environment" or "bot") and records <kind>.renamed with both names, on c. *out gets the
 * name the place has after. */
static int rename_apply(const char **out, struct store_conn *c, const struct app_call *call,
                        const char *kind, const char *agency_id, const char *id,
                        const char *old_name, const char *name)
{
    const char *clean = NULL;
    int rc = tenancy_name_clean(&clean, call, name);
    if (rc)
        return rc;
    if (strcmp(clean, old_name) != 0) {
        if (strcmp(kind, "agency") == 0)
            rc = store_agency_rename(c, call->arena, id, clean, call->err);
        else if (strcmp(kind, "environment") == 0)
            rc = store_environment_rename(c, call->arena, id, clean, call->err);
        else
            rc = store_bot_rename(c, call->arena, id, clean, call->err);
        if (rc)
            return rc;
        rc = tenancy_place_record(c, call, agency_id, kind, id, "renamed",
                                  json_pack("{s:s, s:s}", "old_name", old_name, "name", clean));
        if (rc)
            return rc;
    }
    *out = clean;
    return 0;
}

/* The frame of a change to an environment: a transaction (a writing one when is_write), the
 * environment, and the caller's access in its agency. */
static int environment_open(struct store_conn **c, struct store_environment *env,
                            struct app_access *acc, const struct app_call *call,
                            const char *environment_id, bool is_write)
{
    int rc = app_call_begin(c, call, is_write);
    if (rc)
        return rc;
    rc = store_environment_get(env, *c, call->arena, environment_id, call->err);
    if (rc)
        return rc;
    return app_access_load(acc, *c, call->arena, call->actor, env->agency_id, "environment",
                           call->err);
}

/* The frame of a change to a bot, as environment_open, and the bot.develop in its environment
 * that renaming and deleting it take (what creating it takes). */
static int bot_open(struct store_conn **c, struct store_bot *bot, const struct app_call *call,
                    const char *bot_id, bool is_write)
{
    struct app_access acc;
    int rc = app_call_begin(c, call, is_write);
    if (rc)
        return rc;
    rc = store_bot_get(bot, *c, call->arena, bot_id, clock_now_ms(), call->err);
    if (rc)
        return rc;
    rc = app_access_load(&acc, *c, call->arena, call->actor, bot->agency_id, "bot", call->err);
    if (rc)
        return rc;
    if (!app_access_allows(&acc, POLICY_SCOPE_ENVIRONMENT, bot->environment_id, NULL,
                           "bot.develop"))
        return forbidden(call->err, "bot.develop is required in this environment");
    return 0;
}

/* After a deletion committed: the place and what is under it leave the decision index, and
 * everyone whose grants named any of it is read again. */
static void index_place_gone(const struct app_call *call, struct store_conn *c,
                             enum policy_scope kind, const char *id)
{
    if (!call->app->authz)
        return;
    const char **users = NULL;
    size_t count = authz_index_place_gone(&users, call->app->authz, kind, id, call->arena);
    for (size_t i = 0; i < count; i++)
        app_grants_refresh(call->app, c, users[i]);
}

/* --- agencies --- */

/* Checks that the actor may make change to agency (access loaded as acc): before anything is
 * written, so that a refusal leaves everything as it was. */
static int agency_change_allowed(const struct app_access *acc, const struct app_call *call,
                                 const char *agency_id, const struct app_agency_change *change)
{
    if (change->status != APP_AGENCY_STATUS_KEEP && !acc->is_admin)
        return forbidden(call->err, "only platform admins suspend and resume agencies");
    if (change->name || change->second_factor != APP_AGENCY_SECOND_FACTOR_KEEP)
        return app_access_require(acc, POLICY_SCOPE_AGENCY, agency_id, NULL, "agency.manage",
                                  call->err);
    return 0;
}

/* Brings the index's view of the agency up to date after a committed change of its status or
 * policy: read again from c (a newer change another instance made meanwhile then wins), or, when
 * that read fails, set to what this change wrote. */
static void agency_index_refresh(const struct app_call *call, struct store_conn *c,
                                 const char *agency_id, bool restated, bool suspend,
                                 bool repolicied, bool required)
{
    struct usher_error err = {0};
    if (authz_index_refresh_place(call->app->authz, c, "agency", agency_id, &err) == 0)
        return;
    log_msg(LOG_WARN, "authz.refresh_failed", "{s:s, s:s}", "agency_id", agency_id, "error",
            err.message);
    if (restated)
        authz_index_put_agency_status(call->app->authz, agency_id, suspend);
    if (repolicied)
        authz_index_put_agency_policy(call->app->authz, agency_id, required);
}

int app_agency_update(struct store_agency *out, const struct app_call *call, const char *agency_id,
                      const struct app_agency_change *change)
{
    struct store_conn *c = NULL;
    struct store_agency agency;
    struct app_access acc;
    int rc = app_call_begin(&c, call, true);
    if (rc)
        goto done;
    rc = store_agency_get(&agency, c, call->arena, agency_id, call->err);
    if (rc)
        goto done;
    rc = app_access_load(&acc, c, call->arena, call->actor, agency_id, "agency", call->err);
    if (rc)
        goto done;
    rc = agency_change_allowed(&acc, call, agency_id, change);
    if (rc)
        goto done;
    if (change->name) {
        rc = rename_apply(&agency.name, c, call, "agency", agency_id, agency_id, agency.name,
                          change->name);
        if (rc)
            goto done;
    }
    bool suspend = change->status == APP_AGENCY_STATUS_SUSPENDED;
    bool restated = change->status != APP_AGENCY_STATUS_KEEP && suspend != agency.is_suspended;
    if (restated) {
        rc = store_agency_status_set(c, call->arena, agency_id, suspend, call->err);
        if (rc)
            goto done;
        rc = tenancy_place_record(c, call, agency_id, "agency", agency_id,
                                  suspend ? "suspended" : "resumed",
                                  json_pack("{s:s}", "name", agency.name));
        if (rc)
            goto done;
        agency.is_suspended = suspend;
    }
    bool required = change->second_factor == APP_AGENCY_SECOND_FACTOR_ON;
    bool repolicied = change->second_factor != APP_AGENCY_SECOND_FACTOR_KEEP &&
                      required != agency.require_second_factor;
    if (repolicied) {
        rc = store_agency_second_factor_set(c, call->arena, agency_id, required, call->err);
        if (rc)
            goto done;
        rc = tenancy_place_record(c, call, agency_id, "agency", agency_id, "updated",
                                  json_pack("{s:b}", "require_second_factor", required));
        if (rc)
            goto done;
        agency.require_second_factor = required;
    }
    rc = store_commit(c, call->err);
    if (rc)
        goto done;
    if ((restated || repolicied) && call->app->authz)
        agency_index_refresh(call, c, agency_id, restated, suspend, repolicied, required);
    *out = agency;
done:
    store_conn_put(c);
    return rc;
}

int app_agency_delete(const struct app_call *call, const char *agency_id, const char *confirm)
{
    struct store_conn *c = NULL;
    struct store_agency agency;
    struct app_access acc;
    const char **members = NULL;
    size_t member_count = 0;
    int rc = app_call_begin(&c, call, true);
    if (rc)
        goto done;
    rc = store_agency_get(&agency, c, call->arena, agency_id, call->err);
    if (rc)
        goto done;
    rc = app_access_load(&acc, c, call->arena, call->actor, agency_id, "agency", call->err);
    if (rc)
        goto done;
    if (!acc.is_admin) {
        rc = forbidden(call->err, "only platform admins delete agencies");
        goto done;
    }
    if (!agency.is_suspended) {
        rc = usher_error_set(call->err, USHER_ECONFLICT, "agency_not_suspended", NULL,
                             "suspend the agency before deleting it");
        goto done;
    }
    if (!confirm || strcmp(confirm, agency.name) != 0) {
        rc = usher_error_set(call->err, USHER_EINVAL, "confirm_mismatch", "confirm",
                             "confirm must be the agency's exact name");
        goto done;
    }
    rc = store_agency_member_ids(&members, &member_count, c, call->arena, agency_id, call->err);
    if (rc)
        goto done;
    rc = store_agency_delete(c, call->arena, agency_id, call->err);
    if (rc)
        goto done;
    /* The agency's own chain stays whole and verifiable; the deletion is a platform event. */
    rc = tenancy_place_record(
        c, call, NULL, "agency", agency_id, "deleted",
        json_pack("{s:s, s:I}", "name", agency.name, "members", (json_int_t)member_count));
    if (rc)
        goto done;
    rc = store_commit(c, call->err);
    if (rc)
        goto done;
    index_place_gone(call, c, POLICY_SCOPE_AGENCY, agency_id);
    app_token_cache_clear(call->app->token_cache);
done:
    store_conn_put(c);
    return rc;
}

/* --- renames --- */

int app_environment_rename(struct store_environment *out, const struct app_call *call,
                           const char *environment_id, const char *name)
{
    struct store_conn *c = NULL;
    struct store_environment env;
    struct app_access acc;
    int rc = environment_open(&c, &env, &acc, call, environment_id, true);
    if (rc)
        goto done;
    if (!app_access_allows(&acc, POLICY_SCOPE_AGENCY, env.agency_id, NULL, "environments.create") &&
        !app_access_allows(&acc, POLICY_SCOPE_ENVIRONMENT, env.id, NULL, "environment.manage")) {
        rc = forbidden(call->err, "environment.manage is required in this environment");
        goto done;
    }
    rc = rename_apply(&env.name, c, call, "environment", env.agency_id, env.id, env.name, name);
    if (rc)
        goto done;
    rc = store_commit(c, call->err);
    if (rc)
        goto done;
    *out = env;
done:
    store_conn_put(c);
    return rc;
}

int app_bot_rename(struct store_bot *out, const struct app_call *call, const char *bot_id,
                   const char *name)
{
    struct store_conn *c = NULL;
    struct store_bot bot;
    int rc = bot_open(&c, &bot, call, bot_id, true);
    if (rc)
        goto done;
    rc = rename_apply(&bot.name, c, call, "bot", bot.agency_id, bot.id, bot.name, name);
    if (rc)
        goto done;
    rc = store_commit(c, call->err);
    if (rc)
        goto done;
    *out = bot;
done:
    store_conn_put(c);
    return rc;
}

/* --- deleting an environment or a bot --- */

/* A place being deleted and what goes with it. */
struct removal {
    const char *kind; /* "environment" or "bot" */
    const char *id;
    const char *agency_id;
    const char *name;
    const char *environment_id; /* bots: their environment */
    const char **bots;          /* the bots that go: an environment's, or the bot itself */
    size_t bot_count;
    const char **people; /* distinct holders of the grants that go, sorted */
    int64_t *going;      /* how many of people[i]'s grants go */
    size_t people_count;
    size_t losing_count; /* of people, those with a grant in force among them */
    int64_t grant_count;
    struct store_invitation *invitations; /* pending ones naming the place or its bots */
    size_t invitation_count;
};

static bool names_bot(const struct removal *r, const char *bot_id)
{
    for (size_t i = 0; bot_id && i < r->bot_count; i++) {
        if (strcmp(r->bots[i], bot_id) == 0)
            return true;
    }
    return false;
}

/* Whether an invitation's stored grants name the place or one of its bots. */
static bool invitation_names(const struct removal *r, const struct store_invitation *inv)
{
    json_t *grants = json_loads(inv->grants_json ? inv->grants_json : "[]", 0, NULL);
    bool found = false;
    size_t i;
    json_t *g;
    json_array_foreach(grants, i, g)
    {
        const char *env = json_string_value(json_object_get(g, "environment_id"));
        const char *bot = json_string_value(json_object_get(g, "bot_id"));
        if ((r->environment_id == NULL && env && strcmp(env, r->id) == 0) || names_bot(r, bot))
            found = true;
    }
    json_decref(grants);
    return found;
}

/* Reads what goes with the place r names (kind, id, agency_id and, for a bot, its own id as
 * the one bot already set). */
static int removal_plan(struct removal *r, struct store_conn *c, const struct app_call *call)
{
    struct store_place_holder *holders = NULL;
    size_t holder_count = 0;
    int rc = 0;
    if (!r->environment_id) {
        rc = store_environment_bot_ids(&r->bots, &r->bot_count, c, call->arena, r->id, call->err);
        if (rc)
            return rc;
    }
    rc = store_place_grant_holders(&holders, &holder_count, c, call->arena, r->kind, r->id,
                                   clock_now_ms(), call->err);
    if (rc)
        return rc;
    r->grant_count = (int64_t)holder_count;
    r->people = holder_count ? arena_alloc(call->arena, holder_count * sizeof(*r->people)) : NULL;
    r->going = holder_count ? arena_alloc(call->arena, holder_count * sizeof(*r->going)) : NULL;
    bool *losing = holder_count ? arena_alloc(call->arena, holder_count * sizeof(*losing)) : NULL;
    for (size_t i = 0; i < holder_count; i++) {
        const char *user = holders[i].user_id;
        if (r->people_count == 0 || strcmp(r->people[r->people_count - 1], user) != 0) {
            r->people[r->people_count] = user;
            losing[r->people_count++] = false;
        }
        r->going[r->people_count - 1]++;
        /* A grant that has ended gives no access to lose, though its row goes too. */
        if (holders[i].in_force && !losing[r->people_count - 1]) {
            losing[r->people_count - 1] = true;
            r->losing_count++;
        }
    }
    struct store_invitation *pending = NULL;
    size_t pending_count = 0;
    rc = store_invitation_pending_in_agency(&pending, &pending_count, c, call->arena, r->agency_id,
                                            call->err);
    if (rc)
        return rc;
    r->invitations =
        pending_count ? arena_alloc(call->arena, pending_count * sizeof(*r->invitations)) : NULL;
    for (size_t i = 0; i < pending_count; i++) {
        if (invitation_names(r, &pending[i]))
            r->invitations[r->invitation_count++] = pending[i];
    }
    return 0;
}

/* Deletes what r planned, the place last, and records it; *ended gets how many memberships
 * ended. */
static int removal_apply(int64_t *ended, const struct removal *r, struct store_conn *c,
                         const struct app_call *call)
{
    int64_t deleted = 0;
    int64_t now = clock_now_ms();
    *ended = 0;
    int rc = store_place_grants_delete(&deleted, c, call->arena, r->kind, r->id, call->err);
    for (size_t i = 0; rc == 0 && i < r->invitation_count; i++) {
        bool changed = false;
        rc = store_invitation_decide(&changed, c, call->arena, r->invitations[i].id, "revoked",
                                     call->actor->user_id, now, call->err);
    }
    /* A member left without any grant in the agency is no longer a member. */
    for (size_t i = 0; rc == 0 && i < r->people_count; i++) {
        int64_t left = 0;
        rc = store_grant_count(&left, c, call->arena, r->agency_id, r->people[i], call->err);
        if (rc)
            return rc;
        if (left > 0)
            continue;
        rc = store_member_remove(NULL, c, call->arena, r->agency_id, r->people[i], call->err);
        if (rc)
            return rc;
        (*ended)++;
    }
    if (rc)
        return rc;
    rc = r->environment_id ? store_bot_delete(c, call->arena, r->id, call->err)
                           : store_environment_delete(c, call->arena, r->id, call->err);
    if (rc)
        return rc;
    json_t *details = json_pack(
        "{s:s, s:I, s:I, s:I, s:I}", "name", r->name, "grants_removed", (json_int_t)deleted,
        "invitations_revoked", (json_int_t)r->invitation_count, "people_affected",
        (json_int_t)r->losing_count, "memberships_ended", (json_int_t)*ended);
    if (r->environment_id)
        json_object_set_new(details, "environment_id", json_string(r->environment_id));
    else
        json_object_set_new(details, "bots_removed", json_integer((json_int_t)r->bot_count));
    return tenancy_place_record(c, call, r->agency_id, r->kind, r->id, "deleted", details);
}

/* How many of r's people hold no grant in the agency but those that go: the memberships the
 * deletion would end, for a preview. */
static int removal_ending(int64_t *out, const struct removal *r, struct store_conn *c,
                          const struct app_call *call)
{
    *out = 0;
    for (size_t i = 0; i < r->people_count; i++) {
        int64_t held = 0;
        int rc = store_grant_count(&held, c, call->arena, r->agency_id, r->people[i], call->err);
        if (rc)
            return rc;
        if (held <= r->going[i])
            (*out)++;
    }
    return 0;
}

/* Plans r (already read and authorised on c), applies it unless is_preview, commits, and
 * brings the decision index up to date. */
static int removal_run(struct app_place_removal *out, struct removal *r, struct store_conn *c,
                       const struct app_call *call, bool is_preview)
{
    int64_t ended = 0;
    int rc = removal_plan(r, c, call);
    if (rc)
        goto done;
    if (is_preview) {
        rc = removal_ending(&ended, r, c, call);
        goto done;
    }
    rc = removal_apply(&ended, r, c, call);
    if (rc)
        goto done;
    rc = store_commit(c, call->err);
    if (rc)
        goto done;
    index_place_gone(call, c, r->environment_id ? POLICY_SCOPE_BOT : POLICY_SCOPE_ENVIRONMENT,
                     r->id);
done:
    if (rc == 0) {
        out->grants_removed = r->grant_count;
        out->invitations_revoked = (int64_t)r->invitation_count;
        out->people_affected = (int64_t)r->losing_count;
        out->memberships_ended = ended;
    }
    return rc;
}

int app_environment_delete(struct app_place_removal *out, const struct app_call *call,
                           const char *environment_id, bool is_preview)
{
    memset(out, 0, sizeof(*out));
    struct store_conn *c = NULL;
    struct store_environment env;
    struct app_access acc;
    int rc = environment_open(&c, &env, &acc, call, environment_id, !is_preview);
    if (rc)
        goto done;
    if (!app_access_allows(&acc, POLICY_SCOPE_AGENCY, env.agency_id, NULL, "environments.create")) {
        rc = forbidden(call->err, "environments.create is required in this agency");
        goto done;
    }
    struct removal r = {
        .kind = "environment",
        .id = env.id,
        .agency_id = env.agency_id,
        .name = env.name,
    };
    rc = removal_run(out, &r, c, call, is_preview);
done:
    store_conn_put(c);
    return rc;
}

int app_bot_delete(struct app_place_removal *out, const struct app_call *call, const char *bot_id,
                   bool is_preview)
{
    memset(out, 0, sizeof(*out));
    struct store_conn *c = NULL;
    struct store_bot bot;
    int rc = bot_open(&c, &bot, call, bot_id, !is_preview);
    if (rc)
        goto done;
    const char **self = arena_alloc(call->arena, sizeof(*self));
    self[0] = bot.id;
    struct removal r = {
        .kind = "bot",
        .id = bot.id,
        .agency_id = bot.agency_id,
        .name = bot.name,
        .environment_id = bot.environment_id,
        .bots = self,
        .bot_count = 1,
    };
    rc = removal_run(out, &r, c, call, is_preview);
done:
    store_conn_put(c);
    return rc;
}
