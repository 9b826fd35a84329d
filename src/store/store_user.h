/* User records: global identities keyed by id and by normalised email, and the agencies and
 * grants a user holds (read from the memberships and grants tables). Every function works on
 * a checked-out connection so it can join the caller's transaction; strings in results live in
 * the arena. Errors are those listed in store.h. */
#ifndef USHER_STORE_STORE_USER_H
#define USHER_STORE_STORE_USER_H

#include <stdbool.h>
#include <stdint.h>

#include "store/store.h"

#define STORE_USER_ACTIVE   "active"
#define STORE_USER_DISABLED "disabled"

struct store_user {
    const char *id;
    const char *email; /* normalised: trimmed, lower case */
    const char *first_name;
    const char *last_name;
    const char *password_hash; /* argon2id PHC string, NULL when the user has no password */
    const char *status;        /* STORE_USER_ACTIVE or STORE_USER_DISABLED */
    bool is_platform_admin;
    int64_t created_at;
    int64_t last_active_at; /* 0 when never active */
};

/* One grant of a user: scope, comma-separated roles and extra permissions. */
struct store_user_grant {
    const char *environment_id; /* NULL unless environment scope */
    const char *bot_id;         /* NULL unless bot scope */
    const char *roles;
    const char *extra_permissions;
    int64_t expires_at; /* ms since the epoch; 0: never */
};

/* One agency a user belongs to, with the user's grants in it. */
struct store_user_membership {
    const char *agency_id;
    const char *agency_name;
    const char *shortcode; /* NULL when none */
    struct store_user_grant *grants;
    size_t grant_count;
};

/* Inserts u (every field used; the email must already be normalised). Errors:
 * USHER_ECONFLICT when the id or the email is taken. */
int store_user_insert(struct store_conn *c, struct arena *a, const struct store_user *u,
                      struct usher_error *err);

/* Reads the user with this id. Errors: USHER_ENOTFOUND. */
int store_user_get(struct store_user *out, struct store_conn *c, struct arena *a, const char *id,
                   struct usher_error *err);

/* Reads the user with this normalised email. Errors: USHER_ENOTFOUND. */
int store_user_by_email(struct store_user *out, struct store_conn *c, struct arena *a,
                        const char *email, struct usher_error *err);

/* Replaces the user's password hash. Errors: USHER_ENOTFOUND. */
int store_user_password_set(struct store_conn *c, struct arena *a, const char *id,
                            const char *password_hash, struct usher_error *err);

/* Replaces the user's email (already normalised). Errors: USHER_ENOTFOUND; USHER_ECONFLICT
 * when another account has the address (the unique index decides). */
int store_user_email_set(struct store_conn *c, struct arena *a, const char *id, const char *email,
                         struct usher_error *err);

/* Sets the status to STORE_USER_ACTIVE or STORE_USER_DISABLED. Errors: USHER_ENOTFOUND. */
int store_user_status_set(struct store_conn *c, struct arena *a, const char *id, const char *status,
                          struct usher_error *err);

/* Counts the platform admins (any status). */
int store_user_admin_count(int64_t *out, struct store_conn *c, struct arena *a,
                           struct usher_error *err);

/* Counts the active platform admins other than except_id (NULL: all of them). */
int store_user_active_admin_count(int64_t *out, struct store_conn *c, struct arena *a,
                                  const char *except_id, struct usher_error *err);

struct store_cursor;

/* Up to limit (1..STORE_PAGE_LIMIT_MAX) users after *after (NULL or unset: from the first) in
 * (created_at, id) order; pattern (NULL: every user) is a LIKE pattern with "!" as escape,
 * matched against the lower-cased email, first name and last name. password_hash is NULL in
 * the results. *has_more tells whether more follow. *out is an arena array. */
int store_user_list(struct store_user **out, size_t *count, bool *has_more, struct store_conn *c,
                    struct arena *a, const char *pattern, const struct store_cursor *after,
                    size_t limit, struct usher_error *err);

/* One agency a listed user belongs to. */
struct store_user_agency {
    const char *user_id;
    const char *agency_id;
    const char *agency_name;
};

/* The agencies of the users store_user_list returned for the same pattern and after, whose
 * last row is (last_created_at, last_id): ordered like the users, then by agency name and id.
 * *out is an arena array of *count entries. */
int store_user_list_agencies(struct store_user_agency **out, size_t *count, struct store_conn *c,
                             struct arena *a, const char *pattern, const struct store_cursor *after,
                             int64_t last_created_at, const char *last_id, struct usher_error *err);

/* Sets last_active_at to at. A missing user is not an error. */
int store_user_touch(struct store_conn *c, struct arena *a, const char *id, int64_t at,
                     struct usher_error *err);

/* Lists the user's memberships ordered by agency name, each with its grants in force at now
 * (agency scope first, then environments, then bots). *out is an arena array of *out_count
 * entries. */
int store_user_memberships(struct store_user_membership **out, size_t *out_count,
                           struct store_conn *c, struct arena *a, const char *user_id, int64_t now,
                           struct usher_error *err);

#endif
