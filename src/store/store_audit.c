/* Insertion of audit rows. */
#include "store/store_audit.h"

int store_audit_insert(struct store_conn *c, struct arena *a, const struct store_audit_entry *e,
                       struct usher_error *err)
{
    static const char sql[] =
        "INSERT INTO audit_log (at, agency_id, actor_id, impersonator_id, action, "
        "subject_user_id, scope_type, scope_id, source_ip, user_agent, request_id, details) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)";
    struct store_value p[] = {
        store_int(e->at),          store_text(e->agency_id),
        store_text(e->actor_id),   store_text(e->impersonator_id),
        store_text(e->action),     store_text(e->subject_user_id),
        store_text(e->scope_type), store_text(e->scope_id),
        store_text(e->source_ip),  store_text(e->user_agent),
        store_text(e->request_id), store_text(e->details_json ? e->details_json : "{}"),
    };
    return store_exec(c, a, sql, p, sizeof(p) / sizeof(p[0]), NULL, NULL, err);
}
