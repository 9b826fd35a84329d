/* The permission catalogue and built-in roles as static tables, and their lookups. A role's
 * permissions are a compile-time mask built from the permission bits. These tables are the
 * source of truth: docs/rules.md copies them, and tests/api/rules_doc.test.mjs checks the copy. */
#include "policy/catalogue.h"

#include <string.h>

#define P(name) POLICY_BIT(POLICY_PERM_##name)

static const struct policy_catalogue_permission permissions[POLICY_PERM_COUNT] = {
    [POLICY_PERM_INBOX_REPLY] = {"inbox.reply", "reply to incoming conversations"},
    [POLICY_PERM_INBOX_NOTIFY] = {"inbox.notify", "be notified of incoming chats"},
    [POLICY_PERM_INBOX_START] = {"inbox.start", "start new conversations"},
    [POLICY_PERM_INBOX_CLOSED] = {"inbox.closed", "find and read closed conversations"},
    [POLICY_PERM_CRM_READ] = {"crm.read", "read customer records"},
    [POLICY_PERM_CRM_WRITE] = {"crm.write", "change customer records"},
    [POLICY_PERM_CMS_READ] = {"cms.read", "read content in the content management system"},
    [POLICY_PERM_CMS_WRITE] = {"cms.write", "change content in the content management system"},
    [POLICY_PERM_ANALYTICS_READ] = {"analytics.read", "see analytics and reports"},
    [POLICY_PERM_SETTINGS_READ] = {"settings.read", "see environment settings"},
    [POLICY_PERM_SETTINGS_WRITE] = {"settings.write", "change environment settings"},
    [POLICY_PERM_BOT_READ] = {"bot.read", "see bots"},
    [POLICY_PERM_BOT_DEVELOP] = {"bot.develop", "build and configure bots"},
    [POLICY_PERM_BOT_DELEGATE] = {"bot.delegate", "share a bot with bot managers"},
    [POLICY_PERM_USERS_READ] = {"users.read", "see the users overview and their details"},
    [POLICY_PERM_USERS_INVITE] = {"users.invite",
                                  "invite users, resend, copy links and revoke invitations"},
    [POLICY_PERM_USERS_MANAGE] = {"users.manage",
                                  "change grants, remove users and impersonate within one's own "
                                  "permissions"},
    [POLICY_PERM_AUDIT_READ] = {"audit.read", "read the audit log"},
    [POLICY_PERM_ENVIRONMENT_MANAGE] = {"environment.manage",
                                        "rename and configure an environment"},
    [POLICY_PERM_ENVIRONMENTS_CREATE] = {"environments.create",
                                         "create environments in the agency"},
    [POLICY_PERM_AGENCY_MANAGE] = {"agency.manage",
                                   "manage login methods, custom roles, API tokens and agency "
                                   "settings"},
};

#define AGENT_PERMS           (P(INBOX_REPLY) | P(INBOX_NOTIFY) | P(BOT_READ))
#define OPERATOR_PERMS        (AGENT_PERMS | P(INBOX_START) | P(INBOX_CLOSED) | P(CRM_READ) | P(CRM_WRITE))
#define CONTENT_MANAGER_PERMS (P(CMS_READ) | P(CMS_WRITE) | P(BOT_READ))
#define ANALYST_PERMS         (P(ANALYTICS_READ) | P(CRM_READ) | P(BOT_READ))
#define PRODUCER_PERMS                                                                             \
    (P(CRM_READ) | P(CRM_WRITE) | P(CMS_READ) | P(CMS_WRITE) | P(ANALYTICS_READ) |                 \
     P(SETTINGS_READ) | P(SETTINGS_WRITE) | P(BOT_READ))
#define DEVELOPER_PERMS (P(BOT_READ) | P(BOT_DEVELOP) | P(SETTINGS_READ))
#define ENVIRONMENT_MANAGER_PERMS                                                                  \
    (P(USERS_READ) | P(USERS_INVITE) | P(USERS_MANAGE) | P(AUDIT_READ) | P(ENVIRONMENT_MANAGE) |   \
     P(BOT_READ) | P(BOT_DELEGATE))
#define ORGANISATION_MANAGER_PERMS (ENVIRONMENT_MANAGER_PERMS | P(ENVIRONMENTS_CREATE))
#define BOT_MANAGER_PERMS          (P(BOT_READ) | P(BOT_DEVELOP) | P(SETTINGS_READ))

