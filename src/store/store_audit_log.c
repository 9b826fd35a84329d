/* The audit log query: one statement assembled from fixed fragments (never from values), with
 * every value bound as a parameter. */
#include "store/store_audit_log.h"

#include <stdio.h>
#include <string.h>

#include "store/store_tenancy.h"

/* 1 when the entry names a person in column whose account is gone (erased), else 0. */
#define GONE(column)                                                                               \
    "CASE WHEN audit_log." column " IS NOT NULL AND NOT EXISTS (SELECT 1 FROM users u "            \
    "WHERE u.id = audit_log." column ") THEN 1 ELSE 0 END"

int store_audit_list(struct store_audit_entry **out, size_t *count, bool *has_more,
                     struct store_conn *c, struct arena *a, const struct store_audit_filter *f,
                     struct usher_error *err)
{
    size_t limit = f->limit;
    if (limit == 0 || limit > STORE_PAGE_LIMIT_MAX)
        limit = limit == 0 ? STORE_PAGE_LIMIT_DEFAULT : STORE_PAGE_LIMIT_MAX;
    struct store_value p[6];
    size_t n = 0;
    char sql[2048];
    size_t len = 0;
    len += (size_t)snprintf(
        sql + len, sizeof(sql) - len,
        "SELECT id, at, agency_id, actor_id, impersonator_id, action, "
        "subject_user_id, scope_type, scope_id, source_ip, user_agent, "
        "request_id, details, "
        "(SELECT data FROM audit_personal p WHERE p.entry_id = audit_log.id), "
        "(SELECT erased_at FROM audit_personal p "
        "WHERE p.entry_id = audit_log.id), " GONE("actor_id") ", " GONE(
            "subject_user_id") ", " GONE("impersonator_id") " FROM audit_log WHERE agency_id = $1");
    p[n++] = store_text(f->agency_id);
    if (f->user_id) {
        p[n++] = store_text(f->user_id);
        len += (size_t)snprintf(
            sql + len, sizeof(sql) - len,
            " AND (actor_id = $%zu OR subject_user_id = $%zu OR impersonator_id = $%zu)", n, n, n);
    }
    if (f->action && f->is_action_prefix) {
        /* substr rather than LIKE: exact, case-sensitive and the same in both dialects. */
        p[n++] = store_int((int64_t)strlen(f->action));
        p[n++] = store_text(f->action);
        len += (size_t)snprintf(sql + len, sizeof(sql) - len,
                                " AND substr(action, 1, CAST($%zu AS INTEGER)) = $%zu", n - 1, n);
    } else if (f->action) {
        p[n++] = store_text(f->action);
        len += (size_t)snprintf(sql + len, sizeof(sql) - len, " AND action = $%zu", n);
    }
    if (f->before_id > 0) {
        p[n++] = store_int(f->before_id);
        len += (size_t)snprintf(sql + len, sizeof(sql) - len, " AND id < $%zu", n);
    }
    p[n++] = store_int((int64_t)limit + 1);
    snprintf(sql + len, sizeof(sql) - len, " ORDER BY id DESC LIMIT $%zu", n);

    struct store_rows rows;
    int rc = store_exec(c, a, sql, p, n, &rows, NULL, err);
    if (rc)
        return rc;
    *has_more = rows.count > limit;
    if (*has_more)
        rows.count = limit;
    *out = rows.count ? arena_alloc(a, rows.count * sizeof(**out)) : NULL;
    for (size_t i = 0; i < rows.count; i++) {
        struct store_audit_entry *e = &(*out)[i];
        memset(e, 0, sizeof(*e));
        e->id = store_cell_int(&rows, i, 0);
        e->at = store_cell_int(&rows, i, 1);
        e->agency_id = store_cell_text(&rows, i, 2);
        e->actor_id = store_cell_text(&rows, i, 3);
        e->impersonator_id = store_cell_text(&rows, i, 4);
        e->action = store_cell_text(&rows, i, 5);
        e->subject_user_id = store_cell_text(&rows, i, 6);
        e->scope_type = store_cell_text(&rows, i, 7);
        e->scope_id = store_cell_text(&rows, i, 8);
        e->source_ip = store_cell_text(&rows, i, 9);
        e->user_agent = store_cell_text(&rows, i, 10);
        e->request_id = store_cell_text(&rows, i, 11);
        e->details_json = store_cell_text(&rows, i, 12);
        e->personal_data = store_cell_text(&rows, i, 13);
        e->has_personal = e->personal_data || store_cell(&rows, i, 14)->type == STORE_INT;
        e->personal_erased_at =
            store_cell(&rows, i, 14)->type == STORE_INT ? store_cell_int(&rows, i, 14) : 0;
        e->is_actor_gone = store_cell_int(&rows, i, 15) != 0;
        e->is_subject_gone = store_cell_int(&rows, i, 16) != 0;
        e->is_impersonator_gone = store_cell_int(&rows, i, 17) != 0;
    }
    *count = rows.count;
    return 0;
}
