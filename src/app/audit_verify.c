/* Verification of the audit log: the registry and every head against their MACs, the set of
 * chains against the registry, then each chain entry by entry from its first (or from the
 * retention record that explains a missing start) to the entry its head names. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "app/audit_int.h"
#include "base/json.h"

#define VERIFY_BATCH 1000

static void broken(struct app_audit_verdict *out, struct arena *a, const char *chain, int64_t id,
                   const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void broken(struct app_audit_verdict *out, struct arena *a, const char *chain, int64_t id,
                   const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    out->is_intact = false;
    out->chain = chain ? arena_strdup(a, chain) : NULL;
    out->broken_id = id;
    out->reason = arena_strdup(a, buf);
}

int app_audit_start_is_recorded(bool *out, struct store_conn *c, struct arena *a, const char *chain,
                                const struct store_audit_entry *first, struct usher_error *err)
{
    struct store_audit_entry rec;
    bool found = false;
    *out = false;
    int rc = store_audit_newest_action(&rec, &found, c, a, chain, APP_AUDIT_PRUNED, err);
    if (rc || !found || !rec.details_json)
        return rc;
    json_t *details = json_loads(rec.details_json, 0, NULL);
    json_t *hash = json_object_get(details, "through_hash");
    json_t *id = json_object_get(details, "through_id");
    *out = json_is_string(hash) && json_is_integer(id) && rec.id >= first->id &&
           json_integer_value(id) < first->id &&
           strcmp(json_string_value(hash), first->prev_hash ? first->prev_hash : "") == 0;
    json_decref(details);
    return 0;
}

const char *app_audit_personal_fault(const struct store_audit_entry *e)
{
    if (e->format == 1)
        return e->has_personal ? "a personal-data row was added to an entry of format 1" : NULL;
    if (!e->personal_digest)
        return e->has_personal ? "a personal-data row was added to an entry that had none" : NULL;
    if (!e->has_personal)
        return "its personal-data row was deleted without being marked erased";
    if (!e->personal_data)
        return e->personal_erased_at > 0
                   ? NULL
                   : "its personal data was removed without being marked erased";
    char digest[CRYPTO_HASH_HEX + 1];
    app_audit_personal_digest(digest, e->personal_data);
    if (!crypto_str_equal(digest, e->personal_digest))
        return "its personal data does not match its digest (the personal data was altered)";
    return NULL;
}

/* Checks one entry against the one before it (prev, NULL for the chain's first). */
static int entry_check(struct app_audit_verdict *out, struct store_conn *c, struct arena *a,
                       const char *chain, const struct store_audit_entry *e, const char *prev,
                       struct usher_error *err)
{
    char expect[CRYPTO_HASH_HEX + 1];
    app_audit_entry_hash(expect, e);
    const char *link = e->prev_hash ? e->prev_hash : "";
    if (prev && strcmp(link, prev) != 0) {
        broken(out, a, chain, e->id,
               "its previous-hash does not match the entry before it (an entry was removed, "
               "inserted or moved)");
        return 0;
    }
    if (!e->hash || strcmp(e->hash, expect) != 0) {
        broken(out, a, chain, e->id,
               "its hash does not match its contents (the entry was altered)");
        return 0;
    }
    const char *personal = app_audit_personal_fault(e);
    if (personal) {
        broken(out, a, chain, e->id, "%s", personal);
        return 0;
    }
    if (!prev && *link) {
        bool recorded = false;
        int rc = app_audit_start_is_recorded(&recorded, c, a, chain, e, err);
        if (rc)
            return rc;
        if (!recorded)
            broken(out, a, chain, e->id,
                   "its oldest entries were removed without a retention record (no audit.pruned "
                   "entry of the chain names the entry before this one)");
    }
    return 0;
}

static int chain_walk(struct app_audit_verdict *out, struct store_conn *c, struct arena *a,
                      const struct store_audit_head *h, struct usher_error *err)
{
    int64_t after = 0, last_id = 0;
    /* The hash of the entry before, NULL until the first entry. Only a verified hash (64
     * characters) is kept: the walk stops at the first that does not hold. */
    char prev_buf[CRYPTO_HASH_HEX + 1];
    const char *prev = NULL;
    struct arena batch; /* one batch of entries at a time */
    arena_init(&batch);
    int rc = 0;
    for (;;) {
        arena_dispose(&batch); /* the batch before, if any */
        struct store_audit_entry *rows = NULL;
        size_t n = 0;
        rc = store_audit_chain_read(&rows, &n, c, &batch, h->chain, after, VERIFY_BATCH, err);
        if (rc)
            goto done;
        for (size_t i = 0; out->is_intact && i < n; i++) {
            rc = entry_check(out, c, a, h->chain, &rows[i], prev, err);
            snprintf(prev_buf, sizeof(prev_buf), "%s", rows[i].hash ? rows[i].hash : "");
            prev = prev_buf;
            last_id = after = rows[i].id;
            out->entries++;
            if (rc)
                goto done;
        }
        if (!out->is_intact)
            goto done;
        if (n < VERIFY_BATCH)
            break;
    }
    if (!prev)
        broken(out, a, h->chain, h->last_id,
               "every entry of the chain was deleted (its head names entry %lld)",
               (long long)h->last_id);
    else if (last_id != h->last_id || strcmp(prev, h->last_hash) != 0)
        broken(out, a, h->chain, last_id,
               "the chain's last entries were removed (its head names entry %lld)",
               (long long)h->last_id);
done:
    arena_dispose(&batch);
    return rc;
}

