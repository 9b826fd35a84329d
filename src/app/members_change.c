/* Changes to a member: the shortcode (and names, the person's own), their grants, removal from
 * the agency or from one environment; each with its audit row, in one transaction. */
#include "app/members.h"

#include <string.h>

#include "app/access.h"
#include "app/audit.h"
#include "app/grants_preview.h"
#include "app/members_int.h"
#include "base/clock.h"
#include "base/crypto.h"
#include "base/text.h"
#include "policy/catalogue.h"
#include "store/store_member.h"

/* The end of a change that answers with the member: read them back inside the change's own
 * transaction (once it commits nothing can fail any more), commit, and push the change into the
 * decision index. */
static int change_finish(struct app_member_detail *out, struct app_members_ctx *x,
                         const struct app_call *call, const char *user_id)
{
    int rc = app_members_detail_reread(out, x, user_id, call->err);
    if (rc)
        return rc;
    rc = store_commit(x->c, call->err);
    if (rc)
        return rc;
    app_grants_refresh(call->app, x->c, user_id);
    return 0;
}

static bool text_equal(const char *x, const char *y)
{
    return (!x && !y) || (x && y && strcmp(x, y) == 0);
}

/* Refuses a change that leaves the agency without an active owner. */
static int last_owner_guard(struct app_members_ctx *x, const char *user_id, struct usher_error *err)
{
    int64_t others = 0;
    int rc = store_directory_owner_count(&others, x->c, x->a, x->agency_id, user_id, clock_now_ms(),
                                         err);
    if (rc)
        return rc;
    if (others == 0)
        return usher_error_set(err, USHER_ECONFLICT, "last_owner", NULL,
                               "the agency would be left without an owner");
    return 0;
}

/* A member's names and shortcode as a change checked them (NULL: not given, or for the
 * shortcode, cleared when has_shortcode). */
struct patch_values {
    const char *first_name;
    const char *last_name;
    bool has_shortcode;
    const char *shortcode;
};

/* Checks patch for user_id into v: names belong to the person (only they and platform admins
 * change them), and the shortcode is the agency's, so changing it takes authority over them. */
static int patch_check(struct patch_values *v, struct app_members_ctx *x,
                       const struct app_call *call, const char *user_id,
                       const struct app_grant_list *pg, const struct app_member_patch *patch)
{
    if ((patch->has_first_name || patch->has_last_name) && !x->caller.acc.is_admin &&
        !(call->actor->user_id && strcmp(call->actor->user_id, user_id) == 0))
        return usher_error_set(call->err, USHER_EFORBIDDEN, "names_belong_to_person", NULL,
                               "names belong to the person: only they change them, in their "
                               "account");
    int rc = 0;
    if (patch->has_first_name) {
        rc = text_name_optional_check(&v->first_name, call->arena, patch->first_name, "first_name",
                                      call->err);
        if (rc)
            return rc;
    }
    if (patch->has_last_name) {
        rc = text_name_optional_check(&v->last_name, call->arena, patch->last_name, "last_name",
                                      call->err);
        if (rc)
            return rc;
    }
    if (patch->has_shortcode && patch->shortcode) {
        rc = text_shortcode_check(&v->shortcode, call->arena, patch->shortcode, "shortcode",
                                  call->err);
        if (rc)
            return rc;
    }
    if (!patch->has_shortcode)
        return 0;
    return app_members_authority(x, user_id, pg, NULL, call->err);
}

/* Writes what v changes of person (user_id), with its member.updated audit row; nothing when
 * nothing changes. A shortcode another member holds, or that a pending invitation to someone
 * else keeps: USHER_ECONFLICT "shortcode_taken". */
