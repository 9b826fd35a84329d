/* Candidates for incoming-chat notifications (rule 3 in docs/rules.md): active users whose own
 * grant on an environment names the agent or operator role. Strings live in the arena; errors are
 * those of store.h. */
#ifndef USHER_STORE_STORE_RECIPIENT_H
#define USHER_STORE_STORE_RECIPIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"
#include "store/store_tenancy.h"

struct store_recipient {
    const char *id;
    const char *email;
    const char *first_name;
    const char *last_name;
    int64_t created_at; /* the user's; the list's order */
    const char *roles;  /* the environment grant's stored role list */
};

/* Lists up to limit active users, ordered by (created_at, id) after *after (may be NULL), whose
 * grant on environment_id (not a bot grant) lists "agent" or "operator" among its roles and has
 * not lapsed at now (ms since the epoch). The
 * caller re-checks the roles with the catalogue. *has_more tells whether rows follow. */
int store_recipient_list(struct store_recipient **out, size_t *count, bool *has_more,
                         struct store_conn *c, struct arena *a, const char *environment_id,
                         int64_t now, const struct store_cursor *after, size_t limit,
                         struct usher_error *err);

#endif
