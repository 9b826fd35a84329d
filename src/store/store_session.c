/* Session rows: insert, lookup by token hash, touch, delete and purge. */
#include "store/store_session.h"

#define COUNT(x) (sizeof(x) / sizeof((x)[0]))

int store_session_insert(struct store_conn *c, struct arena *a, const struct store_session *s,
                         struct usher_error *err)
{
    static const char sql[] =
        "INSERT INTO sessions (token_hash, user_id, created_at, last_seen_at, expires_at, "
        "impersonator_id, impersonation_agency_id, impersonation_reason) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
    struct store_value p[] = {
        store_text(s->token_hash),
        store_text(s->user_id),
        store_int(s->created_at),
        store_int(s->last_seen_at),
        store_int(s->expires_at),
        store_text(s->impersonator_id),
        store_text(s->impersonation_agency_id),
        store_text(s->impersonation_reason),
    };
    return store_exec(c, a, sql, p, COUNT(p), NULL, NULL, err);
}

int store_session_get(struct store_session *out, struct store_conn *c, struct arena *a,
                      const char *token_hash, struct usher_error *err)
{
    static const char sql[] =
        "SELECT token_hash, user_id, created_at, last_seen_at, expires_at, impersonator_id, "
        "impersonation_agency_id, impersonation_reason FROM sessions WHERE token_hash = $1";
    struct store_value p[] = {store_text(token_hash)};
    struct store_rows rows;
    int rc = store_exec(c, a, sql, p, COUNT(p), &rows, NULL, err);
    if (rc)
        return rc;
    if (rows.count == 0)
        return usher_error_set(err, USHER_ENOTFOUND, NULL, NULL, "no such session");
    out->token_hash = store_cell_text(&rows, 0, 0);
    out->user_id = store_cell_text(&rows, 0, 1);
    out->created_at = store_cell_int(&rows, 0, 2);
    out->last_seen_at = store_cell_int(&rows, 0, 3);
    out->expires_at = store_cell_int(&rows, 0, 4);
    out->impersonator_id = store_cell_text(&rows, 0, 5);
    out->impersonation_agency_id = store_cell_text(&rows, 0, 6);
    out->impersonation_reason = store_cell_text(&rows, 0, 7);
    return 0;
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
