/* Audit retention: each chain loses its oldest entries in one transaction that also appends an
 * "audit.pruned" entry naming the last entry deleted, so the chain's new first entry links to
 * a hash the chain itself vouches for, and deletion by anyone else stays evident. */
#include <stdlib.h>
#include <string.h>

#include "app/audit_int.h"
#include "base/clock.h"
#include "base/json.h"

/* Prunes one chain; *out_deleted gets how many entries went. */
static int chain_prune(int64_t *out_deleted, struct store_conn *c, struct arena *a,
                       const char *chain, int64_t before, int64_t retention_days,
                       struct usher_error *err)
{
    struct store_audit_entry point;
    bool found = false;
    int64_t deleted = 0;
    *out_deleted = 0;
    int rc = store_begin(c, true, err);
    if (rc)
        return rc;
    /* Every old entry may go, the newest too: the record appended below becomes the head. */
    rc = store_audit_prune_point(&point, &found, c, a, chain, before, err);
    if (rc == 0 && found)
        rc = store_audit_chain_cut(&deleted, c, a, chain, point.id, err);
    if (rc == 0 && deleted > 0) {
        json_t *details = json_pack("{s:I, s:I, s:I, s:s}", "deleted", (json_int_t)deleted,
                                    "retention_days", (json_int_t)retention_days, "through_id",
                                    (json_int_t)point.id, "through_hash", point.hash);
        char *text = json_dump_compact(details);
        json_decref(details);
        struct store_audit_entry e = {.at = clock_now_ms(),
                                      .agency_id = app_audit_chain_agency(a, chain),
                                      .action = APP_AUDIT_PRUNED,
                                      .details_json = arena_strdup(a, text),
                                      .chain = chain};
        free(text);
        rc = app_audit_append(c, a, &e, err);
    }
    if (rc == 0)
        rc = store_commit(c, err);
    else
        store_rollback(c);
    if (rc == 0)
        *out_deleted = deleted;
    return rc;
}

int app_audit_prune(int64_t *out_deleted, struct store *store, int64_t retention_days,
                    struct usher_error *err)
{
    if (out_deleted)
        *out_deleted = 0;
    if (retention_days <= 0)
        return 0;
    struct store_conn *c = NULL;
    struct arena a;
    arena_init(&a);
    struct store_audit_head *heads = NULL;
    size_t count = 0;
    int64_t total = 0;
    int64_t before = clock_now_ms() - retention_days * 86400 * 1000;
    int rc = store_conn_get(store, &c, err);
    if (rc == 0)
        rc = store_audit_heads(&heads, &count, c, &a, err);
    /* One chain at a time: writers wait for one chain's deletion, not the whole log's. */
    for (size_t i = 0; rc == 0 && i < count; i++) {
        int64_t deleted = 0;
        rc = chain_prune(&deleted, c, &a, heads[i].chain, before, retention_days, err);
        total += deleted;
    }
    if (c)
        store_conn_put(c);
    arena_dispose(&a);
    if (out_deleted)
        *out_deleted = total;
    return rc;
}
