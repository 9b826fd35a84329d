/* SQL behind the decision index. */
#include "store/store_authz.h"

#include <string.h>

#define GRANT_SELECT                                                                               \
    "SELECT g.user_id, g.agency_id, g.environment_id, g.bot_id, g.scope_id, g.roles, "             \
    "g.extra_permissions, b.environment_id, g.expires_at "                                         \
    "FROM grants g LEFT JOIN bots b ON b.id = g.bot_id "

static int all(struct store_rows *out, struct store_conn *c, struct arena *a, const char *sql,
               struct usher_error *err)
{
    return store_exec(c, a, sql, NULL, 0, out, NULL, err);
}

int store_authz_agencies(struct store_rows *out, struct store_conn *c, struct arena *a,
                         struct usher_error *err)
{
    static const char sql[] = "SELECT id, require_second_factor, status FROM agencies";
    return all(out, c, a, sql, err);
}

int store_authz_environments(struct store_rows *out, struct store_conn *c, struct arena *a,
                             struct usher_error *err)
{
    static const char sql[] = "SELECT id, agency_id FROM environments";
    return all(out, c, a, sql, err);
}

int store_authz_bots(struct store_rows *out, struct store_conn *c, struct arena *a,
                     struct usher_error *err)
{
    static const char sql[] = "SELECT id, environment_id, agency_id FROM bots";
    return all(out, c, a, sql, err);
}

int store_authz_custom_roles(struct store_rows *out, struct store_conn *c, struct arena *a,
                             struct usher_error *err)
{
    static const char sql[] = "SELECT id, agency_id, permissions FROM custom_roles";
    return all(out, c, a, sql, err);
}

int store_authz_users_each(struct store_conn *c, size_t page_rows,
                           int (*each)(void *ctx, const struct store_rows *page,
                                       struct usher_error *err),
                           void *ctx, struct usher_error *err)
{
    /* No order: the index takes users in any order, and a table scan is the cheapest read. */
    static const char sql[] = "SELECT u.id, u.is_platform_admin, u.status, "
                              "CASE WHEN s.enabled_at IS NULL THEN 0 ELSE 1 END "
                              "FROM users u LEFT JOIN second_factors s ON s.user_id = u.id";
    struct store_pages q = {.sql = sql, .page_rows = page_rows, .each = each, .ctx = ctx};
    return store_exec_pages(c, &q, err);
}

int store_authz_grants_each(struct store_conn *c, size_t page_rows,
                            int (*each)(void *ctx, const struct store_rows *page,
                                        struct usher_error *err),
                            void *ctx, struct usher_error *err)
{
    /* The (user_id, scope_id) unique index gives the order on both dialects. */
    static const char sql[] =
        "SELECT g.user_id, g.agency_id, g.environment_id, g.bot_id, g.scope_id, g.roles, "
        "g.extra_permissions, NULL, g.expires_at FROM grants g ORDER BY g.user_id, g.scope_id";
    struct store_pages q = {.sql = sql, .page_rows = page_rows, .each = each, .ctx = ctx};
    return store_exec_pages(c, &q, err);
}

int store_authz_user(struct store_rows *out_user, struct store_rows *out_grants,
                     struct store_conn *c, struct arena *a, const char *user_id,
                     struct usher_error *err)
{
    static const char user_sql[] = "SELECT u.id, u.is_platform_admin, u.status, "
                                   "CASE WHEN s.enabled_at IS NULL THEN 0 ELSE 1 END "
                                   "FROM users u LEFT JOIN second_factors s ON s.user_id = u.id "
                                   "WHERE u.id = $1";
    static const char grants_sql[] = GRANT_SELECT "WHERE g.user_id = $1";
    struct store_value p[] = {store_text(user_id)};
    int rc = store_exec(c, a, user_sql, p, 1, out_user, NULL, err);
    if (rc == 0)
        rc = store_exec(c, a, grants_sql, p, 1, out_grants, NULL, err);
    return rc;
}

int store_authz_change_cursor(int64_t *out, struct store_conn *c, struct arena *a,
                              struct usher_error *err)
{
    static const char sql[] = "SELECT COALESCE(MAX(id), 0) FROM audit_log";
    struct store_rows rows;
    *out = 0;
    int rc = store_exec(c, a, sql, NULL, 0, &rows, NULL, err);
    if (rc == 0 && rows.count == 1)
        *out = store_cell_int(&rows, 0, 0);
    return rc;
}

int store_authz_changes(struct store_rows *out, struct store_conn *c, struct arena *a,
                        int64_t after, int limit, struct usher_error *err)
{
    static const char sql[] =
        "SELECT id, agency_id, subject_user_id, scope_type, scope_id, action FROM audit_log "
        "WHERE id > $1 ORDER BY id LIMIT $2";
    struct store_value p[] = {store_int(after), store_int(limit)};
    return store_exec(c, a, sql, p, 2, out, NULL, err);
}

int store_authz_place(struct store_rows *out, struct store_conn *c, struct arena *a,
                      const char *scope_type, const char *id, struct usher_error *err)
{
    static const char agency[] =
        "SELECT id, require_second_factor, status FROM agencies WHERE id = $1";
    static const char env[] = "SELECT id, agency_id FROM environments WHERE id = $1";
    static const char bot[] = "SELECT id, environment_id, agency_id FROM bots WHERE id = $1";
    const char *sql = strcmp(scope_type, "agency") == 0        ? agency
                      : strcmp(scope_type, "environment") == 0 ? env
                                                               : bot;
    struct store_value p[] = {store_text(id)};
    return store_exec(c, a, sql, p, 1, out, NULL, err);
}

int store_authz_agency_roles(struct store_rows *out, struct store_conn *c, struct arena *a,
                             const char *agency_id, struct usher_error *err)
{
    static const char sql[] =
        "SELECT id, agency_id, permissions FROM custom_roles WHERE agency_id = $1";
    struct store_value p[] = {store_text(agency_id)};
    return store_exec(c, a, sql, p, 1, out, NULL, err);
}
