/* SQL for memberships, grant writes and custom-role reads. */
#include "store/store_member.h"

#include <string.h>

/* A unique violation on a membership can only be the shortcode (the key is checked first). */
static int shortcode_conflict(int rc, struct usher_error *err)
{
    if (rc == USHER_ECONFLICT) {
        usher_error_clear(err);
        return usher_error_set(err, USHER_ECONFLICT, "shortcode_taken", "shortcode",
                               "shortcode is already used by another member of this agency");
    }
    return rc;
}

int store_member_ensure(struct store_conn *c, struct arena *a, const char *agency_id,
                        const char *user_id, const char *shortcode, int64_t now,
                        struct usher_error *err)
{
    static const char find[] = "SELECT 1 FROM memberships WHERE agency_id = $1 AND user_id = $2";
    static const char insert[] =
        "INSERT INTO memberships (agency_id, user_id, shortcode, created_at) "
        "VALUES ($1, $2, $3, $4)";
    struct store_value p[] = {store_text(agency_id), store_text(user_id), store_text(shortcode),
                              store_int(now)};
    struct store_rows rows;
    int rc = store_exec(c, a, find, p, 2, &rows, NULL, err);
    if (rc || rows.count > 0)
        return rc;
    return shortcode_conflict(store_exec(c, a, insert, p, 4, NULL, NULL, err), err);
}

int store_member_exists(bool *out, struct store_conn *c, struct arena *a, const char *agency_id,
                        const char *user_id, struct usher_error *err)
{
    static const char sql[] = "SELECT 1 FROM memberships WHERE agency_id = $1 AND user_id = $2";
    struct store_value p[] = {store_text(agency_id), store_text(user_id)};
    struct store_rows rows;
    *out = false;
    int rc = store_exec(c, a, sql, p, 2, &rows, NULL, err);
    if (rc == 0)
        *out = rows.count > 0;
    return rc;
}

int store_member_shortcode_set(struct store_conn *c, struct arena *a, const char *agency_id,
                               const char *user_id, const char *shortcode, struct usher_error *err)
{
    static const char sql[] =
        "UPDATE memberships SET shortcode = $3 WHERE agency_id = $1 AND user_id = $2";
    struct store_value p[] = {store_text(agency_id), store_text(user_id), store_text(shortcode)};
    int64_t changes = 0;
    int rc = shortcode_conflict(store_exec(c, a, sql, p, 3, NULL, &changes, err), err);
    if (rc == 0 && changes == 0)
        return usher_error_set(err, USHER_ENOTFOUND, NULL, NULL, "member not found");
    return rc;
}

int store_member_remove(bool *out_removed, struct store_conn *c, struct arena *a,
                        const char *agency_id, const char *user_id, struct usher_error *err)
{
    static const char sql[] = "DELETE FROM memberships WHERE agency_id = $1 AND user_id = $2";
    struct store_value p[] = {store_text(agency_id), store_text(user_id)};
    int64_t changes = 0;
    int rc = store_grant_delete_all(c, a, agency_id, user_id, err);
    if (rc == 0)
        rc = store_exec(c, a, sql, p, 2, NULL, &changes, err);
    if (out_removed)
        *out_removed = changes > 0;
    return rc;
}

int store_grant_upsert(struct store_conn *c, struct arena *a, const struct store_grant_write *g,
                       struct usher_error *err)
{
    static const char sql[] =
        "INSERT INTO grants (id, agency_id, user_id, environment_id, bot_id, scope_id, roles, "
        "extra_permissions, created_at, expires_at, granted_by) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) "
        "ON CONFLICT (user_id, scope_id) DO UPDATE SET roles = excluded.roles, "
        "extra_permissions = excluded.extra_permissions, expires_at = excluded.expires_at, "
        "granted_by = excluded.granted_by, notice_sent_at = NULL";
    struct store_value p[] = {
        store_text(g->id),
        store_text(g->agency_id),
        store_text(g->user_id),
        store_text(g->environment_id),
        store_text(g->bot_id),
        store_text(g->scope_id),
        store_text(g->roles ? g->roles : ""),
        store_text(g->extra_permissions ? g->extra_permissions : ""),
        store_int(g->created_at),
        g->expires_at ? store_int(g->expires_at) : store_null(),
        store_text(g->granted_by),
    };
    return store_exec(c, a, sql, p, sizeof(p) / sizeof(p[0]), NULL, NULL, err);
}

