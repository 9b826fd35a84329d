/* The audit log query: one statement assembled from fixed fragments (never from values), with
 * every value bound as a parameter; and the requests of one "view as" session. */
#include "store/store_audit_log.h"

#include <stdio.h>
#include <string.h>

#include "store/store_tenancy.h"

/* The current name and address of the accounts an entry names, and its scope's names. */
#define ACCOUNT(alias) alias ".email, " alias ".first_name, " alias ".last_name"
#define NAMED_ACTIONS                                                                              \
    "('agency.created', 'agency.renamed', 'environment.created', 'environment.renamed', "          \
    "'bot.created', 'bot.renamed')"

/* What one search word must match: the values of the entry's personal row (names and
 * addresses recorded at the time, lower-cased in its search column), or the current name or
 * address of an account the entry names. */
#define TERM_MATCH                                                                                 \
    " AND (COALESCE((SELECT p.search FROM audit_personal p WHERE p.entry_id = audit_log.id), "     \
    "'') LIKE $%zu ESCAPE '\\' OR lower(COALESCE(ua.email, '') || ' ' || "                         \
    "COALESCE(ua.first_name, '') || ' ' || COALESCE(ua.last_name, '') || ' ' || "                  \
    "COALESCE(us.email, '') || ' ' || COALESCE(us.first_name, '') || ' ' || "                      \
    "COALESCE(us.last_name, '') || ' ' || COALESCE(ui.email, '') || ' ' || "                       \
    "COALESCE(ui.first_name, '') || ' ' || COALESCE(ui.last_name, '')) LIKE $%zu ESCAPE '\\')"

static void sql_add(char *sql, size_t cap, size_t *len, const char *text)
{
    size_t n = strlen(text);
    if (*len + n < cap) {
        memcpy(sql + *len, text, n + 1);
        *len += n;
    }
}

/* The WHERE conditions of f after the agency's, numbering parameters from *n + 1. */
static void filter_sql(char *sql, size_t cap, size_t *len, struct store_value *p, size_t *n,
                       const struct store_audit_filter *f)
{
    char part[640];
    if (f->user_id) {
        p[(*n)++] = store_text(f->user_id);
        snprintf(part, sizeof(part),
                 " AND (audit_log.actor_id = $%zu OR audit_log.subject_user_id = $%zu OR "
                 "audit_log.impersonator_id = $%zu)",
                 *n, *n, *n);
        sql_add(sql, cap, len, part);
    }
    if (f->action_count > 0) {
        sql_add(sql, cap, len, " AND (");
        for (size_t i = 0; i < f->action_count; i++) {
            const struct store_audit_action *act = &f->actions[i];
            if (i > 0)
                sql_add(sql, cap, len, " OR ");
            if (act->is_prefix) {
                /* substr rather than LIKE: exact, case-sensitive and the same in both
                 * dialects. */
                p[(*n)++] = store_int((int64_t)strlen(act->name));
                p[(*n)++] = store_text(act->name);
                snprintf(part, sizeof(part),
                         "substr(audit_log.action, 1, CAST($%zu AS INTEGER)) = $%zu", *n - 1, *n);
            } else {
                p[(*n)++] = store_text(act->name);
                snprintf(part, sizeof(part), "audit_log.action = $%zu", *n);
            }
            sql_add(sql, cap, len, part);
        }
        sql_add(sql, cap, len, ")");
    }
    for (size_t i = 0; i < f->term_count; i++) {
        p[(*n)++] = store_text(f->terms[i]);
        snprintf(part, sizeof(part), TERM_MATCH, *n, *n);
        sql_add(sql, cap, len, part);
    }
    if (f->has_since) {
        p[(*n)++] = store_int(f->since_ms);
        snprintf(part, sizeof(part), " AND audit_log.at >= $%zu", *n);
        sql_add(sql, cap, len, part);
    }
    if (f->has_until) {
        p[(*n)++] = store_int(f->until_ms);
        snprintf(part, sizeof(part), " AND audit_log.at < $%zu", *n);
        sql_add(sql, cap, len, part);
    }
    if (f->skip_requests)
        sql_add(sql, cap, len, " AND audit_log.action <> 'impersonation.request'");
    if (f->before_id > 0) {
        p[(*n)++] = store_int(f->before_id);
        snprintf(part, sizeof(part), " AND audit_log.id < $%zu", *n);
        sql_add(sql, cap, len, part);
    }
}

