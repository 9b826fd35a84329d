/* The permission catalogue and the built-in roles (SPEC §3), kept as data.
 *
 * Every catalogue permission has one bit in a uint64_t mask (APP_PERM_*), and every built-in
 * role one bit in a role mask (APP_ROLE_*), so a grant's effective permissions are a few ORs.
 * Everything here is static and read-only: nothing to free, safe from any thread. */
#ifndef USHER_APP_CATALOGUE_H
#define USHER_APP_CATALOGUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The catalogue permissions, in the order of SPEC §3; the value is the bit position. */
enum app_perm {
    APP_PERM_INBOX_REPLY,
    APP_PERM_INBOX_NOTIFY,
    APP_PERM_INBOX_START,
    APP_PERM_INBOX_CLOSED,
    APP_PERM_CRM_READ,
    APP_PERM_CRM_WRITE,
    APP_PERM_CMS_READ,
    APP_PERM_CMS_WRITE,
    APP_PERM_ANALYTICS_READ,
    APP_PERM_SETTINGS_READ,
    APP_PERM_SETTINGS_WRITE,
    APP_PERM_BOT_READ,
    APP_PERM_BOT_DEVELOP,
    APP_PERM_BOT_DELEGATE,
    APP_PERM_USERS_READ,
    APP_PERM_USERS_INVITE,
    APP_PERM_USERS_MANAGE,
    APP_PERM_AUDIT_READ,
    APP_PERM_ENVIRONMENT_MANAGE,
    APP_PERM_ENVIRONMENTS_CREATE,
    APP_PERM_AGENCY_MANAGE,
    APP_PERM_COUNT
};

/* The built-in roles, in the order of SPEC §3; the value is the bit position in a role mask. */
enum app_role {
    APP_ROLE_AGENT,
    APP_ROLE_OPERATOR,
    APP_ROLE_CONTENT_MANAGER,
    APP_ROLE_ANALYST,
    APP_ROLE_PRODUCER,
    APP_ROLE_DEVELOPER,
    APP_ROLE_ENVIRONMENT_MANAGER,
    APP_ROLE_ORGANISATION_MANAGER,
    APP_ROLE_OWNER,
    APP_ROLE_BOT_MANAGER,
    APP_ROLE_COUNT
};

/* The three kinds of scope a grant can sit on. */
enum app_scope { APP_SCOPE_AGENCY, APP_SCOPE_ENVIRONMENT, APP_SCOPE_BOT, APP_SCOPE_COUNT };

#define APP_BIT(n)        (UINT64_C(1) << (n))
#define APP_PERMS_ALL     (APP_BIT(APP_PERM_COUNT) - 1)
#define APP_ROLES_ALL     (APP_BIT(APP_ROLE_COUNT) - 1)
#define APP_SCOPE_MASK(s) (1u << (s))

_Static_assert(APP_PERM_COUNT < 64, "one bit per permission in a uint64_t");
_Static_assert(APP_ROLE_COUNT < 64, "one bit per role in a uint64_t");

struct app_catalogue_permission {
    const char *name;        /* "inbox.reply" */
    const char *description; /* what it lets a user do */
};

struct app_catalogue_role {
    const char *name;        /* "operator" */
    const char *description; /* who it is for */
    unsigned scopes;         /* APP_SCOPE_MASK bits of the scopes it may be granted at */
    uint64_t permissions;    /* APP_BIT(APP_PERM_*) bits */
};

/* The permission with index i (0 <= i < APP_PERM_COUNT), or NULL past the end. */
const struct app_catalogue_permission *app_catalogue_permission_at(size_t i);

/* The index of a permission by exact name, or -1 for a name not in the catalogue. */
int app_catalogue_permission_index(const char *name);

/* True when name is a catalogue permission. */
bool app_catalogue_permission_exists(const char *name);

/* The bit of a permission by name, or 0 for a name not in the catalogue (which no mask holds,
 * so an unknown permission is always denied). */
uint64_t app_catalogue_permission_bit(const char *name);

/* The built-in role with index i (0 <= i < APP_ROLE_COUNT), or NULL past the end. */
const struct app_catalogue_role *app_catalogue_role_at(size_t i);

/* The index of a built-in role by exact name, or -1. */
int app_catalogue_role_index(const char *name);

/* The built-in role by exact name, or NULL. */
const struct app_catalogue_role *app_catalogue_role_find(const char *name);

/* True when role may be granted at scope. */
bool app_catalogue_role_allowed_at(const struct app_catalogue_role *role, enum app_scope scope);

/* The role mask of every built-in role that may be granted at scope. */
uint64_t app_catalogue_roles_at(enum app_scope scope);

/* The union of the permissions of every role in role_mask (bits past APP_ROLE_COUNT are
 * ignored). */
uint64_t app_catalogue_roles_permissions(uint64_t role_mask);

/* "agency", "environment" or "bot"; NULL for a value out of range. */
const char *app_catalogue_scope_name(enum app_scope scope);

/* Parses a comma-separated list of role names (as stored in a grant) into a role mask. Empty
 * items are skipped; names that are not built-in roles are skipped too and counted in
 * *unknown (may be NULL), so a stored name the catalogue no longer knows grants nothing. */
uint64_t app_catalogue_roles_parse(const char *csv, size_t *unknown);

/* Parses a comma-separated list of permission names into a permission mask, skipping and
 * counting unknown names like app_catalogue_roles_parse. */
uint64_t app_catalogue_permissions_parse(const char *csv, size_t *unknown);

#endif
