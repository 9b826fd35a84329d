/* Grants: validation against the catalogue and the agency, the ceiling, writes and JSON. */
#include "app/grants.h"

#include <stdio.h>
#include <string.h>

#include "policy/catalogue.h"
#include "app/access.h"
#include "app/tenancy.h"
#include "authz/authz.h"
#include "base/clock.h"
#include "base/crypto.h"
#include "base/json.h"
#include "base/log.h"
#include "base/text.h"
#include "store/store_tenancy.h"

int app_role_set_load(struct app_role_set *out, struct store_conn *c, struct arena *a,
                      const char *agency_id, struct usher_error *err)
{
    memset(out, 0, sizeof(*out));
    int rc = store_custom_role_list(&out->items, &out->count, c, a, agency_id, err);
    if (rc)
        return rc;
    out->permissions = arena_alloc(a, (out->count + 1) * sizeof(uint64_t));
    for (size_t i = 0; i < out->count; i++)
        out->permissions[i] = policy_catalogue_permissions_parse(out->items[i].permissions, NULL);
    return 0;
}

const struct store_custom_role *app_role_set_find(const struct app_role_set *set, const char *id,
                                                  uint64_t *out_perms)
{
    for (size_t i = 0; set && id && i < set->count; i++) {
        if (strcmp(set->items[i].id, id) == 0) {
            if (out_perms)
                *out_perms = set->permissions[i];
            return &set->items[i];
        }
    }
    return NULL;
}

struct csv_masks {
    uint64_t roles, custom_perms;
    const struct app_role_set *set;
};

static void csv_masks_add(void *ctx, int builtin, const char *custom_id)
{
    struct csv_masks *m = ctx;
    uint64_t perms = 0;
    if (builtin >= 0)
        m->roles |= POLICY_BIT(builtin);
    else if (app_role_set_find(m->set, custom_id, &perms))
        m->custom_perms |= perms;
}

void app_roles_csv_masks(uint64_t *out_roles, uint64_t *out_custom_perms, const char *csv,
                         const struct app_role_set *set)
{
    struct csv_masks m = {0, 0, set};
    policy_catalogue_roles_each(csv, csv_masks_add, &m);
    *out_roles = m.roles;
    *out_custom_perms = m.custom_perms;
}

/* Reads an optional array of strings; every item must be a string of at most 128 bytes. */
static int string_array(json_t **out, json_t *obj, const char *key, const char *field, size_t max,
                        struct arena *a, struct usher_error *err)
{
    *out = NULL;
    json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v))
        return 0;
    const char *name = arena_printf(a, "%s.%s", field, key);
    if (!json_is_array(v))
        return usher_error_set(err, USHER_EINVAL, NULL, name, "%s must be an array of strings",
                               name);
    if (json_array_size(v) > max)
        return usher_error_set(err, USHER_EINVAL, NULL, name, "%s holds more than %zu items", name,
                               max);
    size_t i;
    json_t *item;
    json_array_foreach(v, i, item)
    {
        if (!json_is_string(item) || json_string_length(item) > 128)
            return usher_error_set(err, USHER_EINVAL, NULL, arena_printf(a, "%s[%zu]", name, i),
                                   "%s[%zu] must be a role or permission name", name, i);
    }
    *out = v;
    return 0;
}

/* Names err's field with its place in the list (field, as "grants[1]"); returns rc. */
static int field_in_list(struct usher_error *err, const char *field, int rc)
{
    char inner[40];
    snprintf(inner, sizeof(inner), "%.39s", err->field);
    snprintf(err->field, sizeof(err->field), "%.50s.%s", field, inner);
    return rc;
}

