/* SQL for an agency's custom roles: insert, read, rename, set permissions, delete, and whether
 * a grant or a pending invitation of the agency still refers to one. */
#include "store/store_role.h"

#include <string.h>

/* A unique violation on custom_roles is the id or the name (ignoring ASCII case); field says
 * which the statement could have hit. */
static int role_conflict(int rc, const char *field, struct usher_error *err)
{
    if (rc == USHER_ECONFLICT) {
        usher_error_clear(err);
        return usher_error_set(err, USHER_ECONFLICT, "conflict", field,
                               "this agency already has a role of that %s",
                               field ? field : "id or name");
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
    return role_conflict(store_exec(c, a, sql, p, 5, NULL, NULL, err), NULL, err);
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
    int rc = role_conflict(store_exec(c, a, sql, p, 3, NULL, &changes, err), "name", err);
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

/* "%,<s>,%" with LIKE's wildcards in s escaped by '!' (role ids hold '_'), and s between the
 * quotes when is_quoted. */
static char *like_item(struct arena *a, const char *s, bool is_quoted)
{
    size_t len = strlen(s);
    char *out = arena_alloc(a, 2 * len + 7);
    char *p = out;
    *p++ = '%';
    *p++ = ',';
    if (is_quoted)
        *p++ = '"';
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '%' || s[i] == '_' || s[i] == '!')
            *p++ = '!';
        *p++ = s[i];
    }
    if (is_quoted)
        *p++ = '"';
    *p++ = ',';
    *p++ = '%';
    *p = '\0';
    return out;
}

int store_role_in_use(bool *out, struct store_conn *c, struct arena *a, const char *agency_id,
                      const char *role_id, int64_t now, struct usher_error *err)
{
    /* Grants hold "agent,night_shift,..." so the id is matched as a whole item between commas.
     * Invitations hold compact JSON whose only arrays are role ids and permission names: with
     * every bracket turned into a comma, an item of an array is a quoted string between two
     * commas, which neither a key (followed by ':') nor a scope id (after ':') ever is. LIKE
     * may ignore ASCII case, which can only over-report use (a refusal to delete), never hide
     * it. */
    static const char sql[] =
        "SELECT 1 FROM grants WHERE agency_id = $1 "
        "AND ',' || roles || ',' LIKE $2 ESCAPE '!' AND (expires_at IS NULL OR expires_at > $4) "
        "UNION ALL "
        "SELECT 1 FROM invitations WHERE agency_id = $1 AND status = 'pending' "
        "AND ',' || replace(replace(grants, '[', ','), ']', ',') LIKE $3 ESCAPE '!' "
        "LIMIT 1";
    struct store_value p[] = {store_text(agency_id), store_text(like_item(a, role_id, false)),
                              store_text(like_item(a, role_id, true)), store_int(now)};
    struct store_rows rows;
    *out = false;
    int rc = store_exec(c, a, sql, p, 4, &rows, NULL, err);
    if (rc)
        return rc;
    *out = rows.count > 0;
    return 0;
}
