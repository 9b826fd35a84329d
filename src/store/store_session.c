/* Session rows: insert, lookup by token hash or public id, a user's live list, touch, delete
 * and purge. */
#include "store/store_session.h"

#define COUNT(x) (sizeof(x) / sizeof((x)[0]))

int store_session_insert(struct store_conn *c, struct arena *a, const struct store_session *s,
                         struct usher_error *err)
{
    static const char sql[] =
        "INSERT INTO sessions (token_hash, user_id, created_at, last_seen_at, expires_at, "
        "impersonator_id, impersonation_agency_id, impersonation_reason, public_id, source_ip, "
        "user_agent, method, connection_id, id_token_sealed) VALUES ($1, $2, $3, $4, $5, $6, $7, "
        "$8, "
        "$9, $10, $11, $12, $13, $14)";
    struct store_value p[] = {
        store_text(s->token_hash),
        store_text(s->user_id),
        store_int(s->created_at),
        store_int(s->last_seen_at),
        store_int(s->expires_at),
        store_text(s->impersonator_id),
        store_text(s->impersonation_agency_id),
        store_text(s->impersonation_reason),
        store_text(s->public_id),
        store_text(s->source_ip),
        store_text(s->user_agent),
        store_text(s->method ? s->method : "password"),
        store_text(s->connection_id),
        store_text(s->id_token_sealed),
    };
    return store_exec(c, a, sql, p, COUNT(p), NULL, NULL, err);
}

#define SESSION_COLUMNS                                                                            \
    "token_hash, user_id, created_at, last_seen_at, expires_at, impersonator_id, "                 \
    "impersonation_agency_id, impersonation_reason, public_id, source_ip, user_agent, method, "    \
    "connection_id, id_token_sealed"

static void session_row(struct store_session *out, const struct store_rows *rows, size_t r)
{
    out->token_hash = store_cell_text(rows, r, 0);
    out->user_id = store_cell_text(rows, r, 1);
    out->created_at = store_cell_int(rows, r, 2);
    out->last_seen_at = store_cell_int(rows, r, 3);
    out->expires_at = store_cell_int(rows, r, 4);
    out->impersonator_id = store_cell_text(rows, r, 5);
    out->impersonation_agency_id = store_cell_text(rows, r, 6);
    out->impersonation_reason = store_cell_text(rows, r, 7);
    out->public_id = store_cell_text(rows, r, 8);
    out->source_ip = store_cell_text(rows, r, 9);
    out->user_agent = store_cell_text(rows, r, 10);
    out->method = store_cell_text(rows, r, 11);
    out->connection_id = store_cell_text(rows, r, 12);
    out->id_token_sealed = store_cell_text(rows, r, 13);
}

/* The one session matching sql with its one parameter, or USHER_ENOTFOUND. */
static int session_get_by(struct store_session *out, struct store_conn *c, struct arena *a,
                          const char *sql, const char *param, struct usher_error *err)
{
    struct store_value p[] = {store_text(param)};
    struct store_rows rows;
    int rc = store_exec(c, a, sql, p, COUNT(p), &rows, NULL, err);
    if (rc)
        return rc;
    if (rows.count == 0)
        return usher_error_set(err, USHER_ENOTFOUND, NULL, NULL, "no such session");
    session_row(out, &rows, 0);
    return 0;
}

int store_session_get(struct store_session *out, struct store_conn *c, struct arena *a,
                      const char *token_hash, struct usher_error *err)
{
    static const char sql[] = "SELECT " SESSION_COLUMNS " FROM sessions WHERE token_hash = $1";
    return session_get_by(out, c, a, sql, token_hash, err);
}

int store_session_get_public(struct store_session *out, struct store_conn *c, struct arena *a,
                             const char *public_id, struct usher_error *err)
{
    static const char sql[] = "SELECT " SESSION_COLUMNS " FROM sessions WHERE public_id = $1";
    return session_get_by(out, c, a, sql, public_id, err);
}