/* Resolves the scope of one requested grant against the agency. */
static int grant_scope(struct app_grant *g, struct store_conn *c, struct arena *a,
                       const char *agency_id, json_t *obj, const char *field,
                       struct usher_error *err)
{
    const char *env_id = NULL, *bot_id = NULL;
    int rc = json_member_string(&env_id, obj, "environment_id", false, 128, err);
    if (rc)
        return field_in_list(err, field, rc);
    rc = json_member_string(&bot_id, obj, "bot_id", false, 128, err);
    if (rc)
        return field_in_list(err, field, rc);
    if (env_id && bot_id)
        return usher_error_set(err, USHER_EINVAL, NULL, field,
                               "%s names both an environment and a bot", field);
    return app_grant_place(g, c, a, agency_id, env_id, bot_id, field, err);
}

/* field.key, or key alone when field is NULL. */
static const char *field_of(struct arena *a, const char *field, const char *key)
{
    return field ? arena_printf(a, "%s.%s", field, key) : key;
}

int app_grant_place(struct app_grant *g, struct store_conn *c, struct arena *a,
                    const char *agency_id, const char *environment_id, const char *bot_id,
                    const char *field, struct usher_error *err)
{
    memset(g, 0, sizeof(*g));
    struct usher_error e2 = {0};
    int rc = 0;
    if (bot_id) {
        struct store_bot bot;
        const char *where = field_of(a, field, "bot_id");
        rc = store_bot_get(&bot, c, a, bot_id, clock_now_ms(), &e2);
        if (rc == USHER_ENOTFOUND || (rc == 0 && strcmp(bot.agency_id, agency_id) != 0))
            return usher_error_set(err, USHER_EINVAL, "unknown_scope", where,
                                   "%s is not a bot of this agency", where);
        if (rc)
            return usher_error_set(err, rc, NULL, NULL, "%s", e2.message);
        g->scope = POLICY_SCOPE_BOT;
        g->scope_id = bot.id;
        g->bot_id = bot.id;
        g->environment_id = bot.environment_id;
        return 0;
    }
    if (environment_id) {
        struct store_environment env;
        const char *where = field_of(a, field, "environment_id");
        rc = store_environment_get(&env, c, a, environment_id, &e2);
        if (rc == USHER_ENOTFOUND || (rc == 0 && strcmp(env.agency_id, agency_id) != 0))
            return usher_error_set(err, USHER_EINVAL, "unknown_scope", where,
                                   "%s is not an environment of this agency", where);
        if (rc)
            return usher_error_set(err, rc, NULL, NULL, "%s", e2.message);
        g->scope = POLICY_SCOPE_ENVIRONMENT;
        g->scope_id = env.id;
        g->environment_id = env.id;
        return 0;
    }
    g->scope = POLICY_SCOPE_AGENCY;
    g->scope_id = arena_strdup(a, agency_id);
    return 0;
}

/* An unknown role reference; one that is a custom role's display name says which id to use. */
static int unknown_role(const struct app_role_set *roles, const char *name, const char *where,
                        struct usher_error *err)
{
    for (size_t i = 0; roles && i < roles->count; i++) {
        if (strcmp(roles->items[i].name, name) == 0)
            return usher_error_set(err, USHER_EINVAL, "unknown_role", where,
                                   "%s is the name of a custom role; grants refer to it by its "
                                   "id %s",
                                   where, roles->items[i].id);
    }
    return usher_error_set(err, USHER_EINVAL, "unknown_role", where, "unknown role %s", name);
}

