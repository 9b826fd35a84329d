/* Converting entries written before migration 0016 (format 1, personal values inside their
 * hash) to format 2, once, at start: the log must verify first; then every chain holding a
 * format-1 entry is rehashed and relinked from its first entry, its head signed again, and the
 * platform chain records the conversion. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/audit_int.h"
#include "base/clock.h"
#include "base/json.h"
#include "base/log.h"

#define REFORMAT_BATCH 1000

/* Converts e (read back from the store) to format 2 in place, strings in a. */
static void entry_convert(struct store_audit_entry *e, struct arena *a)
{
    json_t *details = e->details_json ? json_loads(e->details_json, 0, NULL) : NULL;
    if (!json_is_object(details)) {
        json_decref(details);
        details = json_object();
    }
    app_audit_personal_split(e, a, details);
    char *text = json_dump_compact(details);
    json_decref(details);
    e->details_json = arena_strdup(a, text ? text : "{}");
    free(text);
    e->format = 2;
}

/* Rewrites chain h from its first entry: converts format-1 entries, links each to the new hash
 * of the one before, and signs the head again on its new last hash. *converted grows by the
 * entries converted. */
static int chain_reformat(int64_t *converted, struct store_conn *c, struct arena *a,
                          struct store_audit_head *h, struct usher_error *err)
{
    char prev_buf[CRYPTO_HASH_HEX + 1] = "";
    bool has_prev = false;
    int64_t after = 0;
    struct arena batch; /* one batch of entries at a time */
    arena_init(&batch);
    int rc = 0;
    for (;;) {
        arena_dispose(&batch); /* the batch before, if any */
        struct store_audit_entry *rows = NULL;
        size_t n = 0;
        rc = store_audit_chain_read(&rows, &n, c, &batch, h->chain, after, REFORMAT_BATCH, err);
        if (rc)
            goto done;
        for (size_t i = 0; i < n; i++) {
            struct store_audit_entry *e = &rows[i];
            bool was_v1 = e->format == 1;
            if (was_v1) {
                entry_convert(e, &batch);
                (*converted)++;
            }
            /* The first entry keeps its link ("" or the hash a retention record names). */
            if (has_prev)
                e->prev_hash = prev_buf;
            char hash[CRYPTO_HASH_HEX + 1];
            app_audit_entry_hash(hash, e);
            e->hash = hash;
            /* An entry already of format 2 keeps its personal row as it is. */
            if (!was_v1)
                e->personal_data = NULL;
            rc = store_audit_reformat_put(c, &batch, e, err);
            if (rc)
                goto done;
            snprintf(prev_buf, sizeof(prev_buf), "%s", hash);
            has_prev = true;
            after = e->id;
        }
        if (n < REFORMAT_BATCH)
            break;
    }
    if (has_prev) {
        char mac[CRYPTO_HASH_HEX + 1];
        h->last_hash = arena_strdup(a, prev_buf);
        app_audit_head_mac(mac, h);
        h->mac = mac;
        rc = store_audit_head_put(c, a, h, err);
    }
done:
    arena_dispose(&batch);
    return rc;
}

/* Converts the log inside the caller's write transaction, or refuses (logged) when it does not
 * verify. */
static int reformat_in_tx(int64_t *out_converted, struct store_conn *c, struct arena *a,
                          struct usher_error *err)
{
    struct app_audit_verdict v;
    struct store_audit_head *heads = NULL;
    size_t count = 0;
    int64_t converted = 0, chains = 0;
    int rc = app_audit_verify_in_tx(&v, c, a, err);
    if (rc)
        goto done;
    if (!v.is_intact) {
        log_msg(LOG_ERROR, "audit.reformat_refused", "{s:s, s:s?, s:I, s:s}", "reason",
                "the audit log does not verify", "chain", v.chain, "entry", (json_int_t)v.broken_id,
                "fault", v.reason ? v.reason : "");
        goto done;
    }
    rc = store_audit_heads(&heads, &count, c, a, err);
    if (rc)
        goto done;
    for (size_t i = 0; i < count; i++) {
        int64_t before = converted;
        rc = chain_reformat(&converted, c, a, &heads[i], err);
        if (rc)
            goto done;
        chains += converted > before;
    }
    json_t *details = json_pack("{s:I, s:I, s:I}", "entries", (json_int_t)converted, "chains",
                                (json_int_t)chains, "format", (json_int_t)2);
    char *text = json_dump_compact(details);
    json_decref(details);
    struct store_audit_entry e = {.at = clock_now_ms(),
                                  .action = APP_AUDIT_REFORMATTED,
                                  .details_json = arena_strdup(a, text ? text : "{}"),
                                  .chain = "platform",
                                  .format = 2};
    free(text);
    rc = app_audit_append(c, a, &e, err);
    if (rc)
        goto done;
    *out_converted = converted;
done:
    return rc;
}

int app_audit_reformat(int64_t *out_converted, struct store *store, struct usher_error *err)
{
    struct store_conn *c = NULL;
    struct arena a;
    arena_init(&a);
    int64_t old = 0, converted = 0;
    int rc = store_conn_get(store, &c, err);
    if (rc)
        goto done;
    rc = store_begin(c, true, err);
    if (rc)
        goto done;
    rc = store_audit_format1_count(&old, c, &a, err);
    if (rc || old == 0)
        goto done;
    rc = reformat_in_tx(&converted, c, &a, err);
    if (rc)
        goto done;
    rc = store_commit(c, err);
    if (rc)
        goto done;
    if (converted > 0)
        log_msg(LOG_INFO, "audit.reformatted", "{s:I, s:s}", "entries", (json_int_t)converted,
                "note", "checkpoints taken before this start no longer match: take a new one");
done:
    store_conn_put(c); /* rolls back what did not commit */
    arena_dispose(&a);
    if (out_converted)
        *out_converted = converted;
    return rc;
}

void app_audit_reformat_at_start(struct store *store)
{
    struct usher_error err = {0};
    if (app_audit_reformat(NULL, store, &err) != 0)
        log_msg(LOG_ERROR, "audit.reformat_failed", "{s:s}", "error", err.message);
}
