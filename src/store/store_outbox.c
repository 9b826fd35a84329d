/* SQL for the mail outbox. Claims are conditional updates, so several instances on one
 * database never deliver the same row at the same time. */
#include "store/store_outbox.h"

int store_outbox_insert(struct store_conn *c, struct arena *a, const struct store_outbox_row *r,
                        int64_t next_attempt_at, struct usher_error *err)
{
    static const char sql[] =
        "INSERT INTO mail_outbox (id, created_at, recipient, subject, body_text, body_html, "
        "link_kind, link_ref, link_generation, next_attempt_at) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";
    struct store_value p[] = {
        store_text(r->id),          store_int(r->created_at), store_text(r->recipient),
        store_text(r->subject),     store_text(r->body_text), store_text(r->body_html),
        store_text(r->link_kind),   store_text(r->link_ref),  store_int(r->link_generation),
        store_int(next_attempt_at),
    };
    return store_exec(c, a, sql, p, sizeof(p) / sizeof(p[0]), NULL, NULL, err);
}

int store_outbox_due(struct store_outbox_row **out, size_t *count, struct store_conn *c,
                     struct arena *a, int64_t now, int limit, struct usher_error *err)
{
    static const char sql[] =
        "SELECT id, created_at, recipient, subject, body_text, body_html, link_kind, link_ref, "
        "link_generation, attempts FROM mail_outbox "
        "WHERE sent_at IS NULL AND dropped_at IS NULL AND next_attempt_at <= $1 "
        "AND (claimed_until IS NULL OR claimed_until < $1) "
        "ORDER BY next_attempt_at, created_at LIMIT $2";
    struct store_value p[] = {store_int(now), store_int(limit)};
    struct store_rows rows;
    *out = NULL;
    *count = 0;
    int rc = store_exec(c, a, sql, p, 2, &rows, NULL, err);
    if (rc)
        return rc;
    struct store_outbox_row *items = arena_alloc(a, (rows.count + 1) * sizeof(*items));
    for (size_t r = 0; r < rows.count; r++) {
        struct store_outbox_row *it = &items[r];
        it->id = store_cell_text(&rows, r, 0);
        it->created_at = store_cell_int(&rows, r, 1);
        it->recipient = store_cell_text(&rows, r, 2);
        it->subject = store_cell_text(&rows, r, 3);
        it->body_text = store_cell_text(&rows, r, 4);
        it->body_html = store_cell_text(&rows, r, 5);
        it->link_kind = store_cell_text(&rows, r, 6);
        it->link_ref = store_cell_text(&rows, r, 7);
        it->link_generation = store_cell_int(&rows, r, 8);
        it->attempts = store_cell_int(&rows, r, 9);
    }
    *out = items;
    *count = rows.count;
    return 0;
}

int store_outbox_claim(bool *claimed, struct store_conn *c, struct arena *a, const char *id,
                       const char *worker, int64_t now, int64_t until, struct usher_error *err)
{
    static const char sql[] = "UPDATE mail_outbox SET claimed_by = $2, claimed_until = $4 "
                              "WHERE id = $1 AND sent_at IS NULL AND dropped_at IS NULL "
                              "AND (claimed_until IS NULL OR claimed_until < $3)";
    struct store_value p[] = {store_text(id), store_text(worker), store_int(now), store_int(until)};
    int64_t changes = 0;
    int rc = store_exec(c, a, sql, p, 4, NULL, &changes, err);
    *claimed = rc == 0 && changes == 1;
    return rc;
}

int store_outbox_claimants(const char ***out, size_t *count, struct store_conn *c, struct arena *a,
                           int64_t now, struct usher_error *err)
{
    static const char sql[] = "SELECT DISTINCT claimed_by FROM mail_outbox WHERE sent_at IS NULL "
                              "AND dropped_at IS NULL AND claimed_by IS NOT NULL "
                              "AND claimed_until >= $1";
    struct store_value p[] = {store_int(now)};
    struct store_rows rows;
    *out = NULL;
    *count = 0;
    int rc = store_exec(c, a, sql, p, 1, &rows, NULL, err);
    if (rc)
        return rc;
    const char **items = rows.count ? arena_alloc(a, rows.count * sizeof(*items)) : NULL;
    for (size_t r = 0; r < rows.count; r++)
        items[r] = store_cell_text(&rows, r, 0);
    *out = items;
    *count = rows.count;
    return 0;
}

int store_outbox_release(int64_t *out_released, struct store_conn *c, struct arena *a,
                         const char *worker, struct usher_error *err)
{
    static const char sql[] = "UPDATE mail_outbox SET claimed_by = NULL, claimed_until = NULL "
                              "WHERE claimed_by = $1 AND sent_at IS NULL AND dropped_at IS NULL";
    struct store_value p[] = {store_text(worker)};
    int64_t changes = 0;
    int rc = store_exec(c, a, sql, p, 1, NULL, &changes, err);
    if (out_released)
        *out_released = rc == 0 ? changes : 0;
    return rc;
}

int store_outbox_mark_sent(struct store_conn *c, struct arena *a, const char *id, int64_t now,
                           struct usher_error *err)
{
    static const char sql[] =
        "UPDATE mail_outbox SET sent_at = $2, attempts = attempts + 1, claimed_by = NULL, "
        "claimed_until = NULL, last_error = NULL WHERE id = $1";
    struct store_value p[] = {store_text(id), store_int(now)};
    return store_exec(c, a, sql, p, 2, NULL, NULL, err);
}

int store_outbox_mark_failed(struct store_conn *c, struct arena *a, const char *id,
                             int64_t next_attempt_at, const char *error_text,
                             struct usher_error *err)
{
    static const char sql[] =
        "UPDATE mail_outbox SET attempts = attempts + 1, next_attempt_at = $2, "
        "last_error = $3, claimed_by = NULL, claimed_until = NULL WHERE id = $1";
    struct store_value p[] = {store_text(id), store_int(next_attempt_at), store_text(error_text)};
    return store_exec(c, a, sql, p, 3, NULL, NULL, err);
}

int store_outbox_mark_dropped(struct store_conn *c, struct arena *a, const char *id, int64_t now,
                              const char *reason, struct usher_error *err)
{
    static const char sql[] =
        "UPDATE mail_outbox SET dropped_at = $2, last_error = $3, claimed_by = NULL, "
        "claimed_until = NULL WHERE id = $1";
    struct store_value p[] = {store_text(id), store_int(now), store_text(reason)};
    return store_exec(c, a, sql, p, 3, NULL, NULL, err);
}
