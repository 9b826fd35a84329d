/* Custom roles: id, name and permission rules, who may define them (agency.manage, within the
 * grant ceiling), and telling the decision index about every change once it has committed. */
#include "app/roles.h"

#include <stdio.h>
#include <string.h>

#include "app/audit.h"
#include "policy/catalogue.h"
#include "policy/decide.h"
#include "app/access.h"
#include "app/tenancy.h"
#include "authz/authz.h"
#include "base/clock.h"
#include "base/log.h"
#include "base/text.h"
#include "store/store_role.h"
#include "store/store_tenancy.h"

#define ROLE_PERMISSIONS_MAX 64 /* items in a permissions array, repeats included */

int app_role_id_check(const char *id, const char *field, struct usher_error *err)
{
    if (!id || !*id)
        return usher_error_set(err, USHER_EINVAL, NULL, field, "%s must not be empty", field);
    size_t len = strlen(id);
    int rc = text_chars_check(id, len, field, err);
    if (rc)
        return rc;
    if (policy_catalogue_role_index(id) >= 0)
        return usher_error_set(err, USHER_EINVAL, NULL, field,
                               "%s must not be the id of the built-in role %s", field, id);
    if (!policy_catalogue_custom_id_valid(id, len))
        return usher_error_set(err, USHER_EINVAL, NULL, field,
                               "%s must be 2 to %d lowercase ASCII letters, digits or '_', "
                               "starting with a letter",
                               field, POLICY_ROLE_ID_MAX);
    return 0;
}

int app_role_id_derive(const char **out, struct arena *a, const char *name, struct usher_error *err)
{
    char id[POLICY_ROLE_ID_MAX + 1];
    size_t len = 0;
    bool gap = false;
    bool is_ascii = true;
    for (const unsigned char *p = (const unsigned char *)(name ? name : ""); *p; p++) {
        unsigned char c = *p;
        is_ascii = is_ascii && c < 0x80;
        if (c >= 'A' && c <= 'Z')
            c = (unsigned char)(c - 'A' + 'a');
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) {
            gap = true;
            continue;
        }
        if (len + (gap && len > 0) + 1 > POLICY_ROLE_ID_MAX)
            break;
        if (gap && len > 0)
            id[len++] = '_';
        id[len++] = (char)c;
        gap = false;
    }
    id[len] = '\0';
    if (!is_ascii || !policy_catalogue_custom_id_valid(id, len))
        return usher_error_set(err, USHER_EINVAL, NULL, "id",
                               "id is required: the name does not make one (an id is 2 to %d "
                               "lowercase ASCII letters, digits or '_', starts with a letter "
                               "and is not a built-in role)",
                               POLICY_ROLE_ID_MAX);
    *out = arena_strdup(a, id);
    return 0;
}

/* The built-in role name reads as, or NULL: its name or its words, ignoring ASCII case, with
 * spaces and '-' taken for '_' ("Content manager" is content_manager). */
static const char *builtin_look_alike(const char *name)
{
    for (size_t i = 0; i < POLICY_ROLE_COUNT; i++) {
        const char *b = policy_catalogue_role_at(i)->name;
        size_t k = 0;
        for (; name[k] && b[k]; k++) {
            char c = name[k];
            if (c >= 'A' && c <= 'Z')
                c = (char)(c - 'A' + 'a');
            if (c == ' ' || c == '-')
                c = '_';
            if (c != b[k])
                break;
        }
        if (!name[k] && !b[k])
            return b;
    }
    return NULL;
}

int app_role_name_check(const char **out, struct arena *a, const char *name, const char *field,
                        struct usher_error *err)
{
    if (!name)
        return usher_error_set(err, USHER_EINVAL, NULL, field, "%s is required", field);
    const char *clean = NULL;
    int rc = text_name_check(&clean, a, name, field, APP_ROLE_NAME_MAX_CHARS, err);
    if (rc)
        return rc;
    const char *builtin = builtin_look_alike(clean);
    if (builtin)
        return usher_error_set(err, USHER_EINVAL, NULL, field,
                               "%s must not be the name of the built-in role %s", field, builtin);
    *out = clean;
    return 0;
}

