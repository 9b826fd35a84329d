/* Recording changes in the audit log, inside the change's own transaction: if the audit row
 * cannot be written, the change fails with it. */
#ifndef USHER_APP_AUDIT_H
#define USHER_APP_AUDIT_H

#include <jansson.h>

#include "app/app.h"
#include "store/store.h"

struct app_audit_event {
    const char *agency_id; /* NULL for platform-level events */
    const char *action;
    const char *subject_user_id;
    const char *scope_type;
    const char *scope_id;
    json_t *details; /* stolen; may be NULL; must never hold a password, token or link */
};

/* Writes one row for actor on conn (which must be in a transaction). */
int app_audit_record(struct store_conn *c, struct arena *a, const struct app_actor *actor,
                     const struct app_audit_event *ev, struct usher_error *err);

#endif
