/* What the index's own files share: its tables and the functions that change them under the
 * write lock.
 *
 * Every id is stored once. Each kind of thing (users, agencies, environments, bots, custom
 * roles) has a table that interns its ids into dense handles (0, 1, 2, ...) and keeps one
 * small record per handle; grants name their scope, and records name their agency, by handle.
 * A handle, once given, keeps its id until the index is loaded again: a removed environment or
 * a deleted user only loses its "present" flag (and a user its grants), so grants that still
 * name it stay meaningful and nothing dangles. */
#ifndef USHER_AUTHZ_AUTHZ_INT_H
#define USHER_AUTHZ_AUTHZ_INT_H

#include <pthread.h>
#include <stdatomic.h>

#include "authz/authz.h"

#define IX_NONE UINT32_MAX

/* Record flags. */
#define IX_PRESENT   1u  /* exists in the store: a user, or a scope a question may name */
#define IX_KNOWN     2u  /* places: agency (and a bot's environment) known, if only from a grant */
#define IX_ADMIN     4u  /* users: platform admin */
#define IX_ACTIVE    8u  /* users: status active */
#define IX_POOLED    16u /* users: the grant set lives in the load's pool, not on its own */
#define IX_SECOND    32u /* users: a second factor is on; agencies: members must have one */
#define IX_SUSPENDED 64u /* agencies: suspended, every question about it is denied */

_Static_assert(POLICY_ROLE_COUNT <= 16, "built-in roles fit a grant's 16-bit mask");
_Static_assert(POLICY_PERM_COUNT <= 32, "extra permissions fit a grant's 32-bit mask");

/* A chunk of interned strings or of grant sets built by a load. Chunks grow to 2 MiB, and
 * memory that large is mapped on its own and asked for huge pages: random reads across a
 * large index then miss the TLB far less. */
struct ix_chunk {
    struct ix_chunk *next;
    size_t used, size;
    _Alignas(8) char data[];
};

/* Interned ids of one kind: an open-addressing hash of handles, and each handle's string. */
struct ix_names {
    char **strs;     /* handle -> NUL-terminated id, in a chunk */
    uint32_t count;  /* handles given */
    uint32_t cap;    /* room in strs (and in the table's records) */
    uint64_t *slots; /* 0: empty; else (hash << 32) | (handle + 1) */
    size_t slot_count;
    struct ix_chunk *chunks;
};

/* A table: names plus one record of rec_size bytes per handle, zeroed when the handle is new. */
struct ix_table {
    struct ix_names names;
    unsigned char *recs;
    size_t rec_size;
};

/* One grant: 16 bytes. Its agency comes from its scope's record. */
struct ix_grant {
    uint32_t scope;  /* handle in the table of its kind */
    uint32_t extra;  /* extra permissions (POLICY_BIT(POLICY_PERM_*)) */
    uint32_t custom; /* index in its set's custom role list of its first custom role */
    uint16_t roles;  /* built-in roles (POLICY_BIT(POLICY_ROLE_*)) */
    uint8_t kind;    /* enum policy_scope */
    uint8_t reserved;
};

/* A user's grants, immutable once built: count grants, then custom_count role handles. Grant
 * i's custom roles run from grants[i].custom to grants[i + 1].custom (custom_count for the
 * last). When some grant ends (first_expiry is not IX_NEVER), the expiry of each grant follows,
 * 8-byte aligned (ix_set_expiries). */
struct ix_grant_set {
    uint32_t count;
    uint32_t custom_count;
    int64_t first_expiry; /* the earliest expiry of its grants (ms), IX_NEVER when none ends */
    struct ix_grant grants[];
};

#define IX_NEVER INT64_MAX

/* Bytes of a set of count grants and custom_count custom roles up to its expiries. */
static inline size_t ix_set_expiries_offset(size_t count, size_t custom_count)
{
    size_t bytes = sizeof(struct ix_grant_set) + count * sizeof(struct ix_grant) +
                   custom_count * sizeof(uint32_t);
    return (bytes + 7) & ~(size_t)7;
}

/* Grant i of set ends at ix_set_expiries(set)[i] (ms, IX_NEVER for never); only for a set whose
 * first_expiry is not IX_NEVER. */
static inline const int64_t *ix_set_expiries(const struct ix_grant_set *set)
{
    return (const int64_t *)(const void *)((const char *)set +
                                           ix_set_expiries_offset(set->count, set->custom_count));
}

/* Whether grant i of set has lapsed at now_ms: from its expiry on, a grant counts for
 * nothing. */
static inline bool ix_grant_lapsed(const struct ix_grant_set *set, uint32_t i, int64_t now_ms)
{
    return now_ms >= set->first_expiry && now_ms >= ix_set_expiries(set)[i];
}

