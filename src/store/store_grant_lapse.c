/* SQL of the lapse job: due grants, and the conditional delete and notice claim. */
#include "store/store_grant_lapse.h"

int store_grant_due_list(struct store_grant_due **out, size_t *count, struct store_conn *c,
                         struct arena *a, int64_t now, int64_t notice_until, size_t limit,
                         struct usher_error *err)
{
    static const char sql[] =
        "SELECT id, agency_id, user_id, environment_id, bot_id, scope_id, roles, "
        "extra_permissions, expires_at, granted_by, notice_sent_at FROM grants "
        "WHERE expires_at IS NOT NULL AND (expires_at <= $1 OR "
        "(notice_sent_at IS NULL AND expires_at <= $2)) ORDER BY expires_at, id LIMIT $3";
    struct store_value p[] = {store_int(now), store_int(notice_until), store_int((int64_t)limit)};
    struct store_rows rows;
    *out = NULL;
    *count = 0;
    int rc = store_exec(c, a, sql, p, 3, &rows, NULL, err);
    if (rc)
        return rc;
    *out = rows.count ? arena_alloc(a, rows.count * sizeof(**out)) : NULL;
    for (size_t i = 0; i < rows.count; i++) {
        struct store_grant_due *g = &(*out)[i];
        g->id = store_cell_text(&rows, i, 0);
        g->agency_id = store_cell_text(&rows, i, 1);
        g->user_id = store_cell_text(&rows, i, 2);
        g->environment_id = store_cell_text(&rows, i, 3);
        g->bot_id = store_cell_text(&rows, i, 4);
        g->scope_id = store_cell_text(&rows, i, 5);
        g->roles = store_cell_text(&rows, i, 6);
        g->extra_permissions = store_cell_text(&rows, i, 7);
        g->expires_at = store_cell_int(&rows, i, 8);
        g->granted_by = store_cell_text(&rows, i, 9);
        g->is_noticed = store_cell(&rows, i, 10)->type != STORE_NULL;
    }
    *count = rows.count;
    return 0;
}

int store_grant_lapse_delete(bool *out_deleted, struct store_conn *c, struct arena *a,
                             const char *id, int64_t now, struct usher_error *err)
{
    static const char sql[] =
        "DELETE FROM grants WHERE id = $1 AND expires_at IS NOT NULL AND expires_at <= $2";
    struct store_value p[] = {store_text(id), store_int(now)};
    int64_t changes = 0;
    int rc = store_exec(c, a, sql, p, 2, NULL, &changes, err);
    *out_deleted = rc == 0 && changes > 0;
    return rc;
}

int store_grant_notice_claim(bool *out_claimed, struct store_conn *c, struct arena *a,
                             const char *id, int64_t now, struct usher_error *err)
{
    static const char sql[] = "UPDATE grants SET notice_sent_at = $2 "
                              "WHERE id = $1 AND notice_sent_at IS NULL AND expires_at IS NOT NULL";
    struct store_value p[] = {store_text(id), store_int(now)};
    int64_t changes = 0;
    int rc = store_exec(c, a, sql, p, 2, NULL, &changes, err);
    *out_claimed = rc == 0 && changes > 0;
    return rc;
}
