/* Insertion and reading of chained audit rows. */
#include "store/store_audit.h"

int store_audit_chain_head(const char **out_hash, struct store_conn *c, struct arena *a,
                           const char *chain, struct usher_error *err)
{
    static const char sql[] = "SELECT last_hash FROM audit_chain_heads WHERE chain = $1";
    struct store_value p[] = {store_text(chain)};
    struct store_rows rows;
    *out_hash = "";
    int rc = store_exec(c, a, sql, p, 1, &rows, NULL, err);
    if (rc == 0 && rows.count == 1)
        *out_hash = store_cell(&rows, 0, 0)->s;
    return rc;
}

int store_audit_insert(struct store_conn *c, struct arena *a, struct store_audit_entry *e,
                       struct usher_error *err)
{
    static const char sql[] =
        "INSERT INTO audit_log (at, agency_id, actor_id, impersonator_id, action, "
        "subject_user_id, scope_type, scope_id, source_ip, user_agent, request_id, details, "
        "chain, prev_hash, hash) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) RETURNING id";
    static const char head[] =
        "INSERT INTO audit_chain_heads (chain, last_id, last_hash) VALUES ($1, $2, $3) "
        "ON CONFLICT (chain) DO UPDATE SET last_id = excluded.last_id, "
        "last_hash = excluded.last_hash";
    struct store_value p[] = {
        store_int(e->at),          store_text(e->agency_id),
        store_text(e->actor_id),   store_text(e->impersonator_id),
        store_text(e->action),     store_text(e->subject_user_id),
        store_text(e->scope_type), store_text(e->scope_id),
        store_text(e->source_ip),  store_text(e->user_agent),
        store_text(e->request_id), store_text(e->details_json ? e->details_json : "{}"),
        store_text(e->chain),      store_text(e->prev_hash),
        store_text(e->hash),
    };
    struct store_rows rows;
    int rc = store_exec(c, a, sql, p, sizeof(p) / sizeof(p[0]), &rows, NULL, err);
    if (rc)
        return rc;
    e->id = rows.count == 1 ? store_cell(&rows, 0, 0)->i : 0;
    struct store_value hp[] = {store_text(e->chain), store_int(e->id), store_text(e->hash)};
    return store_exec(c, a, head, hp, 3, NULL, NULL, err);
}

static const char *text_at(const struct store_rows *rows, size_t r, size_t k)
{
    const struct store_value *v = store_cell(rows, r, k);
    return v->type == STORE_TEXT ? v->s : NULL;
}

int store_audit_chain_read(struct store_audit_entry **out, size_t *count, struct store_conn *c,
                           struct arena *a, const char *chain, int64_t after, int limit,
                           struct usher_error *err)
{
    static const char sql[] =
        "SELECT id, at, agency_id, actor_id, impersonator_id, action, subject_user_id, "
        "scope_type, scope_id, source_ip, user_agent, request_id, details, chain, prev_hash, "
        "hash FROM audit_log WHERE chain = $1 AND id > $2 ORDER BY id LIMIT $3";
    struct store_value p[] = {store_text(chain), store_int(after), store_int(limit)};
    struct store_rows rows;
    *out = NULL;
    *count = 0;
    int rc = store_exec(c, a, sql, p, 3, &rows, NULL, err);
    if (rc)
        return rc;
    struct store_audit_entry *items = arena_alloc(a, (rows.count + 1) * sizeof(*items));
    for (size_t r = 0; r < rows.count; r++) {
        struct store_audit_entry *e = &items[r];
        e->id = store_cell(&rows, r, 0)->i;
        e->at = store_cell(&rows, r, 1)->i;
        e->agency_id = text_at(&rows, r, 2);
        e->actor_id = text_at(&rows, r, 3);
        e->impersonator_id = text_at(&rows, r, 4);
        e->action = text_at(&rows, r, 5);
        e->subject_user_id = text_at(&rows, r, 6);
        e->scope_type = text_at(&rows, r, 7);
        e->scope_id = text_at(&rows, r, 8);
        e->source_ip = text_at(&rows, r, 9);
        e->user_agent = text_at(&rows, r, 10);
        e->request_id = text_at(&rows, r, 11);
        e->details_json = text_at(&rows, r, 12);
        e->chain = text_at(&rows, r, 13);
        e->prev_hash = text_at(&rows, r, 14);
        e->hash = text_at(&rows, r, 15);
    }
    *out = items;
    *count = rows.count;
    return 0;
}

int store_audit_chains(struct store_rows *out, struct store_conn *c, struct arena *a,
                       struct usher_error *err)
{
    static const char sql[] =
        "SELECT chain, last_id, last_hash FROM audit_chain_heads ORDER BY chain";
    return store_exec(c, a, sql, NULL, 0, out, NULL, err);
}

int store_audit_prune(int64_t *out_deleted, struct store_conn *c, struct arena *a, int64_t before,
                      struct usher_error *err)
{
    /* Each chain keeps its newest entry, so its head always names an entry that exists. */
    static const char sql[] = "DELETE FROM audit_log WHERE at < $1 "
                              "AND id NOT IN (SELECT last_id FROM audit_chain_heads)";
    struct store_value p[] = {store_int(before)};
    *out_deleted = 0;
    return store_exec(c, a, sql, p, 1, NULL, out_deleted, err);
}
