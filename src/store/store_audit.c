/* Insertion, reading and retention of chained audit rows, and the chain heads and registry
 * that sign where each chain ends. */
#include "store/store_audit.h"

#include <stdint.h>
#include <string.h>

/* An entry with its personal row (if any): read FROM ENTRY_FROM. */
#define ENTRY_COLUMNS                                                                              \
    "l.id, l.at, l.agency_id, l.actor_id, l.impersonator_id, l.action, l.subject_user_id, "        \
    "l.scope_type, l.scope_id, l.source_ip, l.user_agent, l.request_id, l.details, l.chain, "      \
    "l.prev_hash, l.hash, l.format, l.personal_digest, p.entry_id, p.data, p.erased_at, p.email"
#define ENTRY_FROM "audit_log l LEFT JOIN audit_personal p ON p.entry_id = l.id"

#define HEAD_COLUMNS "chain, ordinal, prev_chain, entries, seq, last_id, last_hash, mac"

static const char *text_or_empty(const struct store_rows *rows, size_t r, size_t k)
{
    const char *s = store_cell_text(rows, r, k);
    return s ? s : "";
}

static void entry_from_row(struct store_audit_entry *e, const struct store_rows *rows, size_t r)
{
    e->id = store_cell(rows, r, 0)->i;
    e->at = store_cell(rows, r, 1)->i;
    e->agency_id = store_cell_text(rows, r, 2);
    e->actor_id = store_cell_text(rows, r, 3);
    e->impersonator_id = store_cell_text(rows, r, 4);
    e->action = store_cell_text(rows, r, 5);
    e->subject_user_id = store_cell_text(rows, r, 6);
    e->scope_type = store_cell_text(rows, r, 7);
    e->scope_id = store_cell_text(rows, r, 8);
    e->source_ip = store_cell_text(rows, r, 9);
    e->user_agent = store_cell_text(rows, r, 10);
    e->request_id = store_cell_text(rows, r, 11);
    e->details_json = store_cell_text(rows, r, 12);
    e->chain = store_cell_text(rows, r, 13);
    e->prev_hash = store_cell_text(rows, r, 14);
    e->hash = store_cell_text(rows, r, 15);
    e->format = store_cell(rows, r, 16)->i;
    e->personal_digest = store_cell_text(rows, r, 17);
    e->has_personal = store_cell(rows, r, 18)->type != STORE_NULL;
    e->personal_data = store_cell_text(rows, r, 19);
    e->personal_erased_at =
        store_cell(rows, r, 20)->type == STORE_INT ? store_cell(rows, r, 20)->i : 0;
    e->personal_email = store_cell_text(rows, r, 21);
}

static void head_from_row(struct store_audit_head *h, const struct store_rows *rows, size_t r)
{
    h->chain = text_or_empty(rows, r, 0);
    h->ordinal = store_cell(rows, r, 1)->i;
    h->prev_chain = text_or_empty(rows, r, 2);
    h->entries = store_cell(rows, r, 3)->i;
    h->seq = store_cell(rows, r, 4)->i;
    h->last_id = store_cell(rows, r, 5)->i;
    h->last_hash = text_or_empty(rows, r, 6);
    h->mac = text_or_empty(rows, r, 7);
}

int store_audit_head_get(struct store_audit_head *out, bool *found, struct store_conn *c,
                         struct arena *a, const char *chain, struct usher_error *err)
{
    static const char sql[] = "SELECT " HEAD_COLUMNS " FROM audit_chain_heads WHERE chain = $1";
    struct store_value p[] = {store_text(chain)};
    struct store_rows rows;
    memset(out, 0, sizeof(*out));
    *found = false;
    int rc = store_exec(c, a, sql, p, 1, &rows, NULL, err);
    if (rc == 0 && rows.count == 1) {
        head_from_row(out, &rows, 0);
        *found = true;
    }
    return rc;
}