int app_role_permissions_parse(uint64_t *out, struct arena *a, json_t *list, const char *field,
                               struct usher_error *err)
{
    *out = 0;
    if (!list || json_is_null(list))
        return usher_error_set(err, USHER_EINVAL, NULL, field, "%s is required", field);
    if (!json_is_array(list))
        return usher_error_set(err, USHER_EINVAL, NULL, field,
                               "%s must be an array of permission names", field);
    size_t n = json_array_size(list);
    if (n == 0)
        return usher_error_set(err, USHER_EINVAL, NULL, field,
                               "%s must hold at least one permission", field);
    if (n > ROLE_PERMISSIONS_MAX)
        return usher_error_set(err, USHER_EINVAL, NULL, field, "%s holds more than %d items", field,
                               ROLE_PERMISSIONS_MAX);
    uint64_t mask = 0;
    for (size_t i = 0; i < n; i++) {
        json_t *item = json_array_get(list, i);
        const char *where = arena_printf(a, "%s[%zu]", field, i);
        if (!json_is_string(item))
            return usher_error_set(err, USHER_EINVAL, NULL, where, "%s must be a permission name",
                                   where);
        uint64_t bit = policy_catalogue_permission_bit(json_string_value(item));
        if (!bit)
            return usher_error_set(err, USHER_EINVAL, "unknown_permission", where,
                                   "%s is not a permission of the catalogue", where);
        mask |= bit;
    }
    *out = mask;
    return 0;
}

char *app_role_permissions_csv(struct arena *a, uint64_t permissions)
{
    size_t cap = 1;
    for (size_t i = 0; i < POLICY_PERM_COUNT; i++) {
        if (permissions & POLICY_BIT(i))
            cap += strlen(policy_catalogue_permission_at(i)->name) + 1;
    }
    char *out = arena_alloc(a, cap);
    size_t len = 0;
    out[0] = '\0';
    for (size_t i = 0; i < POLICY_PERM_COUNT; i++) {
        if (permissions & POLICY_BIT(i))
            len += (size_t)snprintf(out + len, cap - len, "%s%s", len ? "," : "",
                                    policy_catalogue_permission_at(i)->name);
    }
    return out;
}

/* The permission names of a mask as a JSON array, in catalogue order. */
static json_t *permissions_json(uint64_t permissions)
{
    json_t *list = json_array();
    for (size_t i = 0; i < POLICY_PERM_COUNT; i++) {
        if (permissions & POLICY_BIT(i))
            json_array_append_new(list, json_string(policy_catalogue_permission_at(i)->name));
    }
    return list;
}

/* Checks that the agency exists and loads the actor's standing in it: platform admins and
 * members pass, anyone else learns only that there is no such agency. */
static int agency_visible(struct app_access *out, struct store_conn *c, struct arena *a,
                          const struct app_actor *actor, const char *agency_id,
                          struct usher_error *err)
{
    struct store_agency agency;
    int rc = store_agency_get(&agency, c, a, agency_id, err);
    if (rc)
        return rc;
    return app_access_load(out, c, a, actor, agency_id, "agency", err);
}

/* Checks that the actor may manage the agency's roles and sets *out_held to what they hold at
 * agency scope (everything for platform admins). */
static int manager_load(uint64_t *out_held, struct store_conn *c, struct arena *a,
                        const struct app_actor *actor, const char *agency_id,
                        struct usher_error *err)
{
    *out_held = 0;
    struct app_access acc;
    struct policy_decide_target t = {POLICY_SCOPE_AGENCY, agency_id, NULL};
    int rc = agency_visible(&acc, c, a, actor, agency_id, err);
    if (rc)
        goto done;
    rc = app_access_require(&acc, t.scope, t.scope_id, NULL, "agency.manage", err);
    if (rc)
        goto done;
    *out_held = app_access_held(&acc, &t);
done:
    return rc;
}

