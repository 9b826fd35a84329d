/* What the index's own files share: its structures and locked helpers. */
#ifndef USHER_AUTHZ_AUTHZ_INT_H
#define USHER_AUTHZ_AUTHZ_INT_H

#include <pthread.h>

#include "authz/authz.h"
#include "base/hmap.h"

struct ix_grant {
    char *agency_id;
    enum app_scope scope;
    char *scope_id;
    char *env_id;   /* bot grants: the bot's environment */
    uint64_t roles; /* built-in roles */
    uint64_t extra; /* extra permissions */
    char **custom;  /* custom role ids, resolved at check time */
    size_t custom_count;
};

struct ix_user {
    bool is_admin;
    bool is_active;
    struct ix_grant *grants;
    size_t count;
};

/* An environment (agency) or a bot (agency and environment). */
struct ix_place {
    char *agency_id;
    char *env_id;
};

struct ix_role {
    char *agency_id;
    uint64_t perms;
};

struct authz_index {
    pthread_rwlock_t lock;
    struct hmap users;    /* id -> struct ix_user */
    struct hmap agencies; /* id -> presence */
    struct hmap envs;     /* id -> struct ix_place */
    struct hmap bots;     /* id -> struct ix_place */
    struct hmap roles;    /* custom role id -> struct ix_role */
};

void ix_user_free(struct ix_user *u);
void ix_clear(struct authz_index *ix);
void ix_put_agency_locked(struct authz_index *ix, const char *agency_id);
void ix_put_place_locked(struct authz_index *ix, struct hmap *map, const char *id,
                         const char *agency_id, const char *env_id);
void ix_put_role_locked(struct authz_index *ix, const char *role_id, const char *agency_id,
                        uint64_t permissions);
void ix_remove_place_locked(struct authz_index *ix, struct hmap *map, const char *id);
/* Forgets every custom role of agency_id. */
void ix_remove_agency_roles_locked(struct authz_index *ix, const char *agency_id);
/* Replaces (u non-NULL) or removes (u NULL) a user; frees the previous entry. */
void ix_put_user_locked(struct authz_index *ix, const char *user_id, struct ix_user *u);

#endif
