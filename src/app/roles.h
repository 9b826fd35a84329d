/* Custom roles of an agency: an id, a display name and permissions from the catalogue,
 * granted like a built-in role at agency or environment scope.
 *
 * The id is what grants, requests and responses use: a lowercase ASCII identifier chosen by
 * the agency (or made from the name), never a built-in role's name, unique in the agency and
 * fixed for the role's life. The display name is free text for people, unique in the agency
 * ignoring ASCII case, and can change at any time without touching a grant.
 *
 * Reading an agency's roles needs membership (or a platform admin); defining, changing and
 * deleting them needs agency.manage at agency scope. Someone else's agency, and a role id of
 * another agency, are USHER_ENOTFOUND. The grant ceiling applies to defining roles too: a
 * non-admin may only add permissions they hold at agency scope. A change of permissions
 * applies to every holder at their very next check. A role is deleted only when no grant and
 * no pending invitation refers to it, so a later role given the same id inherits nothing.
 * Every change writes its audit row (role.created, role.updated, role.deleted) in the same
 * transaction. The operations take the call context of app/app.h: call->actor is the caller
 * and results live in call->arena. */
#ifndef USHER_APP_ROLES_H
#define USHER_APP_ROLES_H

#include <jansson.h>
#include <stdint.h>

#include "app/app.h"
#include "app/grants.h"
#include "store/store_member.h"

#define APP_ROLE_NAME_MAX_CHARS 64  /* longest custom role name, in code points */
#define APP_ROLES_PER_AGENCY    200 /* custom roles one agency may define */

/* Validates a custom role id as given: text_chars_check, then policy_catalogue_custom_id_valid
 * ([a-z][a-z0-9_]{1,39}, not a built-in role's name), with a message that says which rule it
 * breaks. Nothing is trimmed or folded: an id is compared byte for byte. USHER_EINVAL naming
 * field. */
int app_role_id_check(const char *id, const char *field, struct usher_error *err);

/* Makes an id from a display name: ASCII letters lower-cased, digits kept, every run of other
 * ASCII characters one '_', none at either end, cut to POLICY_ROLE_ID_MAX bytes ("Night
 * shift" gives night_shift). A name with a character past ASCII, or one that gives no valid id
 * (empty, starting with a digit, a built-in role's name), is USHER_EINVAL naming "id": the
 * caller must choose one. *out lives in a. */
int app_role_id_derive(const char **out, struct arena *a, const char *name,
                       struct usher_error *err);

/* Validates a display name: text_name_check with 1..APP_ROLE_NAME_MAX_CHARS code points, and
 * not a built-in role's name or its words ("owner", "Owner", "Content manager",
 * "content-manager": ASCII case ignored, spaces and '-' read as '_'). Any script is allowed,
 * since grants never refer to a role by name. *out is the trimmed copy. USHER_EINVAL naming
 * field. */
int app_role_name_check(const char **out, struct arena *a, const char *name, const char *field,
                        struct usher_error *err);

/* Parses a non-empty JSON array of catalogue permission names into a mask (repeats are
 * allowed and count once). USHER_EINVAL naming field when list is missing, not an array, empty
 * or longer than 64 items; naming field[i] for an item that is not a string ("invalid_input")
 * or not a catalogue permission ("unknown_permission"). */
int app_role_permissions_parse(uint64_t *out, struct arena *a, json_t *list, const char *field,
                               struct usher_error *err);

/* The comma-separated stored form of a permission mask, in catalogue order, in the arena. */
char *app_role_permissions_csv(struct arena *a, uint64_t permissions);

/* The agency's custom roles by name, with their permission masks. Needs a platform admin or a
 * member of the agency; USHER_ENOTFOUND otherwise. */
int app_role_list(struct app_role_set *out, const struct app_call *call, const char *agency_id);

/* What defining a role takes. */
struct app_role_draft {
    const char *id;      /* NULL: app_role_id_derive from name */
    const char *name;    /* display name */
    json_t *permissions; /* JSON array of catalogue permission names */
};

/* Defines a custom role. Errors: USHER_ENOTFOUND (agency not visible), USHER_EFORBIDDEN (no
 * agency.manage, or "grant_ceiling" naming permissions[i]), USHER_EINVAL (id, name,
 * permissions), USHER_ECONFLICT ("conflict" naming id or name when the agency has a role of
 * that id, or of that name ignoring ASCII case; "role_limit" past APP_ROLES_PER_AGENCY). */
int app_role_create(struct store_custom_role *out, const struct app_call *call,
                    const char *agency_id, const struct app_role_draft *draft);

/* What a change of a role sets; NULL keeps the current value. */
struct app_role_change {
    const char *name;
    json_t *permissions; /* JSON array of catalogue permission names */
};

/* Renames a role and/or replaces its permissions; the id never changes. The ceiling applies to
 * the permissions added.
 * Errors as app_role_create, plus USHER_ENOTFOUND for a role id that is not the agency's and
 * USHER_EINVAL when change sets nothing. A change that changes nothing writes nothing. */
int app_role_update(struct store_custom_role *out, const struct app_call *call,
                    const char *agency_id, const char *role_id,
                    const struct app_role_change *change);

/* Deletes a role nobody uses. USHER_ECONFLICT "role_in_use" while a grant of the agency holds
 * it or a pending invitation would grant it; USHER_ENOTFOUND and USHER_EFORBIDDEN as
 * app_role_update. */
int app_role_delete(const struct app_call *call, const char *agency_id, const char *role_id);

#endif
