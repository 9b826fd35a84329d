/* Audit rows: written in the caller's transaction, never updated by the API, and chained per
 * agency (see sql/<dialect>/0005_audit_chain.sql), with a signed head per chain and one signed
 * registry row for the whole log (0007_audit_heads.sql). Only retention deletes rows, oldest
 * first. Strings live in the caller's arena; errors are those of store.h. */
#ifndef USHER_STORE_STORE_AUDIT_H
#define USHER_STORE_STORE_AUDIT_H

#include <stdbool.h>

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
    /* 1: personal values inside details and so inside the hash (entries written before
     * migration 0016); 2: personal values in audit_personal, their digest in the hash. 0 on an
     * entry being written means 2. */
    int64_t format;
    const char *personal_digest; /* format 2: keyed digest of personal_data; NULL: none */
    const char *personal_data;   /* JSON object of the personal values; NULL: none or erased */
    const char *personal_email;  /* the address the entry concerns (indexed), or NULL */
    /* The personal values lower-cased and joined by spaces, what a person search matches
     * (derived from personal_data, so not in the hash); NULL with personal_data. */
    const char *personal_search;
    /* An "impersonation.*" entry: the view-as session it belongs to, copied from the details'
     * "session_id" for lookup (the details are what the hash covers); NULL otherwise. */
    const char *view_session;
    bool has_personal;          /* read back: the entry has an audit_personal row */
    int64_t personal_erased_at; /* read back: when that row was erased, 0 if it was not */
    bool is_actor_gone;         /* read by store_audit_list: the actor's account was erased */
    bool is_subject_gone;       /* ... the subject's */
    bool is_impersonator_gone;  /* ... the impersonator's */
};

/* One chain's head: where the chain ends, how long it is, and its MAC. */
struct store_audit_head {
    const char *chain;
    int64_t ordinal;        /* 1 for the first chain created, 2 for the next, ... */
    const char *prev_chain; /* the chain created just before this one, "" for the first */
    int64_t entries;        /* entries ever written to the chain, pruned ones included */
    int64_t seq;            /* the registry's entry count right after the chain's last write */
    int64_t last_id;
    const char *last_hash;
    const char *mac;
};

/* The registry: the log as a whole. */
struct store_audit_registry {
    int64_t chains;         /* chains ever created */
    int64_t entries;        /* entries ever written to any chain */
    const char *last_chain; /* the chain created last, "" before the first */
    const char *mac;        /* "unsealed" until usher has signed it once */
};

/* Reads chain's head into *out; *found is false (and *out zeroed) when it has none. */
int store_audit_head_get(struct store_audit_head *out, bool *found, struct store_conn *c,
                         struct arena *a, const char *chain, struct usher_error *err);

/* The registry and chain's head in one read (what every write needs): *has_reg and *has_head
 * say which exist. */
int store_audit_tip_get(struct store_audit_registry *reg, bool *has_reg,
                        struct store_audit_head *head, bool *has_head, struct store_conn *c,
                        struct arena *a, const char *chain, struct usher_error *err);

/* Inserts or replaces the head of h->chain with every field of h. */
int store_audit_head_put(struct store_conn *c, struct arena *a, const struct store_audit_head *h,
                         struct usher_error *err);

/* Every head, by ordinal then name; *out is an arena array of *count heads. */
int store_audit_heads(struct store_audit_head **out, size_t *count, struct store_conn *c,
                      struct arena *a, struct usher_error *err);

/* Reads the registry row; *found is false when it is missing. */
int store_audit_registry_get(struct store_audit_registry *out, bool *found, struct store_conn *c,
                             struct arena *a, struct usher_error *err);

/* Overwrites the registry row (a missing row stays missing). */
int store_audit_registry_put(struct store_conn *c, struct arena *a,
                             const struct store_audit_registry *r, struct usher_error *err);

/* Inserts one entry (chain, prev_hash and hash set by the caller) and sets e->id. The caller
 * moves the chain's head in the same transaction. */
int store_audit_insert(struct store_conn *c, struct arena *a, struct store_audit_entry *e,
                       struct usher_error *err);