static void account_read(struct store_audit_account *out, const struct store_rows *rows, size_t i,
                         size_t col)
{
    out->email = store_cell_text(rows, i, col);
    out->first_name = store_cell_text(rows, i, col + 1);
    out->last_name = store_cell_text(rows, i, col + 2);
}

int store_audit_list(struct store_audit_row **out, size_t *count, bool *has_more,
                     struct store_conn *c, struct arena *a, const struct store_audit_filter *f,
                     struct usher_error *err)
{
    size_t limit = f->limit;
    if (limit == 0 || limit > STORE_PAGE_LIMIT_MAX)
        limit = limit == 0 ? STORE_PAGE_LIMIT_DEFAULT : STORE_PAGE_LIMIT_MAX;
    if (f->action_count > STORE_AUDIT_ACTIONS_MAX || f->term_count > STORE_AUDIT_TERMS_MAX)
        return usher_error_set(err, USHER_EINVAL, NULL, NULL, "too many filters");
    struct store_value p[8 + 2 * STORE_AUDIT_ACTIONS_MAX + STORE_AUDIT_TERMS_MAX];
    size_t n = 0;
    char sql[16384];
    size_t len = 0;
    sql_add(
        sql, sizeof(sql), &len,
        "SELECT audit_log.id, audit_log.at, audit_log.agency_id, audit_log.actor_id, "
        "audit_log.impersonator_id, audit_log.action, audit_log.subject_user_id, "
        "audit_log.scope_type, audit_log.scope_id, audit_log.source_ip, "
        "audit_log.user_agent, audit_log.request_id, audit_log.details, "
        "(SELECT p.data FROM audit_personal p WHERE p.entry_id = audit_log.id), "
        "(SELECT p.erased_at FROM audit_personal p WHERE p.entry_id = audit_log.id), "
        "ua.id, us.id, ui.id, " ACCOUNT("ua") ", " ACCOUNT("us") ", " ACCOUNT(
            "ui") ", "
                  "CASE audit_log.scope_type "
                  "WHEN 'agency' THEN (SELECT g.name FROM agencies g WHERE g.id = "
                  "audit_log.scope_id) "
                  "WHEN 'environment' THEN (SELECT v.name FROM environments v "
                  "WHERE v.id = audit_log.scope_id) "
                  "WHEN 'bot' THEN (SELECT b.name FROM bots b WHERE b.id = audit_log.scope_id) "
                  "END, "
                  "CASE WHEN audit_log.scope_id IS NULL THEN NULL ELSE (SELECT x.details FROM "
                  "audit_log x WHERE x.chain = audit_log.chain AND x.action IN " NAMED_ACTIONS
                  " AND x.scope_type = audit_log.scope_type AND x.scope_id = audit_log.scope_id "
                  "AND x.id <= audit_log.id ORDER BY x.id DESC LIMIT 1) END, "
                  "audit_log.view_session "
                  "FROM audit_log "
                  "LEFT JOIN users ua ON ua.id = audit_log.actor_id "
                  "LEFT JOIN users us ON us.id = audit_log.subject_user_id "
                  "LEFT JOIN users ui ON ui.id = audit_log.impersonator_id "
                  "WHERE audit_log.agency_id = $1");
    p[n++] = store_text(f->agency_id);
    filter_sql(sql, sizeof(sql), &len, p, &n, f);
    p[n++] = store_int((int64_t)limit + 1);
    char tail[64];
    snprintf(tail, sizeof(tail), " ORDER BY audit_log.id DESC LIMIT $%zu", n);
    sql_add(sql, sizeof(sql), &len, tail);

