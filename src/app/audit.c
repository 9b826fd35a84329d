/* Audit recording: maps an actor and an event onto a store row. */
#include "app/audit.h"

#include <stdlib.h>

#include "base/clock.h"
#include "base/json.h"
#include "store/store_audit.h"

int app_audit_record(struct store_conn *c, struct arena *a, const struct app_actor *actor,
                     const struct app_audit_event *ev, struct usher_error *err)
{
    char *details = NULL;
    if (ev->details) {
        details = json_dump_compact(ev->details);
        json_decref(ev->details);
    }
    struct store_audit_entry e = {
        .at = clock_now_ms(),
        .agency_id = ev->agency_id,
        .actor_id = actor ? actor->user_id : NULL,
        .impersonator_id = actor ? actor->impersonator_id : NULL,
        .action = ev->action,
        .subject_user_id = ev->subject_user_id,
        .scope_type = ev->scope_type,
        .scope_id = ev->scope_id,
        .source_ip = actor ? actor->source_ip : NULL,
        .user_agent = actor ? actor->user_agent : NULL,
        .request_id = actor ? actor->request_id : NULL,
        .details_json = details,
    };
    int rc = store_audit_insert(c, a, &e, err);
    free(details);
    return rc;
}
