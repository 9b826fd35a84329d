/* SQL for invitations. */
#include "store/store_invitation.h"

#include <string.h>

#define INVITATION_COLUMNS                                                                         \
    "id, agency_id, email, first_name, last_name, shortcode, grants, status, token_nonce, "        \
    "token_hash, generation, sign_in, oauth_subject, authority, created_by, created_at, "          \
    "expires_in_seconds, expires_at, last_sent_at, send_count, decided_at, decided_by"

static void row_read(struct store_invitation *out, const struct store_rows *rows, size_t r)
{
    out->id = store_cell_text(rows, r, 0);
    out->agency_id = store_cell_text(rows, r, 1);
    out->email = store_cell_text(rows, r, 2);
    out->first_name = store_cell_text(rows, r, 3);
    out->last_name = store_cell_text(rows, r, 4);
    out->shortcode = store_cell_text(rows, r, 5);
    out->grants_json = store_cell_text(rows, r, 6);
    out->status = store_cell_text(rows, r, 7);
    out->token_nonce = store_cell_text(rows, r, 8);
    out->token_hash = store_cell_text(rows, r, 9);
    out->generation = store_cell_int(rows, r, 10);
    out->sign_in = store_cell_text(rows, r, 11);
    out->oauth_subject = store_cell_text(rows, r, 12);
    out->authority = store_cell_text(rows, r, 13);
    out->created_by = store_cell_text(rows, r, 14);
    out->created_at = store_cell_int(rows, r, 15);
    out->expires_in_seconds = store_cell_int(rows, r, 16);
    out->expires_at = store_cell_int(rows, r, 17);
    out->last_sent_at = store_cell_int(rows, r, 18);
    out->send_count = store_cell_int(rows, r, 19);
    out->decided_at = store_cell_int(rows, r, 20);
    out->decided_by = store_cell_text(rows, r, 21);
}

static int rows_read(struct store_invitation **out, size_t *count, struct arena *a,
                     const struct store_rows *rows)
{
    struct store_invitation *items = arena_alloc(a, (rows->count + 1) * sizeof(*items));
    for (size_t r = 0; r < rows->count; r++)
        row_read(&items[r], rows, r);
    *out = items;
    *count = rows->count;
    return 0;
}

int store_invitation_insert(struct store_conn *c, struct arena *a,
                            const struct store_invitation *inv, struct usher_error *err)
{
    static const char sql[] =
        "INSERT INTO invitations (" INVITATION_COLUMNS ") VALUES ($1, $2, $3, $4, $5, $6, $7, "
        "$8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22)";
    struct store_value p[] = {
        store_text(inv->id),
        store_text(inv->agency_id),
        store_text(inv->email),
        store_text(inv->first_name),
        store_text(inv->last_name),
        store_text(inv->shortcode),
        store_text(inv->grants_json),
        store_text(inv->status ? inv->status : "pending"),
        store_text(inv->token_nonce),
        store_text(inv->token_hash),
        store_int(inv->generation ? inv->generation : 1),
        store_text(inv->sign_in ? inv->sign_in : "password"),
        store_text(inv->oauth_subject),
        store_text(inv->authority ? inv->authority : "users.invite"),
        store_text(inv->created_by),
        store_int(inv->created_at),
        store_int(inv->expires_in_seconds),
        store_int(inv->expires_at),
        inv->last_sent_at ? store_int(inv->last_sent_at) : store_null(),
        store_int(inv->send_count),
        inv->decided_at ? store_int(inv->decided_at) : store_null(),
        store_text(inv->decided_by),
    };
    return store_exec(c, a, sql, p, sizeof(p) / sizeof(p[0]), NULL, NULL, err);
}