    struct store_rows rows;
    int rc = store_exec(c, a, sql, p, n, &rows, NULL, err);
    if (rc)
        return rc;
    *has_more = rows.count > limit;
    if (*has_more)
        rows.count = limit;
    *out = rows.count ? arena_alloc(a, rows.count * sizeof(**out)) : NULL;
    for (size_t i = 0; i < rows.count; i++) {
        struct store_audit_row *r = &(*out)[i];
        struct store_audit_entry *e = &r->entry;
        memset(r, 0, sizeof(*r));
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
        /* Only erasure deletes accounts: a named account that is not there was erased. */
        e->is_actor_gone = e->actor_id && !store_cell_text(&rows, i, 15);
        e->is_subject_gone = e->subject_user_id && !store_cell_text(&rows, i, 16);
        e->is_impersonator_gone = e->impersonator_id && !store_cell_text(&rows, i, 17);
        account_read(&r->actor, &rows, i, 18);
        account_read(&r->subject, &rows, i, 21);
        account_read(&r->impersonator, &rows, i, 24);
        r->scope_name_now = store_cell_text(&rows, i, 27);
        r->scope_named_details = store_cell_text(&rows, i, 28);
        e->view_session = store_cell_text(&rows, i, 29);
    }
    *count = rows.count;
    return 0;
}

int store_audit_requests_list(struct store_audit_request **out, size_t *count, int64_t *total,
                              struct store_conn *c, struct arena *a, const char *agency_id,
                              const struct store_audit_entry *started, size_t max,
                              struct usher_error *err)
{
    *out = NULL;
    *count = 0;
    *total = 0;
    if (!started->impersonator_id || !started->subject_user_id)
        return 0;
    /* A session recorded with its id (view_session) has exactly the requests filed under it.
     * One recorded before that ends at its impersonator's next start or end: nested sessions
     * are refused, so the requests between belong to it, unless the same person held two at
     * once. */
    static const char by_session[] =
        " FROM audit_log r WHERE r.chain = $1 AND r.view_session = $5 "
        "AND r.action = 'impersonation.request' AND r.impersonator_id = $2 AND r.actor_id = $4 "
        "AND r.id > $3";
    static const char by_time[] =
        " FROM audit_log r WHERE r.chain = $1 AND r.action = 'impersonation.request' "
        "AND r.impersonator_id = $2 AND r.actor_id = $4 AND r.id > $3 AND r.id < "
        "COALESCE((SELECT MIN(x.id) FROM audit_log x WHERE x.chain = $1 AND x.id > $3 AND "
        "x.impersonator_id = $2 AND x.action IN ('impersonation.started', "
        "'impersonation.ended')), $5)";
    bool has_session = started->view_session != NULL;
    const char *range = has_session ? by_session : by_time;
    struct store_value p[] = {
        store_text(arena_printf(a, "agency:%s", agency_id)),
        store_text(started->impersonator_id),
        store_int(started->id),
        store_text(started->subject_user_id),
        has_session ? store_text(started->view_session) : store_int(INT64_MAX),
        store_int((int64_t)max),
    };
    struct store_rows rows;
    int rc = store_exec(c, a, arena_printf(a, "SELECT COUNT(*)%s", range), p, 5, &rows, NULL, err);
    if (rc)
        return rc;
    *total = rows.count ? store_cell_int(&rows, 0, 0) : 0;
    if (*total == 0 || max == 0)
        return 0;
    rc = store_exec(c, a,
                    arena_printf(a, "SELECT r.id, r.at, r.details%s ORDER BY r.id LIMIT $6", range),
                    p, 6, &rows, NULL, err);
    if (rc)
        return rc;
    *out = rows.count ? arena_alloc(a, rows.count * sizeof(**out)) : NULL;
    for (size_t i = 0; i < rows.count; i++) {
        (*out)[i].id = store_cell_int(&rows, i, 0);
        (*out)[i].at = store_cell_int(&rows, i, 1);
        (*out)[i].details_json = store_cell_text(&rows, i, 2);
    }
    *count = rows.count;
    return 0;
}