struct ix_user {
    struct ix_grant_set *set; /* NULL: no grants */
    uint32_t flags;
};

/* An agency holds only flags. */
struct ix_agency {
    uint32_t flags;
};

/* An environment (agency) or a bot (agency and environment). */
struct ix_place {
    uint32_t agency; /* handle in agencies, IX_NONE while unknown */
    uint32_t env;    /* bots: handle in envs, IX_NONE while unknown */
    uint32_t flags;
};

struct ix_role {
    uint64_t perms;
    uint32_t agency;
    uint32_t flags;
};

/* Everything the index holds; built whole by a load, then changed in place. */
struct ix_data {
    struct ix_table users;    /* struct ix_user */
    struct ix_table agencies; /* struct ix_agency */
    struct ix_table envs;     /* struct ix_place */
    struct ix_table bots;     /* struct ix_place */
    struct ix_table roles;    /* struct ix_role */
    struct ix_chunk *sets;    /* grant sets built by the load */
};

/* How many times a re-read of a user, a place or an agency's roles is tried before its last read
 * is installed whatever happened meanwhile (authz_index_refresh_user). Two re-reads overlap
 * only for the length of a read, so four in a row are rare even under a busy change feed. */
#define IX_REFRESH_TRIES 4

struct authz_index {
    pthread_rwlock_t lock;
    struct ix_data d;
    int64_t cursor;    /* the change feed's position when the content was loaded */
    uint64_t installs; /* changes made to the content so far (under lock): a re-read that saw
                        * this move while it read may hold an older state than what was
                        * installed meanwhile, and reads again (authz_index_refresh_user) */
    _Atomic int64_t current_until_ns; /* answers are given until then (clock_mono_ns) */
};

void ix_data_init(struct ix_data *d);
void ix_data_dispose(struct ix_data *d);

/* The handle of id in t, or IX_NONE. */
uint32_t ix_find(const struct ix_table *t, const char *id);

/* The handle of id in t, interned (with a zeroed record) when new. */
uint32_t ix_intern(struct ix_table *t, const char *id);

/* The record of handle h (h < t->names.count). */
static inline void *ix_rec(const struct ix_table *t, uint32_t h)
{
    return t->recs + (size_t)h * t->rec_size;
}

/* The id of handle h. */
static inline const char *ix_name(const struct ix_table *t, uint32_t h)
{
    return t->names.strs[h];
}

/* A grant as read from the store, before its ids are interned. */
struct ix_grant_row {
    const char *agency_id;
    const char *scope_id;
    const char *bot_env_id; /* bot grants: the bot's environment, NULL when unknown */
    enum policy_scope kind;
    const char *roles;  /* stored role list: built-in role names and the agency's custom role ids */
    uint64_t extra;     /* extra permissions */
    int64_t expires_at; /* ms since the epoch from which the grant no longer counts; 0: never */
};

/* Builds a user's grant set from rows (interning their places and custom roles into d);
 * NULL for no rows. The set is allocated on its own, or in d's pool when is_pooled (the user's
 * record must then carry IX_POOLED). */
struct ix_grant_set *ix_grant_set_build(struct ix_data *d, const struct ix_grant_row *rows,
                                        size_t count, bool is_pooled);

/* Replaces a user's record (flags 0 removes the user); frees the previous set unless it was
 * pooled. */
void ix_user_set(struct ix_data *d, const char *user_id, uint32_t flags, struct ix_grant_set *set);

/* Marks an agency present or gone. */
void ix_agency_set(struct ix_data *d, const char *agency_id, bool is_present);

/* Sets whether an agency requires a second factor of its members (interning it when new). */
void ix_agency_second_factor_set(struct ix_data *d, const char *agency_id, bool required);

/* Sets whether an agency is suspended (interning it when new). */
void ix_agency_suspended_set(struct ix_data *d, const char *agency_id, bool suspended);

/* Records an environment of agency_id, or marks it gone when agency_id is NULL. */
void ix_env_set(struct ix_data *d, const char *env_id, const char *agency_id);

/* Records a bot of env_id in agency_id, or marks it gone when agency_id is NULL. */
void ix_bot_set(struct ix_data *d, const char *bot_id, const char *env_id, const char *agency_id);

/* Records custom role role_id of agency_id (or marks it gone when is_present is false). The
 * roles table keys a custom role by agency and id, as ids are unique only within an agency. */
void ix_role_set(struct ix_data *d, const char *role_id, const char *agency_id, uint64_t perms,
                 bool is_present);

/* Marks every custom role of agency_id gone. */
void ix_roles_drop_agency(struct ix_data *d, const char *agency_id);

#endif