int store_audit_tip_get(struct store_audit_registry *reg, bool *has_reg,
                        struct store_audit_head *head, bool *has_head, struct store_conn *c,
                        struct arena *a, const char *chain, struct usher_error *err)
{
    static const char sql[] =
        "SELECT r.chains, r.entries, r.last_chain, r.mac, h.chain, h.ordinal, h.prev_chain, "
        "h.entries, h.seq, h.last_id, h.last_hash, h.mac FROM audit_registry r "
        "LEFT JOIN audit_chain_heads h ON h.chain = $1 WHERE r.id = 1";
    struct store_value p[] = {store_text(chain)};
    struct store_rows rows;
    memset(reg, 0, sizeof(*reg));
    *has_reg = false;
    int rc = store_exec(c, a, sql, p, 1, &rows, NULL, err);
    if (rc)
        return rc;
    if (rows.count == 0)
        return store_audit_head_get(head, has_head, c, a, chain, err);
    reg->chains = store_cell(&rows, 0, 0)->i;
    reg->entries = store_cell(&rows, 0, 1)->i;
    reg->last_chain = text_or_empty(&rows, 0, 2);
    reg->mac = text_or_empty(&rows, 0, 3);
    *has_reg = true;
    memset(head, 0, sizeof(*head));
    *has_head = store_cell(&rows, 0, 4)->type == STORE_TEXT;
    if (*has_head) {
        struct store_rows shifted = rows;
        shifted.cells = rows.cells + 4;
        head_from_row(head, &shifted, 0);
    }
    return 0;
}

int store_audit_head_put(struct store_conn *c, struct arena *a, const struct store_audit_head *h,
                         struct usher_error *err)
{
    static const char sql[] =
        "INSERT INTO audit_chain_heads (" HEAD_COLUMNS ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8) "
        "ON CONFLICT (chain) DO UPDATE SET ordinal = excluded.ordinal, "
        "prev_chain = excluded.prev_chain, entries = excluded.entries, seq = excluded.seq, "
        "last_id = excluded.last_id, last_hash = excluded.last_hash, mac = excluded.mac";
    struct store_value p[] = {
        store_text(h->chain),     store_int(h->ordinal), store_text(h->prev_chain),
        store_int(h->entries),    store_int(h->seq),     store_int(h->last_id),
        store_text(h->last_hash), store_text(h->mac),
    };
    return store_exec(c, a, sql, p, sizeof(p) / sizeof(p[0]), NULL, NULL, err);
}

int store_audit_heads(struct store_audit_head **out, size_t *count, struct store_conn *c,
                      struct arena *a, struct usher_error *err)
{
    static const char sql[] =
        "SELECT " HEAD_COLUMNS " FROM audit_chain_heads ORDER BY ordinal, chain";
    struct store_rows rows;
    *out = NULL;
    *count = 0;
    int rc = store_exec(c, a, sql, NULL, 0, &rows, NULL, err);
    if (rc)
        return rc;
    struct store_audit_head *items = arena_alloc(a, (rows.count + 1) * sizeof(*items));
    for (size_t r = 0; r < rows.count; r++)
        head_from_row(&items[r], &rows, r);
    *out = items;
    *count = rows.count;
    return 0;
}

int store_audit_registry_get(struct store_audit_registry *out, bool *found, struct store_conn *c,
                             struct arena *a, struct usher_error *err)
{
    static const char sql[] =
        "SELECT chains, entries, last_chain, mac FROM audit_registry WHERE id = 1";
    struct store_rows rows;
    memset(out, 0, sizeof(*out));
    *found = false;
    int rc = store_exec(c, a, sql, NULL, 0, &rows, NULL, err);
    if (rc == 0 && rows.count == 1) {
        out->chains = store_cell(&rows, 0, 0)->i;
        out->entries = store_cell(&rows, 0, 1)->i;
        out->last_chain = text_or_empty(&rows, 0, 2);
        out->mac = text_or_empty(&rows, 0, 3);
        *found = true;
    }
    return rc;
}

int store_audit_registry_put(struct store_conn *c, struct arena *a,
                             const struct store_audit_registry *r, struct usher_error *err)
{
    static const char sql[] = "UPDATE audit_registry SET chains = $1, entries = $2, "
                              "last_chain = $3, mac = $4 WHERE id = 1";
    struct store_value p[] = {store_int(r->chains), store_int(r->entries),
                              store_text(r->last_chain), store_text(r->mac)};
    return store_exec(c, a, sql, p, 4, NULL, NULL, err);
}

/* Inserts e's personal row (e->personal_data set, e->id known). */
static int personal_insert(struct store_conn *c, struct arena *a, const struct store_audit_entry *e,
                           struct usher_error *err)
{
    static const char sql[] =
        "INSERT INTO audit_personal (entry_id, email, data, search) VALUES ($1, $2, $3, $4)";
    struct store_value p[] = {store_int(e->id), store_text(e->personal_email),
                              store_text(e->personal_data), store_text(e->personal_search)};
    return store_exec(c, a, sql, p, 4, NULL, NULL, err);
}

