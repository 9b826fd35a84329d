/* SQL for second factors, recovery codes and two-step sign-in tokens. */
#include "store/store_second_factor.h"

int store_second_factor_get(struct store_second_factor *out, struct store_conn *c, struct arena *a,
                            const char *user_id, struct usher_error *err)
{
    static const char sql[] = "SELECT user_id, secret_box, created_at, enabled_at, last_step "
                              "FROM second_factors WHERE user_id = $1";
    struct store_value p[] = {store_text(user_id)};
    struct store_rows rows;
    int rc = store_exec(c, a, sql, p, 1, &rows, NULL, err);
    if (rc)
        return rc;
    if (rows.count == 0)
        return usher_error_set(err, USHER_ENOTFOUND, NULL, NULL, "no second factor");
    out->user_id = store_cell_text(&rows, 0, 0);
    out->secret_box = store_cell_text(&rows, 0, 1);
    out->created_at = store_cell_int(&rows, 0, 2);
    out->enabled_at = store_cell_int(&rows, 0, 3);
    out->last_step = store_cell_int(&rows, 0, 4);
    return 0;
}

int store_second_factor_pending_put(struct store_conn *c, struct arena *a,
                                    const struct store_second_factor *sf, struct usher_error *err)
{
    static const char del[] = "DELETE FROM second_factors WHERE user_id = $1";
    static const char ins[] = "INSERT INTO second_factors (user_id, secret_box, created_at, "
                              "enabled_at, last_step) VALUES ($1, $2, $3, NULL, -1)";
    struct store_value p[] = {store_text(sf->user_id), store_text(sf->secret_box),
                              store_int(sf->created_at)};
    int rc = store_exec(c, a, del, p, 1, NULL, NULL, err);
    if (rc == 0)
        rc = store_exec(c, a, ins, p, 3, NULL, NULL, err);
    return rc;
}

int store_second_factor_step_take(int64_t *out_taken, struct store_conn *c, struct arena *a,
                                  const char *user_id, int64_t step, bool enable, int64_t now,
                                  struct usher_error *err)
{
    static const char use[] = "UPDATE second_factors SET last_step = $2 "
                              "WHERE user_id = $1 AND enabled_at IS NOT NULL AND last_step < $2";
    static const char on[] = "UPDATE second_factors SET last_step = $2, enabled_at = $3 "
                             "WHERE user_id = $1 AND enabled_at IS NULL AND last_step < $2";
    struct store_value p[] = {store_text(user_id), store_int(step), store_int(now)};
    *out_taken = 0;
    return store_exec(c, a, enable ? on : use, p, enable ? 3 : 2, NULL, out_taken, err);
}

int store_second_factor_delete(int64_t *out_deleted, struct store_conn *c, struct arena *a,
                               const char *user_id, struct usher_error *err)
{
    static const char factor[] = "DELETE FROM second_factors WHERE user_id = $1";
    static const char codes[] = "DELETE FROM recovery_codes WHERE user_id = $1";
    static const char tokens[] = "DELETE FROM mfa_tokens WHERE user_id = $1";
    struct store_value p[] = {store_text(user_id)};
    int rc = store_exec(c, a, factor, p, 1, NULL, out_deleted, err);
    if (rc == 0)
        rc = store_exec(c, a, codes, p, 1, NULL, NULL, err);
    if (rc == 0)
        rc = store_exec(c, a, tokens, p, 1, NULL, NULL, err);
    return rc;
}

int store_recovery_codes_replace(struct store_conn *c, struct arena *a, const char *user_id,
                                 const char *const *hashes, size_t count, int64_t now,
                                 struct usher_error *err)
{
    static const char del[] = "DELETE FROM recovery_codes WHERE user_id = $1";
    static const char ins[] = "INSERT INTO recovery_codes (user_id, code_hash, created_at, "
                              "used_at) VALUES ($1, $2, $3, NULL)";
    struct store_value p[] = {store_text(user_id)};
    int rc = store_exec(c, a, del, p, 1, NULL, NULL, err);
    for (size_t i = 0; rc == 0 && i < count; i++) {
        struct store_value q[] = {store_text(user_id), store_text(hashes[i]), store_int(now)};
        rc = store_exec(c, a, ins, q, 3, NULL, NULL, err);
    }
    return rc;
}

