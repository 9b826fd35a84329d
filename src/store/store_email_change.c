/* SQL for email changes. */
#include "store/store_email_change.h"

#define CHANGE_COLUMNS                                                                             \
    "id, user_id, new_email, status, token_nonce, token_hash, source_ip, created_at, "             \
    "expires_at, used_at"

int store_email_change_insert(struct store_conn *c, struct arena *a,
                              const struct store_email_change *e, struct usher_error *err)
{
    struct store_value p[] = {
        store_text(e->id),        store_text(e->user_id),     store_text(e->new_email),
        store_text(e->status),    store_text(e->token_nonce), store_text(e->token_hash),
        store_text(e->source_ip), store_int(e->created_at),   store_int(e->expires_at),
    };
    return store_exec(c, a,
                      "INSERT INTO email_changes (id, user_id, new_email, status, token_nonce, "
                      "token_hash, source_ip, created_at, expires_at) "
                      "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                      p, 9, NULL, NULL, err);
}

static int read_one(struct store_email_change *out, struct store_conn *c, struct arena *a,
                    const char *sql, const struct store_value *p, size_t n, struct usher_error *err)
{
    struct store_rows rows;
    int rc = store_exec(c, a, sql, p, n, &rows, NULL, err);
    if (rc)
        return rc;
    if (rows.count == 0)
        return usher_error_set(err, USHER_ENOTFOUND, NULL, NULL, "no such email change");
    out->id = store_cell_text(&rows, 0, 0);
    out->user_id = store_cell_text(&rows, 0, 1);
    out->new_email = store_cell_text(&rows, 0, 2);
    out->status = store_cell_text(&rows, 0, 3);
    out->token_nonce = store_cell_text(&rows, 0, 4);
    out->token_hash = store_cell_text(&rows, 0, 5);
    out->source_ip = store_cell_text(&rows, 0, 6);
    out->created_at = store_cell_int(&rows, 0, 7);
    out->expires_at = store_cell_int(&rows, 0, 8);
    out->used_at = store_cell_int(&rows, 0, 9);
    return 0;
}

int store_email_change_get(struct store_email_change *out, struct store_conn *c, struct arena *a,
                           const char *id, struct usher_error *err)
{
    struct store_value p[] = {store_text(id)};
    return read_one(out, c, a, "SELECT " CHANGE_COLUMNS " FROM email_changes WHERE id = $1", p, 1,
                    err);
}

int store_email_change_by_token_hash(struct store_email_change *out, struct store_conn *c,
                                     struct arena *a, const char *token_hash,
                                     struct usher_error *err)
{
    struct store_value p[] = {store_text(token_hash)};
    return read_one(out, c, a, "SELECT " CHANGE_COLUMNS " FROM email_changes WHERE token_hash = $1",
                    p, 1, err);
}

int store_email_change_pending(struct store_email_change *out, struct store_conn *c,
                               struct arena *a, const char *user_id, int64_t now,
                               struct usher_error *err)
{
    struct store_value p[] = {store_text(user_id), store_int(now)};
    return read_one(out, c, a,
                    "SELECT " CHANGE_COLUMNS " FROM email_changes "
                    "WHERE user_id = $1 AND status = 'pending' AND expires_at > $2",
                    p, 2, err);
}

int store_email_change_count(int64_t *out_count, int64_t *out_oldest, struct store_conn *c,
                             struct arena *a, const char *user_id, int64_t since,
                             struct usher_error *err)
{
    struct store_value p[] = {store_text(user_id), store_int(since)};
    struct store_rows rows;
    int rc = store_exec(c, a,
                        "SELECT COUNT(*), MIN(created_at) FROM email_changes "
                        "WHERE user_id = $1 AND created_at > $2",
                        p, 2, &rows, NULL, err);
    if (rc)
        return rc;
    *out_count = rows.count ? store_cell_int(&rows, 0, 0) : 0;
    *out_oldest = rows.count ? store_cell_int(&rows, 0, 1) : 0;
    return 0;
}

int store_email_change_end_user(int64_t *out_changed, struct store_conn *c, struct arena *a,
                                const char *user_id, const char *status, struct usher_error *err)
{
    struct store_value p[] = {store_text(user_id), store_text(status)};
    return store_exec(c, a,
                      "UPDATE email_changes SET status = $2 "
                      "WHERE user_id = $1 AND status = 'pending'",
                      p, 2, NULL, out_changed, err);
}

int store_email_change_use(int64_t *out_used, struct store_conn *c, struct arena *a, const char *id,
                           int64_t at, struct usher_error *err)
{
    struct store_value p[] = {store_text(id), store_int(at)};
    return store_exec(c, a,
                      "UPDATE email_changes SET status = 'used', used_at = $2 "
                      "WHERE id = $1 AND status = 'pending' AND expires_at > $2",
                      p, 2, NULL, out_used, err);
}

int store_email_change_purge(int64_t *out_deleted, struct store_conn *c, struct arena *a,
                             int64_t before, struct usher_error *err)
{
    struct store_value p[] = {store_int(before)};
    return store_exec(c, a, "DELETE FROM email_changes WHERE created_at < $1", p, 1, NULL,
                      out_deleted, err);
}