/* Nobody defines a role with permissions they do not hold: names the first item of list that
 * adds such a permission. */
static int ceiling_check(struct arena *a, json_t *list, uint64_t added, uint64_t held,
                         const char *field, struct usher_error *err)
{
    uint64_t missing = added & ~held;
    if (!missing)
        return 0;
    size_t i;
    json_t *item;
    json_array_foreach(list, i, item)
    {
        const char *name = json_string_value(item);
        if (policy_catalogue_permission_bit(name) & missing)
            return usher_error_set(
                err, USHER_EFORBIDDEN, "grant_ceiling", arena_printf(a, "%s[%zu]", field, i),
                "%s[%zu] gives %s, which you do not hold in this agency", field, i, name);
    }
    return usher_error_set(err, USHER_EFORBIDDEN, "grant_ceiling", field,
                           "%s gives permissions you do not hold in this agency", field);
}

int app_role_list(struct app_role_set *out, const struct app_call *call, const char *agency_id)
{
    memset(out, 0, sizeof(*out));
    struct store_conn *c = NULL;
    struct app_access acc;
    int rc = store_conn_get(call->app->store, &c, call->err);
    if (rc)
        goto done;
    rc = agency_visible(&acc, c, call->arena, call->actor, agency_id, call->err);
    if (rc)
        goto done;
    rc = app_role_set_load(out, c, call->arena, agency_id, call->err);
done:
    store_conn_put(c);
    return rc;
}

/* Whether x and y are equal ignoring the case of ASCII letters only (as the unique index on
 * lower(name) does in SQLite, and with the C collation in PostgreSQL). */
static bool ascii_case_equal(const char *x, const char *y)
{
    for (;; x++, y++) {
        char cx = *x >= 'A' && *x <= 'Z' ? (char)(*x - 'A' + 'a') : *x;
        char cy = *y >= 'A' && *y <= 'Z' ? (char)(*y - 'A' + 'a') : *y;
        if (cx != cy)
            return false;
        if (!cx)
            return true;
    }
}

/* A conflict with a role of set other than except_id: the same id, or the same name ignoring
 * ASCII case. */
static int role_taken(const struct app_role_set *set, const char *id, const char *name,
                      const char *except_id, struct usher_error *err)
{
    for (size_t i = 0; i < set->count; i++) {
        const struct store_custom_role *r = &set->items[i];
        if (except_id && strcmp(r->id, except_id) == 0)
            continue;
        if (id && strcmp(r->id, id) == 0)
            return usher_error_set(err, USHER_ECONFLICT, "conflict", "id",
                                   "this agency already has a role with id %s", id);
        if (name && ascii_case_equal(r->name, name))
            return usher_error_set(err, USHER_ECONFLICT, "conflict", "name",
                                   "this agency already has a role of that name");
    }
    return 0;
}

/* Brings the index's custom roles of the agency up to date after a committed change: read again
 * from c (a newer change another instance made meanwhile then wins), or, when that read fails,
 * role_id set to what this change wrote. */
static void roles_index_refresh(const struct app_call *call, struct store_conn *c,
                                const char *agency_id, const char *role_id, uint64_t permissions,
                                bool is_deleted)
{
    struct usher_error err = {0};
    if (authz_index_refresh_roles(call->app->authz, c, agency_id, &err) == 0)
        return;
    log_msg(LOG_WARN, "authz.refresh_failed", "{s:s, s:s}", "agency_id", agency_id, "error",
            err.message);
    authz_index_put_custom_role(call->app->authz, role_id, agency_id, permissions, is_deleted);
}