static int grant_roles(struct app_grant *g, struct arena *a, const struct app_role_set *roles,
                       json_t *list, const char *field, struct usher_error *err)
{
    size_t n = list ? json_array_size(list) : 0;
    g->custom_ids = arena_alloc(a, (n + 1) * sizeof(char *));
    for (size_t i = 0; i < n; i++) {
        json_t *item = json_array_get(list, i);
        const char *name = json_string_value(item);
        const char *where = arena_printf(a, "%s.roles[%zu]", field, i);
        /* Invisible characters in a role id are named as such rather than echoed back. */
        int rc = text_chars_check(name, json_string_length(item), where, err);
        if (rc)
            return rc;
        const struct policy_catalogue_role *role = policy_catalogue_role_find(name);
        if (role) {
            if (!policy_catalogue_role_allowed_at(role, g->scope))
                return usher_error_set(err, USHER_EINVAL, "role_scope", where,
                                       "role %s cannot be granted at %s scope", name,
                                       policy_catalogue_scope_name(g->scope));
            g->roles |= POLICY_BIT(policy_catalogue_role_index(name));
            g->permissions |= role->permissions;
            continue;
        }
        uint64_t perms = 0;
        const struct store_custom_role *custom = app_role_set_find(roles, name, &perms);
        if (!custom)
            return unknown_role(roles, name, where, err);
        if (g->scope == POLICY_SCOPE_BOT)
            return usher_error_set(err, USHER_EINVAL, "role_scope", where,
                                   "custom role %s cannot be granted on a bot", name);
        bool dup = false;
        for (size_t k = 0; k < g->custom_count; k++)
            dup = dup || strcmp(g->custom_ids[k], custom->id) == 0;
        if (!dup)
            g->custom_ids[g->custom_count++] = custom->id;
        g->permissions |= perms;
    }
    return 0;
}

static int grant_extras(struct app_grant *g, struct arena *a, json_t *list, const char *field,
                        struct usher_error *err)
{
    size_t i;
    json_t *item;
    json_array_foreach(list, i, item)
    {
        const char *name = json_string_value(item);
        uint64_t bit = policy_catalogue_permission_bit(name);
        if (!bit)
            return usher_error_set(err, USHER_EINVAL, "unknown_permission",
                                   arena_printf(a, "%s.extra_permissions[%zu]", field, i),
                                   "unknown permission %s", name);
        g->extra |= bit;
    }
    g->permissions |= g->extra;
    return 0;
}

/* Reads the optional "expires_at" of a requested grant: RFC 3339 UTC, in the future, at most
 * APP_GRANT_EXPIRY_MAX_MS ahead, and not on an owner grant. */
static int grant_expiry(struct app_grant *g, struct arena *a, json_t *obj, const char *where,
                        struct usher_error *err)
{
    json_t *v = json_object_get(obj, "expires_at");
    if (!v || json_is_null(v))
        return 0;
    const char *field = arena_printf(a, "%s.expires_at", where);
    int64_t at = 0;
    if (!json_is_string(v) || clock_parse_ms(&at, json_string_value(v)) != 0)
        return usher_error_set(err, USHER_EINVAL, NULL, field,
                               "%s must be an RFC 3339 time in UTC, like 2027-01-31T17:00:00Z",
                               field);
    int64_t now = clock_now_ms();
    if (at <= now)
        return usher_error_set(err, USHER_EINVAL, "expiry_in_past", field,
                               "%s must be in the future", field);
    if (at - now > APP_GRANT_EXPIRY_MAX_MS)
        return usher_error_set(err, USHER_EINVAL, NULL, field, "%s may be at most five years ahead",
                               field);
    if (g->roles & POLICY_BIT(POLICY_ROLE_OWNER))
        return usher_error_set(err, USHER_EINVAL, "owner_expiry", field,
                               "an owner grant does not end: an agency keeps its owner");
    g->expires_at = at;
    return 0;
}

