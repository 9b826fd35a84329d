/* User rows and the read of a user's memberships and grants. */
#include "store/store_user.h"

#include <string.h>

#include "store/store_tenancy.h"

#define COUNT(x) (sizeof(x) / sizeof((x)[0]))

#define USER_COLUMNS                                                                               \
    "id, email, first_name, last_name, password_hash, status, is_platform_admin, created_at, "     \
    "last_active_at"

static void user_from_row(struct store_user *out, const struct store_rows *rows, size_t r)
{
    out->id = store_cell_text(rows, r, 0);
    out->email = store_cell_text(rows, r, 1);
    out->first_name = store_cell_text(rows, r, 2);
    out->last_name = store_cell_text(rows, r, 3);
    out->password_hash = store_cell_text(rows, r, 4);
    out->status = store_cell_text(rows, r, 5);
    out->is_platform_admin = store_cell_int(rows, r, 6) != 0;
    out->created_at = store_cell_int(rows, r, 7);
    out->last_active_at = store_cell_int(rows, r, 8);
}

static int user_read(struct store_user *out, struct store_conn *c, struct arena *a, const char *sql,
                     const char *key, struct usher_error *err)
{
    struct store_value p[] = {store_text(key)};
    struct store_rows rows;
    int rc = store_exec(c, a, sql, p, COUNT(p), &rows, NULL, err);
    if (rc)
        return rc;
    if (rows.count == 0)
        return usher_error_set(err, USHER_ENOTFOUND, NULL, NULL, "no such user");
    user_from_row(out, &rows, 0);
    return 0;
}

int store_user_insert(struct store_conn *c, struct arena *a, const struct store_user *u,
                      struct usher_error *err)
{
    static const char sql[] = "INSERT INTO users (" USER_COLUMNS ") "
                              "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";
    struct store_value p[] = {
        store_text(u->id),
        store_text(u->email),
        store_text(u->first_name ? u->first_name : ""),
        store_text(u->last_name ? u->last_name : ""),
        store_text(u->password_hash),
        store_text(u->status ? u->status : STORE_USER_ACTIVE),
        store_int(u->is_platform_admin ? 1 : 0),
        store_int(u->created_at),
        u->last_active_at > 0 ? store_int(u->last_active_at) : store_null(),
    };
    return store_exec(c, a, sql, p, COUNT(p), NULL, NULL, err);
}

int store_user_get(struct store_user *out, struct store_conn *c, struct arena *a, const char *id,
                   struct usher_error *err)
{
    static const char sql[] = "SELECT " USER_COLUMNS " FROM users WHERE id = $1";
    return user_read(out, c, a, sql, id, err);
}

int store_user_by_email(struct store_user *out, struct store_conn *c, struct arena *a,
                        const char *email, struct usher_error *err)
{
    static const char sql[] = "SELECT " USER_COLUMNS " FROM users WHERE email = $1";
    return user_read(out, c, a, sql, email, err);
}

static int user_update(struct store_conn *c, struct arena *a, const char *sql, const char *id,
                       struct store_value value, struct usher_error *err)
{
    struct store_value p[] = {store_text(id), value};
    int64_t changes = 0;
    int rc = store_exec(c, a, sql, p, COUNT(p), NULL, &changes, err);
    if (rc)
        return rc;
    if (changes == 0)
        return usher_error_set(err, USHER_ENOTFOUND, NULL, NULL, "no such user");
    return 0;
}

int store_user_password_set(struct store_conn *c, struct arena *a, const char *id,
                            const char *password_hash, struct usher_error *err)
{
    static const char sql[] = "UPDATE users SET password_hash = $2 WHERE id = $1";
    return user_update(c, a, sql, id, store_text(password_hash), err);
}

int store_user_email_set(struct store_conn *c, struct arena *a, const char *id, const char *email,
                         struct usher_error *err)
{
    static const char sql[] = "UPDATE users SET email = $2 WHERE id = $1";
    return user_update(c, a, sql, id, store_text(email), err);
}

int store_user_status_set(struct store_conn *c, struct arena *a, const char *id, const char *status,
                          struct usher_error *err)
{
    static const char sql[] = "UPDATE users SET status = $2 WHERE id = $1";
    return user_update(c, a, sql, id, store_text(status), err);
}