/* Entries of one chain after id `after`, in id order, at most limit. *out is an arena array. */
int store_audit_chain_read(struct store_audit_entry **out, size_t *count, struct store_conn *c,
                           struct arena *a, const char *chain, int64_t after, int limit,
                           struct usher_error *err);

/* The entry with this id; *found is false when there is none. */
int store_audit_entry_get(struct store_audit_entry *out, bool *found, struct store_conn *c,
                          struct arena *a, int64_t id, struct usher_error *err);

/* The newest entry of chain with this action; *found is false when there is none. */
int store_audit_newest_action(struct store_audit_entry *out, bool *found, struct store_conn *c,
                              struct arena *a, const char *chain, const char *action,
                              struct usher_error *err);

/* Whether any entry of any chain has this action (and, when details_like is not NULL, details
 * matching that LIKE pattern). Reads the whole log: for rare checks only. */
int store_audit_action_exists(bool *out, struct store_conn *c, struct arena *a, const char *action,
                              const char *details_like, struct usher_error *err);

/* The first chain name (in name order) that has entries but no head, or NULL. */
int store_audit_headless_chain(const char **out, struct store_conn *c, struct arena *a,
                               struct usher_error *err);

/* How many entries the log holds, and how many accounts and agencies the database holds. */
int store_audit_population(int64_t *out_entries, int64_t *out_people, struct store_conn *c,
                           struct arena *a, struct usher_error *err);

/* Where retention may cut chain: its newest entry older than before (Unix ms) such that every
 * entry up to it is older too. *found is false when nothing is that old. out->id and
 * out->hash are set. */
int store_audit_prune_point(struct store_audit_entry *out, bool *found, struct store_conn *c,
                            struct arena *a, const char *chain, int64_t before,
                            struct usher_error *err);

/* Deletes the entries of chain up to and including through_id; *out_deleted gets how many. */
int store_audit_chain_cut(int64_t *out_deleted, struct store_conn *c, struct arena *a,
                          const char *chain, int64_t through_id, struct usher_error *err);

/* For every head, the number of entries its chain holds now, its first entry's id and
 * previous-hash (0 and "" when it holds none), by first id: what sealing a log written before
 * migration 0007 needs. */
struct store_audit_legacy_head {
    const char *chain;
    int64_t last_id;
    const char *last_hash;
    int64_t rows;
    int64_t first_id;
    const char *first_prev_hash;
};
int store_audit_legacy_heads(struct store_audit_legacy_head **out, size_t *count,
                             struct store_conn *c, struct arena *a, struct usher_error *err);

/* How many entries are still of format 1. */
int store_audit_format1_count(int64_t *out, struct store_conn *c, struct arena *a,
                              struct usher_error *err);

/* Rewrites entry e->id as converted: its format, details, personal_digest, prev_hash and hash,
 * and inserts its personal row when e->personal_data is set (only for an entry that has none
 * yet). Inside the caller's write transaction. */
int store_audit_reformat_put(struct store_conn *c, struct arena *a,
                             const struct store_audit_entry *e, struct usher_error *err);

/* Erases the personal rows of every entry user_id acted in (also while viewing as someone) or
 * was the subject of, and of every entry concerning email: data, email and search become NULL
 * and erased_at is set to now. *out_erased (may be NULL) gets how many rows. */
int store_audit_personal_erase(int64_t *out_erased, struct store_conn *c, struct arena *a,
                               const char *user_id, const char *email, int64_t now,
                               struct usher_error *err);

/* The name and address of an account, as an audit entry records it. */
struct store_audit_person {
    const char *id;
    const char *email;
    const char *first_name;
    const char *last_name;
};

/* Reads, in one statement, the accounts among ids[0..count) (NULL entries are skipped, at most
 * 3): out[i] gets ids[i]'s name and address, or all NULL when ids[i] is NULL or has no account
 * (erased). */
#define STORE_AUDIT_PEOPLE_MAX 3
int store_audit_people_get(struct store_audit_person *out, struct store_conn *c, struct arena *a,
                           const char *const *ids, size_t count, struct usher_error *err);

#endif