/* Parses one requested grant, the element obj of the list named where, into g (zeroed). */
static int grant_parse(struct app_grant *g, struct store_conn *c, struct arena *a,
                       const char *agency_id, const struct app_role_set *roles, json_t *obj,
                       const char *where, struct usher_error *err)
{
    static const char *const allowed[] = {"environment_id",    "bot_id",     "roles",
                                          "extra_permissions", "expires_at", NULL};
    json_t *role_list = NULL, *extra_list = NULL;
    if (!json_is_object(obj))
        return usher_error_set(err, USHER_EINVAL, NULL, where, "%s must be an object", where);
    int rc = json_fields_check(obj, allowed, where, err);
    if (rc)
        return rc;
    rc = grant_scope(g, c, a, agency_id, obj, where, err);
    if (rc)
        return rc;
    rc = string_array(&role_list, obj, "roles", where, APP_GRANT_ROLES_MAX, a, err);
    if (rc)
        return rc;
    rc = string_array(&extra_list, obj, "extra_permissions", where, POLICY_PERM_COUNT, a, err);
    if (rc)
        return rc;
    rc = grant_roles(g, a, roles, role_list, where, err);
    if (rc)
        return rc;
    rc = grant_extras(g, a, extra_list, where, err);
    if (rc)
        return rc;
    if (g->permissions == 0 && g->roles == 0 && g->custom_count == 0 &&
        g->scope != POLICY_SCOPE_ENVIRONMENT)
        return usher_error_set(err, USHER_EINVAL, NULL, where,
                               "%s must hold a role or a permission", where);
    return grant_expiry(g, a, obj, where, err);
}

int app_grants_parse(struct app_grant **out, size_t *count, struct store_conn *c, struct arena *a,
                     const char *agency_id, const struct app_role_set *roles, json_t *array,
                     const char *field, bool allow_empty, struct usher_error *err)
{
    *out = NULL;
    *count = 0;
    if (!array || json_is_null(array)) {
        if (allow_empty)
            return 0;
        return usher_error_set(err, USHER_EINVAL, NULL, field, "%s is required", field);
    }
    if (!json_is_array(array))
        return usher_error_set(err, USHER_EINVAL, NULL, field, "%s must be an array", field);
    size_t n = json_array_size(array);
    if (n == 0 && !allow_empty)
        return usher_error_set(err, USHER_EINVAL, NULL, field, "%s must hold at least one grant",
                               field);
    if (n > APP_GRANTS_MAX)
        return usher_error_set(err, USHER_EINVAL, NULL, field, "%s holds more than %d grants",
                               field, APP_GRANTS_MAX);
    struct app_grant *grants = arena_alloc(a, (n + 1) * sizeof(*grants));
    for (size_t i = 0; i < n; i++) {
        const char *where = arena_printf(a, "%s[%zu]", field, i);
        int rc =
            grant_parse(&grants[i], c, a, agency_id, roles, json_array_get(array, i), where, err);
        if (rc)
            return rc;
        for (size_t k = 0; k < i; k++) {
            if (strcmp(grants[k].scope_id, grants[i].scope_id) == 0)
                return usher_error_set(err, USHER_EINVAL, "duplicate_scope", where,
                                       "%s repeats the scope of %s[%zu]", where, field, k);
        }
    }
    *out = grants;
    *count = n;
    return 0;
}

/* The stored role list of a grant: built-in names in catalogue order, then custom role ids. */
static char *roles_csv(struct arena *a, const struct app_grant *g)
{
    size_t cap = 16;
    for (size_t i = 0; i < POLICY_ROLE_COUNT; i++)
        cap += (g->roles & POLICY_BIT(i)) ? strlen(policy_catalogue_role_at(i)->name) + 1 : 0;
    for (size_t i = 0; i < g->custom_count; i++)
        cap += strlen(g->custom_ids[i]) + 1;
    char *out = arena_alloc(a, cap);
    size_t len = 0;
    for (size_t i = 0; i < POLICY_ROLE_COUNT; i++) {
        if (g->roles & POLICY_BIT(i))
            len += (size_t)snprintf(out + len, cap - len, "%s%s", len ? "," : "",
                                    policy_catalogue_role_at(i)->name);
    }
    for (size_t i = 0; i < g->custom_count; i++)
        len += (size_t)snprintf(out + len, cap - len, "%s%s", len ? "," : "", g->custom_ids[i]);
    return out;
}