int store_user_admin_count(int64_t *out, struct store_conn *c, struct arena *a,
                           struct usher_error *err)
{
    static const char sql[] = "SELECT COUNT(*) FROM users WHERE is_platform_admin = 1";
    struct store_rows rows;
    *out = 0;
    int rc = store_exec(c, a, sql, NULL, 0, &rows, NULL, err);
    if (rc)
        return rc;
    if (rows.count == 1 && store_cell(&rows, 0, 0)->type == STORE_INT)
        *out = store_cell_int(&rows, 0, 0);
    return 0;
}

int store_user_active_admin_count(int64_t *out, struct store_conn *c, struct arena *a,
                                  const char *except_id, struct usher_error *err)
{
    static const char sql[] = "SELECT COUNT(*) FROM users WHERE is_platform_admin = 1 "
                              "AND status = 'active' AND (CAST($1 AS TEXT) IS NULL OR id <> $1)";
    struct store_value p[] = {except_id ? store_text(except_id) : store_null()};
    struct store_rows rows;
    *out = 0;
    int rc = store_exec(c, a, sql, p, COUNT(p), &rows, NULL, err);
    if (rc)
        return rc;
    if (rows.count == 1 && store_cell(&rows, 0, 0)->type == STORE_INT)
        *out = store_cell_int(&rows, 0, 0);
    return 0;
}

/* The search over users u: $1 a LIKE pattern, or NULL for every user. */
#define USER_MATCH                                                                                 \
    "(CAST($1 AS TEXT) IS NULL OR lower(u.email) LIKE $1 ESCAPE '!' "                              \
    "OR lower(u.first_name) LIKE $1 ESCAPE '!' OR lower(u.last_name) LIKE $1 ESCAPE '!') "

/* After the position ($2 created_at, $3 id): the first page passes (-1, ""). */
#define USER_AFTER "AND (u.created_at > $2 OR (u.created_at = $2 AND u.id > $3)) "

#define USER_LIST_COLUMNS                                                                          \
    "u.id, u.email, u.first_name, u.last_name, CAST(NULL AS TEXT), u.status, "                     \
    "u.is_platform_admin, "                                                                        \
    "u.created_at, u.last_active_at"

int store_user_list(struct store_user **out, size_t *count, bool *has_more, struct store_conn *c,
                    struct arena *a, const char *pattern, const struct store_cursor *after,
                    size_t limit, struct usher_error *err)
{
    static const char sql[] =
        "SELECT " USER_LIST_COLUMNS " FROM users u WHERE " USER_MATCH USER_AFTER
        "ORDER BY u.created_at, u.id LIMIT $4";
    *out = NULL;
    *count = 0;
    *has_more = false;
    if (limit == 0 || limit > STORE_PAGE_LIMIT_MAX)
        limit = limit == 0 ? STORE_PAGE_LIMIT_DEFAULT : STORE_PAGE_LIMIT_MAX;
    bool resume = after && after->is_set;
    struct store_value p[] = {
        pattern ? store_text(pattern) : store_null(),
        store_int(resume ? after->created_at : -1),
        store_text(resume ? after->id : ""),
        store_int((int64_t)limit + 1),
    };
    struct store_rows rows;
    int rc = store_exec(c, a, sql, p, COUNT(p), &rows, NULL, err);
    if (rc)
        return rc;
    *has_more = rows.count > limit;
    if (*has_more)
        rows.count = limit;
    if (rows.count == 0)
        return 0;
    struct store_user *list = arena_alloc(a, rows.count * sizeof(*list));
    for (size_t r = 0; r < rows.count; r++)
        user_from_row(&list[r], &rows, r);
    *out = list;
    *count = rows.count;
    return 0;
}

