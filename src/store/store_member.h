/* Writes of memberships and grants, and reads of custom roles (a member is anyone holding at
 * least one grant in an agency; see sql/<dialect>/0001_init.sql and 0003_invitations.sql). */
#ifndef USHER_STORE_STORE_MEMBER_H
#define USHER_STORE_STORE_MEMBER_H

#include "store/store.h"

/* Makes user_id a member of agency_id if not already (shortcode may be NULL and is set only on
 * a new membership). USHER_ECONFLICT "shortcode_taken" when the shortcode is another
 * member's. */
int store_member_ensure(struct store_conn *c, struct arena *a, const char *agency_id,
                        const char *user_id, const char *shortcode, int64_t now,
                        struct usher_error *err);

/* *out tells whether user_id is a member of agency_id. Store errors. */
int store_member_exists(bool *out, struct store_conn *c, struct arena *a, const char *agency_id,
                        const char *user_id, struct usher_error *err);

/* Sets (or clears, with NULL) a member's shortcode. USHER_ECONFLICT "shortcode_taken";
 * USHER_ENOTFOUND when not a member. */
int store_member_shortcode_set(struct store_conn *c, struct arena *a, const char *agency_id,
                               const char *user_id, const char *shortcode, struct usher_error *err);

/* Removes the membership and every grant of user_id in agency_id. *out_removed (may be NULL)
 * tells whether there was a membership. */
int store_member_remove(bool *out_removed, struct store_conn *c, struct arena *a,
                        const char *agency_id, const char *user_id, struct usher_error *err);

/* One grant to write. scope_id is the agency, environment or bot id; environment_id and bot_id
 * follow the shapes of the grants table. roles holds built-in role names and custom role ids,
 * comma-separated; extra_permissions catalogue names, comma-separated. */
struct store_grant_write {
    const char *id;
    const char *agency_id;
    const char *user_id;
    const char *environment_id;
    const char *bot_id;
    const char *scope_id;
    const char *roles;
    const char *extra_permissions;
    int64_t created_at;
    int64_t expires_at;     /* ms since the epoch; 0: never */
    const char *granted_by; /* the person setting it; NULL when none (an admin command) */
};

/* Inserts or replaces the user's grant on g->scope_id; a replaced grant takes the new expiry
 * and granter, and its three-day notice is due again. */
int store_grant_upsert(struct store_conn *c, struct arena *a, const struct store_grant_write *g,
                       struct usher_error *err);

/* Deletes the user's grant on scope_id; *out_deleted (may be NULL) tells whether one existed. */
int store_grant_delete(bool *out_deleted, struct store_conn *c, struct arena *a,
                       const char *user_id, const char *scope_id, struct usher_error *err);

/* Deletes every grant of user_id in agency_id. */
int store_grant_delete_all(struct store_conn *c, struct arena *a, const char *agency_id,
                           const char *user_id, struct usher_error *err);

/* A custom role. */
struct store_custom_role {
    const char *id;
    const char *agency_id;
    const char *name;
    const char *permissions; /* comma-separated catalogue names */
    int64_t created_at;
};

/* Every custom role of agency_id, by name. */
int store_custom_role_list(struct store_custom_role **out, size_t *count, struct store_conn *c,
                           struct arena *a, const char *agency_id, struct usher_error *err);

/* A person holding the bot_manager role on a bot. */
struct store_bot_manager {
    const char *user_id;
    const char *email;
    const char *first_name;
    const char *last_name;
    const char *status;
};

/* The bot managers of bot_id (grants on the bot in force at now holding bot_manager), by
 * email. */
int store_bot_managers_list(struct store_bot_manager **out, size_t *count, struct store_conn *c,
                            struct arena *a, const char *bot_id, int64_t now,
                            struct usher_error *err);

/* Counts the grant rows user_id holds in agency_id, ended or not: a membership lasts while a
 * row does, and the lapse job takes ended rows one by one (each with its grant.lapsed entry),
 * ending the membership with the last. */
int store_grant_count(int64_t *out, struct store_conn *c, struct arena *a, const char *agency_id,
                      const char *user_id, struct usher_error *err);

/* Every environment (id, NULL) and bot (id, environment_id) of an agency, for checks that must
 * compare two users at every scope. */
int store_agency_scopes(struct store_rows *out_envs, struct store_rows *out_bots,
                        struct store_conn *c, struct arena *a, const char *agency_id,
                        struct usher_error *err);

#endif
