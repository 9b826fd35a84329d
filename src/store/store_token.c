/* API token rows: insert, lookup by hash or id, keyset-paginated lists, revoke and touch. */
#include "store/store_token.h"

#define COUNT(x) (sizeof(x) / sizeof((x)[0]))

#define TOKEN_COLUMNS                                                                              \
    "id, agency_id, name, token_hash, created_by, created_at, last_used_at, revoked_at"

static void token_from_row(struct store_token *out, const struct store_rows *rows, size_t r)
{
    out->id = store_cell_text(rows, r, 0);
    out->agency_id = store_cell_text(rows, r, 1);
    out->name = store_cell_text(rows, r, 2);
    out->token_hash = store_cell_text(rows, r, 3);
    out->created_by = store_cell_text(rows, r, 4);
    out->created_at = store_cell_int(rows, r, 5);
    out->last_used_at = store_cell_int(rows, r, 6);
    out->revoked_at = store_cell_int(rows, r, 7);
}

static struct store_value optional_time(int64_t at)
{
    return at ? store_int(at) : store_null();
}

int store_token_insert(struct store_conn *c, struct arena *a, const struct store_token *t,
                       struct usher_error *err)
{
    static const char sql[] = "INSERT INTO api_tokens (" TOKEN_COLUMNS ") "
                              "VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
    struct store_value p[] = {
        store_text(t->id),
        store_text(t->agency_id),
        store_text(t->name),
        store_text(t->token_hash),
        store_text(t->created_by),
        store_int(t->created_at),
        optional_time(t->last_used_at),
        optional_time(t->revoked_at),
    };
    return store_exec(c, a, sql, p, COUNT(p), NULL, NULL, err);
}

/* Reads the one token matching sql's single parameter. */
static int token_get_one(struct store_token *out, struct store_conn *c, struct arena *a,
                         const char *sql, const char *key, struct usher_error *err)
{
    struct store_value p[] = {store_text(key)};
    struct store_rows rows;
    int rc = store_exec(c, a, sql, p, COUNT(p), &rows, NULL, err);
    if (rc)
        return rc;
    if (rows.count == 0)
        return usher_error_set(err, USHER_ENOTFOUND, NULL, NULL, "token not found");
    token_from_row(out, &rows, 0);
    return 0;
}

int store_token_by_hash(struct store_token *out, struct store_conn *c, struct arena *a,
                        const char *token_hash, struct usher_error *err)
{
    static const char sql[] = "SELECT " TOKEN_COLUMNS " FROM api_tokens WHERE token_hash = $1";
    return token_get_one(out, c, a, sql, token_hash, err);
}

int store_token_get(struct store_token *out, struct store_conn *c, struct arena *a, const char *id,
                    struct usher_error *err)
{
    static const char sql[] = "SELECT " TOKEN_COLUMNS " FROM api_tokens WHERE id = $1";
    return token_get_one(out, c, a, sql, id, err);
}

int store_token_list(struct store_token **out, size_t *count, bool *has_more, struct store_conn *c,
                     struct arena *a, const char *agency_id, const struct store_cursor *after,
                     size_t limit, struct usher_error *err)
{
    /* Four forms: agency or platform tokens, first page or resumed after a cursor. */
    static const char agency_first[] = "SELECT " TOKEN_COLUMNS " FROM api_tokens "
                                       "WHERE agency_id = $1 ORDER BY created_at, id LIMIT $2";
    static const char agency_resume[] =
        "SELECT " TOKEN_COLUMNS " FROM api_tokens WHERE agency_id = $1 "
        "AND (created_at > $2 OR (created_at = $2 AND id > $3)) "
        "ORDER BY created_at, id LIMIT $4";
    static const char platform_first[] = "SELECT " TOKEN_COLUMNS " FROM api_tokens "
                                         "WHERE agency_id IS NULL ORDER BY created_at, id LIMIT $1";
    static const char platform_resume[] =
        "SELECT " TOKEN_COLUMNS " FROM api_tokens WHERE agency_id IS NULL "
        "AND (created_at > $1 OR (created_at = $1 AND id > $2)) "
        "ORDER BY created_at, id LIMIT $3";
    if (limit == 0 || limit > STORE_PAGE_LIMIT_MAX)
        limit = limit == 0 ? STORE_PAGE_LIMIT_DEFAULT : STORE_PAGE_LIMIT_MAX;
    bool resume = after && after->is_set;
    struct store_value p[4];
    size_t n = 0;
    const char *sql = agency_id ? (resume ? agency_resume : agency_first)
                                : (resume ? platform_resume : platform_first);
    if (agency_id)
        p[n++] = store_text(agency_id);
    if (resume) {
        p[n++] = store_int(after->created_at);
        p[n++] = store_text(after->id);
    }
    p[n++] = store_int((int64_t)limit + 1);
    struct store_rows rows;
    int rc = store_exec(c, a, sql, p, n, &rows, NULL, err);
    if (rc)
        return rc;
    *has_more = rows.count > limit;
    if (*has_more)
        rows.count = limit;
    *out = rows.count ? arena_alloc(a, rows.count * sizeof(**out)) : NULL;
    for (size_t i = 0; i < rows.count; i++)
        token_from_row(&(*out)[i], &rows, i);
    *count = rows.count;
    return 0;
}

int store_token_revoke(bool *out_revoked, struct store_conn *c, struct arena *a, const char *id,
                       int64_t at, struct usher_error *err)
{
    static const char sql[] =
        "UPDATE api_tokens SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL";
    struct store_value p[] = {store_text(id), store_int(at)};
    int64_t changes = 0;
    int rc = store_exec(c, a, sql, p, COUNT(p), NULL, &changes, err);
    if (out_revoked)
        *out_revoked = rc == 0 && changes > 0;
    return rc;
}

int store_token_touch(struct store_conn *c, struct arena *a, const char *id, int64_t at,
                      struct usher_error *err)
{
    static const char sql[] = "UPDATE api_tokens SET last_used_at = $2 WHERE id = $1";
    struct store_value p[] = {store_text(id), store_int(at)};
    return store_exec(c, a, sql, p, COUNT(p), NULL, NULL, err);
}