int store_session_list_user(struct store_session **out, size_t *out_count, struct store_conn *c,
                            struct arena *a, const char *user_id, int64_t now, int64_t idle_ms,
                            struct usher_error *err)
{
    static const char sql[] = "SELECT " SESSION_COLUMNS " FROM sessions "
                              "WHERE user_id = $1 AND impersonator_id IS NULL "
                              "AND expires_at > $2 AND last_seen_at > $3 "
                              "ORDER BY created_at DESC, public_id";
    struct store_value p[] = {store_text(user_id), store_int(now), store_int(now - idle_ms)};
    struct store_rows rows;
    *out = NULL;
    *out_count = 0;
    int rc = store_exec(c, a, sql, p, COUNT(p), &rows, NULL, err);
    if (rc)
        return rc;
    if (rows.count == 0)
        return 0;
    struct store_session *list = arena_alloc(a, rows.count * sizeof(*list));
    for (size_t r = 0; r < rows.count; r++)
        session_row(&list[r], &rows, r);
    *out = list;
    *out_count = rows.count;
    return 0;
}

int store_session_delete_others(int64_t *out_deleted, struct store_conn *c, struct arena *a,
                                const char *user_id, const char *keep_hash, struct usher_error *err)
{
    static const char sql[] = "DELETE FROM sessions WHERE (user_id = $1 OR impersonator_id = $1) "
                              "AND token_hash <> $2";
    struct store_value p[] = {store_text(user_id), store_text(keep_hash)};
    int64_t changes = 0;
    int rc = store_exec(c, a, sql, p, COUNT(p), NULL, &changes, err);
    if (out_deleted)
        *out_deleted = rc ? 0 : changes;
    return rc;
}

int store_session_delete_impersonations(int64_t *out_deleted, struct store_conn *c, struct arena *a,
                                        const char *impersonator_id, struct usher_error *err)
{
    static const char sql[] = "DELETE FROM sessions WHERE impersonator_id = $1";
    struct store_value p[] = {store_text(impersonator_id)};
    int64_t changes = 0;
    int rc = store_exec(c, a, sql, p, COUNT(p), NULL, &changes, err);
    if (out_deleted)
        *out_deleted = rc ? 0 : changes;
    return rc;
}

int store_session_touch(struct store_conn *c, struct arena *a, const char *token_hash, int64_t at,
                        struct usher_error *err)
{
    static const char sql[] = "UPDATE sessions SET last_seen_at = $2 WHERE token_hash = $1";
    struct store_value p[] = {store_text(token_hash), store_int(at)};
    return store_exec(c, a, sql, p, COUNT(p), NULL, NULL, err);
}

int store_session_delete(int64_t *out_deleted, struct store_conn *c, struct arena *a,
                         const char *token_hash, struct usher_error *err)
{
    static const char sql[] = "DELETE FROM sessions WHERE token_hash = $1";
    struct store_value p[] = {store_text(token_hash)};
    int64_t changes = 0;
    int rc = store_exec(c, a, sql, p, COUNT(p), NULL, &changes, err);
    if (out_deleted)
        *out_deleted = rc ? 0 : changes;
    return rc;
}

int store_session_delete_user(int64_t *out_deleted, struct store_conn *c, struct arena *a,
                              const char *user_id, struct usher_error *err)
{
    static const char sql[] = "DELETE FROM sessions WHERE user_id = $1";
    struct store_value p[] = {store_text(user_id)};
    int64_t changes = 0;
    int rc = store_exec(c, a, sql, p, COUNT(p), NULL, &changes, err);
    if (out_deleted)
        *out_deleted = rc ? 0 : changes;
    return rc;
}

int store_session_purge(int64_t *out_deleted, struct store_conn *c, struct arena *a,
                        const char *user_id, int64_t now, int64_t idle_ms, struct usher_error *err)
{
    static const char all_sql[] =
        "DELETE FROM sessions WHERE expires_at <= $1 OR last_seen_at <= $2";
    static const char user_sql[] =
        "DELETE FROM sessions WHERE user_id = $3 AND (expires_at <= $1 OR last_seen_at <= $2)";
    struct store_value p[] = {store_int(now), store_int(now - idle_ms), store_text(user_id)};
    int64_t changes = 0;
    int rc = user_id ? store_exec(c, a, user_sql, p, 3, NULL, &changes, err)
                     : store_exec(c, a, all_sql, p, 2, NULL, &changes, err);
    if (out_deleted)
        *out_deleted = rc ? 0 : changes;
    return rc;
}