static int patch_write(struct app_members_ctx *x, const struct app_call *call,
                       const struct store_directory_person *person, const char *user_id,
                       const struct patch_values *v)
{
    json_t *details = json_object();
    bool names_changed = false;
    if (v->first_name && strcmp(v->first_name, person->first_name) != 0) {
        json_object_set_new(details, "first_name", json_string(v->first_name));
        names_changed = true;
    }
    if (v->last_name && strcmp(v->last_name, person->last_name) != 0) {
        json_object_set_new(details, "last_name", json_string(v->last_name));
        names_changed = true;
    }
    bool shortcode_changed = v->has_shortcode && !text_equal(v->shortcode, person->shortcode);
    if (shortcode_changed)
        json_object_set_new(details, "shortcode",
                            v->shortcode ? json_string(v->shortcode) : json_null());
    int rc = 0;
    if (names_changed) {
        rc = store_directory_names_set(x->c, call->arena, user_id,
                                       v->first_name ? v->first_name : person->first_name,
                                       v->last_name ? v->last_name : person->last_name, call->err);
        if (rc)
            goto done;
    }
    if (shortcode_changed && v->shortcode) {
        /* A pending invitation keeps its shortcode for its invitee, as members keep theirs. */
        bool reserved = false;
        rc = store_directory_shortcode_reserved(&reserved, x->c, call->arena, x->agency_id,
                                                v->shortcode, person->email, call->err);
        if (rc)
            goto done;
        if (reserved) {
            rc = usher_error_set(call->err, USHER_ECONFLICT, "shortcode_taken", "shortcode",
                                 "shortcode is already used in this agency");
            goto done;
        }
    }
    if (shortcode_changed) {
        rc = store_member_shortcode_set(x->c, call->arena, x->agency_id, user_id, v->shortcode,
                                        call->err);
        if (rc)
            goto done;
    }
    if (names_changed || shortcode_changed) {
        struct app_audit_event ev = {
            .agency_id = x->agency_id,
            .action = "member.updated",
            .subject_user_id = user_id,
            .scope_type = "agency",
            .scope_id = x->agency_id,
            .details = details,
        };
        details = NULL; /* the audit row takes it */
        rc = app_audit_record(x->c, call->arena, call->actor, &ev, call->err);
    }
done:
    json_decref(details);
    return rc;
}

int app_member_update(struct app_member_detail *out, const struct app_call *call,
                      const char *agency_id, const char *user_id,
                      const struct app_member_patch *patch)
{
    memset(out, 0, sizeof(*out));
    struct app_members_ctx x;
    struct store_directory_person person;
    struct app_grant_list pg;
    struct patch_values v = {.has_shortcode = patch->has_shortcode};
    int rc = app_members_ctx_open(&x, call, agency_id, true);
    if (rc)
        goto done;
    rc = app_members_load(&person, &pg, &x, user_id, call->err);
    if (rc)
        goto done;
    rc = patch_check(&v, &x, call, user_id, &pg, patch);
    if (rc)
        goto done;
    rc = patch_write(&x, call, &person, user_id, &v);
    if (rc)
        goto done;
    rc = change_finish(out, &x, call, user_id);
done:
    app_members_ctx_close(&x);
    return rc;
}

