/* The notification-recipient query: environment grants naming agent or operator, not lapsed,
 * joined with their active users, keyset-paginated on the user's (created_at, id). */
#include "store/store_recipient.h"

/* The role list is matched as a whole item of the comma-separated list. */
#define RECIPIENT_SELECT                                                                           \
    "SELECT u.id, u.email, u.first_name, u.last_name, u.created_at, g.roles "                      \
    "FROM grants g JOIN users u ON u.id = g.user_id "                                              \
    "WHERE g.environment_id = $1 AND g.scope_id = $1 AND g.bot_id IS NULL "                        \
    "AND u.status = 'active' AND (g.expires_at IS NULL OR g.expires_at > $2) "                     \
    "AND ((',' || g.roles || ',') LIKE '%,agent,%' OR (',' || g.roles || ',') LIKE "               \
    "'%,operator,%') "

int store_recipient_list(struct store_recipient **out, size_t *count, bool *has_more,
                         struct store_conn *c, struct arena *a, const char *environment_id,
                         int64_t now, const struct store_cursor *after, size_t limit,
                         struct usher_error *err)
{
    static const char first[] = RECIPIENT_SELECT "ORDER BY u.created_at, u.id LIMIT $3";
    static const char resume[] =
        RECIPIENT_SELECT "AND (u.created_at > $3 OR (u.created_at = $3 AND u.id > $4)) "
                         "ORDER BY u.created_at, u.id LIMIT $5";
    if (limit == 0 || limit > STORE_PAGE_LIMIT_MAX)
        limit = limit == 0 ? STORE_PAGE_LIMIT_DEFAULT : STORE_PAGE_LIMIT_MAX;
    bool is_resume = after && after->is_set;
    struct store_value p[5];
    size_t n = 0;
    p[n++] = store_text(environment_id);
    p[n++] = store_int(now);
    if (is_resume) {
        p[n++] = store_int(after->created_at);
        p[n++] = store_text(after->id);
    }
    p[n++] = store_int((int64_t)limit + 1);
    struct store_rows rows;
    int rc = store_exec(c, a, is_resume ? resume : first, p, n, &rows, NULL, err);
    if (rc)
        return rc;
    *has_more = rows.count > limit;
    if (*has_more)
        rows.count = limit;
    *out = rows.count ? arena_alloc(a, rows.count * sizeof(**out)) : NULL;
    for (size_t i = 0; i < rows.count; i++) {
        struct store_recipient *r = &(*out)[i];
        r->id = store_cell_text(&rows, i, 0);
        r->email = store_cell_text(&rows, i, 1);
        r->first_name = store_cell_text(&rows, i, 2);
        r->last_name = store_cell_text(&rows, i, 3);
        r->created_at = store_cell_int(&rows, i, 4);
        r->roles = store_cell_text(&rows, i, 5);
    }
    *count = rows.count;
    return 0;
}
