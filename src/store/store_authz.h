/* Reads for the in-memory decision index: whole tables (users and grants a page at a time) at
 * start, one user after a change. */
#ifndef USHER_STORE_STORE_AUTHZ_H
#define USHER_STORE_STORE_AUTHZ_H

#include "store/store.h"

/* Column order of grant rows: user_id, agency_id, environment_id, bot_id, scope_id, roles,
 * extra_permissions, bot's environment_id. */
enum {
    STORE_AUTHZ_GRANT_USER,
    STORE_AUTHZ_GRANT_AGENCY,
    STORE_AUTHZ_GRANT_ENVIRONMENT,
    STORE_AUTHZ_GRANT_BOT,
    STORE_AUTHZ_GRANT_SCOPE,
    STORE_AUTHZ_GRANT_ROLES,
    STORE_AUTHZ_GRANT_EXTRA,
    STORE_AUTHZ_GRANT_BOT_ENVIRONMENT,
    STORE_AUTHZ_GRANT_EXPIRES, /* ms since the epoch; NULL: never */
};

/* Every agency (id, require_second_factor, status). */
int store_authz_agencies(struct store_rows *out, struct store_conn *c, struct arena *a,
                         struct usher_error *err);

/* Every environment: id, agency_id. */
int store_authz_environments(struct store_rows *out, struct store_conn *c, struct arena *a,
                             struct usher_error *err);

/* Every bot: id, environment_id, agency_id. */
int store_authz_bots(struct store_rows *out, struct store_conn *c, struct arena *a,
                     struct usher_error *err);

/* Every custom role: id, agency_id, permissions. */
int store_authz_custom_roles(struct store_rows *out, struct store_conn *c, struct arena *a,
                             struct usher_error *err);

/* Every user (id, is_platform_admin, status, second factor on as 0/1), handed to each a page of at
 * most page_rows at a time (store_exec_pages: inside a transaction, each must not use c). Errors:
 * as store_exec_pages. */
int store_authz_users_each(struct store_conn *c, size_t page_rows,
                           int (*each)(void *ctx, const struct store_rows *page,
                                       struct usher_error *err),
                           void *ctx, struct usher_error *err);

/* Every grant, ordered by user id then scope id so that a user's grants come together, handed
 * to each a page at a time as store_authz_users_each does. Columns as above, but the bot's
 * environment is always NULL: read the bots first. */
int store_authz_grants_each(struct store_conn *c, size_t page_rows,
                            int (*each)(void *ctx, const struct store_rows *page,
                                        struct usher_error *err),
                            void *ctx, struct usher_error *err);

/* One user (id, is_platform_admin, status, second factor on; no row when absent) and their grants.
 */
int store_authz_user(struct store_rows *out_user, struct store_rows *out_grants,
                     struct store_conn *c, struct arena *a, const char *user_id,
                     struct usher_error *err);

/* The highest audit row id (0 when empty). */
int store_authz_change_cursor(int64_t *out, struct store_conn *c, struct arena *a,
                              struct usher_error *err);

/* Audit rows after `after` in id order, at most limit: id, agency_id, subject_user_id,
 * scope_type, scope_id, action. Every change writes one in its own transaction, so they are
 * the feed from which other processes' changes reach this process's index. */
int store_authz_changes(struct store_rows *out, struct store_conn *c, struct arena *a,
                        int64_t after, int limit, struct usher_error *err);

/* One place by id: an agency (id, require_second_factor, status), an environment (id, agency_id) or
 * a bot (id, environment_id, agency_id); no row when it is gone. */
int store_authz_place(struct store_rows *out, struct store_conn *c, struct arena *a,
                      const char *scope_type, const char *id, struct usher_error *err);

/* The custom roles of one agency: id, agency_id, permissions. */
int store_authz_agency_roles(struct store_rows *out, struct store_conn *c, struct arena *a,
                             const char *agency_id, struct usher_error *err);

#endif
