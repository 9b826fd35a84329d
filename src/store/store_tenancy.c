/* Record functions for agencies, environments, bots, memberships and grants, with keyset
 * pagination on (created_at, id) and its opaque cursors. */
#include "store/store_tenancy.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#define CURSOR_ID_MAX 200

char *store_cursor_encode(struct arena *a, int64_t created_at, const char *id)
{
    char plain[CURSOR_ID_MAX + 32];
    int len = snprintf(plain, sizeof(plain), "%lld.%.*s", (long long)created_at, CURSOR_ID_MAX, id);
    size_t cap = sodium_base64_ENCODED_LEN((size_t)len, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    char *out = arena_alloc(a, cap);
    sodium_bin2base64(out, cap, (const unsigned char *)plain, (size_t)len,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    return out;
}

static int cursor_invalid(struct usher_error *err)
{
    return usher_error_set(err, USHER_EINVAL, NULL, "cursor", "cursor is not valid");
}

int store_cursor_decode(struct store_cursor *out, struct arena *a, const char *text,
                        struct usher_error *err)
{
    memset(out, 0, sizeof(*out));
    if (!text || !*text)
        return 0;
    size_t text_len = strlen(text);
    if (text_len > STORE_CURSOR_MAX)
        return cursor_invalid(err);
    unsigned char plain[STORE_CURSOR_MAX];
    size_t len = 0;
    if (sodium_base642bin(plain, sizeof(plain) - 1, text, text_len, NULL, &len, NULL,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0)
        return cursor_invalid(err);
    plain[len] = '\0';
    /* "<created_at>.<id>": 1..18 digits, a dot, then 1..200 printable ASCII characters. */
    size_t digits = 0;
    int64_t created_at = 0;
    while (digits < len && plain[digits] >= '0' && plain[digits] <= '9') {
        if (digits == 18)
            return cursor_invalid(err);
        created_at = created_at * 10 + (plain[digits] - '0');
        digits++;
    }
    if (digits == 0 || digits >= len || plain[digits] != '.')
        return cursor_invalid(err);
    const unsigned char *id = plain + digits + 1;
    size_t id_len = len - digits - 1;
    if (id_len == 0 || id_len > CURSOR_ID_MAX)
        return cursor_invalid(err);
    for (size_t i = 0; i < id_len; i++) {
        if (id[i] <= 0x20 || id[i] >= 0x7F)
            return cursor_invalid(err);
    }
    out->is_set = true;
    out->created_at = created_at;
    out->id = arena_strndup(a, (const char *)id, id_len);
    return 0;
}

/* Runs the first-page or the resume form of a list query with limit + 1 rows, so that one
 * extra row tells whether more follow. Parameters: [$1 = key when key is set], then the
 * cursor's created_at and id for the resume form, then the row limit. */
static int page_query(struct store_rows *rows, bool *has_more, struct store_conn *c,
                      struct arena *a, const char *first_sql, const char *after_sql,
                      const char *key, const struct store_cursor *after, size_t limit,
                      struct usher_error *err)
{
    if (limit == 0 || limit > STORE_PAGE_LIMIT_MAX)
        limit = limit == 0 ? STORE_PAGE_LIMIT_DEFAULT : STORE_PAGE_LIMIT_MAX;
    struct store_value p[4];
    size_t n = 0;
    const char *sql = first_sql;
    if (key)
        p[n++] = store_text(key);
    if (after && after->is_set) {
        p[n++] = store_int(after->created_at);
        p[n++] = store_text(after->id);
        sql = after_sql;
    }
    p[n++] = store_int((int64_t)limit + 1);
    int rc = store_exec(c, a, sql, p, n, rows, NULL, err);
    if (rc)
        return rc;
    *has_more = rows->count > limit;
    if (*has_more)
        rows->count = limit;
    return 0;
}

/* --- agencies --- */

#define AGENCY_COLUMNS "a.id, a.name, a.created_at, a.created_by, a.require_second_factor, a.status"

static void agency_from_row(struct store_agency *out, const struct store_rows *rows, size_t r)
{
    out->id = store_cell_text(rows, r, 0);
    out->name = store_cell_text(rows, r, 1);
    out->created_at = store_cell_int(rows, r, 2);
    out->created_by = store_cell_text(rows, r, 3);
    out->require_second_factor = store_cell_int(rows, r, 4) != 0;
    const char *status = store_cell_text(rows, r, 5);
    out->is_suspended = status && strcmp(status, "suspended") == 0;
}

static struct store_agency *agencies_from_rows(struct arena *a, const struct store_rows *rows)
{
    if (rows->count == 0)
        return NULL;
    struct store_agency *items = arena_alloc(a, rows->count * sizeof(*items));
    for (size_t i = 0; i < rows->count; i++)
        agency_from_row(&items[i], rows, i);
    return items;
}

int store_agency_insert(struct store_conn *c, struct arena *a, const struct store_agency *agency,
                        struct usher_error *err)
{
    static const char sql[] =
        "INSERT INTO agencies (id, name, created_at, created_by) VALUES ($1, $2, $3, $4)";
    struct store_value p[] = {store_text(agency->id), store_text(agency->name),
                              store_int(agency->created_at), store_text(agency->created_by)};
    return store_exec(c, a, sql, p, 4, NULL, NULL, err);
}

int store_agency_second_factor_set(struct store_conn *c, struct arena *a, const char *id,
                                   bool required, struct usher_error *err)
{
    static const char sql[] = "UPDATE agencies SET require_second_factor = $2 WHERE id = $1";
    struct store_value p[] = {store_text(id), store_int(required ? 1 : 0)};
    int64_t changed = 0;
    int rc = store_exec(c, a, sql, p, 2, NULL, &changed, err);
    if (rc == 0 && changed == 0)
        rc = usher_error_set(err, USHER_ENOTFOUND, NULL, NULL, "agency not found");
    return rc;
}

/* Runs an UPDATE or DELETE of one row by id; no row changed is USHER_ENOTFOUND "<what> not
 * found". */
static int change_one(struct store_conn *c, struct arena *a, const char *sql,
                      const struct store_value *p, size_t n, const char *what,
                      struct usher_error *err)
{
    int64_t changed = 0;
    int rc = store_exec(c, a, sql, p, n, NULL, &changed, err);
    if (rc == 0 && changed == 0)
        rc = usher_error_set(err, USHER_ENOTFOUND, NULL, NULL, "%s not found", what);
    return rc;
}

/* The first column of every row, as an arena array of strings (NULL when there are none). */
static const char **column_strings(struct arena *a, const struct store_rows *rows)
{
    if (rows->count == 0)
        return NULL;
    const char **out = arena_alloc(a, rows->count * sizeof(*out));
    for (size_t i = 0; i < rows->count; i++)
        out[i] = store_cell_text(rows, i, 0);
    return out;
}

int store_agency_rename(struct store_conn *c, struct arena *a, const char *id, const char *name,
                        struct usher_error *err)
{
    static const char sql[] = "UPDATE agencies SET name = $2 WHERE id = $1";
    struct store_value p[] = {store_text(id), store_text(name)};
    return change_one(c, a, sql, p, 2, "agency", err);
}

int store_agency_status_set(struct store_conn *c, struct arena *a, const char *id, bool suspended,
                            struct usher_error *err)
{
    static const char sql[] = "UPDATE agencies SET status = $2 WHERE id = $1";
    struct store_value p[] = {store_text(id), store_text(suspended ? "suspended" : "active")};
    return change_one(c, a, sql, p, 2, "agency", err);
}

int store_agency_delete(struct store_conn *c, struct arena *a, const char *id,
                        struct usher_error *err)
{
    static const char sql[] = "DELETE FROM agencies WHERE id = $1";
    struct store_value p[] = {store_text(id)};
    return change_one(c, a, sql, p, 1, "agency", err);
}

int store_agency_member_ids(const char ***out, size_t *count, struct store_conn *c, struct arena *a,
                            const char *agency_id, struct usher_error *err)
{
    static const char sql[] =
        "SELECT user_id FROM memberships WHERE agency_id = $1 ORDER BY user_id";
    struct store_value p[] = {store_text(agency_id)};
    struct store_rows rows;
    int rc = store_exec(c, a, sql, p, 1, &rows, NULL, err);
    if (rc)
        return rc;
    *out = column_strings(a, &rows);
    *count = rows.count;
    return 0;
}

int store_agency_get(struct store_agency *out, struct store_conn *c, struct arena *a,
                     const char *id, struct usher_error *err)
{
    static const char sql[] = "SELECT " AGENCY_COLUMNS " FROM agencies a WHERE a.id = $1";
    struct store_value p[] = {store_text(id)};
    struct store_rows rows;
    int rc = store_exec(c, a, sql, p, 1, &rows, NULL, err);
    if (rc)
        return rc;
    if (rows.count == 0)
        return usher_error_set(err, USHER_ENOTFOUND, NULL, NULL, "agency not found");
    agency_from_row(out, &rows, 0);
    return 0;
}

int store_agency_list(struct store_agency **out, size_t *count, bool *has_more,
                      struct store_conn *c, struct arena *a, const struct store_cursor *after,
                      size_t limit, struct usher_error *err)
{
    static const char first[] =
        "SELECT " AGENCY_COLUMNS " FROM agencies a ORDER BY a.created_at, a.id LIMIT $1";
    static const char resume[] = "SELECT " AGENCY_COLUMNS " FROM agencies a "
                                 "WHERE a.created_at > $1 OR (a.created_at = $1 AND a.id > $2) "
                                 "ORDER BY a.created_at, a.id LIMIT $3";
    struct store_rows rows;
    int rc = page_query(&rows, has_more, c, a, first, resume, NULL, after, limit, err);
    if (rc)
        return rc;
    *out = agencies_from_rows(a, &rows);
    *count = rows.count;
    return 0;
}

int store_agency_list_for_user(struct store_agency **out, size_t *count, bool *has_more,
                               struct store_conn *c, struct arena *a, const char *user_id,
                               const struct store_cursor *after, size_t limit,
                               struct usher_error *err)
{
    static const char first[] = "SELECT " AGENCY_COLUMNS " FROM agencies a "
                                "JOIN memberships m ON m.agency_id = a.id AND m.user_id = $1 "
                                "ORDER BY a.created_at, a.id LIMIT $2";
    static const char resume[] = "SELECT " AGENCY_COLUMNS " FROM agencies a "
                                 "JOIN memberships m ON m.agency_id = a.id AND m.user_id = $1 "
                                 "WHERE a.created_at > $2 OR (a.created_at = $2 AND a.id > $3) "
                                 "ORDER BY a.created_at, a.id LIMIT $4";
    struct store_rows rows;
    int rc = page_query(&rows, has_more, c, a, first, resume, user_id, after, limit, err);
    if (rc)
        return rc;
    *out = agencies_from_rows(a, &rows);
    *count = rows.count;
    return 0;
}

int store_agency_has_member(bool *out, struct store_conn *c, struct arena *a, const char *agency_id,
                            const char *user_id, struct usher_error *err)
{
    static const char sql[] = "SELECT 1 FROM memberships WHERE agency_id = $1 AND user_id = $2";
    struct store_value p[] = {store_text(agency_id), store_text(user_id)};
    struct store_rows rows;
    int rc = store_exec(c, a, sql, p, 2, &rows, NULL, err);
    if (rc)
        return rc;
    *out = rows.count > 0;
    return 0;
}

/* --- environments --- */

#define ENVIRONMENT_COLUMNS "e.id, e.agency_id, e.name, e.created_at"

static void environment_from_row(struct store_environment *out, const struct store_rows *rows,
                                 size_t r)
{
    out->id = store_cell_text(rows, r, 0);
    out->agency_id = store_cell_text(rows, r, 1);
    out->name = store_cell_text(rows, r, 2);
    out->created_at = store_cell_int(rows, r, 3);
}

int store_environment_insert(struct store_conn *c, struct arena *a,
                             const struct store_environment *env, struct usher_error *err)
{
    static const char sql[] =
        "INSERT INTO environments (id, agency_id, name, created_at) VALUES ($1, $2, $3, $4)";
    struct store_value p[] = {store_text(env->id), store_text(env->agency_id),
                              store_text(env->name), store_int(env->created_at)};
    return store_exec(c, a, sql, p, 4, NULL, NULL, err);
}

int store_environment_get(struct store_environment *out, struct store_conn *c, struct arena *a,
                          const char *id, struct usher_error *err)
{
    static const char sql[] = "SELECT " ENVIRONMENT_COLUMNS " FROM environments e WHERE e.id = $1";
    struct store_value p[] = {store_text(id)};
    struct store_rows rows;
    int rc = store_exec(c, a, sql, p, 1, &rows, NULL, err);
    if (rc)
        return rc;
    if (rows.count == 0)
        return usher_error_set(err, USHER_ENOTFOUND, NULL, NULL, "environment not found");
    environment_from_row(out, &rows, 0);
    return 0;
}

int store_environment_rename(struct store_conn *c, struct arena *a, const char *id,
                             const char *name, struct usher_error *err)
{
    static const char sql[] = "UPDATE environments SET name = $2 WHERE id = $1";
    struct store_value p[] = {store_text(id), store_text(name)};
    return change_one(c, a, sql, p, 2, "environment", err);
}

int store_environment_delete(struct store_conn *c, struct arena *a, const char *id,
                             struct usher_error *err)
{
    static const char sql[] = "DELETE FROM environments WHERE id = $1";
    struct store_value p[] = {store_text(id)};
    return change_one(c, a, sql, p, 1, "environment", err);
}

int store_environment_bot_ids(const char ***out, size_t *count, struct store_conn *c,
                              struct arena *a, const char *environment_id, struct usher_error *err)
{
    static const char sql[] = "SELECT id FROM bots WHERE environment_id = $1 ORDER BY id";
    struct store_value p[] = {store_text(environment_id)};
    struct store_rows rows;
    int rc = store_exec(c, a, sql, p, 1, &rows, NULL, err);
    if (rc)
        return rc;
    *out = column_strings(a, &rows);
    *count = rows.count;
    return 0;
}

int store_environment_list(struct store_environment **out, size_t *count, bool *has_more,
                           struct store_conn *c, struct arena *a, const char *agency_id,
                           const struct store_cursor *after, size_t limit, struct usher_error *err)
{
    static const char first[] = "SELECT " ENVIRONMENT_COLUMNS " FROM environments e "
                                "WHERE e.agency_id = $1 ORDER BY e.created_at, e.id LIMIT $2";
    static const char resume[] =
        "SELECT " ENVIRONMENT_COLUMNS " FROM environments e WHERE e.agency_id = $1 "
        "AND (e.created_at > $2 OR (e.created_at = $2 AND e.id > $3)) "
        "ORDER BY e.created_at, e.id LIMIT $4";
    struct store_rows rows;
    int rc = page_query(&rows, has_more, c, a, first, resume, agency_id, after, limit, err);
    if (rc)
        return rc;
    *out = rows.count ? arena_alloc(a, rows.count * sizeof(**out)) : NULL;
    for (size_t i = 0; i < rows.count; i++)
        environment_from_row(&(*out)[i], &rows, i);
    *count = rows.count;
    return 0;
}

/* --- bots --- */

/* A bot is shared when a grant on it in force at $2 holds bot_manager; roles are stored
 * comma-separated, so the list is wrapped in commas and matched whole ("!" escapes LIKE's "_"
 * wildcard). */
#define BOT_COLUMNS                                                                                \
    "b.id, b.agency_id, b.environment_id, b.name, b.created_at, "                                  \
    "CASE WHEN EXISTS (SELECT 1 FROM grants g WHERE g.agency_id = b.agency_id "                    \
    "AND g.bot_id = b.id AND (',' || g.roles || ',') LIKE '%,bot!_manager,%' ESCAPE '!' "          \
    "AND (g.expires_at IS NULL OR g.expires_at > $2)) "                                            \
    "THEN 1 ELSE 0 END"

static void bot_from_row(struct store_bot *out, const struct store_rows *rows, size_t r)
{
    out->id = store_cell_text(rows, r, 0);
    out->agency_id = store_cell_text(rows, r, 1);
    out->environment_id = store_cell_text(rows, r, 2);
    out->name = store_cell_text(rows, r, 3);
    out->created_at = store_cell_int(rows, r, 4);
    out->is_shared = store_cell_int(rows, r, 5) != 0;
}

int store_bot_insert(struct store_conn *c, struct arena *a, const struct store_bot *bot,
                     struct usher_error *err)
{
    static const char sql[] = "INSERT INTO bots (id, agency_id, environment_id, name, created_at) "
                              "VALUES ($1, $2, $3, $4, $5)";
    struct store_value p[] = {store_text(bot->id), store_text(bot->agency_id),
                              store_text(bot->environment_id), store_text(bot->name),
                              store_int(bot->created_at)};
    return store_exec(c, a, sql, p, 5, NULL, NULL, err);
}

int store_bot_get(struct store_bot *out, struct store_conn *c, struct arena *a, const char *id,
                  int64_t now, struct usher_error *err)
{
    static const char sql[] = "SELECT " BOT_COLUMNS " FROM bots b WHERE b.id = $1";
    struct store_value p[] = {store_text(id), store_int(now)};
    struct store_rows rows;
    int rc = store_exec(c, a, sql, p, 2, &rows, NULL, err);
    if (rc)
        return rc;
    if (rows.count == 0)
        return usher_error_set(err, USHER_ENOTFOUND, NULL, NULL, "bot not found");
    bot_from_row(out, &rows, 0);
    return 0;
}

int store_bot_rename(struct store_conn *c, struct arena *a, const char *id, const char *name,
                     struct usher_error *err)
{
    static const char sql[] = "UPDATE bots SET name = $2 WHERE id = $1";
    struct store_value p[] = {store_text(id), store_text(name)};
    return change_one(c, a, sql, p, 2, "bot", err);
}

int store_bot_delete(struct store_conn *c, struct arena *a, const char *id, struct usher_error *err)
{
    static const char sql[] = "DELETE FROM bots WHERE id = $1";
    struct store_value p[] = {store_text(id)};
    return change_one(c, a, sql, p, 1, "bot", err);
}

int store_bot_list(struct store_bot **out, size_t *count, bool *has_more, struct store_conn *c,
                   struct arena *a, const char *environment_id, const struct store_cursor *after,
                   size_t limit, int64_t now, struct usher_error *err)
{
    static const char first[] = "SELECT " BOT_COLUMNS " FROM bots b "
                                "WHERE b.environment_id = $1 ORDER BY b.created_at, b.id LIMIT $3";
    static const char resume[] = "SELECT " BOT_COLUMNS " FROM bots b WHERE b.environment_id = $1 "
                                 "AND (b.created_at > $4 OR (b.created_at = $4 AND b.id > $5)) "
                                 "ORDER BY b.created_at, b.id LIMIT $3";
    if (limit == 0 || limit > STORE_PAGE_LIMIT_MAX)
        limit = limit == 0 ? STORE_PAGE_LIMIT_DEFAULT : STORE_PAGE_LIMIT_MAX;
    bool resuming = after && after->is_set;
    struct store_value p[] = {
        store_text(environment_id), store_int(now), store_int((int64_t)limit + 1),
        store_int(resuming ? after->created_at : 0), store_text(resuming ? after->id : NULL)};
    struct store_rows rows;
    int rc = store_exec(c, a, resuming ? resume : first, p, resuming ? 5 : 3, &rows, NULL, err);
    if (rc)
        return rc;
    *has_more = rows.count > limit;
    if (*has_more)
        rows.count = limit;
    *out = rows.count ? arena_alloc(a, rows.count * sizeof(**out)) : NULL;
    for (size_t i = 0; i < rows.count; i++)
        bot_from_row(&(*out)[i], &rows, i);
    *count = rows.count;
    return 0;
}

/* --- grants --- */

/* The grants that go with a place: every row the deletion's cascade would take (one naming
 * the place as its environment, its bot or its scope) and, for an environment, those on its
 * bots. */
#define ENV_GRANTS                                                                                 \
    "FROM grants WHERE environment_id = $1 OR scope_id = $1 "                                      \
    "OR bot_id IN (SELECT b.id FROM bots b WHERE b.environment_id = $1)"
#define BOT_GRANTS "FROM grants WHERE bot_id = $1 OR scope_id = $1"

static bool kind_is_environment(const char *kind)
{
    return strcmp(kind, "environment") == 0;
}

int store_place_grant_holders(struct store_place_holder **out, size_t *count, struct store_conn *c,
                              struct arena *a, const char *kind, const char *id, int64_t now,
                              struct usher_error *err)
{
#define HOLDER_COLUMNS                                                                             \
    "SELECT user_id, CASE WHEN expires_at IS NULL OR expires_at > $2 THEN 1 ELSE 0 END "
    static const char env_sql[] = HOLDER_COLUMNS ENV_GRANTS " ORDER BY user_id, id";
    static const char bot_sql[] = HOLDER_COLUMNS BOT_GRANTS " ORDER BY user_id, id";
#undef HOLDER_COLUMNS
    struct store_value p[] = {store_text(id), store_int(now)};
    struct store_rows rows;
    int rc =
        store_exec(c, a, kind_is_environment(kind) ? env_sql : bot_sql, p, 2, &rows, NULL, err);
    if (rc)
        return rc;
    *out = rows.count ? arena_alloc(a, rows.count * sizeof(**out)) : NULL;
    for (size_t i = 0; i < rows.count; i++) {
        (*out)[i].user_id = store_cell_text(&rows, i, 0);
        (*out)[i].in_force = store_cell_int(&rows, i, 1) != 0;
    }
    *count = rows.count;
    return 0;
}

int store_place_grants_delete(int64_t *out_deleted, struct store_conn *c, struct arena *a,
                              const char *kind, const char *id, struct usher_error *err)
{
    static const char env_sql[] = "DELETE " ENV_GRANTS;
    static const char bot_sql[] = "DELETE " BOT_GRANTS;
    struct store_value p[] = {store_text(id)};
    *out_deleted = 0;
    return store_exec(c, a, kind_is_environment(kind) ? env_sql : bot_sql, p, 1, NULL, out_deleted,
                      err);
}

int store_grant_list_in_agency(struct store_grant **out, size_t *count, struct store_conn *c,
                               struct arena *a, const char *agency_id, const char *user_id,
                               int64_t now, struct usher_error *err)
{
    /* A bot grant's environment is the bot's, whatever the grant row says. */
    static const char sql[] =
        "SELECT g.id, CASE WHEN g.bot_id IS NULL THEN g.environment_id ELSE b.environment_id END, "
        "g.bot_id, g.scope_id, g.roles, g.extra_permissions, g.created_at, g.expires_at "
        "FROM grants g LEFT JOIN bots b ON b.id = g.bot_id "
        "WHERE g.agency_id = $1 AND g.user_id = $2 AND (g.expires_at IS NULL OR g.expires_at > $3) "
        "ORDER BY g.created_at, g.id";
    struct store_value p[] = {store_text(agency_id), store_text(user_id), store_int(now)};
    struct store_rows rows;
    int rc = store_exec(c, a, sql, p, 3, &rows, NULL, err);
    if (rc)
        return rc;
    *out = rows.count ? arena_alloc(a, rows.count * sizeof(**out)) : NULL;
    for (size_t i = 0; i < rows.count; i++) {
        struct store_grant *g = &(*out)[i];
        g->id = store_cell_text(&rows, i, 0);
        g->environment_id = store_cell_text(&rows, i, 1);
        g->bot_id = store_cell_text(&rows, i, 2);
        g->scope_id = store_cell_text(&rows, i, 3);
        g->roles = store_cell_text(&rows, i, 4);
        g->extra_permissions = store_cell_text(&rows, i, 5);
        g->created_at = store_cell_int(&rows, i, 6);
        g->expires_at = store_cell_int(&rows, i, 7);
    }
    *count = rows.count;
    return 0;
}