static char *perms_csv(struct arena *a, uint64_t mask)
{
    size_t cap = 16;
    for (size_t i = 0; i < POLICY_PERM_COUNT; i++)
        cap += (mask & POLICY_BIT(i)) ? strlen(policy_catalogue_permission_at(i)->name) + 1 : 0;
    char *out = arena_alloc(a, cap);
    size_t len = 0;
    for (size_t i = 0; i < POLICY_PERM_COUNT; i++) {
        if (mask & POLICY_BIT(i))
            len += (size_t)snprintf(out + len, cap - len, "%s%s", len ? "," : "",
                                    policy_catalogue_permission_at(i)->name);
    }
    return out;
}

int app_grants_write(struct store_conn *c, struct arena *a, const char *agency_id,
                     const char *user_id, const char *shortcode, const struct app_grant *grants,
                     size_t count, bool replace_all, const char *granted_by,
                     struct usher_error *err)
{
    int64_t now = clock_now_ms();
    int rc = store_member_ensure(c, a, agency_id, user_id, shortcode, now, err);
    if (rc)
        return rc;
    if (replace_all) {
        rc = store_grant_delete_all(c, a, agency_id, user_id, err);
        if (rc)
            return rc;
    }
    for (size_t i = 0; i < count; i++) {
        const struct app_grant *g = &grants[i];
        struct store_grant_write w = {
            .id = crypto_id_new(a, "grt"),
            .agency_id = agency_id,
            .user_id = user_id,
            .environment_id = g->scope == POLICY_SCOPE_ENVIRONMENT ? g->environment_id : NULL,
            .bot_id = g->bot_id,
            .scope_id = g->scope_id,
            .roles = roles_csv(a, g),
            .extra_permissions = perms_csv(a, g->extra),
            .created_at = now,
            .expires_at = g->expires_at,
            .granted_by = granted_by,
        };
        rc = store_grant_upsert(c, a, &w, err);
        if (rc)
            return rc;
    }
    return 0;
}

json_t *app_grants_json(const struct app_grant *grants, size_t count,
                        const struct app_role_set *roles)
{
    json_t *list = json_array();
    for (size_t i = 0; i < count; i++) {
        const struct app_grant *g = &grants[i];
        json_t *obj = json_object();
        if (g->scope == POLICY_SCOPE_ENVIRONMENT)
            json_object_set_new(obj, "environment_id", json_string(g->environment_id));
        if (g->scope == POLICY_SCOPE_BOT)
            json_object_set_new(obj, "bot_id", json_string(g->bot_id));
        json_t *names = json_array();
        for (size_t r = 0; r < POLICY_ROLE_COUNT; r++) {
            if (g->roles & POLICY_BIT(r))
                json_array_append_new(names, json_string(policy_catalogue_role_at(r)->name));
        }
        for (size_t k = 0; k < g->custom_count; k++) {
            if (roles && !app_role_set_find(roles, g->custom_ids[k], NULL))
                continue; /* a deleted custom role grants nothing and is not shown */
            json_array_append_new(names, json_string(g->custom_ids[k]));
        }
        json_object_set_new(obj, "roles", names);
        json_t *extras = json_array();
        for (size_t p = 0; p < POLICY_PERM_COUNT; p++) {
            if (g->extra & POLICY_BIT(p))
                json_array_append_new(extras, json_string(policy_catalogue_permission_at(p)->name));
        }
        json_object_set_new(obj, "extra_permissions", extras);
        if (g->expires_at > 0) {
            struct arena tmp;
            arena_init(&tmp);
            json_object_set_new(obj, "expires_at",
                                json_string(clock_format_ms(&tmp, g->expires_at)));
            arena_dispose(&tmp);
        }
        json_array_append_new(list, obj);
    }
    return list;
}