int app_member_grants_replace(struct app_member_detail *out, struct app_grants_preview *preview,
                              const struct app_call *call, const char *agency_id,
                              const char *user_id, json_t *grants)
{
    memset(out, 0, sizeof(*out));
    struct app_members_ctx x;
    struct store_directory_person person;
    struct app_grant_list pg;
    struct app_grant *next = NULL;
    size_t next_count = 0;
    int rc = app_members_ctx_open(&x, call, agency_id, true);
    if (rc)
        goto done;
    rc = app_members_load(&person, &pg, &x, user_id, call->err);
    if (rc)
        goto done;
    rc = app_access_not_self(&x.caller.acc, user_id, call->err);
    if (rc)
        goto done;
    rc = app_members_authority(&x, user_id, &pg, NULL, call->err);
    if (rc)
        goto done;
    rc = app_grants_parse(&next, &next_count, x.c, call->arena, x.agency_id, &x.roles, grants,
                          "grants", false, call->err);
    if (rc)
        goto done;
    rc = app_access_may_grant(&x.caller.acc, call->arena, next, next_count, "users.manage",
                              "grants", call->err);
    if (rc)
        goto done;
    struct app_grant_list after = {next, next_count};
    if (app_grant_list_holds_owner(&pg) && !app_grant_list_holds_owner(&after)) {
        rc = last_owner_guard(&x, user_id, call->err);
        if (rc)
            goto done;
    }
    rc = app_grants_write(x.c, call->arena, x.agency_id, user_id, NULL, next, next_count, true,
                          call->actor->user_id, call->err);
    if (rc)
        goto done;
    if (preview) {
        /* A dry run ends here: the write above is rolled back as the context closes. */
        rc = app_grants_preview_build(preview, x.c, call->arena, pg.items, pg.count, next,
                                      next_count, strcmp(person.status, "active") == 0, call->err);
        preview->user_id = user_id;
        preview->email = person.email;
        goto done;
    }
    struct app_audit_event ev = {
        .agency_id = x.agency_id,
        .action = "member.grants_replaced",
        .subject_user_id = user_id,
        .scope_type = "agency",
        .scope_id = x.agency_id,
        .details = json_pack("{s:o, s:o}", "previous", app_grants_json(pg.items, pg.count, NULL),
                             "grants", app_grants_json(next, next_count, NULL)),
    };
    rc = app_audit_record(x.c, call->arena, call->actor, &ev, call->err);
    if (rc)
        goto done;
    rc = change_finish(out, &x, call, user_id);
done:
    app_members_ctx_close(&x);
    return rc;
}

int app_member_remove(const struct app_call *call, const char *agency_id, const char *user_id)
{
    struct app_members_ctx x;
    struct store_directory_person person;
    struct app_grant_list pg;
    int64_t revoked = 0;
    bool is_self = call->actor->user_id && strcmp(call->actor->user_id, user_id) == 0;
    int rc = app_members_ctx_open(&x, call, agency_id, true);
    if (rc)
        goto done;
    if (is_self) {
        /* Anyone may leave: no authority over oneself is asked. */
        rc = store_directory_member_get(&person, x.c, call->arena, x.agency_id, user_id, call->err);
        if (rc)
            goto done;
        rc = app_members_grants_load(&pg, &x, user_id, call->err);
        if (rc)
            goto done;
    } else {
        rc = app_members_load(&person, &pg, &x, user_id, call->err);
        if (rc)
            goto done;
        rc = app_members_authority(&x, user_id, &pg, NULL, call->err);
        if (rc)
            goto done;
    }
    if (app_grant_list_holds_owner(&pg)) {
        rc = last_owner_guard(&x, user_id, call->err);
        if (rc)
            goto done;
    }
    rc = store_member_remove(NULL, x.c, call->arena, x.agency_id, user_id, call->err);
    if (rc)
        goto done;
    rc = store_directory_invitations_revoke(&revoked, x.c, call->arena, x.agency_id, person.email,
                                            call->actor->user_id, clock_now_ms(), call->err);
    if (rc)
        goto done;
    struct app_audit_event ev = {
        .agency_id = x.agency_id,
        .action = "member.removed",
        .subject_user_id = user_id,
        .scope_type = "agency",
        .scope_id = x.agency_id,
        .details =
            json_pack("{s:o, s:I, s:b}", "previous", app_grants_json(pg.items, pg.count, NULL),
                      "revoked_invitations", (json_int_t)revoked, "left", is_self),
    };
    rc = app_audit_record(x.c, call->arena, call->actor, &ev, call->err);
    if (rc)
        goto done;
    rc = store_commit(x.c, call->err);
    if (rc)
        goto done;
    app_grants_refresh(call->app, x.c, user_id);
done:
    app_members_ctx_close(&x);
    return rc;
}

/* The environment environment_id, read on a connection of its own: it names the agency whose
 * context the removal opens. A foreign one is not found like any other object. */
