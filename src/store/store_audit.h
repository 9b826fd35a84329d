/* Audit rows: written in the caller's transaction, never updated or deleted by the API. */
#ifndef USHER_STORE_STORE_AUDIT_H
#define USHER_STORE_STORE_AUDIT_H

#include "store/store.h"

struct store_audit_entry {
    int64_t at;
    const char *agency_id; /* NULL for platform-level events */
    const char *actor_id;
    const char *impersonator_id;
    const char *action; /* "session.created", "agency.created", ... */
    const char *subject_user_id;
    const char *scope_type; /* "agency", "environment", "bot" or NULL */
    const char *scope_id;
    const char *source_ip;
    const char *user_agent;
    const char *request_id;
    const char *details_json; /* a JSON object, never holding a secret; NULL means {} */
};

/* Inserts one entry. */
int store_audit_insert(struct store_conn *c, struct arena *a, const struct store_audit_entry *e,
                       struct usher_error *err);

#endif
