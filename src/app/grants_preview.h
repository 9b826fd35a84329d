/* What a change of grants would do, for a dry run: the permissions each scope gains and loses,
 * and the environments where the person starts or stops being notified of incoming chats
 * (rule 3 in docs/rules.md). Computed from the grants before and after; nothing is written. */
#ifndef USHER_APP_GRANTS_PREVIEW_H
#define USHER_APP_GRANTS_PREVIEW_H

#include <stdbool.h>
#include <stdint.h>

#include "app/grants.h"

/* One scope whose grant changes. Strings are arena-owned. */
struct app_grants_preview_change {
    enum policy_scope scope;
    const char *scope_id;
    const char *scope_name;
    uint64_t gained; /* permissions the scope's grant gives after and not before */
    uint64_t lost;   /* permissions it gave before and no longer gives */
};

/* One environment where the person's notifications change. */
struct app_grants_preview_recipient {
    const char *environment_id;
    const char *environment_name;
    bool is_added; /* notified after and not before; false: the other way round */
};

struct app_grants_preview {
    const char *user_id; /* the person, NULL for someone invited who has no account yet */
    const char *email;
    struct app_grants_preview_change *changes; /* in the order of the scopes met */
    size_t change_count;
    struct app_grants_preview_recipient *recipients;
    size_t recipient_count;
};

/* Fills out (arena-owned) from a person's grants before and after a change, reading the scopes'
 * names on c; the caller fills in user_id and email afterwards. is_active says whether the person
 * is an active user (or will be one: an invitee); only active users are notified. A scope that no
 * longer exists is USHER_ENOTFOUND. */
int app_grants_preview_build(struct app_grants_preview *out, struct store_conn *c, struct arena *a,
                             const struct app_grant *before, size_t before_count,
                             const struct app_grant *after, size_t after_count, bool is_active,
                             struct usher_error *err);

#endif