#define AT_AGENCY      POLICY_SCOPE_MASK(POLICY_SCOPE_AGENCY)
#define AT_ENVIRONMENT POLICY_SCOPE_MASK(POLICY_SCOPE_ENVIRONMENT)
#define AT_BOT         POLICY_SCOPE_MASK(POLICY_SCOPE_BOT)

static const struct policy_catalogue_role roles[POLICY_ROLE_COUNT] = {
    [POLICY_ROLE_AGENT] = {"agent", "answers conversations in the inbox",
                           AT_AGENCY | AT_ENVIRONMENT, AGENT_PERMS},
    [POLICY_ROLE_OPERATOR] = {"operator",
                              "an agent who also starts conversations, reads closed ones and "
                              "works with customer records",
                              AT_AGENCY | AT_ENVIRONMENT, OPERATOR_PERMS},
    [POLICY_ROLE_CONTENT_MANAGER] = {"content_manager", "maintains content in the CMS",
                                     AT_AGENCY | AT_ENVIRONMENT, CONTENT_MANAGER_PERMS},
    [POLICY_ROLE_ANALYST] = {"analyst", "reads analytics, reports and customer records",
                             AT_AGENCY | AT_ENVIRONMENT, ANALYST_PERMS},
    [POLICY_ROLE_PRODUCER] = {"producer", "runs customer records, content, analytics and settings",
                              AT_AGENCY | AT_ENVIRONMENT, PRODUCER_PERMS},
    [POLICY_ROLE_DEVELOPER] = {"developer", "builds and configures bots",
                               AT_AGENCY | AT_ENVIRONMENT, DEVELOPER_PERMS},
    [POLICY_ROLE_ENVIRONMENT_MANAGER] = {"environment_manager",
                                         "invites and manages colleagues in an environment",
                                         AT_AGENCY | AT_ENVIRONMENT, ENVIRONMENT_MANAGER_PERMS},
    [POLICY_ROLE_ORGANISATION_MANAGER] = {"organisation_manager",
                                          "an environment manager for the whole agency who also "
                                          "creates environments",
                                          AT_AGENCY, ORGANISATION_MANAGER_PERMS},
    [POLICY_ROLE_OWNER] = {"owner", "holds every permission in the agency", AT_AGENCY,
                           POLICY_PERMS_ALL},
    [POLICY_ROLE_BOT_MANAGER] = {"bot_manager", "builds and configures one delegated bot", AT_BOT,
                                 BOT_MANAGER_PERMS},
};

static const char *const scope_names[POLICY_SCOPE_COUNT] = {
    [POLICY_SCOPE_AGENCY] = "agency",
    [POLICY_SCOPE_ENVIRONMENT] = "environment",
    [POLICY_SCOPE_BOT] = "bot",
};

const struct policy_catalogue_permission *policy_catalogue_permission_at(size_t i)
{
    return i < POLICY_PERM_COUNT ? &permissions[i] : NULL;
}

bool policy_catalogue_permission_is_authority(size_t i)
{
    return i < POLICY_PERM_COUNT && (POLICY_PERMS_AUTHORITY & POLICY_BIT(i));
}

int policy_catalogue_permission_index(const char *name)
{
    if (!name)
        return -1;
    /* Checks ask this on every question: the first byte rules out most names cheaply. */
    for (int i = 0; i < POLICY_PERM_COUNT; i++) {
        if (permissions[i].name[0] == name[0] && strcmp(permissions[i].name, name) == 0)
            return i;
    }
    return -1;
}

bool policy_catalogue_permission_exists(const char *name)
{
    return policy_catalogue_permission_index(name) >= 0;
}

uint64_t policy_catalogue_permission_bit(const char *name)
{
    int i = policy_catalogue_permission_index(name);
    return i < 0 ? 0 : POLICY_BIT(i);
}

const struct policy_catalogue_role *policy_catalogue_role_at(size_t i)
{
    return i < POLICY_ROLE_COUNT ? &roles[i] : NULL;
}

int policy_catalogue_role_index(const char *name)
{
    if (!name)
        return -1;
    for (int i = 0; i < POLICY_ROLE_COUNT; i++) {
        if (roles[i].name[0] == name[0] && strcmp(roles[i].name, name) == 0)
            return i;
    }
    return -1;
}