int app_role_create(struct store_custom_role *out, const struct app_call *call,
                    const char *agency_id, const struct app_role_draft *draft)
{
    struct store_conn *c = NULL;
    uint64_t held = 0, perms = 0;
    const char *clean = NULL, *id = draft->id;
    struct app_role_set existing;
    int rc = app_call_begin(&c, call, true);
    if (rc)
        goto done;
    rc = manager_load(&held, c, call->arena, call->actor, agency_id, call->err);
    if (rc)
        goto done;
    rc = app_role_name_check(&clean, call->arena, draft->name, "name", call->err);
    if (rc)
        goto done;
    rc = id ? app_role_id_check(id, "id", call->err)
            : app_role_id_derive(&id, call->arena, clean, call->err);
    if (rc)
        goto done;
    rc = app_role_permissions_parse(&perms, call->arena, draft->permissions, "permissions",
                                    call->err);
    if (rc)
        goto done;
    rc = ceiling_check(call->arena, draft->permissions, perms, held, "permissions", call->err);
    if (rc)
        goto done;
    rc = app_role_set_load(&existing, c, call->arena, agency_id, call->err);
    if (rc)
        goto done;
    rc = role_taken(&existing, id, clean, NULL, call->err);
    if (rc)
        goto done;
    if (existing.count >= APP_ROLES_PER_AGENCY) {
        rc = usher_error_set(call->err, USHER_ECONFLICT, "role_limit", NULL,
                             "an agency may define at most %d custom roles", APP_ROLES_PER_AGENCY);
        goto done;
    }
    struct store_custom_role role = {
        .id = arena_strdup(call->arena, id),
        .agency_id = arena_strdup(call->arena, agency_id),
        .name = clean,
        .permissions = app_role_permissions_csv(call->arena, perms),
        .created_at = clock_now_ms(),
    };
    rc = store_role_insert(c, call->arena, &role, call->err);
    if (rc)
        goto done;
    struct app_audit_event ev = {
        .agency_id = role.agency_id,
        .action = "role.created",
        .scope_type = "agency",
        .scope_id = role.agency_id,
        .details = json_pack("{s:s, s:s, s:o}", "role_id", role.id, "name", role.name,
                             "permissions", permissions_json(perms)),
    };
    rc = app_audit_record(c, call->arena, call->actor, &ev, call->err);
    if (rc)
        goto done;
    rc = store_commit(c, call->err);
    if (rc)
        goto done;
    if (call->app->authz)
        roles_index_refresh(call, c, role.agency_id, role.id, perms, false);
    *out = role;
done:
    store_conn_put(c);
    return rc;
}

/* Renames role to new_name (NULL: the name stays) and/or sets its permissions from old_perms to
 * new_perms, with the role.updated audit row, in the caller's transaction on c. role then reads
 * as changed. */
static int role_change_write(struct store_conn *c, const struct app_call *call,
                             struct store_custom_role *role, const char *new_name,
                             uint64_t old_perms, uint64_t new_perms)
{
    bool perms_changed = new_perms != old_perms;
    int rc = 0;
    if (new_name) {
        rc = store_role_rename(c, call->arena, role->agency_id, role->id, new_name, call->err);
        if (rc)
            return rc;
    }
    const char *csv =
        perms_changed ? app_role_permissions_csv(call->arena, new_perms) : role->permissions;
    if (perms_changed) {
        rc = store_role_permissions_set(c, call->arena, role->agency_id, role->id, csv, call->err);
        if (rc)
            return rc;
    }
    json_t *details =
        json_pack("{s:s, s:s, s:o}", "role_id", role->id, "name", new_name ? new_name : role->name,
                  "permissions", permissions_json(new_perms));
    if (new_name)
        json_object_set_new(details, "previous_name", json_string(role->name));
    if (perms_changed)
        json_object_set_new(details, "previous_permissions", permissions_json(old_perms));
    struct app_audit_event ev = {
        .agency_id = role->agency_id,
        .action = "role.updated",
        .scope_type = "agency",
        .scope_id = role->agency_id,
        .details = details,
    };
    rc = app_audit_record(c, call->arena, call->actor, &ev, call->err);
    if (rc)
        return rc;
    if (new_name)
        role->name = new_name;
    role->permissions = csv;
    return 0;
}

