/* Agencies, environments, bots, memberships and grants as stored rows, and cursor pagination.
 *
 * Lists are ordered by (created_at, id) and resume after a cursor: an opaque base64url string
 * of the last row's (created_at, id). Every string returned lives in the caller's arena.
 * Errors are those of store.h; a missing row is USHER_ENOTFOUND. */
#ifndef USHER_STORE_STORE_TENANCY_H
#define USHER_STORE_STORE_TENANCY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

#define STORE_PAGE_LIMIT_DEFAULT 50
#define STORE_PAGE_LIMIT_MAX     200
#define STORE_CURSOR_MAX         400 /* longest cursor text accepted */

struct store_agency {
    const char *id;
    const char *name;
    int64_t created_at;
    const char *created_by;     /* NULL when made from the command line or the creator is gone */
    bool require_second_factor; /* members must have a second factor to use their sessions */
    bool is_suspended;          /* status "suspended": checks, tokens and members are refused */
};

struct store_environment {
    const char *id;
    const char *agency_id;
    const char *name;
    int64_t created_at;
};

struct store_bot {
    const char *id;
    const char *agency_id;
    const char *environment_id;
    const char *name;
    int64_t created_at;
    bool is_shared; /* some grant on the bot holds the bot_manager role */
};

/* One row of the grants table. environment_id is the environment of an environment grant and
 * of a bot grant (taken from the bot itself); bot_id is set only on bot grants; both are NULL
 * on the agency grant. roles and extra_permissions are comma-separated catalogue names. */
struct store_grant {
    const char *id;
    const char *environment_id;
    const char *bot_id;
    const char *scope_id;
    const char *roles;
    const char *extra_permissions;
    int64_t created_at;
    int64_t expires_at; /* ms since the epoch; 0: never */
};

/* A position in a list: resume after (created_at, id). is_set is false for the first page. */
struct store_cursor {
    bool is_set;
    int64_t created_at;
    const char *id;
};

/* The cursor text for a row, in the arena. */
char *store_cursor_encode(struct arena *a, int64_t created_at, const char *id);

/* Parses cursor text made by store_cursor_encode; NULL or "" gives the first page. Anything
 * else that is not such a cursor: USHER_EINVAL naming the field "cursor". */
int store_cursor_decode(struct store_cursor *out, struct arena *a, const char *text,
                        struct usher_error *err);

/* Inserts an agency (every field set by the caller; created_by may be NULL). A duplicate id
 * gives USHER_ECONFLICT. */
int store_agency_insert(struct store_conn *c, struct arena *a, const struct store_agency *agency,
                        struct usher_error *err);

/* Sets whether agency id requires a second factor of its members; USHER_ENOTFOUND when there
 * is no such agency. */
int store_agency_second_factor_set(struct store_conn *c, struct arena *a, const char *id,
                                   bool required, struct usher_error *err);

/* Renames agency id (name already checked); USHER_ENOTFOUND when there is none. */
int store_agency_rename(struct store_conn *c, struct arena *a, const char *id, const char *name,
                        struct usher_error *err);

/* Sets agency id suspended or active; USHER_ENOTFOUND when there is none. */
int store_agency_status_set(struct store_conn *c, struct arena *a, const char *id, bool suspended,
                            struct usher_error *err);

/* Deletes agency id and, by cascade, everything under it (environments, bots, memberships,
 * grants, invitations, custom roles, API tokens, "view as" sessions into it). Its audit entries
 * stay. USHER_ENOTFOUND when there is none. */
int store_agency_delete(struct store_conn *c, struct arena *a, const char *id,
                        struct usher_error *err);

/* The ids of agency_id's members (*out an arena array of *count ids, NULL when none). */
int store_agency_member_ids(const char ***out, size_t *count, struct store_conn *c, struct arena *a,
                            const char *agency_id, struct usher_error *err);

/* Reads one agency by id; USHER_ENOTFOUND when there is none. */
int store_agency_get(struct store_agency *out, struct store_conn *c, struct arena *a,
                     const char *id, struct usher_error *err);

/* Lists up to limit agencies after *after (may be NULL). *out is an arena array of *count
 * rows; *has_more tells whether rows follow the last one. */
int store_agency_list(struct store_agency **out, size_t *count, bool *has_more,
                      struct store_conn *c, struct arena *a, const struct store_cursor *after,
                      size_t limit, struct usher_error *err);