int store_audit_insert(struct store_conn *c, struct arena *a, struct store_audit_entry *e,
                       struct usher_error *err)
{
    /* Format 1 is written only by the sealing of migration 0007, which runs before migration
     * 0016 adds the format columns. */
    static const char sql_v1[] =
        "INSERT INTO audit_log (at, agency_id, actor_id, impersonator_id, action, "
        "subject_user_id, scope_type, scope_id, source_ip, user_agent, request_id, details, "
        "chain, prev_hash, hash) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) RETURNING id";
    static const char sql_v2[] =
        "INSERT INTO audit_log (at, agency_id, actor_id, impersonator_id, action, "
        "subject_user_id, scope_type, scope_id, source_ip, user_agent, request_id, details, "
        "chain, prev_hash, hash, format, personal_digest, view_session) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, "
        "$18) RETURNING id";
    bool v1 = e->format == 1;
    struct store_value p[] = {
        store_int(e->at),
        store_text(e->agency_id),
        store_text(e->actor_id),
        store_text(e->impersonator_id),
        store_text(e->action),
        store_text(e->subject_user_id),
        store_text(e->scope_type),
        store_text(e->scope_id),
        store_text(e->source_ip),
        store_text(e->user_agent),
        store_text(e->request_id),
        store_text(e->details_json ? e->details_json : "{}"),
        store_text(e->chain),
        store_text(e->prev_hash),
        store_text(e->hash),
        store_int(e->format),
        store_text(e->personal_digest),
        store_text(e->view_session),
    };
    struct store_rows rows;
    size_t n = v1 ? 15 : sizeof(p) / sizeof(p[0]);
    int rc = store_exec(c, a, v1 ? sql_v1 : sql_v2, p, n, &rows, NULL, err);
    if (rc)
        return rc;
    e->id = rows.count == 1 ? store_cell(&rows, 0, 0)->i : 0;
    if (!v1 && e->personal_data)
        rc = personal_insert(c, a, e, err);
    return rc;
}

static int entries_read(struct store_audit_entry **out, size_t *count, struct store_conn *c,
                        struct arena *a, const char *sql, const struct store_value *p, size_t n,
                        struct usher_error *err)
{
    struct store_rows rows;
    *out = NULL;
    *count = 0;
    int rc = store_exec(c, a, sql, p, n, &rows, NULL, err);
    if (rc)
        return rc;
    struct store_audit_entry *items = arena_alloc(a, (rows.count + 1) * sizeof(*items));
    for (size_t r = 0; r < rows.count; r++)
        entry_from_row(&items[r], &rows, r);
    *out = items;
    *count = rows.count;
    return 0;
}

int store_audit_chain_read(struct store_audit_entry **out, size_t *count, struct store_conn *c,
                           struct arena *a, const char *chain, int64_t after, int limit,
                           struct usher_error *err)
{
    static const char sql[] = "SELECT " ENTRY_COLUMNS " FROM " ENTRY_FROM " WHERE l.chain = $1 "
                              "AND l.id > $2 ORDER BY l.id LIMIT $3";
    struct store_value p[] = {store_text(chain), store_int(after), store_int(limit)};
    return entries_read(out, count, c, a, sql, p, 3, err);
}

static int entry_one(struct store_audit_entry *out, bool *found, struct store_conn *c,
                     struct arena *a, const char *sql, const struct store_value *p, size_t n,
                     struct usher_error *err)
{
    struct store_audit_entry *items;
    size_t count;
    memset(out, 0, sizeof(*out));
    *found = false;
    int rc = entries_read(&items, &count, c, a, sql, p, n, err);
    if (rc == 0 && count > 0) {
        *out = items[0];
        *found = true;
    }
    return rc;
}

int store_audit_entry_get(struct store_audit_entry *out, bool *found, struct store_conn *c,
                          struct arena *a, int64_t id, struct usher_error *err)
{
    static const char sql[] = "SELECT " ENTRY_COLUMNS " FROM " ENTRY_FROM " WHERE l.id = $1";
    struct store_value p[] = {store_int(id)};
    return entry_one(out, found, c, a, sql, p, 1, err);
}

