/* Erasing an account: the agencies where its owner is the only one, the agencies it belongs
 * to, and the removal of the account with every row that names its address. Runs in the
 * caller's write transaction; strings live in the arena; errors are those of store.h. */
#ifndef USHER_STORE_STORE_ERASURE_H
#define USHER_STORE_STORE_ERASURE_H

#include <stdint.h>

#include "store/store.h"

/* The first agency (by id) in which user_id holds the owner role at agency scope and no other
 * active account does, or NULL in *out. Only grants in force at now count. */
int store_erasure_sole_owner(const char **out, struct store_conn *c, struct arena *a,
                             const char *user_id, int64_t now, struct usher_error *err);

/* The ids of the agencies user_id is a member of, by id: an arena array of *count. */
int store_erasure_agencies(const char ***out, size_t *count, struct store_conn *c, struct arena *a,
                           const char *user_id, struct usher_error *err);

/* What the removal took. */
struct store_erasure_counts {
    int64_t grants;          /* the account's grants, in every agency */
    int64_t invitations;     /* invitations to the address, of any status */
    int64_t password_resets; /* password-reset requests for the address or the account */
    int64_t messages;        /* mail outbox rows to the address, sent or not */
};

/* Deletes the invitations, password-reset requests and outbox messages of email, then the
 * account user_id (its sessions, memberships, grants and the rows hanging off it go with it by
 * ON DELETE CASCADE; what it created keeps a NULL creator). */
int store_erasure_remove(struct store_erasure_counts *out, struct store_conn *c, struct arena *a,
                         const char *user_id, const char *email, struct usher_error *err);

#endif