/* Like store_agency_list, restricted to the agencies user_id is a member of. */
int store_agency_list_for_user(struct store_agency **out, size_t *count, bool *has_more,
                               struct store_conn *c, struct arena *a, const char *user_id,
                               const struct store_cursor *after, size_t limit,
                               struct usher_error *err);

/* Sets *out to whether user_id is a member of agency_id. */
int store_agency_has_member(bool *out, struct store_conn *c, struct arena *a, const char *agency_id,
                            const char *user_id, struct usher_error *err);

/* Inserts an environment. An unknown agency gives USHER_ECONFLICT. */
int store_environment_insert(struct store_conn *c, struct arena *a,
                             const struct store_environment *env, struct usher_error *err);

/* Reads one environment by id; USHER_ENOTFOUND when there is none. */
int store_environment_get(struct store_environment *out, struct store_conn *c, struct arena *a,
                          const char *id, struct usher_error *err);

/* Lists up to limit environments of agency_id after *after (may be NULL), as
 * store_agency_list. */
int store_environment_list(struct store_environment **out, size_t *count, bool *has_more,
                           struct store_conn *c, struct arena *a, const char *agency_id,
                           const struct store_cursor *after, size_t limit, struct usher_error *err);

/* Renames environment id; USHER_ENOTFOUND when there is none. */
int store_environment_rename(struct store_conn *c, struct arena *a, const char *id,
                             const char *name, struct usher_error *err);

/* Deletes environment id (its bots and whatever still names it go by cascade);
 * USHER_ENOTFOUND when there is none. */
int store_environment_delete(struct store_conn *c, struct arena *a, const char *id,
                             struct usher_error *err);

/* The ids of the bots of environment_id (*out an arena array, NULL when none). */
int store_environment_bot_ids(const char ***out, size_t *count, struct store_conn *c,
                              struct arena *a, const char *environment_id, struct usher_error *err);

/* Inserts a bot (is_shared is ignored). An unknown agency or environment gives
 * USHER_ECONFLICT. */
int store_bot_insert(struct store_conn *c, struct arena *a, const struct store_bot *bot,
                     struct usher_error *err);

/* Reads one bot by id with its shared flag (a bot_manager grant on it in force at now, the
 * caller's clock: one that has ended does not share the bot); USHER_ENOTFOUND when there is
 * none. */
int store_bot_get(struct store_bot *out, struct store_conn *c, struct arena *a, const char *id,
                  int64_t now, struct usher_error *err);

/* Lists up to limit bots of environment_id after *after (may be NULL), each with its shared
 * flag at now (as store_bot_get), as store_agency_list. */
int store_bot_list(struct store_bot **out, size_t *count, bool *has_more, struct store_conn *c,
                   struct arena *a, const char *environment_id, const struct store_cursor *after,
                   size_t limit, int64_t now, struct usher_error *err);

/* Renames bot id; USHER_ENOTFOUND when there is none. */
int store_bot_rename(struct store_conn *c, struct arena *a, const char *id, const char *name,
                     struct usher_error *err);

/* Deletes bot id (grants naming it go by cascade); USHER_ENOTFOUND when there is none. */
int store_bot_delete(struct store_conn *c, struct arena *a, const char *id,
                     struct usher_error *err);

/* One grant that goes with a place: its holder, and whether it is still in force at the time
 * asked (one whose expires_at has passed gives no access, although its row waits for the lapse
 * job). */
struct store_place_holder {
    const char *user_id;
    bool in_force;
};

/* The grants that sit on a place and go with it: on an environment (kind "environment"), the
 * grants on it and on its bots; on a bot (kind "bot"), the grants on it, ended or not. *out is
 * an arena array, one entry per grant sorted by holder (a user appears once per grant), each
 * saying whether it is in force at now. */
int store_place_grant_holders(struct store_place_holder **out, size_t *count, struct store_conn *c,
                              struct arena *a, const char *kind, const char *id, int64_t now,
                              struct usher_error *err);

/* Deletes the grants store_place_grant_holders lists; *out_deleted gets how many. */
int store_place_grants_delete(int64_t *out_deleted, struct store_conn *c, struct arena *a,
                              const char *kind, const char *id, struct usher_error *err);

/* Reads every grant user_id holds in agency_id and in force at now (one whose expires_at has
 * passed is left out although its row waits for the lapse job), oldest first. *out is an arena
 * array of *count rows (NULL and 0 when there are none). */
int store_grant_list_in_agency(struct store_grant **out, size_t *count, struct store_conn *c,
                               struct arena *a, const char *agency_id, const char *user_id,
                               int64_t now, struct usher_error *err);

#endif
