/* SQL for an agency's custom roles: insert, read, rename, set permissions, delete, and whether
 * a grant or a pending invitation of the agency still refers to one. */
#include "store/store_role.h"

#include <string.h>

/* A unique violation on custom_roles can only be the name: ids are fresh random strings. */
static int name_conflict(int rc, struct usher_error *err)
{
    if (rc == USHER_ECONFLICT) {
        usher_error_clear(err);
        return usher_error_set(err, USHER_ECONFLICT, "conflict", "name",
                               "this agency already has a role of that name");
    }
    return rc;
}

static int role_missing(struct usher_error *err)
{
    return usher_error_set(err, USHER_ENOTFOUND, NULL, NULL, "role not found");
}

int store_role_insert(struct store_conn *c, struct arena *a, const struct store_custom_role *role,
                      struct usher_error *err)
{
    static const char sql[] = "INSERT INTO custom_roles (id, agency_id, name, permissions, "
                              "created_at) VALUES ($1, $2, $3, $4, $5)";
    struct store_value p[] = {store_text(role->id), store_text(role->agency_id),
                              store_text(role->name), store_text(role->permissions),
                              store_int(role->created_at)};
    return name_conflict(store_exec(c, a, sql, p, 5, NULL, NULL, err), err);
}

int store_role_get(struct store_custom_role *out, struct store_conn *c, struct arena *a,
                   const char *agency_id, const char *role_id, struct usher_error *err)
{
    static const char sql[] = "SELECT id, agency_id, name, permissions, created_at "
                              "FROM custom_roles WHERE agency_id = $1 AND id = $2";
    struct store_value p[] = {store_text(agency_id), store_text(role_id)};
    struct store_rows rows;
    int rc = store_exec(c, a, sql, p, 2, &rows, NULL, err);
    if (rc)
        return rc;
    if (rows.count == 0)
        return role_missing(err);
    out->id = store_cell(&rows, 0, 0)->s;
    out->agency_id = store_cell(&rows, 0, 1)->s;
    out->name = store_cell(&rows, 0, 2)->s;
    out->permissions = store_cell(&rows, 0, 3)->s;
    out->created_at = store_cell(&rows, 0, 4)->i;
    return 0;
}

int store_role_rename(struct store_conn *c, struct arena *a, const char *agency_id,
                      const char *role_id, const char *name, struct usher_error *err)
{
    static const char sql[] = "UPDATE custom_roles SET name = $3 WHERE agency_id = $1 AND id = $2";
    struct store_value p[] = {store_text(agency_id), store_text(role_id), store_text(name)};
    int64_t changes = 0;
    int rc = name_conflict(store_exec(c, a, sql, p, 3, NULL, &changes, err), err);
    if (rc == 0 && changes == 0)
        return role_missing(err);
    return rc;
}

int store_role_permissions_set(struct store_conn *c, struct arena *a, const char *agency_id,
                               const char *role_id, const char *permissions,
                               struct usher_error *err)
{
    static const char sql[] =
        "UPDATE custom_roles SET permissions = $3 WHERE agency_id = $1 AND id = $2";
    struct store_value p[] = {store_text(agency_id), store_text(role_id), store_text(permissions)};
    int64_t changes = 0;
    int rc = store_exec(c, a, sql, p, 3, NULL, &changes, err);
    if (rc == 0 && changes == 0)
        return role_missing(err);
    return rc;
}

int store_role_delete(struct store_conn *c, struct arena *a, const char *agency_id,
                      const char *role_id, struct usher_error *err)
{
    static const char sql[] = "DELETE FROM custom_roles WHERE agency_id = $1 AND id = $2";
    struct store_value p[] = {store_text(agency_id), store_text(role_id)};
    int64_t changes = 0;
    int rc = store_exec(c, a, sql, p, 2, NULL, &changes, err);
    if (rc == 0 && changes == 0)
        return role_missing(err);
    return rc;
}

/* A LIKE pattern matching text that holds s between open and close, with LIKE's wildcards in s
 * escaped by '!' (role ids are base64url and hold '_'). */
static char *like_pattern(struct arena *a, const char *open, const char *s, const char *close)
{
    size_t len = strlen(s);
    char *out = arena_alloc(a, 2 * len + strlen(open) + strlen(close) + 3);
    char *p = out;
    *p++ = '%';
    for (const char *o = open; *o; o++)
        *p++ = *o;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '%' || s[i] == '_' || s[i] == '!')
            *p++ = '!';
        *p++ = s[i];
    }
    for (const char *o = close; *o; o++)
        *p++ = *o;
    *p++ = '%';
    *p = '\0';
    return out;
}

int store_role_in_use(bool *out, struct store_conn *c, struct arena *a, const char *agency_id,
                      const char *role_id, struct usher_error *err)
{
    /* Grants hold "name,crl_id,..." so the id is matched as a whole item between commas;
     * invitations hold JSON, where the id is a whole string between quotes. SQLite's LIKE
     * ignores ASCII case, which can only over-report use (a refusal to delete), never hide
     * it. */
    static const char sql[] = "SELECT 1 FROM grants WHERE agency_id = $1 "
                              "AND ',' || roles || ',' LIKE $2 ESCAPE '!' "
                              "UNION ALL "
                              "SELECT 1 FROM invitations WHERE agency_id = $1 "
                              "AND status = 'pending' AND grants LIKE $3 ESCAPE '!' "
                              "LIMIT 1";
    struct store_value p[] = {store_text(agency_id), store_text(like_pattern(a, ",", role_id, ",")),
                              store_text(like_pattern(a, "\"", role_id, "\""))};
    struct store_rows rows;
    *out = false;
    int rc = store_exec(c, a, sql, p, 3, &rows, NULL, err);
    if (rc)
        return rc;
    *out = rows.count > 0;
    return 0;
}