int store_recovery_codes_unused(const char ***out, size_t *out_count, struct store_conn *c,
                                struct arena *a, const char *user_id, struct usher_error *err)
{
    static const char sql[] =
        "SELECT code_hash FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL";
    struct store_value p[] = {store_text(user_id)};
    struct store_rows rows;
    *out = NULL;
    *out_count = 0;
    int rc = store_exec(c, a, sql, p, 1, &rows, NULL, err);
    if (rc || rows.count == 0)
        return rc;
    const char **list = arena_alloc(a, rows.count * sizeof(*list));
    for (size_t r = 0; r < rows.count; r++)
        list[r] = store_cell_text(&rows, r, 0);
    *out = list;
    *out_count = rows.count;
    return 0;
}

int store_recovery_code_use(int64_t *out_used, struct store_conn *c, struct arena *a,
                            const char *user_id, const char *code_hash, int64_t now,
                            struct usher_error *err)
{
    static const char sql[] = "UPDATE recovery_codes SET used_at = $3 "
                              "WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL";
    struct store_value p[] = {store_text(user_id), store_text(code_hash), store_int(now)};
    *out_used = 0;
    return store_exec(c, a, sql, p, 3, NULL, out_used, err);
}

int store_mfa_token_insert(struct store_conn *c, struct arena *a, const struct store_mfa_token *t,
                           int64_t now, struct usher_error *err)
{
    static const char purge[] = "DELETE FROM mfa_tokens WHERE expires_at <= $1";
    static const char ins[] =
        "INSERT INTO mfa_tokens (token_hash, user_id, purpose, via, "
        "failures, created_at, expires_at) VALUES ($1, $2, $3, $4, 0, $5, $6)";
    struct store_value when[] = {store_int(now)};
    int rc = store_exec(c, a, purge, when, 1, NULL, NULL, err);
    if (rc)
        return rc;
    struct store_value p[] = {store_text(t->token_hash), store_text(t->user_id),
                              store_text(t->purpose),    store_text(t->via),
                              store_int(t->created_at),  store_int(t->expires_at)};
    return store_exec(c, a, ins, p, 6, NULL, NULL, err);
}

int store_mfa_token_get(struct store_mfa_token *out, struct store_conn *c, struct arena *a,
                        const char *token_hash, struct usher_error *err)
{
    static const char sql[] = "SELECT token_hash, user_id, purpose, via, failures, created_at, "
                              "expires_at FROM mfa_tokens WHERE token_hash = $1";
    struct store_value p[] = {store_text(token_hash)};
    struct store_rows rows;
    int rc = store_exec(c, a, sql, p, 1, &rows, NULL, err);
    if (rc)
        return rc;
    if (rows.count == 0)
        return usher_error_set(err, USHER_ENOTFOUND, NULL, NULL, "no such sign-in token");
    out->token_hash = store_cell_text(&rows, 0, 0);
    out->user_id = store_cell_text(&rows, 0, 1);
    out->purpose = store_cell_text(&rows, 0, 2);
    out->via = store_cell_text(&rows, 0, 3);
    out->failures = store_cell_int(&rows, 0, 4);
    out->created_at = store_cell_int(&rows, 0, 5);
    out->expires_at = store_cell_int(&rows, 0, 6);
    return 0;
}

int store_mfa_token_use(int64_t *out_used, struct store_conn *c, struct arena *a,
                        const char *token_hash, int64_t now, struct usher_error *err)
{
    static const char sql[] = "DELETE FROM mfa_tokens WHERE token_hash = $1 AND expires_at > $2";
    struct store_value p[] = {store_text(token_hash), store_int(now)};
    *out_used = 0;
    return store_exec(c, a, sql, p, 2, NULL, out_used, err);
}

int store_mfa_token_fail(struct store_conn *c, struct arena *a, const char *token_hash,
                         int64_t max_failures, struct usher_error *err)
{
    static const char add[] = "UPDATE mfa_tokens SET failures = failures + 1 WHERE token_hash = $1";
    static const char drop[] = "DELETE FROM mfa_tokens WHERE token_hash = $1 AND failures >= $2";
    struct store_value p[] = {store_text(token_hash), store_int(max_failures)};
    int rc = store_exec(c, a, add, p, 1, NULL, NULL, err);
    if (rc == 0)
        rc = store_exec(c, a, drop, p, 2, NULL, NULL, err);
    return rc;
}