static int get_one(struct store_invitation *out, struct store_conn *c, struct arena *a,
                   const char *sql, const char *key, struct usher_error *err)
{
    struct store_value p[] = {store_text(key)};
    struct store_rows rows;
    int rc = store_exec(c, a, sql, p, 1, &rows, NULL, err);
    if (rc)
        return rc;
    if (rows.count == 0)
        return usher_error_set(err, USHER_ENOTFOUND, NULL, NULL, "no such invitation");
    row_read(out, &rows, 0);
    return 0;
}

int store_invitation_get(struct store_invitation *out, struct store_conn *c, struct arena *a,
                         const char *id, struct usher_error *err)
{
    static const char sql[] = "SELECT " INVITATION_COLUMNS " FROM invitations WHERE id = $1";
    return get_one(out, c, a, sql, id, err);
}

int store_invitation_by_token_hash(struct store_invitation *out, struct store_conn *c,
                                   struct arena *a, const char *token_hash, struct usher_error *err)
{
    static const char sql[] =
        "SELECT " INVITATION_COLUMNS " FROM invitations WHERE token_hash = $1";
    return get_one(out, c, a, sql, token_hash, err);
}

int store_invitation_list(struct store_invitation **out, size_t *count, struct store_conn *c,
                          struct arena *a, const char *agency_id, const char *status,
                          int64_t before_at, const char *before_id, int limit,
                          struct usher_error *err)
{
    static const char sql[] = "SELECT " INVITATION_COLUMNS " FROM invitations WHERE agency_id = $1 "
                              "AND (CAST($2 AS TEXT) IS NULL OR status = $2) "
                              "AND ($3 <= 0 OR created_at < $3 OR (created_at = $3 AND id < $4)) "
                              "ORDER BY created_at DESC, id DESC LIMIT $5";
    struct store_value p[] = {store_text(agency_id), store_text(status), store_int(before_at),
                              store_text(before_id ? before_id : ""), store_int(limit)};
    struct store_rows rows;
    int rc = store_exec(c, a, sql, p, 5, &rows, NULL, err);
    if (rc)
        return rc;
    return rows_read(out, count, a, &rows);
}

int store_invitation_pending_for_email(struct store_invitation **out, size_t *count,
                                       struct store_conn *c, struct arena *a, const char *email,
                                       int64_t now, struct usher_error *err)
{
    static const char sql[] =
        "SELECT " INVITATION_COLUMNS " FROM invitations WHERE email = $1 "
        "AND status = 'pending' AND expires_at > $2 ORDER BY created_at DESC, id DESC LIMIT 100";
    struct store_value p[] = {store_text(email), store_int(now)};
    struct store_rows rows;
    int rc = store_exec(c, a, sql, p, 2, &rows, NULL, err);
    if (rc)
        return rc;
    return rows_read(out, count, a, &rows);
}

int store_invitation_decide(bool *changed, struct store_conn *c, struct arena *a, const char *id,
                            const char *status, const char *decided_by, int64_t now,
                            struct usher_error *err)
{
    static const char sql[] =
        "UPDATE invitations SET status = $2, decided_at = $3, decided_by = $4 "
        "WHERE id = $1 AND status = 'pending'";
    struct store_value p[] = {store_text(id), store_text(status), store_int(now),
                              store_text(decided_by)};
    int64_t changes = 0;
    int rc = store_exec(c, a, sql, p, 4, NULL, &changes, err);
    *changed = rc == 0 && changes == 1;
    return rc;
}

int store_invitation_rotate(bool *changed, struct store_conn *c, struct arena *a, const char *id,
                            const char *nonce, const char *token_hash, int64_t expires_at,
                            int64_t now, struct usher_error *err)
{
    static const char sql[] =
        "UPDATE invitations SET status = 'pending', decided_at = NULL, decided_by = NULL, "
        "token_nonce = $2, token_hash = $3, generation = generation + 1, expires_at = $4, "
        "last_sent_at = $5, send_count = send_count + 1 "
        "WHERE id = $1 AND status IN ('pending', 'expired')";
    struct store_value p[] = {store_text(id), store_text(nonce), store_text(token_hash),
                              store_int(expires_at), store_int(now)};
    int64_t changes = 0;
    int rc = store_exec(c, a, sql, p, 5, NULL, &changes, err);
    *changed = rc == 0 && changes == 1;
    return rc;
}

