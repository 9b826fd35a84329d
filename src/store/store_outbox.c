/* SQL for the mail outbox. A claim is one conditional update with a lease, so several
 * instances on one database never deliver the same row at the same time, and a claim whose
 * holder died ends with its lease. */
#include "store/store_outbox.h"

#include <string.h>

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

#define OUTBOX_COLUMNS                                                                             \
    "id, created_at, recipient, subject, body_text, body_html, link_kind, link_ref, "              \
    "link_generation, attempts"
#define OUTBOX_DUE                                                                                 \
    "sent_at IS NULL AND dropped_at IS NULL AND next_attempt_at <= $2 "                            \
    "AND (claimed_until IS NULL OR claimed_until < $2)"

int store_outbox_claim_next(struct store_outbox_row *out, bool *out_found, struct store_conn *c,
                            struct arena *a, const char *worker, int64_t now, int64_t until,
                            struct usher_error *err)
{
    /* One statement, outside any transaction: it takes no writers' lock. On PostgreSQL the
     * inner SELECT locks the row it picks and skips rows other senders are claiming, so
     * concurrent senders take different rows instead of queueing; a row another sender claimed
     * and committed meanwhile is checked again and no longer due. SQLite runs one writing
     * statement at a time, which gives the same answer. */
    static const char pg[] = "UPDATE mail_outbox SET claimed_by = $1, claimed_until = $3 "
                             "WHERE id = (SELECT id FROM mail_outbox WHERE " OUTBOX_DUE
                             " ORDER BY next_attempt_at, created_at LIMIT 1 "
                             "FOR UPDATE SKIP LOCKED) AND " OUTBOX_DUE " RETURNING " OUTBOX_COLUMNS;
    static const char sqlite[] = "UPDATE mail_outbox SET claimed_by = $1, claimed_until = $3 "
                                 "WHERE id = (SELECT id FROM mail_outbox WHERE " OUTBOX_DUE
                                 " ORDER BY next_attempt_at, created_at LIMIT 1) AND " OUTBOX_DUE
                                 " RETURNING " OUTBOX_COLUMNS;
    bool is_pg = strcmp(store_conn_dialect(c), "postgres") == 0;
    struct store_value p[] = {store_text(worker), store_int(now), store_int(until)};
    struct store_rows rows;
    memset(out, 0, sizeof(*out));
    *out_found = false;
    int rc = store_exec(c, a, is_pg ? pg : sqlite, p, 3, &rows, NULL, err);
    if (rc || rows.count == 0)
        return rc;
    out->id = store_cell_text(&rows, 0, 0);
    out->created_at = store_cell_int(&rows, 0, 1);
    out->recipient = store_cell_text(&rows, 0, 2);
    out->subject = store_cell_text(&rows, 0, 3);
    out->body_text = store_cell_text(&rows, 0, 4);
    out->body_html = store_cell_text(&rows, 0, 5);
    out->link_kind = store_cell_text(&rows, 0, 6);
    out->link_ref = store_cell_text(&rows, 0, 7);
    out->link_generation = store_cell_int(&rows, 0, 8);
    out->attempts = store_cell_int(&rows, 0, 9);
    *out_found = true;
    return 0;
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
