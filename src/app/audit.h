/* Recording changes in the audit log, inside the change's own transaction: if the audit row
 * cannot be written, the change fails with it. */
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
 * conn has none), extending the agency's hash chain. */
int app_audit_record(struct store_conn *c, struct arena *a, const struct app_actor *actor,
                     const struct app_audit_event *ev, struct usher_error *err);

/* Sets the key of the chain's HMAC (the server secret), once at start. */
void app_audit_key_set(const unsigned char *key, size_t len);

/* The hash of an entry over its fields and prev_hash, as hex, in out. */
struct store_audit_entry;
void app_audit_entry_hash(char out[CRYPTO_HASH_HEX + 1], const struct store_audit_entry *e);

/* What verification found. */
struct app_audit_verdict {
    int64_t entries; /* entries checked */
    int64_t chains;  /* chains checked */
    bool is_intact;
    const char *chain;  /* the first broken chain, arena-owned */
    int64_t broken_id;  /* the first entry whose link or hash does not hold (0: the head) */
    const char *reason; /* why, arena-owned */
};

/* Walks every chain from its first entry and checks each link and hash, and that the chain's
 * head names its last entry. */
int app_audit_verify(struct app_audit_verdict *out, struct store *store, struct arena *a,
                     struct usher_error *err);

/* Applies the retention setting: deletes entries older than retention_days (nothing when 0) and
 * records an "audit.pruned" entry with the count. *out_deleted may be NULL. */
int app_audit_prune(int64_t *out_deleted, struct store *store, int64_t retention_days,
                    struct usher_error *err);

#endif
