/* Audit retention: each chain loses its oldest entries in one transaction that also appends an
 * "audit.pruned" entry naming the last entry deleted, so the chain's new first entry links to
 * a hash the chain itself vouches for, and deletion by anyone else stays evident. A chain whose
 * old entries do not verify is left alone, as evidence. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/audit_int.h"
#include "base/clock.h"
#include "base/json.h"
#include "base/log.h"

#define PRUNE_BATCH 1000

/* Why the entries of chain up to point may not be pruned, or NULL: retention must not turn
 * damage into a signed record. The chain must start where it should, each entry up to point
 * must hash and link right, and what follows point (the next entry, or the signed head) must
 * link to it. An entry whose time was moved back to have it pruned fails its hash. */
static int prefix_check(const char **out_why, struct store_conn *c, struct arena *a,
                        const char *chain, const struct store_audit_entry *point,
                        struct usher_error *err)
{
    struct store_audit_head head;
    bool has_head = false, recorded = true;
    char prev_buf[CRYPTO_HASH_HEX + 1];
    const char *prev = NULL;
    int64_t after = 0;
    struct arena batch; /* one batch of entries at a time */
    arena_init(&batch);
    *out_why = NULL;
    int rc = store_audit_head_get(&head, &has_head, c, a, chain, err);
    if (rc)
        goto done;
    if (!has_head || !app_audit_head_is_signed(&head)) {
        *out_why = "its head does not match its MAC";
        goto done;
    }
    for (;;) {
        arena_dispose(&batch); /* the batch before, if any */
        struct store_audit_entry *rows = NULL;
        size_t n = 0;
        rc = store_audit_chain_read(&rows, &n, c, &batch, chain, after, PRUNE_BATCH, err);
        if (rc)
            goto done;
        for (size_t i = 0; i < n; i++) {
            const struct store_audit_entry *e = &rows[i];
            char expect[CRYPTO_HASH_HEX + 1];
            app_audit_entry_hash(expect, e);
            const char *link = e->prev_hash ? e->prev_hash : "";
            if (!prev && *link) {
                rc = app_audit_start_is_recorded(&recorded, c, a, chain, e, err);
                if (rc)
                    goto done;
            }
            if (!recorded || (prev && strcmp(link, prev) != 0)) {
                *out_why = "an entry before it is missing";
                goto done;
            }
            if (e->id <= point->id && (!e->hash || strcmp(e->hash, expect) != 0)) {
                *out_why = "an entry does not match its hash";
                goto done;
            }
            if (e->id <= point->id && app_audit_personal_fault(e)) {
                *out_why = "an entry's personal data does not match its digest";
                goto done;
            }
            /* The entry after point links to it: the prefix holds. */
            if (e->id > point->id)
                goto done;
            /* Kept only once verified (64 characters): a failure ends the walk. */
            snprintf(prev_buf, sizeof(prev_buf), "%s", e->hash ? e->hash : "");
            prev = prev_buf;
            after = e->id;
        }
        if (n < PRUNE_BATCH)
            break;
    }
    if (head.last_id != point->id || strcmp(head.last_hash, point->hash) != 0)
        *out_why = "its head does not name its last entry";
done:
    arena_dispose(&batch);
    return rc;
}

/* Prunes one chain; *out_deleted gets how many entries went. */
static int chain_prune(int64_t *out_deleted, struct store_conn *c, struct arena *a,
                       const char *chain, int64_t before, int64_t retention_days,
                       struct usher_error *err)
{
    struct store_audit_entry point;
    bool found = false;
    int64_t deleted = 0;
    const char *why = NULL;
    *out_deleted = 0;
    int rc = store_begin(c, true, err);
    if (rc)
        goto done;
    /* Every old entry may go, the newest too: the record appended below becomes the head. */
    rc = store_audit_prune_point(&point, &found, c, a, chain, before, err);
    if (rc)
        goto done;
    if (found) {
        rc = prefix_check(&why, c, a, chain, &point, err);
        if (rc)
            goto done;
    }
    if (why) {
        log_msg(LOG_WARN, "audit.prune_refused", "{s:s, s:s}", "chain", chain, "reason", why);
    } else if (found) {
        rc = store_audit_chain_cut(&deleted, c, a, chain, point.id, err);
        if (rc)
            goto done;
    }
    if (deleted > 0) {
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
        if (rc)
            goto done;
    }
    rc = store_commit(c, err);
    if (rc)
        goto done;
    *out_deleted = deleted;
done:
    if (rc)
        store_rollback(c);
    return rc;
}

int app_audit_prune(int64_t *out_deleted, struct store *store, int64_t retention_days,
                    struct usher_error *err)
{
    struct store_conn *c = NULL;
    struct arena a;
    arena_init(&a);
    struct store_audit_head *heads = NULL;
    size_t count = 0;
    int64_t total = 0;
    int rc = 0;
    if (retention_days <= 0)
        goto done;
    int64_t before = clock_now_ms() - retention_days * 86400 * 1000;
    rc = store_conn_get(store, &c, err);
    if (rc)
        goto done;
    rc = store_audit_heads(&heads, &count, c, &a, err);
    if (rc)
        goto done;
    /* One chain at a time: writers wait for one chain's deletion, not the whole log's. */
    for (size_t i = 0; i < count; i++) {
        int64_t deleted = 0;
        rc = chain_prune(&deleted, c, &a, heads[i].chain, before, retention_days, err);
        total += deleted;
        if (rc)
            goto done;
    }
done:
    store_conn_put(c);
    arena_dispose(&a);
    if (out_deleted)
        *out_deleted = total;
    return rc;
}
