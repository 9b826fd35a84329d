/* Grants as the rules see them (docs/rules.md): parsing and validating requested grants against
 * the catalogue, the agency's custom roles and its environments and bots; writing a member's
 * grants; and the JSON shape of grants in requests, responses and stored invitations. Who may
 * give grants (the grant ceiling) is asked of app/access.h.
 *
 * A role reference is a role id, in requests, responses and storage alike: a built-in role's
 * name or a custom role id of the agency (policy_catalogue_custom_id_valid), never a display
 * name. Custom roles apply at agency and environment scope. */
#ifndef USHER_APP_GRANTS_H
#define USHER_APP_GRANTS_H

#include <jansson.h>
#include <stdbool.h>

#include "app/app.h"
#include "policy/decide.h"
#include "store/store.h"
#include "store/store_member.h"
#include "store/store_tenancy.h"

#define APP_GRANTS_MAX      200 /* grants in one request */
#define APP_GRANT_ROLES_MAX 32  /* roles in one grant */

/* The custom roles of one agency. */
struct app_role_set {
    struct store_custom_role *items;
    size_t count;
    uint64_t *permissions; /* parsed permissions of items[i] */
};

/* Loads the custom roles of agency_id. */
int app_role_set_load(struct app_role_set *out, struct store_conn *c, struct arena *a,
                      const char *agency_id, struct usher_error *err);

/* The custom role with this id, or NULL (also for a NULL set or id). */
const struct store_custom_role *app_role_set_find(const struct app_role_set *set, const char *id,
                                                  uint64_t *out_perms);

/* Splits a stored role list (policy_catalogue_roles_each) into built-in roles and the
 * permissions of the custom roles of set it names; anything else grants nothing. */
void app_roles_csv_masks(uint64_t *out_roles, uint64_t *out_custom_perms, const char *csv,
                         const struct app_role_set *set);

/* One grant, resolved. Strings are arena-owned. */
struct app_grant {
    enum policy_scope scope;
    const char *scope_id;       /* agency, environment or bot id */
    const char *environment_id; /* environment grants: the environment; bot grants: the bot's */
    const char *bot_id;         /* bot grants only */
    uint64_t roles;             /* built-in roles */
    const char **custom_ids;    /* custom role ids */
    size_t custom_count;
    uint64_t extra;       /* extra permissions */
    uint64_t permissions; /* everything the grant gives: roles, custom roles, extras */
    int64_t expires_at;   /* ms since the epoch from which it counts for nothing; 0: never */
};

/* How far ahead a grant may end: five years. */
#define APP_GRANT_EXPIRY_MAX_MS (1826LL * 24 * 3600 * 1000)

/* Places a grant in agency_id: on bot_id, else on environment_id, else on the agency (g is
 * reset and gets the scope; roles and permissions are the caller's). A bot or environment of
 * another agency, or none, is USHER_EINVAL "unknown_scope" naming field.bot_id or
 * field.environment_id (bot_id or environment_id when field is NULL). */
int app_grant_place(struct app_grant *g, struct store_conn *c, struct arena *a,
                    const char *agency_id, const char *environment_id, const char *bot_id,
                    const char *field, struct usher_error *err);

/* Parses a JSON array of grants for agency_id. Each item is an object with optional
 * "environment_id" or "bot_id" (not both; neither means the agency), optional "roles" and
 * "extra_permissions" arrays, and an optional "expires_at" (RFC 3339 UTC, after now and at most
 * APP_GRANT_EXPIRY_MAX_MS ahead; not on a grant holding owner, as an agency keeps its owner).
 * Errors (USHER_EINVAL naming the field, e.g. "grants[1].roles[0]"): not an array or object,
 * unknown fields, unknown roles or permissions, a role that does not fit the scope, an environment
 * or bot outside the agency, two grants on one scope, more than APP_GRANTS_MAX, an empty grant at
 * agency or bot scope (an empty environment grant is the explicit "no access"), and an empty list
 * unless allow_empty. */
int app_grants_parse(struct app_grant **out, size_t *count, struct store_conn *c, struct arena *a,
                     const char *agency_id, const struct app_role_set *roles, json_t *array,
                     const char *field, bool allow_empty, struct usher_error *err);

/* Writes grants for user_id in agency_id inside the caller's transaction: ensures the
 * membership (with shortcode when new), then, when replace_all, removes the user's other grants
 * in the agency, and inserts or replaces each grant, recording granted_by (may be NULL) as the
 * person who set it. */
int app_grants_write(struct store_conn *c, struct arena *a, const char *agency_id,
                     const char *user_id, const char *shortcode, const struct app_grant *grants,
                     size_t count, bool replace_all, const char *granted_by,
                     struct usher_error *err);

/* The JSON array of grants, roles by id, with "expires_at" (RFC 3339) on a grant that ends. With
 * roles, custom roles no longer in the set (deleted) are left out, as they grant nothing; without,
 * every stored id is kept. */
json_t *app_grants_json(const struct app_grant *grants, size_t count,
                        const struct app_role_set *roles);

/* Re-reads user_id into the decision index after a change committed (on conn c). A failure
 * is logged; the index is reloaded from the store on the next start. */
void app_grants_refresh(struct app *app, struct store_conn *c, const char *user_id);

/* One person's grants in an agency, resolved. Arena-owned. */
struct app_grant_list {
    struct app_grant *items;
    size_t count;
};

/* A stored grants row of agency_id as g (roles read with the agency's custom roles; names the
 * catalogue or the agency does not know grant nothing); false for a row of no known shape, and
 * for a grant that has lapsed (it counts for nothing, and the lapse job removes it). */
bool app_grant_from_row(struct app_grant *g, struct arena *a, const struct store_grant *row,
                        const char *agency_id, const struct app_role_set *roles);

/* The grants of an invitation (its stored JSON) as a list; bots' environments are left for the
 * caller to fill in. Items of no known shape are skipped. */
void app_grant_list_from_json(struct app_grant_list *out, struct arena *a, const char *text,
                              const char *agency_id, const struct app_role_set *roles);

/* True when g holds no role and no permission (on an environment: an explicit "no access"). */
bool app_grant_is_empty(const struct app_grant *g);

/* The grant of list at one scope, or NULL. */
const struct app_grant *app_grant_list_at(const struct app_grant_list *list,
                                          enum policy_scope scope, const char *scope_id);

/* The agency grant of list, or NULL. */
const struct app_grant *app_grant_list_agency(const struct app_grant_list *list);

/* True when list's agency grant holds the owner role. */
bool app_grant_list_holds_owner(const struct app_grant_list *list);

/* list as input of the decision function (arena-owned); custom roles count as extra
 * permissions, as in app_access_grants_load. */
void app_grant_list_decide(struct policy_decide_grants *out, struct arena *a,
                           const struct app_grant_list *list);

#endif
