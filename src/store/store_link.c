/* SQL shared by the single-use emailed link tables (email_changes, password_resets): the same
 * columns but for the address's name, so one insert, read, single use and purge serve both. */
#include "store/store_link.h"

const struct store_link_table store_email_changes = {"email_changes", "new_email",
                                                     "no such email change"};
const struct store_link_table store_password_resets = {"password_resets", "email",
                                                       "no such password reset"};

int store_link_insert(struct store_conn *c, struct arena *a, const struct store_link_table *t,
                      const struct store_link *l, struct usher_error *err)
{
    struct store_value p[] = {
        store_text(l->id),        store_text(l->user_id),     store_text(l->email),
        store_text(l->status),    store_text(l->token_nonce), store_text(l->token_hash),
        store_text(l->source_ip), store_int(l->created_at),   store_int(l->expires_at),
    };
    const char *sql = arena_printf(a,
                                   "INSERT INTO %s (id, user_id, %s, status, token_nonce, "
                                   "token_hash, source_ip, created_at, expires_at) "
                                   "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                                   t->name, t->email_column);
    return store_exec(c, a, sql, p, 9, NULL, NULL, err);
}

int store_link_find(struct store_link *out, struct store_conn *c, struct arena *a,
                    const struct store_link_table *t, const char *where,
                    const struct store_value *p, size_t n, struct usher_error *err)
{
    struct store_rows rows;
    const char *sql = arena_printf(a,
                                   "SELECT id, user_id, %s, status, token_nonce, token_hash, "
                                   "source_ip, created_at, expires_at, used_at FROM %s WHERE %s",
                                   t->email_column, t->name, where);
    int rc = store_exec(c, a, sql, p, n, &rows, NULL, err);
    if (rc)
        return rc;
    if (rows.count == 0)
        return usher_error_set(err, USHER_ENOTFOUND, NULL, NULL, "%s", t->missing);
    out->id = store_cell_text(&rows, 0, 0);
    out->user_id = store_cell_text(&rows, 0, 1);
    out->email = store_cell_text(&rows, 0, 2);
    out->status = store_cell_text(&rows, 0, 3);
    out->token_nonce = store_cell_text(&rows, 0, 4);
    out->token_hash = store_cell_text(&rows, 0, 5);
    out->source_ip = store_cell_text(&rows, 0, 6);
    out->created_at = store_cell_int(&rows, 0, 7);
    out->expires_at = store_cell_int(&rows, 0, 8);
    out->used_at = store_cell_int(&rows, 0, 9);
    return 0;
}

int store_link_get(struct store_link *out, struct store_conn *c, struct arena *a,
                   const struct store_link_table *t, const char *id, struct usher_error *err)
{
    struct store_value p[] = {store_text(id)};
    return store_link_find(out, c, a, t, "id = $1", p, 1, err);
}

int store_link_by_token_hash(struct store_link *out, struct store_conn *c, struct arena *a,
                             const struct store_link_table *t, const char *token_hash,
                             struct usher_error *err)
{
    struct store_value p[] = {store_text(token_hash)};
    return store_link_find(out, c, a, t, "token_hash = $1", p, 1, err);
}

int store_link_use(int64_t *out_used, struct store_conn *c, struct arena *a,
                   const struct store_link_table *t, const char *id, int64_t at,
                   struct usher_error *err)
{
    struct store_value p[] = {store_text(id), store_int(at)};
    const char *sql = arena_printf(a,
                                   "UPDATE %s SET status = 'used', used_at = $2 "
                                   "WHERE id = $1 AND status = 'pending' AND expires_at > $2",
                                   t->name);
    return store_exec(c, a, sql, p, 2, NULL, out_used, err);
}

int store_link_purge(int64_t *out_deleted, struct store_conn *c, struct arena *a,
                     const struct store_link_table *t, int64_t before, struct usher_error *err)
{
    struct store_value p[] = {store_int(before)};
    const char *sql = arena_printf(a, "DELETE FROM %s WHERE created_at < $1", t->name);
    return store_exec(c, a, sql, p, 1, NULL, out_deleted, err);
}
