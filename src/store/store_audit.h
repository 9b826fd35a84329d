/* Audit rows: written in the caller's transaction, never updated or deleted by the API, and
 * chained per agency (see sql/<dialect>/0005_audit_chain.sql). */
#ifndef USHER_STORE_STORE_AUDIT_H
#define USHER_STORE_STORE_AUDIT_H

#include "store/store.h"

struct store_audit_entry {
    int64_t id; /* set by the store */
    int64_t at;
    const char *agency_id; /* NULL for platform-level events */
    const char *actor_id;
    const char *impersonator_id;
    const char *action; /* "session.created", "agency.created", ... */
    const char *subject_user_id;
    const char *scope_type; /* "agency", "environment", "bot" or NULL */
    const char *scope_id;
    const char *source_ip;
    const char *user_agent;
    const char *request_id;
    const char *details_json; /* a JSON object, never holding a secret; NULL means {} */
    const char *chain;        /* "agency:<id>" or "platform" */
    const char *prev_hash;    /* the chain's previous hash, "" for the first entry */
    const char *hash;         /* this entry's hash */
};

/* The last hash of chain ("" when the chain is empty). Must run in the write transaction that
 * then inserts the entry, so no other writer extends the chain in between. */
int store_audit_chain_head(const char **out_hash, struct store_conn *c, struct arena *a,
                           const char *chain, struct usher_error *err);

/* Inserts one entry (chain, prev_hash and hash set by the caller), moves the chain's head to
 * it, and sets e->id. */
int store_audit_insert(struct store_conn *c, struct arena *a, struct store_audit_entry *e,
                       struct usher_error *err);

/* Entries of one chain after id `after`, in id order, at most limit. *out is an arena array. */
int store_audit_chain_read(struct store_audit_entry **out, size_t *count, struct store_conn *c,
                           struct arena *a, const char *chain, int64_t after, int limit,
                           struct usher_error *err);

/* Every chain name with its head (for verification). */
int store_audit_chains(struct store_rows *out, struct store_conn *c, struct arena *a,
                       struct usher_error *err);

/* Deletes entries older than before (Unix ms) except each chain's newest; *out_deleted gets
 * how many. Each chain stays verifiable from its oldest remaining entry. */
int store_audit_prune(int64_t *out_deleted, struct store_conn *c, struct arena *a, int64_t before,
                      struct usher_error *err);

#endif
