/* Custom roles of an agency as stored rows (table custom_roles, migrations 0003 and 0008): an
 * id chosen by the agency (policy_catalogue_custom_id_valid) and a display name, each unique
 * within the agency (the name ignoring ASCII case), and a comma-separated list of catalogue
 * permission names. Grants and pending invitations refer to a custom role by its id, never by
 * its name; ids are unique per agency only, so the same id in two agencies names two roles.
 *
 * Every function reads or changes one role of one agency: a role id of another agency is
 * treated as absent. Strings returned live in the caller's arena. Errors are those of
 * store.h; a missing role is USHER_ENOTFOUND. */
#ifndef USHER_STORE_STORE_ROLE_H
#define USHER_STORE_STORE_ROLE_H

#include <stdbool.h>

#include "store/store.h"
#include "store/store_member.h"

/* Inserts role (every field set by the caller). USHER_ECONFLICT "conflict" when the agency
 * already has a role of that id or name (callers that checked both first only see it in a
 * race), or when the agency does not exist. */
int store_role_insert(struct store_conn *c, struct arena *a, const struct store_custom_role *role,
                      struct usher_error *err);

/* Reads the role role_id of agency_id; USHER_ENOTFOUND when there is none. */
int store_role_get(struct store_custom_role *out, struct store_conn *c, struct arena *a,
                   const char *agency_id, const char *role_id, struct usher_error *err);

/* Renames a role; the id, and so every grant holding it, stays. USHER_ENOTFOUND when absent;
 * USHER_ECONFLICT "conflict" naming "name" when another role of the agency has that name,
 * ignoring ASCII case. */
int store_role_rename(struct store_conn *c, struct arena *a, const char *agency_id,
                      const char *role_id, const char *name, struct usher_error *err);

/* Replaces a role's permissions (comma-separated catalogue names). USHER_ENOTFOUND when
 * absent. */
int store_role_permissions_set(struct store_conn *c, struct arena *a, const char *agency_id,
                               const char *role_id, const char *permissions,
                               struct usher_error *err);

/* Deletes a role whatever refers to it (callers check store_role_in_use first).
 * USHER_ENOTFOUND when absent. */
int store_role_delete(struct store_conn *c, struct arena *a, const char *agency_id,
                      const char *role_id, struct usher_error *err);

/* Sets *out to whether anything of agency_id refers to role_id: a grant in force at now whose
 * role list holds it as a whole item, or a pending invitation whose stored grants name it.
 * Other agencies' rows are not looked at. */
int store_role_in_use(bool *out, struct store_conn *c, struct arena *a, const char *agency_id,
                      const char *role_id, int64_t now, struct usher_error *err);

#endif