static int environment_read(struct store_environment *out, const struct app_call *call,
                            const char *environment_id)
{
    struct store_conn *c = NULL;
    int rc = store_conn_get(call->app->store, &c, call->err);
    if (rc)
        goto done;
    rc = store_environment_get(out, c, call->arena, environment_id, call->err);
done:
    store_conn_put(c);
    return rc;
}

/* Takes user_id's access to environment_id away, in x's transaction: an explicit empty grant
 * on it, no grants on its bots, and the member.removed_from_environment audit row. */
static int environment_access_remove(struct app_members_ctx *x, const struct app_call *call,
                                     const char *environment_id, const char *user_id,
                                     const struct app_grant_list *pg)
{
    struct store_grant_write none = {
        .id = crypto_id_new(call->arena, "grt"),
        .agency_id = x->agency_id,
        .user_id = user_id,
        .environment_id = environment_id,
        .scope_id = environment_id,
        .roles = "",
        .extra_permissions = "",
        .created_at = clock_now_ms(),
    };
    int64_t bot_grants = 0;
    int rc = store_grant_upsert(x->c, call->arena, &none, call->err);
    if (rc)
        return rc;
    rc = store_directory_bot_grants_delete(&bot_grants, x->c, call->arena, x->agency_id, user_id,
                                           environment_id, call->err);
    if (rc)
        return rc;
    struct app_audit_event ev = {
        .agency_id = x->agency_id,
        .action = "member.removed_from_environment",
        .subject_user_id = user_id,
        .scope_type = "environment",
        .scope_id = environment_id,
        .details = json_pack("{s:o, s:I}", "previous", app_grants_json(pg->items, pg->count, NULL),
                             "bot_grants_removed", (json_int_t)bot_grants),
    };
    return app_audit_record(x->c, call->arena, call->actor, &ev, call->err);
}

int app_member_environment_remove(const struct app_call *call, const char *environment_id,
                                  const char *user_id)
{
    struct app_members_ctx x;
    memset(&x, 0, sizeof(x));
    struct store_environment env;
    struct store_directory_person person;
    struct app_grant_list pg;
    int rc = environment_read(&env, call, environment_id);
    if (rc)
        goto done;
    rc = app_members_ctx_open(&x, call, env.agency_id, true);
    if (rc)
        goto done;
    if (app_members_env_index(&x, env.id) < 0) {
        rc = usher_error_set(call->err, USHER_ENOTFOUND, NULL, NULL, "environment not found");
        goto done;
    }
    rc = app_members_load(&person, &pg, &x, user_id, call->err);
    if (rc)
        goto done;
    rc = app_access_not_self(&x.caller.acc, user_id, call->err);
    if (rc)
        goto done;
    rc = app_access_require(&x.caller.acc, POLICY_SCOPE_ENVIRONMENT, env.id, NULL, "users.manage",
                            call->err);
    if (rc)
        goto done;
    rc = app_members_authority(&x, user_id, &pg, env.id, call->err);
    if (rc)
        goto done;
    const struct app_grant *own = app_grant_list_at(&pg, POLICY_SCOPE_ENVIRONMENT, env.id);
    bool has_bot_grants = false;
    for (size_t i = 0; i < pg.count; i++) {
        has_bot_grants = has_bot_grants ||
                         (pg.items[i].scope == POLICY_SCOPE_BOT && pg.items[i].environment_id &&
                          strcmp(pg.items[i].environment_id, env.id) == 0);
    }
    /* Already removed: nothing changes, nothing to record. */
    bool is_removed = own && app_grant_is_empty(own) && !has_bot_grants;
    if (!is_removed) {
        rc = environment_access_remove(&x, call, env.id, user_id, &pg);
        if (rc)
            goto done;
    }
    rc = store_commit(x.c, call->err);
    if (rc || is_removed)
        goto done;
    app_grants_refresh(call->app, x.c, user_id);
done:
    app_members_ctx_close(&x);
    return rc;
}
