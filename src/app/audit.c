/* Audit recording and verification. Entries form one hash chain per agency (and one for
 * platform-level events): each holds the previous entry's hash and an HMAC under the server
 * secret over its own fields and that hash, so editing, removing or inserting an entry is
 * evident to `usher audit verify`, even for someone who can write to the database but has no
 * secret. */
#include "app/audit.h"

#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/json.h"
#include "store/store_audit.h"

#define VERIFY_BATCH 1000

static unsigned char audit_key[CRYPTO_SECRET_BYTES];
static size_t audit_key_len;

void app_audit_key_set(const unsigned char *key, size_t len)
{
    if (len > sizeof(audit_key))
        len = sizeof(audit_key);
    memcpy(audit_key, key, len);
    audit_key_len = len;
}

void app_audit_entry_hash(char out[CRYPTO_HASH_HEX + 1], const struct store_audit_entry *e)
{
    /* A JSON array is an unambiguous encoding of the fields, NULLs included. */
    json_t *fields = json_pack(
        "[s?, I, s?, s?, s?, s?, s?, s?, s?, s?, s?, s?, s?, s?]", e->chain, (json_int_t)e->at,
        e->agency_id, e->actor_id, e->impersonator_id, e->action, e->subject_user_id, e->scope_type,
        e->scope_id, e->source_ip, e->user_agent, e->request_id, e->details_json, e->prev_hash);
    char *text = json_dump_compact(fields);
    json_decref(fields);
    crypto_hmac_hex(out, audit_key, audit_key_len, text ? text : "", text ? strlen(text) : 0);
    free(text);
}

static int record_in_tx(struct store_conn *c, struct arena *a, struct store_audit_entry *e,
                        struct usher_error *err)
{
    const char *prev = "";
    int rc = store_audit_chain_head(&prev, c, a, e->chain, err);
    if (rc)
        return rc;
    e->prev_hash = prev;
    char hash[CRYPTO_HASH_HEX + 1];
    app_audit_entry_hash(hash, e);
    e->hash = arena_strdup(a, hash);
    return store_audit_insert(c, a, e, err);
}

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
        .details_json = details ? arena_strdup(a, details) : "{}",
        .chain = ev->agency_id ? arena_printf(a, "agency:%s", ev->agency_id) : "platform",
    };
    free(details);
    if (store_in_transaction(c))
        return record_in_tx(c, a, &e, err);
    /* The chain's head is read and moved under the write lock. */
    int rc = store_begin(c, true, err);
    if (rc == 0)
        rc = record_in_tx(c, a, &e, err);
    if (rc == 0)
        rc = store_commit(c, err);
    else
        store_rollback(c);
    return rc;
}

static int verify_chain(struct app_audit_verdict *out, struct store_conn *c, struct arena *a,
                        const char *chain, int64_t head_id, const char *head_hash,
                        struct usher_error *err)
{
    int64_t after = 0, last_id = 0;
    const char *prev = NULL; /* NULL until the first entry: its own prev_hash anchors it */
    for (;;) {
        struct arena batch;
        arena_init(&batch);
        struct store_audit_entry *rows = NULL;
        size_t n = 0;
        int rc = store_audit_chain_read(&rows, &n, c, &batch, chain, after, VERIFY_BATCH, err);
        if (rc) {
            arena_dispose(&batch);
            return rc;
        }
        for (size_t i = 0; i < n; i++) {
            const struct store_audit_entry *e = &rows[i];
            char expect[CRYPTO_HASH_HEX + 1];
            app_audit_entry_hash(expect, e);
            const char *why = NULL;
            if (prev && strcmp(e->prev_hash ? e->prev_hash : "", prev) != 0)
                why = "its previous-hash does not match the entry before it (an entry was "
                      "removed or inserted)";
            else if (!e->hash || strcmp(e->hash, expect) != 0)
                why = "its hash does not match its contents (the entry was altered)";
            if (why) {
                out->is_intact = false;
                out->chain = arena_strdup(a, chain);
                out->broken_id = e->id;
                out->reason = arena_strdup(a, why);
                arena_dispose(&batch);
                return 0;
            }
            prev = arena_strdup(a, e->hash);
            last_id = e->id;
            after = e->id;
            out->entries++;
        }
        arena_dispose(&batch);
        if (n < VERIFY_BATCH)
            break;
    }
    if (last_id != head_id || strcmp(prev ? prev : "", head_hash) != 0) {
        out->is_intact = false;
        out->chain = arena_strdup(a, chain);
        out->broken_id = last_id;
        out->reason = arena_strdup(a, "the chain's last entries were removed (its head names a "
                                      "later entry)");
    }
    return 0;
}

int app_audit_verify(struct app_audit_verdict *out, struct store *store, struct arena *a,
                     struct usher_error *err)
{
    memset(out, 0, sizeof(*out));
    out->is_intact = true;
    struct store_conn *c = NULL;
    int rc = store_conn_get(store, &c, err);
    if (rc)
        return rc;
    /* One read transaction: a consistent snapshot while writers go on. */
    rc = store_begin(c, false, err);
    struct store_rows chains = {0};
    if (rc == 0)
        rc = store_audit_chains(&chains, c, a, err);
    for (size_t i = 0; rc == 0 && out->is_intact && i < chains.count; i++) {
        rc = verify_chain(out, c, a, store_cell(&chains, i, 0)->s, store_cell(&chains, i, 1)->i,
                          store_cell(&chains, i, 2)->s, err);
        out->chains++;
    }
    store_rollback(c);
    store_conn_put(c);
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
    int64_t deleted = 0;
    int64_t before = clock_now_ms() - retention_days * 86400 * 1000;
    int rc = store_conn_get(store, &c, err);
    if (rc == 0)
        rc = store_begin(c, true, err);
    if (rc == 0)
        rc = store_audit_prune(&deleted, c, &a, before, err);
    if (rc == 0 && deleted > 0) {
        struct app_audit_event ev = {
            .action = "audit.pruned",
            .details = json_pack("{s:I, s:I}", "deleted", (json_int_t)deleted, "retention_days",
                                 (json_int_t)retention_days),
        };
        rc = app_audit_record(c, &a, NULL, &ev, err);
    }
    if (rc == 0)
        rc = store_commit(c, err);
    if (c)
        store_conn_put(c);
    arena_dispose(&a);
    if (rc == 0 && out_deleted)
        *out_deleted = deleted;
    return rc;
}