const struct policy_catalogue_role *policy_catalogue_role_find(const char *name)
{
    int i = policy_catalogue_role_index(name);
    return i < 0 ? NULL : &roles[i];
}

bool policy_catalogue_role_allowed_at(const struct policy_catalogue_role *role,
                                      enum policy_scope scope)
{
    if (!role || (unsigned)scope >= POLICY_SCOPE_COUNT)
        return false;
    return (role->scopes & POLICY_SCOPE_MASK(scope)) != 0;
}

uint64_t policy_catalogue_roles_at(enum policy_scope scope)
{
    uint64_t mask = 0;
    for (int i = 0; i < POLICY_ROLE_COUNT; i++) {
        if (policy_catalogue_role_allowed_at(&roles[i], scope))
            mask |= POLICY_BIT(i);
    }
    return mask;
}

uint64_t policy_catalogue_roles_permissions(uint64_t role_mask)
{
    uint64_t perms = 0;
    for (int i = 0; i < POLICY_ROLE_COUNT; i++) {
        if (role_mask & POLICY_BIT(i))
            perms |= roles[i].permissions;
    }
    return perms;
}

const char *policy_catalogue_scope_name(enum policy_scope scope)
{
    return (unsigned)scope < POLICY_SCOPE_COUNT ? scope_names[scope] : NULL;
}

/* Walks a comma-separated list, mapping each item through index_of. Each item is copied into a
 * bounded buffer for the lookup; an item too long for it cannot be a catalogue name. */
static uint64_t csv_parse(const char *csv, int (*index_of)(const char *), size_t *unknown)
{
    uint64_t mask = 0;
    size_t bad = 0;
    const char *p = csv ? csv : "";
    while (*p) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len > 0) {
            char item[64];
            int i = -1;
            if (len < sizeof(item)) {
                memcpy(item, p, len);
                item[len] = '\0';
                i = index_of(item);
            }
            if (i >= 0)
                mask |= POLICY_BIT(i);
            else
                bad++;
        }
        p += len;
        if (*p == ',')
            p++;
    }
    if (unknown)
        *unknown = bad;
    return mask;
}

bool policy_catalogue_custom_id_valid(const char *id, size_t len)
{
    if (!id || len < 2 || len > POLICY_ROLE_ID_MAX || id[0] < 'a' || id[0] > 'z')
        return false;
    for (size_t i = 1; i < len; i++) {
        char c = id[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
            return false;
    }
    for (int i = 0; i < POLICY_ROLE_COUNT; i++) {
        if (strlen(roles[i].name) == len && memcmp(roles[i].name, id, len) == 0)
            return false;
    }
    return true;
}

void policy_catalogue_roles_each(const char *csv,
                                 void (*fn)(void *ctx, int builtin, const char *custom_id),
                                 void *ctx)
{
    const char *p = csv ? csv : "";
    while (*p) {
        size_t len = strcspn(p, ",");
        /* Built-in names are shorter than the longest custom id, so one buffer fits both. */
        char item[POLICY_ROLE_ID_MAX + 1];
        if (len > POLICY_ROLE_ID_MAX) {
            fn(ctx, -1, NULL);
        } else if (len > 0) {
            memcpy(item, p, len);
            item[len] = '\0';
            int builtin = policy_catalogue_role_index(item);
            if (builtin >= 0)
                fn(ctx, builtin, NULL);
            else
                fn(ctx, -1, policy_catalogue_custom_id_valid(item, len) ? item : NULL);
        }
        p += len;
        if (*p == ',')
            p++;
    }
}

struct roles_mask {
    uint64_t mask;
    size_t unknown;
};

static void roles_mask_add(void *ctx, int builtin, const char *custom_id)
{
    struct roles_mask *m = ctx;
    (void)custom_id;
    if (builtin >= 0)
        m->mask |= POLICY_BIT(builtin);
    else
        m->unknown++;
}

uint64_t policy_catalogue_roles_parse(const char *csv, size_t *unknown)
{
    struct roles_mask m = {0, 0};
    policy_catalogue_roles_each(csv, roles_mask_add, &m);
    if (unknown)
        *unknown = m.unknown;
    return m.mask;
}

uint64_t policy_catalogue_permissions_parse(const char *csv, size_t *unknown)
{
    return csv_parse(csv, policy_catalogue_permission_index, unknown);
}
