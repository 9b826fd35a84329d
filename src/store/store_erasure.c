/* The SQL of erasing an account (see store_erasure.h): the last-owner question and the
 * deletion of the account and of every row holding its address. */
#include "store/store_erasure.h"

#include <string.h>

/* An owner grant in force at $2. */
#define OWNER_GRANT(alias)                                                                         \
    alias ".scope_id = " alias ".agency_id AND (',' || " alias ".roles || ',') LIKE '%,owner,%' "  \
          "AND (" alias ".expires_at IS NULL OR " alias ".expires_at > $2)"

int store_erasure_sole_owner(const char **out, struct store_conn *c, struct arena *a,
                             const char *user_id, int64_t now, struct usher_error *err)
{
    static const char sql[] =
        "SELECT g.agency_id FROM grants g WHERE g.user_id = $1 AND " OWNER_GRANT(
            "g") " AND NOT EXISTS (SELECT 1 FROM grants o JOIN users u ON u.id = o.user_id "
                 "WHERE o.agency_id = g.agency_id AND o.user_id <> $1 AND u.status = 'active' "
                 "AND " OWNER_GRANT("o") ") ORDER BY g.agency_id LIMIT 1";
    struct store_value p[] = {store_text(user_id), store_int(now)};
    struct store_rows rows;
    *out = NULL;
    int rc = store_exec(c, a, sql, p, 2, &rows, NULL, err);
    if (rc == 0 && rows.count == 1)
        *out = store_cell_text(&rows, 0, 0);
    return rc;
}

int store_erasure_agencies(const char ***out, size_t *count, struct store_conn *c, struct arena *a,
                           const char *user_id, struct usher_error *err)
{
    static const char sql[] =
        "SELECT agency_id FROM memberships WHERE user_id = $1 ORDER BY agency_id";
    struct store_value p[] = {store_text(user_id)};
    struct store_rows rows;
    *out = NULL;
    *count = 0;
    int rc = store_exec(c, a, sql, p, 1, &rows, NULL, err);
    if (rc)
        return rc;
    const char **ids = arena_alloc(a, (rows.count + 1) * sizeof(*ids));
    for (size_t r = 0; r < rows.count; r++)
        ids[r] = store_cell_text(&rows, r, 0);
    *out = ids;
    *count = rows.count;
    return 0;
}

/* Runs one statement with params p and adds the rows it changed to *n. */
static int run(int64_t *n, struct store_conn *c, struct arena *a, const char *sql,
               const struct store_value *p, size_t np, struct usher_error *err)
{
    int64_t changed = 0;
    int rc = store_exec(c, a, sql, p, np, NULL, &changed, err);
    *n += changed;
    return rc;
}

int store_erasure_remove(struct store_erasure_counts *out, struct store_conn *c, struct arena *a,
                         const char *user_id, const char *email, struct usher_error *err)
{
    struct store_value by_email[] = {store_text(email)};
    struct store_value both[] = {store_text(email), store_text(user_id)};
    struct store_value by_user[] = {store_text(user_id)};
    int64_t ignored = 0;
    memset(out, 0, sizeof(*out));
    struct store_rows rows;
    int rc = store_exec(c, a, "SELECT COUNT(*) FROM grants WHERE user_id = $1", by_user, 1, &rows,
                        NULL, err);
    if (rc)
        return rc;
    out->grants = rows.count == 1 ? store_cell_int(&rows, 0, 0) : 0;
    rc = run(&out->invitations, c, a, "DELETE FROM invitations WHERE email = $1", by_email, 1, err);
    if (rc)
        return rc;
    rc = run(&out->password_resets, c, a,
             "DELETE FROM password_resets WHERE email = $1 OR user_id = $2", both, 2, err);
    if (rc)
        return rc;
    rc =
        run(&out->messages, c, a, "DELETE FROM mail_outbox WHERE recipient = $1", by_email, 1, err);
    if (rc)
        return rc;
    return run(&ignored, c, a, "DELETE FROM users WHERE id = $1", by_user, 1, err);
}