void app_grants_refresh(struct app *app, struct store_conn *c, const char *user_id)
{
    if (!app->authz)
        return;
    struct usher_error err = {0};
    if (authz_index_refresh_user(app->authz, c, user_id, &err) != 0) {
        /* Never leave stale grants behind: an unknown user is denied everything until the
         * next successful refresh or start. */
        authz_index_forget_user(app->authz, user_id);
        log_msg(LOG_ERROR, "authz.refresh_failed", "{s:s, s:s}", "user_id", user_id, "error",
                err.message);
    }
}

/* --- grants as stored, read back as the rules see them --- */

/* Adds one stored role reference to g: built-in roles that fit the scope, and custom roles of
 * the agency except on bots. Anything else grants nothing. */
static void grant_role_add(struct app_grant *g, const char *name, const struct app_role_set *roles)
{
    const struct policy_catalogue_role *role = policy_catalogue_role_find(name);
    if (role) {
        if (policy_catalogue_role_allowed_at(role, g->scope)) {
            g->roles |= POLICY_BIT(policy_catalogue_role_index(name));
            g->permissions |= role->permissions;
        }
        return;
    }
    uint64_t perms = 0;
    const struct store_custom_role *custom = app_role_set_find(roles, name, &perms);
    if (!custom || g->scope == POLICY_SCOPE_BOT)
        return;
    for (size_t k = 0; k < g->custom_count; k++) {
        if (strcmp(g->custom_ids[k], custom->id) == 0)
            return;
    }
    g->custom_ids[g->custom_count++] = custom->id;
    g->permissions |= perms;
}

struct row_roles {
    struct app_grant *g;
    const struct app_role_set *roles;
};

/* Adds one item of a stored role list (policy_catalogue_roles_each) to a grant. */
static void row_role_add(void *ctx, int builtin, const char *custom_id)
{
    struct row_roles *rr = ctx;
    if (builtin >= 0)
        grant_role_add(rr->g, policy_catalogue_role_at((size_t)builtin)->name, rr->roles);
    else if (custom_id)
        grant_role_add(rr->g, custom_id, rr->roles);
}

/* A grants row as a struct app_grant; false for a row of no known shape. */
bool app_grant_from_row(struct app_grant *g, struct arena *a, const struct store_grant *row,
                        const char *agency_id, const struct app_role_set *roles)
{
    memset(g, 0, sizeof(*g));
    if (row->bot_id) {
        g->scope = POLICY_SCOPE_BOT;
        g->scope_id = row->bot_id;
        g->bot_id = row->bot_id;
        g->environment_id = row->environment_id;
    } else if (row->environment_id) {
        g->scope = POLICY_SCOPE_ENVIRONMENT;
        g->scope_id = row->environment_id;
        g->environment_id = row->environment_id;
    } else if (row->scope_id && strcmp(row->scope_id, agency_id) == 0) {
        g->scope = POLICY_SCOPE_AGENCY;
        g->scope_id = row->scope_id;
    } else {
        return false;
    }
    const char *csv = row->roles ? row->roles : "";
    size_t tokens = 1;
    for (const char *p = csv; *p; p++)
        tokens += *p == ',';
    g->custom_ids = arena_alloc(a, (tokens + 1) * sizeof(char *));
    struct row_roles rr = {g, roles};
    policy_catalogue_roles_each(csv, row_role_add, &rr);
    g->extra = policy_catalogue_permissions_parse(row->extra_permissions, NULL);
    g->permissions |= g->extra;
    g->expires_at = row->expires_at;
    return g->expires_at <= 0 || clock_now_ms() < g->expires_at;
}

/* The grants of an invitation (stored JSON) as struct app_grant; bots' environments are filled
 * in later. Items of no known shape are skipped. */
