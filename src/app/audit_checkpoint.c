/* Signed checkpoints of the audit log, in the manner of Certificate Transparency's signed tree
 * heads: every chain's head at one moment, signed with an Ed25519 key derived from the server
 * secret. Kept elsewhere, a checkpoint shows a later rollback of the whole database, which the
 * log by itself cannot: an older copy is internally consistent. */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "app/audit_int.h"
#include "base/clock.h"
#include "base/json.h"

#define CHECKPOINT_FORMAT "usher-audit-checkpoint-1"

struct checkpoint {
    int64_t at;
    int64_t entries;
    const char *public_key; /* base64url */
    const char *signature;  /* base64url */
    struct store_audit_head *heads;
    size_t count;
};

/* The signed bytes: a compact JSON array of every field but the signature, so the file's own
 * layout (indentation, key order) may change without breaking it. malloc'ed; caller frees. */
static char *checkpoint_message(const struct checkpoint *cp)
{
    json_t *chains = json_array();
    for (size_t i = 0; i < cp->count; i++) {
        const struct store_audit_head *h = &cp->heads[i];
        json_array_append_new(chains, json_pack("[s, I, s, I]", h->chain, (json_int_t)h->last_id,
                                                h->last_hash, (json_int_t)h->entries));
    }
    json_t *all = json_pack("[s, I, I, s, o]", CHECKPOINT_FORMAT, (json_int_t)cp->at,
                            (json_int_t)cp->entries, cp->public_key, chains);
    char *text = json_dump_compact(all);
    json_decref(all);
    return text;
}

