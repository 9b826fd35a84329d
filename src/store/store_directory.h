/* The users overview of an agency: its members and the people with a pending
 * invitation, one row per person (or, asked for, its expired or revoked invitations), searched,
 * filtered, sorted and paged by keyset. Grants whose expires_at has passed count for nothing
 * here, although their rows wait for the lapse job: every read takes now for that.
 *
 * Members and invited people are read by two queries that page through the same order, so the
 * caller merges them (store_directory_key_compare) and resumes both after one cursor. Every
 * order ends with the id, so ties never repeat or skip a row. The sort and search keys of
 * members are copied onto memberships by triggers (sql/<dialect>/0004_directory.sql) so each page
 * is an index range, also for agencies of 100,000 members. Strings live in the caller's arena.
 * Errors are those of store.h. */
#ifndef USHER_STORE_STORE_DIRECTORY_H
#define USHER_STORE_STORE_DIRECTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"
#include "store/store_tenancy.h"

#define STORE_DIRECTORY_INVITED            "invited"
#define STORE_DIRECTORY_INVITATION_EXPIRED "expired"
#define STORE_DIRECTORY_INVITATION_REVOKED "revoked"
#define STORE_DIRECTORY_BATCH              200  /* ids in one batched read */
#define STORE_DIRECTORY_CURSOR_MAX         1000 /* longest cursor text accepted */

enum store_directory_sort {
    STORE_DIRECTORY_BY_NAME,    /* lower-cased "first last" (the email when both are empty) */
    STORE_DIRECTORY_BY_CREATED, /* membership or invitation creation */
    STORE_DIRECTORY_BY_ACTIVE,  /* last activity; invited people and the never active are 0 */
};

struct store_directory_order {
    enum store_directory_sort by;
    bool is_desc;
};

/* A row's place in an order: its sort value (text for names, number otherwise) and its id. */
struct store_directory_key {
    bool is_set; /* false: before the first row */
    const char *text;
    int64_t number;
    const char *id;
};

/* Which invitations store_directory_invited reads. */
enum store_directory_invitations {
    STORE_DIRECTORY_PENDING, /* pending, unexpired, to people who are not members yet */
    STORE_DIRECTORY_EXPIRED, /* expired (marked so, or pending past their end) */
    STORE_DIRECTORY_REVOKED, /* revoked */
};

/* Which people to list. Every string may be NULL (no filter). */
struct store_directory_filter {
    const char *search;          /* case-insensitive substring of "first last email" */
    const char *shortcode;       /* exact */
    const char *environment_ids; /* comma-separated: members with access to any of them */
    const char *role;            /* a stored role reference: built-in name or custom role id */
    enum store_directory_invitations invitations; /* store_directory_invited only */
};

/* One person of the overview. */
struct store_directory_person {
    const char *id;  /* the user id, or the invitation id of an invited person */
    bool is_invited; /* a row of an invitation, whatever its status */
    const char *email;
    const char *first_name; /* "" when none */
    const char *last_name;
    const char *shortcode;   /* NULL when none */
    const char *status;      /* "active", "disabled", STORE_DIRECTORY_INVITED, or for an
                              * invitation that ended STORE_DIRECTORY_INVITATION_EXPIRED or
                              * STORE_DIRECTORY_INVITATION_REVOKED */
    int64_t created_at;      /* membership or invitation creation */
    int64_t last_active_at;  /* 0 when never active */
    const char *grants_json; /* invited people: the invitation's grants (stored form) */
    struct store_directory_key key;
};

/* One grant of one of several users, as store_grant_list_in_agency reads it. */
struct store_directory_grant {
    const char *user_id;
    struct store_grant grant;
};

/* Parses a sort parameter: "name", "-name", "created", "-created", "last_active" or
 * "-last_active"; NULL or "" is "name". Anything else: USHER_EINVAL naming "sort". */
int store_directory_order_parse(struct store_directory_order *out, const char *text,
                                struct usher_error *err);

/* Orders two keys under order: negative when x comes first, 0 when equal. */
int store_directory_key_compare(const struct store_directory_key *x,
                                const struct store_directory_key *y,
                                const struct store_directory_order *order);

/* The opaque cursor resuming after key in order (arena-owned). */
char *store_directory_cursor_encode(struct arena *a, const struct store_directory_order *order,
                                    const struct store_directory_key *key);

/* Parses a cursor made by store_directory_cursor_encode for the same order; NULL or "" is the
 * first page. Anything else (including a cursor of another order): USHER_EINVAL naming
 * "cursor". */