int store_grant_delete(bool *out_deleted, struct store_conn *c, struct arena *a,
                       const char *user_id, const char *scope_id, struct usher_error *err)
{
    static const char sql[] = "DELETE FROM grants WHERE user_id = $1 AND scope_id = $2";
    struct store_value p[] = {store_text(user_id), store_text(scope_id)};
    int64_t changes = 0;
    int rc = store_exec(c, a, sql, p, 2, NULL, &changes, err);
    if (out_deleted)
        *out_deleted = changes > 0;
    return rc;
}

int store_grant_delete_all(struct store_conn *c, struct arena *a, const char *agency_id,
                           const char *user_id, struct usher_error *err)
{
    static const char sql[] = "DELETE FROM grants WHERE agency_id = $1 AND user_id = $2";
    struct store_value p[] = {store_text(agency_id), store_text(user_id)};
    return store_exec(c, a, sql, p, 2, NULL, NULL, err);
}

int store_custom_role_list(struct store_custom_role **out, size_t *count, struct store_conn *c,
                           struct arena *a, const char *agency_id, struct usher_error *err)
{
    static const char sql[] =
        "SELECT id, agency_id, name, permissions, created_at FROM custom_roles "
        "WHERE agency_id = $1 ORDER BY name, id";
    struct store_value p[] = {store_text(agency_id)};
    struct store_rows rows;
    *out = NULL;
    *count = 0;
    int rc = store_exec(c, a, sql, p, 1, &rows, NULL, err);
    if (rc)
        return rc;
    struct store_custom_role *items = arena_alloc(a, (rows.count + 1) * sizeof(*items));
    for (size_t r = 0; r < rows.count; r++) {
        items[r].id = store_cell_text(&rows, r, 0);
        items[r].agency_id = store_cell_text(&rows, r, 1);
        items[r].name = store_cell_text(&rows, r, 2);
        items[r].permissions = store_cell_text(&rows, r, 3);
        items[r].created_at = store_cell_int(&rows, r, 4);
    }
    *out = items;
    *count = rows.count;
    return 0;
}

int store_bot_managers_list(struct store_bot_manager **out, size_t *count, struct store_conn *c,
                            struct arena *a, const char *bot_id, int64_t now,
                            struct usher_error *err)
{
    static const char sql[] =
        "SELECT u.id, u.email, u.first_name, u.last_name, u.status FROM grants g "
        "JOIN users u ON u.id = g.user_id WHERE g.bot_id = $1 "
        "AND (',' || g.roles || ',') LIKE '%,bot_manager,%' "
        "AND (g.expires_at IS NULL OR g.expires_at > $2) ORDER BY u.email";
    struct store_value p[] = {store_text(bot_id), store_int(now)};
    struct store_rows rows;
    *out = NULL;
    *count = 0;
    int rc = store_exec(c, a, sql, p, 2, &rows, NULL, err);
    if (rc)
        return rc;
    struct store_bot_manager *items = arena_alloc(a, (rows.count + 1) * sizeof(*items));
    for (size_t r = 0; r < rows.count; r++) {
        items[r].user_id = store_cell_text(&rows, r, 0);
        items[r].email = store_cell_text(&rows, r, 1);
        items[r].first_name = store_cell_text(&rows, r, 2);
        items[r].last_name = store_cell_text(&rows, r, 3);
        items[r].status = store_cell_text(&rows, r, 4);
    }
    *out = items;
    *count = rows.count;
    return 0;
}

int store_grant_count(int64_t *out, struct store_conn *c, struct arena *a, const char *agency_id,
                      const char *user_id, struct usher_error *err)
{
    static const char sql[] = "SELECT COUNT(*) FROM grants WHERE agency_id = $1 AND user_id = $2";
    struct store_value p[] = {store_text(agency_id), store_text(user_id)};
    struct store_rows rows;
    *out = 0;
    int rc = store_exec(c, a, sql, p, 2, &rows, NULL, err);
    if (rc == 0 && rows.count == 1)
        *out = store_cell_int(&rows, 0, 0);
    return rc;
}

int store_agency_scopes(struct store_rows *out_envs, struct store_rows *out_bots,
                        struct store_conn *c, struct arena *a, const char *agency_id,
                        struct usher_error *err)
{
    static const char envs[] = "SELECT id FROM environments WHERE agency_id = $1";
    static const char bots[] = "SELECT id, environment_id FROM bots WHERE agency_id = $1";
    struct store_value p[] = {store_text(agency_id)};
    int rc = store_exec(c, a, envs, p, 1, out_envs, NULL, err);
    if (rc == 0)
        rc = store_exec(c, a, bots, p, 1, out_bots, NULL, err);
    return rc;
}
