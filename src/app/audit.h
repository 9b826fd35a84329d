/* Recording changes in the audit log, inside the change's own transaction (if the audit row
 * cannot be written, the change fails with it), and proving the log whole: verification,
 * retention that leaves a signed record, and signed checkpoints an operator keeps elsewhere.
 * See docs/internals/audit.md. */
#ifndef USHER_APP_AUDIT_H
#define USHER_APP_AUDIT_H

#include <jansson.h>

#include "app/app.h"
#include "base/crypto.h"
#include "store/store.h"

struct app_audit_event {
    const char *agency_id; /* NULL for platform-level events */
    const char *action;
    const char *subject_user_id;
    const char *scope_type;
    const char *scope_id;
    json_t *details; /* stolen; may be NULL; must never hold a password, token or link */
};

/* Writes one row for actor on conn, inside the caller's transaction (or in one of its own when
 * conn has none), extending the agency's hash chain, its signed head and the registry. The
 * names and addresses of the actor, impersonator and subject are read (in one statement) and
 * recorded in the entry's personal row; an "impersonation.*" entry whose details carry a
 * "session_id" is filed under that view-as session. A head
 * or registry whose MAC does not hold is never signed again: the damage stays evident. Errors
 * are the store's. */
int app_audit_record(struct store_conn *c, struct arena *a, const struct app_actor *actor,
                     const struct app_audit_event *ev, struct usher_error *err);

/* Sets the server secret, once at start, before migrating: entries are HMACed under it, and
 * the keys of the heads' MACs and of checkpoint signatures are derived from it. */
void app_audit_key_set(const unsigned char *key, size_t len);

/* The hash of an entry over its fields and prev_hash, as hex, in out: for format 1 over every
 * field (details with their personal values); for format 2 over a marker naming the format,
 * the fields, the personal-free details and personal_digest. */
struct store_audit_entry;
void app_audit_entry_hash(char out[CRYPTO_HASH_HEX + 1], const struct store_audit_entry *e);

/* The digest of a personal row's data (its stored JSON text) as hex: BLAKE2b keyed with a key
 * derived from the server secret, so the digest alone confirms no guess of an address. */
void app_audit_personal_digest(char out[CRYPTO_HASH_HEX + 1], const char *data);

/* Whether a details key carries personal data: "email", "first_name", "last_name", or a key
 * ending in "_email", "_first_name" or "_last_name". Audit details must name personal values
 * by such keys, so that erasure can remove them. */
bool app_audit_personal_key(const char *key);

/* Moves the personal keys of details (kept by the caller) into e: personal_data (the compact
 * JSON of those keys), personal_email (the "email" value, else the first "..._email" one),
 * personal_digest and personal_search (the string values, ASCII letters lower-cased, joined by
 * spaces); all four NULL when details hold none. Strings in a. */
void app_audit_personal_split(struct store_audit_entry *e, struct arena *a, json_t *details);

/* Converts every format-1 entry to format 2 (see docs/internals/audit.md, "Format 2"): verifies
 * the whole log first and, when intact, moves the personal values of each entry to its personal
 * row, rehashes every chain that held one and relinks it, signs the heads again and appends an
 * "audit.reformatted" entry to the platform chain, in one transaction. A broken log is left as
 * it is, with the log line "audit.reformat_refused". Needs app_audit_key_set first. Runs at
 * every start after migrating; does nothing when no format-1 entry is left. *out_converted
 * (may be NULL) gets how many entries were converted. Errors are the store's. */
int app_audit_reformat(int64_t *out_converted, struct store *store, struct usher_error *err);

/* app_audit_reformat as start runs it: a failure is logged ("audit.reformat_failed") and the
 * server starts anyway, with the format-1 entries as they were. */
void app_audit_reformat_at_start(struct store *store);

/* The migration hook (for store_migrate_hooked): when migration 0007 has just run, signs the
 * existing heads and the registry in the same transaction. It refuses (and logs
 * "audit.seal_refused", leaving the registry unsealed, which verification reports) when the
 * log shows it was sealed before, or is empty while the database holds accounts or agencies.
 * Needs app_audit_key_set first. */
extern const struct store_migrate_hook app_audit_migrate_hook;

/* What verification found. */
struct app_audit_verdict {
    int64_t entries; /* entries checked */
    int64_t chains;  /* chains checked */
    bool is_intact;
    const char *chain;         /* the first broken chain, arena-owned; NULL when the fault is the
                                  log's as a whole (its registry) */
    int64_t broken_id;         /* the first entry whose link or hash does not hold (0: none in
                                  particular) */
    const char *reason;        /* why, arena-owned */
    int64_t checkpoint_at;     /* with a checkpoint: when it was made (Unix ms) */
    int64_t checkpoint_chains; /* with a checkpoint: its chains found in the log */
};

/* Checks the registry's and every head's MAC, that no chain is missing or headless and no head
 * was put back, then walks every chain from its first entry: each link and hash, a retention
 * record for a chain whose oldest entries are gone, and that the chain ends at its head. An
 * empty log is broken when the database holds accounts or agencies. Errors are the store's. */
int app_audit_verify(struct app_audit_verdict *out, struct store *store, struct arena *a,
                     struct usher_error *err);

/* Applies the retention setting: in each chain, deletes the oldest entries older than
 * retention_days (never the chain's newest; nothing when 0) and appends an "audit.pruned"
 * entry naming the id and hash of the last one deleted, which verification accepts as the
 * chain's new start. One transaction per chain. *out_deleted (may be NULL) gets the total. */
int app_audit_prune(int64_t *out_deleted, struct store *store, int64_t retention_days,
                    struct usher_error *err);

/* Verifies the log and, when intact, writes a checkpoint of it into *out_json (malloc'ed JSON
 * text, the caller frees; NULL when the log is broken, with *v saying why): every chain's
 * head (chain, last_id, last_hash, entries), the registry's entry count, the time, the public
 * key and an Ed25519 signature under a key derived from the server secret. */
int app_audit_checkpoint_make(char **out_json, struct app_audit_verdict *v, struct store *store,
                              struct arena *a, struct usher_error *err);

/* Verifies the log and that it extends the checkpoint in text (len bytes): every chain of the
 * checkpoint is still there with the checkpoint's newest entry at the same id with the same
 * hash (or pruned by retention since) and at least as many entries. A checkpoint that does not
 * parse, or whose signature does not hold under this server's key, is USHER_EINVAL. */
int app_audit_checkpoint_check(struct app_audit_verdict *out, struct store *store, struct arena *a,
                               const char *text, size_t len, struct usher_error *err);

#endif