int store_audit_newest_action(struct store_audit_entry *out, bool *found, struct store_conn *c,
                              struct arena *a, const char *chain, const char *action,
                              struct usher_error *err)
{
    static const char sql[] = "SELECT " ENTRY_COLUMNS " FROM " ENTRY_FROM " WHERE l.chain = $1 "
                              "AND l.action = $2 ORDER BY l.id DESC LIMIT 1";
    struct store_value p[] = {store_text(chain), store_text(action)};
    return entry_one(out, found, c, a, sql, p, 2, err);
}

int store_audit_action_exists(bool *out, struct store_conn *c, struct arena *a, const char *action,
                              const char *details_like, struct usher_error *err)
{
    static const char sql[] =
        "SELECT id FROM audit_log WHERE action = $1 AND details LIKE $2 LIMIT 1";
    struct store_value p[] = {store_text(action), store_text(details_like ? details_like : "%")};
    struct store_rows rows;
    *out = false;
    int rc = store_exec(c, a, sql, p, 2, &rows, NULL, err);
    if (rc == 0)
        *out = rows.count > 0;
    return rc;
}

int store_audit_headless_chain(const char **out, struct store_conn *c, struct arena *a,
                               struct usher_error *err)
{
    static const char sql[] = "SELECT DISTINCT chain FROM audit_log WHERE chain NOT IN "
                              "(SELECT chain FROM audit_chain_heads) ORDER BY chain LIMIT 1";
    struct store_rows rows;
    *out = NULL;
    int rc = store_exec(c, a, sql, NULL, 0, &rows, NULL, err);
    if (rc == 0 && rows.count == 1)
        *out = text_or_empty(&rows, 0, 0);
    return rc;
}

int store_audit_population(int64_t *out_entries, int64_t *out_people, struct store_conn *c,
                           struct arena *a, struct usher_error *err)
{
    static const char sql[] = "SELECT (SELECT COUNT(*) FROM audit_log), "
                              "(SELECT COUNT(*) FROM users) + (SELECT COUNT(*) FROM agencies)";
    struct store_rows rows;
    *out_entries = 0;
    *out_people = 0;
    int rc = store_exec(c, a, sql, NULL, 0, &rows, NULL, err);
    if (rc == 0 && rows.count == 1) {
        *out_entries = store_cell(&rows, 0, 0)->i;
        *out_people = store_cell(&rows, 0, 1)->i;
    }
    return rc;
}

int store_audit_prune_point(struct store_audit_entry *out, bool *found, struct store_conn *c,
                            struct arena *a, const char *chain, int64_t before,
                            struct usher_error *err)
{
    /* A prefix of the chain only: an old entry after a recent one (the clock went back) stays,
     * so the chain never has a hole. */
    static const char sql[] =
        "SELECT id, hash FROM audit_log WHERE chain = $1 AND at < $2 "
        "AND id < COALESCE((SELECT id FROM audit_log WHERE chain = $1 AND at >= $2 "
        "ORDER BY id LIMIT 1), $3) ORDER BY id DESC LIMIT 1";
    struct store_value p[] = {store_text(chain), store_int(before), store_int(INT64_MAX)};
    struct store_rows rows;
    memset(out, 0, sizeof(*out));
    *found = false;
    int rc = store_exec(c, a, sql, p, 3, &rows, NULL, err);
    if (rc == 0 && rows.count == 1) {
        out->id = store_cell(&rows, 0, 0)->i;
        out->hash = text_or_empty(&rows, 0, 1);
        out->chain = chain;
        *found = true;
    }
    return rc;
}

int store_audit_chain_cut(int64_t *out_deleted, struct store_conn *c, struct arena *a,
                          const char *chain, int64_t through_id, struct usher_error *err)
{
    static const char sql[] = "DELETE FROM audit_log WHERE chain = $1 AND id <= $2";
    struct store_value p[] = {store_text(chain), store_int(through_id)};
    *out_deleted = 0;
    return store_exec(c, a, sql, p, 2, NULL, out_deleted, err);
}

