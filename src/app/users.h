/* Every account on the platform, for platform admins: the list with each person's agencies,
 * and disabling or re-activating an account. Disabling ends the person's sessions in the same
 * transaction and writes an audit row naming them, which refreshes this instance's decision
 * index at once and every other instance's through the change feed. */
#ifndef USHER_APP_USERS_H
#define USHER_APP_USERS_H

#include <stddef.h>

#include "app/app.h"
#include "app/tenancy.h"
#include "store/store_user.h"

#define APP_USER_SEARCH_MAX 200 /* characters of a search */

/* One account in the list, with the agencies it belongs to (by name). */
struct app_user_entry {
    struct store_user user; /* password_hash is NULL */
    const struct store_user_agency *agencies;
    size_t agency_count;
};

struct app_user_page {
    struct app_user_entry *items;
    size_t count;
    const char *next_cursor; /* NULL on the last page */
};

/* Lists the accounts in (created_at, id) order, a page at a time. q (may be NULL or "")
 * keeps the accounts whose email, first or last name holds it, ignoring ASCII case. Results
 * live in call->arena. Errors: USHER_EFORBIDDEN unless a platform admin acts (never while
 * viewing as someone); USHER_EINVAL naming "q" when longer than APP_USER_SEARCH_MAX
 * characters. */
int app_users_list(struct app_user_page *out, const struct app_call *call, const char *q,
                   const struct app_page *page);

/* Sets the account's status to STORE_USER_ACTIVE or STORE_USER_DISABLED in one transaction
 * with its audit row ("user.disabled" or "user.enabled"); disabling also deletes the person's
 * sessions and the "view as" sessions they started. Setting the status it already has
 * changes nothing and writes no row. *out receives the account (arena strings). Errors:
 * USHER_EFORBIDDEN unless a platform admin acts; USHER_EINVAL naming "status";
 * USHER_ENOTFOUND; USHER_ECONFLICT "cannot_disable_self" for one's own account and
 * "last_platform_admin" when no other active platform admin would remain. */
int app_user_status_set(struct store_user *out, const struct app_call *call, const char *user_id,
                        const char *status);

#endif