void app_grant_list_from_json(struct app_grant_list *out, struct arena *a, const char *text,
                              const char *agency_id, const struct app_role_set *roles)
{
    memset(out, 0, sizeof(*out));
    json_t *list = text ? json_loads(text, 0, NULL) : NULL;
    if (!json_is_array(list)) {
        json_decref(list);
        return;
    }
    size_t n = json_array_size(list);
    out->items = arena_alloc(a, (n + 1) * sizeof(*out->items));
    for (size_t i = 0; i < n; i++) {
        json_t *obj = json_array_get(list, i);
        if (!json_is_object(obj))
            continue;
        struct app_grant *g = &out->items[out->count];
        memset(g, 0, sizeof(*g));
        const char *env = json_string_value(json_object_get(obj, "environment_id"));
        const char *bot = json_string_value(json_object_get(obj, "bot_id"));
        if (bot) {
            g->scope = POLICY_SCOPE_BOT;
            g->scope_id = g->bot_id = arena_strdup(a, bot);
        } else if (env) {
            g->scope = POLICY_SCOPE_ENVIRONMENT;
            g->scope_id = g->environment_id = arena_strdup(a, env);
        } else {
            g->scope = POLICY_SCOPE_AGENCY;
            g->scope_id = agency_id;
        }
        json_t *names = json_object_get(obj, "roles");
        g->custom_ids = arena_alloc(a, (json_array_size(names) + 1) * sizeof(char *));
        size_t k;
        json_t *item;
        json_array_foreach(names, k, item)
        {
            if (json_is_string(item))
                grant_role_add(g, arena_strdup(a, json_string_value(item)), roles);
        }
        json_array_foreach(json_object_get(obj, "extra_permissions"), k, item)
        {
            g->extra |= policy_catalogue_permission_bit(json_string_value(item));
        }
        g->permissions |= g->extra;
        int64_t at = 0;
        const char *until = json_string_value(json_object_get(obj, "expires_at"));
        if (until && clock_parse_ms(&at, until) == 0)
            g->expires_at = at;
        out->count++;
    }
    json_decref(list);
}

bool app_grant_is_empty(const struct app_grant *g)
{
    return g->roles == 0 && g->custom_count == 0 && g->extra == 0;
}

const struct app_grant *app_grant_list_at(const struct app_grant_list *pg, enum policy_scope scope,
                                          const char *scope_id)
{
    for (size_t i = 0; i < pg->count; i++) {
        if (pg->items[i].scope == scope && strcmp(pg->items[i].scope_id, scope_id) == 0)
            return &pg->items[i];
    }
    return NULL;
}

const struct app_grant *app_grant_list_agency(const struct app_grant_list *pg)
{
    for (size_t i = 0; i < pg->count; i++) {
        if (pg->items[i].scope == POLICY_SCOPE_AGENCY)
            return &pg->items[i];
    }
    return NULL;
}

bool app_grant_list_holds_owner(const struct app_grant_list *pg)
{
    const struct app_grant *g = app_grant_list_agency(pg);
    return g && (g->roles & POLICY_BIT(POLICY_ROLE_OWNER));
}

/* The decision input for a person's grants (arena-owned). */
void app_grant_list_decide(struct policy_decide_grants *out, struct arena *a,
                           const struct app_grant_list *pg)
{
    memset(out, 0, sizeof(*out));
    struct policy_decide_grant *envs = arena_alloc(a, (pg->count + 1) * sizeof(*envs));
    struct policy_decide_grant *bots = arena_alloc(a, (pg->count + 1) * sizeof(*bots));
    for (size_t i = 0; i < pg->count; i++) {
        const struct app_grant *g = &pg->items[i];
        /* Custom roles count as extra permissions, as in app_access_grants_load. */
        struct policy_decide_grant d = {g->scope_id, NULL, g->roles, g->permissions};
        if (g->scope == POLICY_SCOPE_AGENCY) {
            struct policy_decide_grant *ag = arena_alloc(a, sizeof(*ag));
            *ag = d;
            out->agency = ag;
        } else if (g->scope == POLICY_SCOPE_ENVIRONMENT) {
            envs[out->environment_count++] = d;
        } else {
            d.environment_id = g->environment_id;
            bots[out->bot_count++] = d;
        }
    }
    out->environments = envs;
    out->bots = bots;
}