int store_audit_legacy_heads(struct store_audit_legacy_head **out, size_t *count,
                             struct store_conn *c, struct arena *a, struct usher_error *err)
{
    static const char sql[] =
        "SELECT h.chain, h.last_id, h.last_hash, "
        "(SELECT COUNT(*) FROM audit_log l WHERE l.chain = h.chain), "
        "COALESCE((SELECT MIN(id) FROM audit_log l WHERE l.chain = h.chain), 0) AS first_id, "
        "(SELECT prev_hash FROM audit_log l WHERE l.chain = h.chain ORDER BY id LIMIT 1) "
        "FROM audit_chain_heads h ORDER BY first_id, h.chain";
    struct store_rows rows;
    *out = NULL;
    *count = 0;
    int rc = store_exec(c, a, sql, NULL, 0, &rows, NULL, err);
    if (rc)
        return rc;
    struct store_audit_legacy_head *items = arena_alloc(a, (rows.count + 1) * sizeof(*items));
    for (size_t r = 0; r < rows.count; r++) {
        items[r].chain = text_or_empty(&rows, r, 0);
        items[r].last_id = store_cell(&rows, r, 1)->i;
        items[r].last_hash = text_or_empty(&rows, r, 2);
        items[r].rows = store_cell(&rows, r, 3)->i;
        items[r].first_id = store_cell(&rows, r, 4)->i;
        items[r].first_prev_hash = text_or_empty(&rows, r, 5);
    }
    *out = items;
    *count = rows.count;
    return 0;
}

int store_audit_format1_count(int64_t *out, struct store_conn *c, struct arena *a,
                              struct usher_error *err)
{
    static const char sql[] = "SELECT COUNT(*) FROM audit_log WHERE format = 1";
    struct store_rows rows;
    *out = 0;
    int rc = store_exec(c, a, sql, NULL, 0, &rows, NULL, err);
    if (rc == 0 && rows.count == 1)
        *out = store_cell(&rows, 0, 0)->i;
    return rc;
}

int store_audit_reformat_put(struct store_conn *c, struct arena *a,
                             const struct store_audit_entry *e, struct usher_error *err)
{
    static const char sql[] = "UPDATE audit_log SET format = $2, details = $3, "
                              "personal_digest = $4, prev_hash = $5, hash = $6 WHERE id = $1";
    struct store_value p[] = {
        store_int(e->id),
        store_int(e->format),
        store_text(e->details_json ? e->details_json : "{}"),
        store_text(e->personal_digest),
        store_text(e->prev_hash),
        store_text(e->hash),
    };
    int rc = store_exec(c, a, sql, p, sizeof(p) / sizeof(p[0]), NULL, NULL, err);
    if (rc == 0 && e->personal_data)
        rc = personal_insert(c, a, e, err);
    return rc;
}

int store_audit_personal_erase(int64_t *out_erased, struct store_conn *c, struct arena *a,
                               const char *user_id, const char *email, int64_t now,
                               struct usher_error *err)
{
    static const char sql[] =
        "UPDATE audit_personal SET data = NULL, email = NULL, search = NULL, erased_at = $3 "
        "WHERE erased_at IS NULL AND (email = $2 OR entry_id IN (SELECT id FROM audit_log "
        "WHERE actor_id = $1 OR subject_user_id = $1 OR impersonator_id = $1))";
    struct store_value p[] = {store_text(user_id), store_text(email), store_int(now)};
    int64_t n = 0;
    int rc = store_exec(c, a, sql, p, 3, NULL, &n, err);
    if (out_erased)
        *out_erased = n;
    return rc;
}

int store_audit_people_get(struct store_audit_person *out, struct store_conn *c, struct arena *a,
                           const char *const *ids, size_t count, struct usher_error *err)
{
    static const char sql[] =
        "SELECT id, email, first_name, last_name FROM users WHERE id IN ($1, $2, $3)";
    struct store_value p[STORE_AUDIT_PEOPLE_MAX];
    bool any = false;
    memset(out, 0, count * sizeof(*out));
    if (count > STORE_AUDIT_PEOPLE_MAX)
        return usher_error_set(err, USHER_EINVAL, NULL, NULL, "too many people");
    for (size_t i = 0; i < STORE_AUDIT_PEOPLE_MAX; i++) {
        const char *id = i < count ? ids[i] : NULL;
        p[i] = id ? store_text(id) : store_null();
        any = any || id;
    }
    if (!any)
        return 0;
    struct store_rows rows;
    int rc = store_exec(c, a, sql, p, STORE_AUDIT_PEOPLE_MAX, &rows, NULL, err);
    if (rc)
        return rc;
    for (size_t r = 0; r < rows.count; r++) {
        const char *id = store_cell_text(&rows, r, 0);
        for (size_t i = 0; i < count; i++) {
            if (!id || !ids[i] || strcmp(ids[i], id) != 0)
                continue;
            out[i].id = id;
            out[i].email = store_cell_text(&rows, r, 1);
            out[i].first_name = store_cell_text(&rows, r, 2);
            out[i].last_name = store_cell_text(&rows, r, 3);
        }
    }
    return 0;
}
