/* Places that change and go: renaming agencies, environments and bots, deleting an environment
 * or a bot with everything scoped to it, suspending and resuming an agency, and deleting a
 * suspended one. Each change and its audit row commit together; the decision index (and so
 * /check, route enforcement and API tokens) follows right after the commit here, and through
 * the change feed on every other process. */
#include <jansson.h>
#include <string.h>

#include "app/access.h"
#include "app/audit.h"
#include "app/grants.h"
#include "app/tenancy.h"
#include "app/tokens.h"
#include "authz/authz.h"
#include "base/clock.h"
#include "base/text.h"
#include "store/store.h"
#include "store/store_invitation.h"
#include "store/store_member.h"

static int name_clean(const char **out, const struct app_call *call, const char *name)
{
    if (!name)
        return usher_error_set(call->err, USHER_EINVAL, NULL, "name", "name is required");
    return text_name_check(out, call->arena, name, "name", TEXT_NAME_MAX_CHARS, call->err);
}

static int forbidden(struct usher_error *err, const char *why)
{
    return usher_error_set(err, USHER_EFORBIDDEN, NULL, NULL, "%s", why);
}

/* Records a rename of a place: old and new names. */
static int rename_record(struct store_conn *c, const struct app_call *call, const char *agency_id,
                         const char *action, const char *scope_type, const char *scope_id,
                         const char *old_name, const char *new_name)
{
    struct app_audit_event ev = {
        .agency_id = agency_id,
        .action = action,
        .scope_type = scope_type,
        .scope_id = scope_id,
        .details = json_pack("{s:s, s:s}", "old_name", old_name, "name", new_name),
    };
    return app_audit_record(c, call->arena, call->actor, &ev, call->err);
}

/* --- agencies --- */

