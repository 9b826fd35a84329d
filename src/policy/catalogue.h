/* The permission catalogue and the built-in roles (docs/rules.md, Permissions), kept as data.
 *
 * Every catalogue permission has one bit in a uint64_t mask (POLICY_PERM_*), and every built-in
 * role one bit in a role mask (POLICY_ROLE_*), so a grant's effective permissions are a few ORs.
 * Everything here is static and read-only: nothing to free, safe from any thread. */
#ifndef USHER_POLICY_CATALOGUE_H
#define USHER_POLICY_CATALOGUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The catalogue permissions, in the order of docs/rules.md; the value is the bit position. */
enum policy_perm {
    POLICY_PERM_INBOX_REPLY,
    POLICY_PERM_INBOX_NOTIFY,
    POLICY_PERM_INBOX_START,
    POLICY_PERM_INBOX_CLOSED,
    POLICY_PERM_CRM_READ,
    POLICY_PERM_CRM_WRITE,
    POLICY_PERM_CMS_READ,
    POLICY_PERM_CMS_WRITE,
    POLICY_PERM_ANALYTICS_READ,
    POLICY_PERM_SETTINGS_READ,
    POLICY_PERM_SETTINGS_WRITE,
    POLICY_PERM_BOT_READ,
    POLICY_PERM_BOT_DEVELOP,
    POLICY_PERM_BOT_DELEGATE,
    POLICY_PERM_USERS_READ,
    POLICY_PERM_USERS_INVITE,
    POLICY_PERM_USERS_MANAGE,
    POLICY_PERM_AUDIT_READ,
    POLICY_PERM_ENVIRONMENT_MANAGE,
    POLICY_PERM_ENVIRONMENTS_CREATE,
    POLICY_PERM_AGENCY_MANAGE,
    POLICY_PERM_COUNT
};

/* The built-in roles, in the order of docs/rules.md; the value is the bit position in a role
 * mask. */
enum policy_role {
    POLICY_ROLE_AGENT,
    POLICY_ROLE_OPERATOR,
    POLICY_ROLE_CONTENT_MANAGER,
    POLICY_ROLE_ANALYST,
    POLICY_ROLE_PRODUCER,
    POLICY_ROLE_DEVELOPER,
    POLICY_ROLE_ENVIRONMENT_MANAGER,
    POLICY_ROLE_ORGANISATION_MANAGER,
    POLICY_ROLE_OWNER,
    POLICY_ROLE_BOT_MANAGER,
    POLICY_ROLE_COUNT
};

/* The three kinds of scope a grant can sit on. */
enum policy_scope {
    POLICY_SCOPE_AGENCY,
    POLICY_SCOPE_ENVIRONMENT,
    POLICY_SCOPE_BOT,
    POLICY_SCOPE_COUNT
};

#define POLICY_BIT(n)        (UINT64_C(1) << (n))
#define POLICY_PERMS_ALL     (POLICY_BIT(POLICY_PERM_COUNT) - 1)
#define POLICY_ROLES_ALL     (POLICY_BIT(POLICY_ROLE_COUNT) - 1)
#define POLICY_SCOPE_MASK(s) (1u << (s))

/* The authority permissions: those that change who may do what (rule 4 in docs/rules.md). A
 * person grants them only where they hold them; every other permission is a work permission,
 * which comes with the right to manage people at a scope. */
#define POLICY_PERMS_AUTHORITY                                                                     \
    (POLICY_BIT(POLICY_PERM_USERS_INVITE) | POLICY_BIT(POLICY_PERM_USERS_MANAGE) |                 \
     POLICY_BIT(POLICY_PERM_AUDIT_READ) | POLICY_BIT(POLICY_PERM_ENVIRONMENT_MANAGE) |             \
     POLICY_BIT(POLICY_PERM_ENVIRONMENTS_CREATE) | POLICY_BIT(POLICY_PERM_AGENCY_MANAGE) |         \
     POLICY_BIT(POLICY_PERM_BOT_DELEGATE))