int store_invitation_expire_due(struct store_conn *c, struct arena *a, const char *agency_id,
                                const char *email, int64_t now, struct usher_error *err)
{
    static const char sql[] = "UPDATE invitations SET status = 'expired', decided_at = expires_at "
                              "WHERE status = 'pending' AND expires_at <= $1 "
                              "AND (CAST($2 AS TEXT) IS NULL OR agency_id = $2) AND (CAST($3 AS "
                              "TEXT) IS NULL OR email = $3)";
    struct store_value p[] = {store_int(now), store_text(agency_id), store_text(email)};
    return store_exec(c, a, sql, p, 3, NULL, NULL, err);
}

int store_invitation_send_counts(int64_t *out_recipient, int64_t *out_actor, int64_t *out_agency,
                                 struct store_conn *c, struct arena *a, const char *recipient,
                                 const char *actor_id, const char *agency_id, int64_t since,
                                 struct usher_error *err)
{
    static const char by_recipient[] =
        "SELECT COUNT(*) FROM mail_outbox WHERE recipient = $1 AND created_at > $2";
    static const char by_actor[] = "SELECT COUNT(*) FROM audit_log WHERE actor_id = $1 AND at > $2 "
                                   "AND action IN ('invitation.created', 'invitation.resent')";
    static const char by_agency[] =
        "SELECT COUNT(*) FROM audit_log WHERE agency_id = $1 AND at > $2 "
        "AND action IN ('invitation.created', 'invitation.resent')";
    const char *const sqls[3] = {by_recipient, by_actor, by_agency};
    const char *const keys[3] = {recipient, actor_id, agency_id};
    int64_t *const outs[3] = {out_recipient, out_actor, out_agency};
    for (int i = 0; i < 3; i++) {
        *outs[i] = 0;
        if (!keys[i])
            continue;
        struct store_value p[] = {store_text(keys[i]), store_int(since)};
        struct store_rows rows;
        int rc = store_exec(c, a, sqls[i], p, 2, &rows, NULL, err);
        if (rc)
            return rc;
        if (rows.count == 1)
            *outs[i] = store_cell_int(&rows, 0, 0);
    }
    return 0;
}

int store_invitation_pending_in_agency(struct store_invitation **out, size_t *count,
                                       struct store_conn *c, struct arena *a, const char *agency_id,
                                       struct usher_error *err)
{
    static const char sql[] = "SELECT " INVITATION_COLUMNS " FROM invitations "
                              "WHERE agency_id = $1 AND status = 'pending' ORDER BY created_at, id";
    struct store_value p[] = {store_text(agency_id)};
    struct store_rows rows;
    int rc = store_exec(c, a, sql, p, 1, &rows, NULL, err);
    if (rc)
        return rc;
    return rows_read(out, count, a, &rows);
}

int store_invitation_pending_for_bot(struct store_invitation **out, size_t *count,
                                     struct store_conn *c, struct arena *a, const char *agency_id,
                                     const char *bot_id, struct usher_error *err)
{
    /* Stored grants are compact JSON, so a bot grant reads "bot_id":"<id>". */
    static const char sql[] = "SELECT " INVITATION_COLUMNS " FROM invitations "
                              "WHERE agency_id = $1 AND status = 'pending' AND grants LIKE $2 "
                              "ORDER BY created_at DESC, id DESC LIMIT 200";
    struct store_value p[] = {store_text(agency_id),
                              store_text(arena_printf(a, "%%\"bot_id\":\"%s\"%%", bot_id))};
    struct store_rows rows;
    int rc = store_exec(c, a, sql, p, 2, &rows, NULL, err);
    if (rc)
        return rc;
    return rows_read(out, count, a, &rows);
}