int app_agency_update(struct store_agency *out, const struct app_call *call, const char *agency_id,
                      const char *name, enum app_agency_status_change status)
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
    if (status != APP_AGENCY_STATUS_KEEP && !acc.is_admin) {
        rc = forbidden(call->err, "only platform admins suspend and resume agencies");
        goto done;
    }
    if (name) {
        rc = app_access_require(&acc, POLICY_SCOPE_AGENCY, agency_id, NULL, "agency.manage",
                                call->err);
        if (rc)
            goto done;
        rc = name_clean(&clean, call, name);
        if (rc)
            goto done;
    }
    bool renamed = clean && strcmp(clean, agency.name) != 0;
    bool suspend = status == APP_AGENCY_STATUS_SUSPENDED;
    bool restated = status != APP_AGENCY_STATUS_KEEP && suspend != agency.is_suspended;
    if (renamed) {
        rc = store_agency_rename(c, call->arena, agency_id, clean, call->err);
        if (rc)
            goto done;
        rc = rename_record(c, call, agency_id, "agency.renamed", "agency", agency_id, agency.name,
                           clean);
        if (rc)
            goto done;
        agency.name = clean;
    }
    if (restated) {
        rc = store_agency_status_set(c, call->arena, agency_id, suspend, call->err);
        if (rc)
            goto done;
        struct app_audit_event ev = {
            .agency_id = agency_id,
            .action = suspend ? "agency.suspended" : "agency.resumed",
            .scope_type = "agency",
            .scope_id = agency_id,
            .details = json_pack("{s:s}", "name", agency.name),
        };
        rc = app_audit_record(c, call->arena, call->actor, &ev, call->err);
        if (rc)
            goto done;
        agency.is_suspended = suspend;
    }
    rc = store_commit(c, call->err);
    if (rc)
        goto done;
    if (restated && call->app->authz)
        authz_index_put_agency_status(call->app->authz, agency_id, suspend);
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
    struct app_audit_event ev = {
        .action = "agency.deleted",
        .scope_type = "agency",
        .scope_id = agency_id,
        .details =
            json_pack("{s:s, s:I}", "name", agency.name, "members", (json_int_t)member_count),
    };
    rc = app_audit_record(c, call->arena, call->actor, &ev, call->err);
    if (rc)
        goto done;
    rc = store_commit(c, call->err);
    if (rc)
        goto done;
    if (call->app->authz) {
        authz_index_drop_agency(call->app->authz, agency_id);
        for (size_t i = 0; i < member_count; i++)
            app_grants_refresh(call->app, c, members[i]);
    }
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
    if (!app_access_allows(&acc, POLICY_SCOPE_AGENCY, env.agency_id, NULL, "environments.create") &&
        !app_access_allows(&acc, POLICY_SCOPE_ENVIRONMENT, env.id, NULL, "environment.manage")) {
        rc = forbidden(call->err, "environment.manage is required in this environment");
        goto done;
    }
    rc = name_clean(&clean, call, name);
    if (rc)
        goto done;
    if (strcmp(clean, env.name) != 0) {
        rc = store_environment_rename(c, call->arena, env.id, clean, call->err);
        if (rc)
            goto done;
        rc = rename_record(c, call, env.agency_id, "environment.renamed", "environment", env.id,
                           env.name, clean);
        if (rc)
            goto done;
    }
    rc = store_commit(c, call->err);
    if (rc)
        goto done;
    env.name = clean;
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
    struct app_access acc;
    const char *clean = NULL;
    int rc = app_call_begin(&c, call, true);
    if (rc)
        goto done;
    rc = store_bot_get(&bot, c, call->arena, bot_id, call->err);
    if (rc)
        goto done;
    rc = app_access_load(&acc, c, call->arena, call->actor, bot.agency_id, "bot", call->err);
    if (rc)
        goto done;
    if (!app_access_allows(&acc, POLICY_SCOPE_ENVIRONMENT, bot.environment_id, NULL,
                           "bot.develop")) {
        rc = forbidden(call->err, "bot.develop is required in this environment");
        goto done;
    }
    rc = name_clean(&clean, call, name);
    if (rc)
        goto done;
    if (strcmp(clean, bot.name) != 0) {
        rc = store_bot_rename(c, call->arena, bot.id, clean, call->err);
        if (rc)
            goto done;
        rc = rename_record(c, call, bot.agency_id, "bot.renamed", "bot", bot.id, bot.name, clean);
        if (rc)
            goto done;
    }
    rc = store_commit(c, call->err);
    if (rc)
        goto done;
    bot.name = clean;
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
    const char **holders = NULL;
    size_t holder_count = 0;
    int rc = 0;
    if (!r->environment_id) {
        rc = store_environment_bot_ids(&r->bots, &r->bot_count, c, call->arena, r->id, call->err);
        if (rc)
            return rc;
    }
    rc = store_place_grant_holders(&holders, &holder_count, c, call->arena, r->kind, r->id,
                                   call->err);
    if (rc)
        return rc;
    r->grant_count = (int64_t)holder_count;
    r->people = holder_count ? arena_alloc(call->arena, holder_count * sizeof(*r->people)) : NULL;
    r->going = holder_count ? arena_alloc(call->arena, holder_count * sizeof(*r->going)) : NULL;
    for (size_t i = 0; i < holder_count; i++) {
        if (r->people_count == 0 || strcmp(r->people[r->people_count - 1], holders[i]) != 0)
            r->people[r->people_count++] = holders[i];
        r->going[r->people_count - 1]++;
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
        (json_int_t)r->people_count, "memberships_ended", (json_int_t)*ended);
    if (r->environment_id)
        json_object_set_new(details, "environment_id", json_string(r->environment_id));
    else
        json_object_set_new(details, "bots_removed", json_integer((json_int_t)r->bot_count));
    struct app_audit_event ev = {
        .agency_id = r->agency_id,
        .action = r->environment_id ? "bot.deleted" : "environment.deleted",
        .scope_type = r->kind,
        .scope_id = r->id,
        .details = details,
    };
    return app_audit_record(c, call->arena, call->actor, &ev, call->err);
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
    struct authz_index *ix = call->app->authz;
    if (ix) {
        if (r->environment_id)
            authz_index_put_bot(ix, r->id, NULL, NULL);
        else {
            authz_index_put_environment(ix, r->id, NULL);
            for (size_t i = 0; i < r->bot_count; i++)
                authz_index_put_bot(ix, r->bots[i], NULL, NULL);
        }
        for (size_t i = 0; i < r->people_count; i++)
            app_grants_refresh(call->app, c, r->people[i]);
    }
done:
    if (rc == 0) {
        out->grants_removed = r->grant_count;
        out->invitations_revoked = (int64_t)r->invitation_count;
        out->people_affected = (int64_t)r->people_count;
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
    int rc = app_call_begin(&c, call, !is_preview);
    if (rc)
        goto done;
    rc = store_environment_get(&env, c, call->arena, environment_id, call->err);
    if (rc)
        goto done;
    rc =
        app_access_load(&acc, c, call->arena, call->actor, env.agency_id, "environment", call->err);
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
    struct app_access acc;
    int rc = app_call_begin(&c, call, !is_preview);
    if (rc)
        goto done;
    rc = store_bot_get(&bot, c, call->arena, bot_id, call->err);
    if (rc)
        goto done;
    rc = app_access_load(&acc, c, call->arena, call->actor, bot.agency_id, "bot", call->err);
    if (rc)
        goto done;
    if (!app_access_allows(&acc, POLICY_SCOPE_ENVIRONMENT, bot.environment_id, NULL,
                           "bot.develop")) {
        rc = forbidden(call->err, "bot.develop is required in this environment");
        goto done;
    }
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