static char *b64(struct arena *a, const unsigned char *bin, size_t len)
{
    size_t size = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    char *out = arena_alloc(a, size);
    sodium_bin2base64(out, size, bin, len, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    return out;
}

static const char *public_key_b64(struct arena *a)
{
    unsigned char pk[APP_AUDIT_PUBLIC_KEY_BYTES];
    app_audit_public_key(pk);
    return b64(a, pk, sizeof(pk));
}

static json_t *checkpoint_json(const struct checkpoint *cp)
{
    json_t *chains = json_array();
    for (size_t i = 0; i < cp->count; i++) {
        const struct store_audit_head *h = &cp->heads[i];
        json_array_append_new(chains, json_pack("{s:s, s:I, s:s, s:I}", "chain", h->chain,
                                                "last_id", (json_int_t)h->last_id, "last_hash",
                                                h->last_hash, "entries", (json_int_t)h->entries));
    }
    return json_pack("{s:s, s:I, s:I, s:o, s:s, s:s}", "format", CHECKPOINT_FORMAT, "at",
                     (json_int_t)cp->at, "entries", (json_int_t)cp->entries, "chains", chains,
                     "public_key", cp->public_key, "signature", cp->signature);
}

/* Verifies the log and, when intact, reads what a checkpoint of it signs (the registry's entry
 * count and every chain's head) in the same read transaction: one snapshot. */
static int checkpoint_read(struct checkpoint *cp, struct app_audit_verdict *v, struct store *store,
                           struct arena *a, struct usher_error *err)
{
    struct store_conn *c = NULL;
    struct store_audit_registry reg;
    bool has_reg = false;
    int rc = store_conn_get(store, &c, err);
    if (rc)
        goto done;
    rc = store_begin(c, false, err);
    if (rc)
        goto done;
    rc = app_audit_verify_in_tx(v, c, a, err);
    if (rc || !v->is_intact)
        goto done;
    rc = store_audit_registry_get(&reg, &has_reg, c, a, err);
    if (rc)
        goto done;
    rc = store_audit_heads(&cp->heads, &cp->count, c, a, err);
    if (rc)
        goto done;
    cp->entries = reg.entries;
done:
    store_conn_put(c); /* rolls the read transaction back */
    return rc;
}

int app_audit_checkpoint_make(char **out_json, struct app_audit_verdict *v, struct store *store,
                              struct arena *a, struct usher_error *err)
{
    struct checkpoint cp = {0};
    *out_json = NULL;
    int rc = checkpoint_read(&cp, v, store, a, err);
    if (rc || !v->is_intact)
        return rc;
    cp.at = clock_now_ms();
    cp.public_key = public_key_b64(a);
    char *message = checkpoint_message(&cp);
    unsigned char sig[APP_AUDIT_SIGNATURE_BYTES];
    app_audit_sign(sig, (const unsigned char *)message, strlen(message));
    free(message);
    cp.signature = b64(a, sig, sizeof(sig));
    json_t *doc = checkpoint_json(&cp);
    *out_json = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(doc);
    return 0;
}

static int bad(struct usher_error *err, const char *field, const char *why)
{
    return usher_error_set(err, USHER_EINVAL, NULL, field, "checkpoint: %s", why);
}

static int int_member(int64_t *out, json_t *obj, const char *key, struct usher_error *err)
{
    json_t *v = json_object_get(obj, key);
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return usher_error_set(err, USHER_EINVAL, NULL, key,
                               "checkpoint: %s must be a whole number", key);
    *out = json_integer_value(v);
    return 0;
}

static int str_member(const char **out, struct arena *a, json_t *obj, const char *key,
                      struct usher_error *err)
{
    json_t *v = json_object_get(obj, key);
    if (!json_is_string(v))
        return usher_error_set(err, USHER_EINVAL, NULL, key, "checkpoint: %s must be a string",
                               key);
    *out = arena_strdup(a, json_string_value(v));
    return 0;
}

static int chains_parse(struct checkpoint *cp, struct arena *a, json_t *chains,
                        struct usher_error *err)
{
    static const char *const fields[] = {"chain", "last_id", "last_hash", "entries", NULL};
    if (!json_is_array(chains))
        return bad(err, "chains", "chains must be an array");
    cp->count = json_array_size(chains);
    cp->heads = arena_alloc(a, (cp->count + 1) * sizeof(*cp->heads));
    for (size_t i = 0; i < cp->count; i++) {
        json_t *h = json_array_get(chains, i);
        struct store_audit_head *out = &cp->heads[i];
        if (!json_is_object(h))
            return bad(err, "chains", "each chain must be an object");
        int rc = json_fields_check(h, fields, "chains", err);
        if (rc)
            return rc;
        rc = str_member(&out->chain, a, h, "chain", err);
        if (rc)
            return rc;
        rc = int_member(&out->last_id, h, "last_id", err);
        if (rc)
            return rc;
        rc = str_member(&out->last_hash, a, h, "last_hash", err);
        if (rc)
            return rc;
        rc = int_member(&out->entries, h, "entries", err);
        if (rc)
            return rc;
    }
    return 0;
}

static int checkpoint_parse(struct checkpoint *cp, struct arena *a, const char *text, size_t len,
                            struct usher_error *err)
{
    static const char *const fields[] = {"format",     "at",        "entries", "chains",
                                         "public_key", "signature", NULL};
    json_t *doc = NULL;
    const char *format = NULL;
    memset(cp, 0, sizeof(*cp));
    int rc = json_body_parse(&doc, text, len, err);
    if (rc) {
        rc = usher_error_set(err, USHER_EINVAL, NULL, NULL, "checkpoint: not a JSON object");
        goto done;
    }
    rc = json_fields_check(doc, fields, NULL, err);
    if (rc)
        goto done;
    rc = str_member(&format, a, doc, "format", err);
    if (rc)
        goto done;
    if (strcmp(format, CHECKPOINT_FORMAT) != 0) {
        rc = bad(err, "format", "not an usher audit checkpoint (format " CHECKPOINT_FORMAT ")");
        goto done;
    }
    rc = int_member(&cp->at, doc, "at", err);
    if (rc)
        goto done;
    rc = int_member(&cp->entries, doc, "entries", err);
    if (rc)
        goto done;
    rc = str_member(&cp->public_key, a, doc, "public_key", err);
    if (rc)
        goto done;
    rc = str_member(&cp->signature, a, doc, "signature", err);
    if (rc)
        goto done;
    rc = chains_parse(cp, a, json_object_get(doc, "chains"), err);
done:
    json_decref(doc);
    return rc;
}

/* Whether the checkpoint was signed with this server's key and is unchanged since. */
static int signature_check(const struct checkpoint *cp, struct arena *a, struct usher_error *err)
{
    if (strcmp(cp->public_key, public_key_b64(a)) != 0)
        return bad(err, "public_key",
                   "made by a server with another secret (its public key is not this one's)");
    unsigned char sig[APP_AUDIT_SIGNATURE_BYTES];
    size_t sig_len = 0;
    if (sodium_base642bin(sig, sizeof(sig), cp->signature, strlen(cp->signature), NULL, &sig_len,
                          NULL, sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
        sig_len != sizeof(sig))
        return bad(err, "signature", "the signature is not 64 bytes of base64url");
    unsigned char pk[APP_AUDIT_PUBLIC_KEY_BYTES];
    app_audit_public_key(pk);
    char *message = checkpoint_message(cp);
    int ok = message && crypto_sign_verify_detached(sig, (const unsigned char *)message,
                                                    strlen(message), pk) == 0;
    free(message);
    if (!ok)
        return bad(err, "signature",
                   "its signature does not match its contents (the checkpoint was edited)");
    return 0;
}

/* One chain of the checkpoint against the verified log. */
static int chain_extends(struct app_audit_verdict *out, struct store_conn *c, struct arena *a,
                         const struct store_audit_head *was, struct usher_error *err)
{
    struct store_audit_head now;
    struct store_audit_entry e;
    bool has_head = false, found = false;
    int rc = store_audit_head_get(&now, &has_head, c, a, was->chain, err);
    if (rc)
        return rc;
    if (has_head) {
        rc = store_audit_entry_get(&e, &found, c, a, was->last_id, err);
        if (rc)
            return rc;
    }
    const char *why = NULL;
    if (!has_head)
        why = "the chain is in the checkpoint but not in the log (the database was rolled back "
              "to before it began, or the chain deleted)";
    else if (now.entries < was->entries)
        why = "the chain holds fewer entries than at the checkpoint (the database was rolled "
              "back)";
    else if (found && (!e.chain || strcmp(e.chain, was->chain) != 0 || !e.hash ||
                       strcmp(e.hash, was->last_hash) != 0))
        why = "the entry differs from the checkpoint's (the log was rolled back and rewritten)";
    else if (!found) {
        /* Retention may have pruned it since: then the chain now starts after it. */
        struct store_audit_entry *first = NULL;
        size_t n = 0;
        rc = store_audit_chain_read(&first, &n, c, a, was->chain, 0, 1, err);
        if (rc)
            return rc;
        if (n == 0 || first[0].id <= was->last_id)
            why = "the checkpoint's newest entry of the chain is missing (the database was "
                  "rolled back to an earlier state)";
    }
    if (why) {
        out->is_intact = false;
        out->chain = arena_strdup(a, was->chain);
        out->broken_id = was->last_id;
        out->reason = why;
    } else {
        out->checkpoint_chains++;
    }
    return 0;
}

int app_audit_checkpoint_check(struct app_audit_verdict *out, struct store *store, struct arena *a,
                               const char *text, size_t len, struct usher_error *err)
{
    struct checkpoint cp;
    struct store_conn *c = NULL;
    struct store_audit_registry reg;
    bool has_reg = false;
    memset(out, 0, sizeof(*out));
    int rc = checkpoint_parse(&cp, a, text, len, err);
    if (rc)
        goto done;
    rc = signature_check(&cp, a, err);
    if (rc)
        goto done;
    rc = store_conn_get(store, &c, err);
    if (rc)
        goto done;
    rc = store_begin(c, false, err);
    if (rc)
        goto done;
    rc = app_audit_verify_in_tx(out, c, a, err);
    out->checkpoint_at = cp.at; /* after verification, which starts the verdict afresh */
    if (rc)
        goto done;
    for (size_t i = 0; out->is_intact && i < cp.count; i++) {
        rc = chain_extends(out, c, a, &cp.heads[i], err);
        if (rc)
            goto done;
    }
    if (!out->is_intact)
        goto done;
    rc = store_audit_registry_get(&reg, &has_reg, c, a, err);
    if (rc)
        goto done;
    if (!has_reg || reg.entries < cp.entries) {
        out->is_intact = false;
        out->reason = "the log has fewer entries than at the checkpoint (the database was rolled "
                      "back)";
    }
done:
    store_conn_put(c); /* rolls the read transaction back */
    return rc;
}