int store_directory_cursor_decode(struct store_directory_key *out, struct arena *a,
                                  const struct store_directory_order *order, const char *text,
                                  struct usher_error *err);

/* Up to limit (1..STORE_PAGE_LIMIT_MAX) members of agency_id after *after in order, filtered;
 * the environment and role filters look only at grants in force at now. *out is an arena array
 * of *count rows; *has_more tells whether more follow. */
int store_directory_members(struct store_directory_person **out, size_t *count, bool *has_more,
                            struct store_conn *c, struct arena *a, const char *agency_id,
                            const struct store_directory_order *order,
                            const struct store_directory_filter *filter,
                            const struct store_directory_key *after, int64_t now, size_t limit,
                            struct usher_error *err);

/* Like store_directory_members for the invitations of agency_id that filter->invitations
 * names, judged at now (by default the pending, unexpired ones addressed to people who are not
 * members yet). Only filter->search and filter->shortcode apply here: the grants are JSON, so
 * the caller filters by role and environment. */
int store_directory_invited(struct store_directory_person **out, size_t *count, bool *has_more,
                            struct store_conn *c, struct arena *a, const char *agency_id,
                            const struct store_directory_order *order,
                            const struct store_directory_filter *filter,
                            const struct store_directory_key *after, int64_t now, size_t limit,
                            struct usher_error *err);

/* The member user_id of agency_id; USHER_ENOTFOUND when not a member. */
int store_directory_member_get(struct store_directory_person *out, struct store_conn *c,
                               struct arena *a, const char *agency_id, const char *user_id,
                               struct usher_error *err);

/* Every grant in force at now in agency_id of the count users in user_ids, in one query per
 * STORE_DIRECTORY_BATCH users, ordered by user then creation. A bot grant's environment is
 * the bot's. */
int store_directory_grants(struct store_directory_grant **out, size_t *out_count,
                           struct store_conn *c, struct arena *a, const char *agency_id,
                           const char *const *user_ids, size_t count, int64_t now,
                           struct usher_error *err);

/* Every environment of agency_id, oldest first. */
int store_directory_environments(struct store_environment **out, size_t *count,
                                 struct store_conn *c, struct arena *a, const char *agency_id,
                                 struct usher_error *err);

/* The environment of each of count bots (out[i] for bot_ids[i]; NULL when it is not a bot of
 * agency_id). */
int store_directory_bot_environments(const char ***out, struct store_conn *c, struct arena *a,
                                     const char *agency_id, const char *const *bot_ids,
                                     size_t count, struct usher_error *err);

/* Sets a user's first and last names. USHER_ENOTFOUND when there is no such user. */
int store_directory_names_set(struct store_conn *c, struct arena *a, const char *user_id,
                              const char *first_name, const char *last_name,
                              struct usher_error *err);

/* Sets *out to whether a pending invitation of agency_id not addressed to except_email (may be
 * NULL) reserves shortcode, as invitations keep a shortcode for their invitee. */
int store_directory_shortcode_reserved(bool *out, struct store_conn *c, struct arena *a,
                                       const char *agency_id, const char *shortcode,
                                       const char *except_email, struct usher_error *err);

/* Sets *out to whether shortcode is held in agency_id by a member or by a pending invitation
 * for an address other than except_email (may be NULL). */
int store_directory_shortcode_taken(bool *out, struct store_conn *c, struct arena *a,
                                    const char *agency_id, const char *shortcode,
                                    const char *except_email, struct usher_error *err);

/* Deletes user_id's grants on the bots of environment_id; *out_deleted (may be NULL) counts
 * them. */
int store_directory_bot_grants_delete(int64_t *out_deleted, struct store_conn *c, struct arena *a,
                                      const char *agency_id, const char *user_id,
                                      const char *environment_id, struct usher_error *err);

/* Counts the active users other than except_user_id (may be NULL) whose agency grant in
 * agency_id, in force at now, holds the owner role. */
int store_directory_owner_count(int64_t *out, struct store_conn *c, struct arena *a,
                                const char *agency_id, const char *except_user_id, int64_t now,
                                struct usher_error *err);

/* Revokes every pending invitation of agency_id addressed to email (normalised), recording
 * decided_by and now; *out_revoked (may be NULL) counts them. */
int store_directory_invitations_revoke(int64_t *out_revoked, struct store_conn *c, struct arena *a,
                                       const char *agency_id, const char *email,
                                       const char *decided_by, int64_t now,
                                       struct usher_error *err);

#endif