/* The name of the chain with this ordinal, from the head after it or the registry, or NULL. */
static const char *missing_name(const struct store_audit_head *heads, size_t count,
                                const struct store_audit_registry *reg, int64_t ordinal)
{
    for (size_t i = 0; i < count; i++)
        if (heads[i].ordinal == ordinal + 1 && *heads[i].prev_chain)
            return heads[i].prev_chain;
    if (ordinal == reg->chains && *reg->last_chain)
        return reg->last_chain;
    return NULL;
}

/* Reports the chains the registry counts but no head stands for, naming the first it can.
 * heads are sorted by ordinal, each within 1..reg->chains and distinct. */
static void missing_report(struct app_audit_verdict *out, struct arena *a,
                           const struct store_audit_head *heads, size_t count,
                           const struct store_audit_registry *reg)
{
    int64_t first = 0;
    const char *name = NULL;
    size_t j = 0;
    for (int64_t k = 1; k <= reg->chains && !name; k++) {
        if (j < count && heads[j].ordinal == k) {
            j++;
            continue;
        }
        if (!first)
            first = k;
        name = missing_name(heads, count, reg, k);
    }
    broken(out, a, name ? name : arena_printf(a, "#%lld", (long long)first), 0,
           "the chain is missing: its head and entries were deleted (%lld of the registry's "
           "%lld chains are missing)",
           (long long)(reg->chains - (int64_t)count), (long long)reg->chains);
}

/* The heads against the registry: each signed, one per place 1..chains, none written after
 * the registry, and their entry counts adding up to the registry's. */
static void heads_check(struct app_audit_verdict *out, struct arena *a,
                        const struct store_audit_head *heads, size_t count,
                        const struct store_audit_registry *reg)
{
    int64_t total = 0;
    for (size_t i = 0; i < count; i++) {
        const struct store_audit_head *h = &heads[i];
        if (!app_audit_head_is_signed(h)) {
            broken(out, a, h->chain, 0,
                   "its head does not match its MAC (the head was rewritten, for instance after "
                   "the chain's newest entries were deleted)");
            return;
        }
        if (h->ordinal > reg->chains || h->seq > reg->entries) {
            broken(out, a, h->chain, 0,
                   "its head is newer than the registry of chains (the registry was put back to "
                   "an earlier state)");
            return;
        }
        if (h->ordinal < 1 || (i > 0 && heads[i - 1].ordinal == h->ordinal)) {
            broken(out, a, h->chain, 0, "its head holds place %lld, which another chain holds",
                   (long long)h->ordinal);
            return;
        }
        total += h->entries;
    }
    if ((int64_t)count < reg->chains) {
        missing_report(out, a, heads, count, reg);
        return;
    }
    if (total != reg->entries)
        broken(out, a, NULL, 0,
               "the registry counts %lld entries written but the chain heads %lld: a head was "
               "put back to an earlier state after entries were deleted",
               (long long)reg->entries, (long long)total);
}

int app_audit_verify_in_tx(struct app_audit_verdict *out, struct store_conn *c, struct arena *a,
                           struct usher_error *err)
{
    memset(out, 0, sizeof(*out));
    out->is_intact = true;
    struct store_audit_registry reg;
    bool has_reg = false;
    int64_t entries = 0, people = 0;
    struct store_audit_head *heads = NULL;
    size_t count = 0;
    const char *headless = NULL;
    int rc = store_audit_population(&entries, &people, c, a, err);
    if (rc)
        goto done;
    /* Every account and agency is created by a change that writes an entry, and retention
     * keeps each chain's newest: an empty log beside them was emptied. */
    if (entries == 0 && people > 0) {
        broken(out, a, NULL, 0,
               "the log is empty but the database holds %lld accounts and agencies, each "
               "created by an audited change (the log was deleted)",
               (long long)people);
        goto done;
    }
    rc = store_audit_registry_get(&reg, &has_reg, c, a, err);
    if (rc)
        goto done;
    if (!has_reg) {
        broken(out, a, NULL, 0, "the registry of chains (audit_registry) was deleted");
        goto done;
    }
    if (strcmp(reg.mac, APP_AUDIT_UNSEALED) == 0) {
        broken(out, a, NULL, 0,
               "the log was never sealed with the server secret (see the audit.seal_refused "
               "line in the log of the first start after the upgrade)");
        goto done;
    }
    if (!app_audit_registry_is_signed(&reg)) {
        broken(out, a, NULL, 0, "the registry of chains does not match its MAC (it was rewritten)");
        goto done;
    }
    rc = store_audit_heads(&heads, &count, c, a, err);
    if (rc)
        goto done;
    heads_check(out, a, heads, count, &reg);
    if (!out->is_intact)
        goto done;
    rc = store_audit_headless_chain(&headless, c, a, err);
    if (rc)
        goto done;
    if (headless) {
        broken(out, a, headless, 0,
               "it has entries but no head (its head was deleted, or the entries inserted)");
        goto done;
    }
    for (size_t i = 0; out->is_intact && i < count; i++) {
        rc = chain_walk(out, c, a, &heads[i], err);
        out->chains++;
        if (rc)
            goto done;
    }
done:
    return rc;
}

int app_audit_verify(struct app_audit_verdict *out, struct store *store, struct arena *a,
                     struct usher_error *err)
{
    struct store_conn *c = NULL;
    memset(out, 0, sizeof(*out));
    int rc = store_conn_get(store, &c, err);
    if (rc)
        goto done;
    /* One read transaction: a consistent snapshot while writers go on. */
    rc = store_begin(c, false, err);
    if (rc)
        goto done;
    rc = app_audit_verify_in_tx(out, c, a, err);
done:
    store_conn_put(c); /* rolls the read transaction back */
    return rc;
}