int app_role_update(struct store_custom_role *out, const struct app_call *call,
                    const char *agency_id, const char *role_id,
                    const struct app_role_change *change)
{
    struct store_conn *c = NULL;
    uint64_t held = 0, old_perms = 0, new_perms = 0;
    const char *clean = NULL;
    struct store_custom_role role;
    int rc = 0;
    if (!change->name && !change->permissions) {
        rc = usher_error_set(call->err, USHER_EINVAL, NULL, NULL,
                             "nothing to change: give name or permissions");
        goto done;
    }
    rc = app_call_begin(&c, call, true);
    if (rc)
        goto done;
    rc = manager_load(&held, c, call->arena, call->actor, agency_id, call->err);
    if (rc)
        goto done;
    rc = store_role_get(&role, c, call->arena, agency_id, role_id, call->err);
    if (rc)
        goto done;
    old_perms = new_perms = policy_catalogue_permissions_parse(role.permissions, NULL);
    if (change->name) {
        rc = app_role_name_check(&clean, call->arena, change->name, "name", call->err);
        if (rc)
            goto done;
        struct app_role_set existing;
        rc = app_role_set_load(&existing, c, call->arena, agency_id, call->err);
        if (rc)
            goto done;
        rc = role_taken(&existing, NULL, clean, role.id, call->err);
        if (rc)
            goto done;
    }
    if (change->permissions) {
        rc = app_role_permissions_parse(&new_perms, call->arena, change->permissions, "permissions",
                                        call->err);
        if (rc)
            goto done;
        /* Taking permissions away grants nothing; only what a change adds meets the ceiling. */
        rc = ceiling_check(call->arena, change->permissions, new_perms & ~old_perms, held,
                           "permissions", call->err);
        if (rc)
            goto done;
    }
    bool renamed = clean && strcmp(clean, role.name) != 0;
    bool perms_changed = new_perms != old_perms;
    /* A change that changes nothing writes nothing. */
    if (renamed || perms_changed) {
        rc = role_change_write(c, call, &role, renamed ? clean : NULL, old_perms, new_perms);
        if (rc)
            goto done;
        rc = store_commit(c, call->err);
        if (rc)
            goto done;
        if (perms_changed && call->app->authz)
            roles_index_refresh(call, c, role.agency_id, role.id, new_perms, false);
    }
    *out = role;
done:
    store_conn_put(c);
    return rc;
}

int app_role_delete(const struct app_call *call, const char *agency_id, const char *role_id)
{
    struct store_conn *c = NULL;
    uint64_t held = 0;
    bool in_use = false;
    struct store_custom_role role;
    int rc = app_call_begin(&c, call, true);
    if (rc)
        goto done;
    rc = manager_load(&held, c, call->arena, call->actor, agency_id, call->err);
    if (rc)
        goto done;
    rc = store_role_get(&role, c, call->arena, agency_id, role_id, call->err);
    if (rc)
        goto done;
    rc = store_role_in_use(&in_use, c, call->arena, agency_id, role.id, clock_now_ms(), call->err);
    if (rc)
        goto done;
    if (in_use) {
        rc = usher_error_set(call->err, USHER_ECONFLICT, "role_in_use", NULL,
                             "role %s is held by a member or offered by a pending invitation",
                             role.id);
        goto done;
    }
    rc = store_role_delete(c, call->arena, agency_id, role.id, call->err);
    if (rc)
        goto done;
    struct app_audit_event ev = {
        .agency_id = role.agency_id,
        .action = "role.deleted",
        .scope_type = "agency",
        .scope_id = role.agency_id,
        .details =
            json_pack("{s:s, s:s, s:o}", "role_id", role.id, "name", role.name, "permissions",
                      permissions_json(policy_catalogue_permissions_parse(role.permissions, NULL))),
    };
    rc = app_audit_record(c, call->arena, call->actor, &ev, call->err);
    if (rc)
        goto done;
    rc = store_commit(c, call->err);
    if (rc)
        goto done;
    if (call->app->authz)
        roles_index_refresh(call, c, role.agency_id, role.id, 0, true);
done:
    store_conn_put(c);
    return rc;
}
