/* The SQL of end-dated grants: which grants are due (lapsed, or ending soon and not yet
 * announced), and the conditional writes that make removing and announcing each one happen
 * once even when several instances run the lapse job at the same moment. Strings live in the
 * arena; errors are those of store.h. */
#ifndef USHER_STORE_STORE_GRANT_LAPSE_H
#define USHER_STORE_STORE_GRANT_LAPSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

/* One grant that ends. */
struct store_grant_due {
    const char *id;
    const char *agency_id;
    const char *user_id;
    const char *environment_id; /* NULL unless environment scope */
    const char *bot_id;         /* NULL unless bot scope */
    const char *scope_id;
    const char *roles;
    const char *extra_permissions;
    int64_t expires_at;
    const char *granted_by; /* NULL when unknown or gone */
    bool is_noticed;        /* the three-day notice was queued */
};

/* Lists up to limit grants, earliest expiry first, that have lapsed at now (expires_at <= now)
 * or end by notice_until and were not announced yet. */
int store_grant_due_list(struct store_grant_due **out, size_t *count, struct store_conn *c,
                         struct arena *a, int64_t now, int64_t notice_until, size_t limit,
                         struct usher_error *err);

/* Deletes grant id when it has lapsed at now; *out_deleted says whether this call did. */
int store_grant_lapse_delete(bool *out_deleted, struct store_conn *c, struct arena *a,
                             const char *id, int64_t now, struct usher_error *err);

/* Marks grant id announced at now unless it already was; *out_claimed says whether this call
 * marked it (and so queues the emails). */
int store_grant_notice_claim(bool *out_claimed, struct store_conn *c, struct arena *a,
                             const char *id, int64_t now, struct usher_error *err);

#endif