int store_user_list_agencies(struct store_user_agency **out, size_t *count, struct store_conn *c,
                             struct arena *a, const char *pattern, const struct store_cursor *after,
                             int64_t last_created_at, const char *last_id, struct usher_error *err)
{
    static const char sql[] =
        "SELECT u.id, ag.id, ag.name FROM users u JOIN memberships m ON m.user_id = u.id "
        "JOIN agencies ag ON ag.id = m.agency_id WHERE " USER_MATCH USER_AFTER
        "AND (u.created_at < $4 OR (u.created_at = $4 AND u.id <= $5)) "
        "ORDER BY u.created_at, u.id, ag.name, ag.id";
    *out = NULL;
    *count = 0;
    bool resume = after && after->is_set;
    struct store_value p[] = {
        pattern ? store_text(pattern) : store_null(),
        store_int(resume ? after->created_at : -1),
        store_text(resume ? after->id : ""),
        store_int(last_created_at),
        store_text(last_id),
    };
    struct store_rows rows;
    int rc = store_exec(c, a, sql, p, COUNT(p), &rows, NULL, err);
    if (rc)
        return rc;
    if (rows.count == 0)
        return 0;
    struct store_user_agency *list = arena_alloc(a, rows.count * sizeof(*list));
    for (size_t r = 0; r < rows.count; r++) {
        list[r].user_id = store_cell_text(&rows, r, 0);
        list[r].agency_id = store_cell_text(&rows, r, 1);
        list[r].agency_name = store_cell_text(&rows, r, 2);
    }
    *out = list;
    *count = rows.count;
    return 0;
}

int store_user_touch(struct store_conn *c, struct arena *a, const char *id, int64_t at,
                     struct usher_error *err)
{
    static const char sql[] = "UPDATE users SET last_active_at = $2 WHERE id = $1";
    struct store_value p[] = {store_text(id), store_int(at)};
    return store_exec(c, a, sql, p, COUNT(p), NULL, NULL, err);
}

int store_user_memberships(struct store_user_membership **out, size_t *out_count,
                           struct store_conn *c, struct arena *a, const char *user_id, int64_t now,
                           struct usher_error *err)
{
    static const char members_sql[] =
        "SELECT m.agency_id, ag.name, m.shortcode FROM memberships m "
        "JOIN agencies ag ON ag.id = m.agency_id WHERE m.user_id = $1 "
        "ORDER BY ag.name, m.agency_id";
    static const char grants_sql[] =
        "SELECT agency_id, environment_id, bot_id, roles, extra_permissions, expires_at FROM "
        "grants WHERE user_id = $1 AND (expires_at IS NULL OR expires_at > $2) ORDER BY agency_id, "
        "CASE WHEN bot_id IS NOT NULL THEN 2 WHEN environment_id IS NOT NULL THEN 1 ELSE 0 END, "
        "scope_id";
    *out = NULL;
    *out_count = 0;
    struct store_value p[] = {store_text(user_id), store_int(now)};
    struct store_rows members, grants;
    int rc = store_exec(c, a, members_sql, p, 1, &members, NULL, err);
    if (rc)
        return rc;
    rc = store_exec(c, a, grants_sql, p, COUNT(p), &grants, NULL, err);
    if (rc)
        return rc;
    if (members.count == 0)
        return 0;
    struct store_user_membership *list = arena_alloc(a, members.count * sizeof(*list));
    for (size_t i = 0; i < members.count; i++) {
        struct store_user_membership *m = &list[i];
        m->agency_id = store_cell_text(&members, i, 0);
        m->agency_name = store_cell_text(&members, i, 1);
        m->shortcode = store_cell_text(&members, i, 2);
        size_t n = 0;
        for (size_t g = 0; g < grants.count; g++) {
            if (strcmp(store_cell_text(&grants, g, 0), m->agency_id) == 0)
                n++;
        }
        m->grants = n ? arena_alloc(a, n * sizeof(*m->grants)) : NULL;
        for (size_t g = 0; g < grants.count; g++) {
            if (strcmp(store_cell_text(&grants, g, 0), m->agency_id) != 0)
                continue;
            struct store_user_grant *out_g = &m->grants[m->grant_count++];
            out_g->environment_id = store_cell_text(&grants, g, 1);
            out_g->bot_id = store_cell_text(&grants, g, 2);
            out_g->roles = store_cell_text(&grants, g, 3);
            out_g->extra_permissions = store_cell_text(&grants, g, 4);
            out_g->expires_at = store_cell_int(&grants, g, 5);
        }
    }
    *out = list;
    *out_count = members.count;
    return 0;
}
