/* The users overview and member management of an agency (docs/rules.md, "Acting on a member").
 *
 * Who may do what (the questions are asked of app/access.h):
 * - list and read: platform admins and holders of users.read at agency scope see everyone;
 *   holders of users.read in some environments only see the people with access to those
 *   environments, and only their grants there (plus the agency grant that ripples down);
 * - change the shortcode or grants, remove: authority over the member, that is users.manage
 *   and every authority permission the member holds at every scope concerned (for a removal
 *   from an environment, that environment and the member's bots in it); new grants follow
 *   rule 4 (app_access_may_grant); owners are acted on only by owners and platform admins;
 *   nobody changes their own grants (USHER_EFORBIDDEN "own_grants"), and nobody removes or
 *   demotes the last owner (USHER_ECONFLICT "last_owner"); anyone may leave an agency unless
 *   they are its last owner;
 * - names belong to the person: only they and platform admins change them
 *   (USHER_EFORBIDDEN "names_belong_to_person" for anyone else);
 * - an agency the caller cannot see, a member of another agency, an unknown user, or a member
 *   the caller may not see: USHER_ENOTFOUND; a visible member without the permission:
 *   USHER_EFORBIDDEN.
 * Each change commits with its audit row and is pushed into the decision index before the
 * call returns, so the next check sees it. Each operation takes the call context of app/app.h:
 * the caller is call->actor and results live in call->arena. */
#ifndef USHER_APP_MEMBERS_H
#define USHER_APP_MEMBERS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "app/app.h"
#include "app/grants.h"
#include "app/grants_preview.h"
#include "store/store_directory.h"
#include "store/store_tenancy.h"

#define APP_MEMBER_SEARCH_MAX 200 /* characters of a search */

/* One person of the overview: a member or an invited person. */
struct app_member {
    struct store_directory_person person;
    struct app_grant *grants; /* shown to the caller; stored grants that no longer resolve are
                                 left out */
    size_t grant_count;
    const struct store_environment **environments; /* with access, as the caller may see */
    size_t environment_count;
    bool has_password; /* how the person signs in (false for an invitation) */
    bool has_oidc;
};

/* How a member stands in one environment. */
enum app_member_access {
    APP_MEMBER_INHERITED,  /* the agency grant ripples down */
    APP_MEMBER_OVERRIDDEN, /* a grant on the environment replaces the agency grant */
    APP_MEMBER_GRANTED,    /* a grant on the environment, with no agency grant to replace */
    APP_MEMBER_NONE,       /* no access (no grant at all, or an explicit empty one) */
};

struct app_member_environment {
    const struct store_environment *environment;
    enum app_member_access access;
    bool is_removed;               /* an explicit empty grant: removed from the environment */
    const struct app_grant *grant; /* the grant in force; NULL for APP_MEMBER_NONE */
    uint64_t roles;                /* effective built-in roles there */
    uint64_t permissions;          /* effective permissions there */
};

/* A member with their standing in each environment the caller may see. */
struct app_member_detail {
    struct app_member member;
    struct app_member_environment *environments;
    size_t environment_count;
    struct app_role_set roles; /* the agency's custom roles, to show role names */
};

/* A page of the overview. */
struct app_member_page {
    struct app_member *items;
    size_t count;
    const char *next_cursor; /* NULL on the last page */
    struct app_role_set roles;
};

/* What to list; every string may be NULL. */
struct app_member_query {
    const char *q;              /* case-insensitive substring of first name, last name, email */
    const char *environment_id; /* people with access to this environment */
    const char *role;           /* people holding this role (built-in or custom role name) */
    const char *shortcode;      /* exact */
    const char *status;         /* "active" (members), "invited" (pending invitations), "expired" or
                                 * "revoked" (those invitations); NULL: members and pending ones */
    const char *sort;           /* see store_directory_order_parse; default "name" */
    const char *cursor;
    size_t limit; /* 1..STORE_PAGE_LIMIT_MAX; 0 means the default */
};

/* A change of names and shortcode; only the fields marked present change. */
struct app_member_patch {
    bool has_first_name;
    const char *first_name; /* text_name_optional_check: blank clears */
    bool has_last_name;
    const char *last_name;
    bool has_shortcode;
    const char *shortcode; /* text_shortcode_check, or NULL to clear */
};

/* Lists the overview of agency_id. Grants that have ended count for nothing (the environment
 * and role filters, the grants shown). Bad status, q, sort, cursor, shortcode, role (USHER_EINVAL
 * "unknown_role") or environment_id (USHER_EINVAL "unknown_scope") name their field; a member
 * without users.read anywhere gets USHER_EFORBIDDEN, as does one filtering by an environment
 * where they lack it. */
int app_member_list(struct app_member_page *out, const struct app_call *call, const char *agency_id,
                    const struct app_member_query *query);

/* Reads one member of agency_id. */
int app_member_get(struct app_member_detail *out, const struct app_call *call,
                   const char *agency_id, const char *user_id);

/* Changes a member's names (they belong to the person, so every agency sees them: only the
 * person and platform admins change them, else USHER_EFORBIDDEN "names_belong_to_person") and
 * shortcode (the agency's: it takes authority over the member). Bad values: USHER_EINVAL naming
 * the field; a shortcode another member of the agency holds, or a pending invitation to someone
 * else: USHER_ECONFLICT "shortcode_taken". Audited as member.updated. *out is the member
 * afterwards. */
int app_member_update(struct app_member_detail *out, const struct app_call *call,
                      const char *agency_id, const char *user_id,
                      const struct app_member_patch *patch);

/* Replaces every grant of a member in agency_id with the JSON array grants (field "grants"; an
 * empty list is refused: removal is app_member_remove). Besides authority over the member at
 * the scopes of the current grants, the new ones must pass rule 4 for users.manage
 * (USHER_EFORBIDDEN "grant_ceiling"); one's own grants are refused (USHER_EFORBIDDEN
 * "own_grants"). Audited as member.grants_replaced.
 * With preview non-NULL it is a dry run: every check and the write run as above, then the
 * transaction is rolled back; *preview says what would change and *out is left empty. Nothing is
 * audited, stored or pushed into the decision index. */
int app_member_grants_replace(struct app_member_detail *out, struct app_grants_preview *preview,
                              const struct app_call *call, const char *agency_id,
                              const char *user_id, json_t *grants);

/* Removes a member from agency_id: membership and grants go, and their pending invitations to
 * the agency are revoked. Audited as member.removed. */
int app_member_remove(const struct app_call *call, const char *agency_id, const char *user_id);

/* Removes a member from one environment: an explicit empty grant on it (so the agency grant no
 * longer ripples down) and no grants on its bots. Needs users.manage in the environment and
 * every authority permission the member holds there and on its bots; not oneself.
 * Audited as member.removed_from_environment; a member already without access there is left
 * as is. */
int app_member_environment_remove(const struct app_call *call, const char *environment_id,
                                  const char *user_id);

/* "inherited", "overridden" or "none". */
const char *app_member_access_name(enum app_member_access access);

#endif
