/* SQL for password reset requests. */
#include "store/store_password_reset.h"

#define RESET_COLUMNS                                                                              \
    "id, email, user_id, status, token_nonce, token_hash, source_ip, created_at, expires_at, "     \
    "used_at"

int store_password_reset_insert(struct store_conn *c, struct arena *a,
                                const struct store_password_reset *r, struct usher_error *err)
{
    struct store_value p[] = {
        store_text(r->id),        store_text(r->email),       store_text(r->user_id),
        store_text(r->status),    store_text(r->token_nonce), store_text(r->token_hash),
        store_text(r->source_ip), store_int(r->created_at),   store_int(r->expires_at),
    };
    return store_exec(c, a,
                      "INSERT INTO password_resets (id, email, user_id, status, token_nonce, "
                      "token_hash, source_ip, created_at, expires_at) "
                      "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                      p, 9, NULL, NULL, err);
}

static int get_by(struct store_password_reset *out, struct store_conn *c, struct arena *a,
                  const char *sql, const char *key, struct usher_error *err)
{
    struct store_value p[] = {store_text(key)};
    struct store_rows rows;
    int rc = store_exec(c, a, sql, p, 1, &rows, NULL, err);
    if (rc)
        return rc;
    if (rows.count == 0)
        return usher_error_set(err, USHER_ENOTFOUND, NULL, NULL, "no such password reset");
    out->id = store_cell_text(&rows, 0, 0);
    out->email = store_cell_text(&rows, 0, 1);
    out->user_id = store_cell_text(&rows, 0, 2);
    out->status = store_cell_text(&rows, 0, 3);
    out->token_nonce = store_cell_text(&rows, 0, 4);
    out->token_hash = store_cell_text(&rows, 0, 5);
    out->source_ip = store_cell_text(&rows, 0, 6);
    out->created_at = store_cell_int(&rows, 0, 7);
    out->expires_at = store_cell_int(&rows, 0, 8);
    out->used_at = store_cell_int(&rows, 0, 9);
    return 0;
}

int store_password_reset_get(struct store_password_reset *out, struct store_conn *c,
                             struct arena *a, const char *id, struct usher_error *err)
{
    return get_by(out, c, a, "SELECT " RESET_COLUMNS " FROM password_resets WHERE id = $1", id,
                  err);
}

int store_password_reset_by_token_hash(struct store_password_reset *out, struct store_conn *c,
                                       struct arena *a, const char *token_hash,
                                       struct usher_error *err)
{
    return get_by(out, c, a, "SELECT " RESET_COLUMNS " FROM password_resets WHERE token_hash = $1",
                  token_hash, err);
}

int store_password_reset_counts(int64_t *out_email, int64_t *out_user, struct store_conn *c,
                                struct arena *a, const char *email, const char *user_id,
                                int64_t since, struct usher_error *err)
{
    struct store_value p[] = {store_text(email), store_text(user_id), store_int(since)};
    struct store_rows rows;
    int rc = store_exec(c, a,
                        "SELECT "
                        "(SELECT COUNT(*) FROM password_resets WHERE email = $1 "
                        "AND created_at > $3 AND status <> 'throttled'), "
                        "(SELECT COUNT(*) FROM password_resets WHERE user_id = $2 "
                        "AND created_at > $3 AND status <> 'throttled')",
                        p, 3, &rows, NULL, err);
    if (rc)
        return rc;
    *out_email = rows.count ? store_cell_int(&rows, 0, 0) : 0;
    *out_user = rows.count ? store_cell_int(&rows, 0, 1) : 0;
    return 0;
}

int store_password_reset_void_user(int64_t *out_voided, struct store_conn *c, struct arena *a,
                                   const char *user_id, struct usher_error *err)
{
    struct store_value p[] = {store_text(user_id)};
    return store_exec(c, a,
                      "UPDATE password_resets SET status = 'voided' "
                      "WHERE user_id = $1 AND status = 'pending'",
                      p, 1, NULL, out_voided, err);
}

int store_password_reset_use(int64_t *out_used, struct store_conn *c, struct arena *a,
                             const char *id, int64_t at, struct usher_error *err)
{
    struct store_value p[] = {store_text(id), store_int(at)};
    return store_exec(c, a,
                      "UPDATE password_resets SET status = 'used', used_at = $2 "
                      "WHERE id = $1 AND status = 'pending' AND expires_at > $2",
                      p, 2, NULL, out_used, err);
}

int store_password_reset_purge(int64_t *out_deleted, struct store_conn *c, struct arena *a,
                               int64_t before, struct usher_error *err)
{
    struct store_value p[] = {store_int(before)};
    return store_exec(c, a, "DELETE FROM password_resets WHERE created_at < $1", p, 1, NULL,
                      out_deleted, err);
}