_Static_assert(POLICY_PERM_COUNT < 64, "one bit per permission in a uint64_t");
_Static_assert(POLICY_ROLE_COUNT < 64, "one bit per role in a uint64_t");

struct policy_catalogue_permission {
    const char *name;        /* "inbox.reply" */
    const char *description; /* what it lets a user do */
};

struct policy_catalogue_role {
    const char *name;        /* "operator" */
    const char *description; /* who it is for */
    unsigned scopes;         /* POLICY_SCOPE_MASK bits of the scopes it may be granted at */
    uint64_t permissions;    /* POLICY_BIT(POLICY_PERM_*) bits */
};

/* The permission with index i (0 <= i < POLICY_PERM_COUNT), or NULL past the end. */
const struct policy_catalogue_permission *policy_catalogue_permission_at(size_t i);

/* The index of a permission by exact name, or -1 for a name not in the catalogue. */
int policy_catalogue_permission_index(const char *name);

/* True when the permission with index i is an authority permission (POLICY_PERMS_AUTHORITY). */
bool policy_catalogue_permission_is_authority(size_t i);

/* True when name is a catalogue permission. */
bool policy_catalogue_permission_exists(const char *name);

/* The bit of a permission by name, or 0 for a name not in the catalogue (which no mask holds,
 * so an unknown permission is always denied). */
uint64_t policy_catalogue_permission_bit(const char *name);

/* The built-in role with index i (0 <= i < POLICY_ROLE_COUNT), or NULL past the end. */
const struct policy_catalogue_role *policy_catalogue_role_at(size_t i);

/* The index of a built-in role by exact name, or -1. */
int policy_catalogue_role_index(const char *name);

/* The built-in role by exact name, or NULL. */
const struct policy_catalogue_role *policy_catalogue_role_find(const char *name);

/* True when role may be granted at scope. */
bool policy_catalogue_role_allowed_at(const struct policy_catalogue_role *role,
                                      enum policy_scope scope);

/* The role mask of every built-in role that may be granted at scope. */
uint64_t policy_catalogue_roles_at(enum policy_scope scope);

/* The union of the permissions of every role in role_mask (bits past POLICY_ROLE_COUNT are
 * ignored). */
uint64_t policy_catalogue_roles_permissions(uint64_t role_mask);

/* "agency", "environment" or "bot"; NULL for a value out of range. */
const char *policy_catalogue_scope_name(enum policy_scope scope);

/* Role ids. A built-in role's id is its name; a custom role's id is a lowercase ASCII
 * identifier, [a-z][a-z0-9_]{1,39}, that is not a built-in role's name and is unique only
 * within its agency. The two kinds never collide, so an id says by itself which kind it is. */
#define POLICY_ROLE_ID_MAX 40 /* bytes of a custom role id */

/* True when id[0..len) has the form of a custom role id and is not a built-in role's name. */
bool policy_catalogue_custom_id_valid(const char *id, size_t len);

/* The stored form of a grant's roles is a comma-separated list of role ids. Calls fn once per
 * non-empty item of csv, in order: for a built-in role with its index and custom_id NULL; for
 * a custom role id with builtin -1 and the id (a NUL-terminated copy that lives until fn
 * returns); for an item of any other form with builtin -1 and custom_id NULL (it grants
 * nothing). A custom role id names a role of the grant's own agency; resolving it is the
 * caller's business. This is the one reader of stored role lists. */
void policy_catalogue_roles_each(const char *csv,
                                 void (*fn)(void *ctx, int builtin, const char *custom_id),
                                 void *ctx);

/* The built-in roles of a stored role list as a role mask (policy_catalogue_roles_each);
 * *unknown (may be NULL) counts the items that are not built-in roles, custom role ids
 * included. */
uint64_t policy_catalogue_roles_parse(const char *csv, size_t *unknown);

/* Parses a comma-separated list of permission names into a permission mask, skipping and
 * counting unknown names like policy_catalogue_roles_parse. */
uint64_t policy_catalogue_permissions_parse(const char *csv, size_t *unknown);

#endif
