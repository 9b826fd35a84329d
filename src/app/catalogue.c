/* The permission catalogue and built-in roles as static tables, and their lookups. A role's
 * permissions are a compile-time mask built from the permission bits, so the tables below are
 * the single place where SPEC §3 lives in code. */
#include "app/catalogue.h"

#include <string.h>

#define P(name) APP_BIT(APP_PERM_##name)

static const struct app_catalogue_permission permissions[APP_PERM_COUNT] = {
    [APP_PERM_INBOX_REPLY] = {"inbox.reply", "reply to incoming conversations"},
    [APP_PERM_INBOX_NOTIFY] = {"inbox.notify", "be notified of incoming chats"},
    [APP_PERM_INBOX_START] = {"inbox.start", "start new conversations"},
    [APP_PERM_INBOX_CLOSED] = {"inbox.closed", "find and read closed conversations"},
    [APP_PERM_CRM_READ] = {"crm.read", "read customer records"},
    [APP_PERM_CRM_WRITE] = {"crm.write", "change customer records"},
    [APP_PERM_CMS_READ] = {"cms.read", "read content in the content management system"},
    [APP_PERM_CMS_WRITE] = {"cms.write", "change content in the content management system"},
    [APP_PERM_ANALYTICS_READ] = {"analytics.read", "see analytics and reports"},
    [APP_PERM_SETTINGS_READ] = {"settings.read", "see environment settings"},
    [APP_PERM_SETTINGS_WRITE] = {"settings.write", "change environment settings"},
    [APP_PERM_BOT_READ] = {"bot.read", "see bots"},
    [APP_PERM_BOT_DEVELOP] = {"bot.develop", "build and configure bots"},
    [APP_PERM_BOT_DELEGATE] = {"bot.delegate", "share a bot with bot managers"},
    [APP_PERM_USERS_READ] = {"users.read", "see the users overview and their details"},
    [APP_PERM_USERS_INVITE] = {"users.invite",
                               "invite users, resend, copy links and revoke invitations"},
    [APP_PERM_USERS_MANAGE] = {"users.manage",
                               "change grants, remove users and impersonate within one's own "
                               "permissions"},
    [APP_PERM_AUDIT_READ] = {"audit.read", "read the audit log"},
    [APP_PERM_ENVIRONMENT_MANAGE] = {"environment.manage", "rename and configure an environment"},
    [APP_PERM_ENVIRONMENTS_CREATE] = {"environments.create", "create environments in the agency"},
    [APP_PERM_AGENCY_MANAGE] = {"agency.manage",
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

#define AT_AGENCY      APP_SCOPE_MASK(APP_SCOPE_AGENCY)
#define AT_ENVIRONMENT APP_SCOPE_MASK(APP_SCOPE_ENVIRONMENT)
#define AT_BOT         APP_SCOPE_MASK(APP_SCOPE_BOT)

static const struct app_catalogue_role roles[APP_ROLE_COUNT] = {
    [APP_ROLE_AGENT] = {"agent", "answers conversations in the inbox", AT_AGENCY | AT_ENVIRONMENT,
                        AGENT_PERMS},
    [APP_ROLE_OPERATOR] = {"operator",
                           "an agent who also starts conversations, reads closed ones and "
                           "works with customer records",
                           AT_AGENCY | AT_ENVIRONMENT, OPERATOR_PERMS},
    [APP_ROLE_CONTENT_MANAGER] = {"content_manager", "maintains content in the CMS",
                                  AT_AGENCY | AT_ENVIRONMENT, CONTENT_MANAGER_PERMS},
    [APP_ROLE_ANALYST] = {"analyst", "reads analytics, reports and customer records",
                          AT_AGENCY | AT_ENVIRONMENT, ANALYST_PERMS},
    [APP_ROLE_PRODUCER] = {"producer", "runs customer records, content, analytics and settings",
                           AT_AGENCY | AT_ENVIRONMENT, PRODUCER_PERMS},
    [APP_ROLE_DEVELOPER] = {"developer", "builds and configures bots", AT_AGENCY | AT_ENVIRONMENT,
                            DEVELOPER_PERMS},
    [APP_ROLE_ENVIRONMENT_MANAGER] = {"environment_manager",
                                      "invites and manages colleagues in an environment",
                                      AT_AGENCY | AT_ENVIRONMENT, ENVIRONMENT_MANAGER_PERMS},
    [APP_ROLE_ORGANISATION_MANAGER] = {"organisation_manager",
                                       "an environment manager for the whole agency who also "
                                       "creates environments",
                                       AT_AGENCY, ORGANISATION_MANAGER_PERMS},
    [APP_ROLE_OWNER] = {"owner", "holds every permission in the agency", AT_AGENCY, APP_PERMS_ALL},
    [APP_ROLE_BOT_MANAGER] = {"bot_manager", "builds and configures one delegated bot", AT_BOT,
                              BOT_MANAGER_PERMS},
};

static const char *const scope_names[APP_SCOPE_COUNT] = {
    [APP_SCOPE_AGENCY] = "agency",
    [APP_SCOPE_ENVIRONMENT] = "environment",
    [APP_SCOPE_BOT] = "bot",
};

const struct app_catalogue_permission *app_catalogue_permission_at(size_t i)
{
    return i < APP_PERM_COUNT ? &permissions[i] : NULL;
}

int app_catalogue_permission_index(const char *name)
{
    if (!name)
        return -1;
    /* Checks ask this on every question: the first byte rules out most names cheaply. */
    for (int i = 0; i < APP_PERM_COUNT; i++) {
        if (permissions[i].name[0] == name[0] && strcmp(permissions[i].name, name) == 0)
            return i;
    }
    return -1;
}

bool app_catalogue_permission_exists(const char *name)
{
    return app_catalogue_permission_index(name) >= 0;
}

uint64_t app_catalogue_permission_bit(const char *name)
{
    int i = app_catalogue_permission_index(name);
    return i < 0 ? 0 : APP_BIT(i);
}

const struct app_catalogue_role *app_catalogue_role_at(size_t i)
{
    return i < APP_ROLE_COUNT ? &roles[i] : NULL;
}

int app_catalogue_role_index(const char *name)
{
    if (!name)
        return -1;
    for (int i = 0; i < APP_ROLE_COUNT; i++) {
        if (roles[i].name[0] == name[0] && strcmp(roles[i].name, name) == 0)
            return i;
    }
    return -1;
}

const struct app_catalogue_role *app_catalogue_role_find(const char *name)
{
    int i = app_catalogue_role_index(name);
    return i < 0 ? NULL : &roles[i];
}

bool app_catalogue_role_allowed_at(const struct app_catalogue_role *role, enum app_scope scope)
{
    if (!role || (unsigned)scope >= APP_SCOPE_COUNT)
        return false;
    return (role->scopes & APP_SCOPE_MASK(scope)) != 0;
}

uint64_t app_catalogue_roles_at(enum app_scope scope)
{
    uint64_t mask = 0;
    for (int i = 0; i < APP_ROLE_COUNT; i++) {
        if (app_catalogue_role_allowed_at(&roles[i], scope))
            mask |= APP_BIT(i);
    }
    return mask;
}

uint64_t app_catalogue_roles_permissions(uint64_t role_mask)
{
    uint64_t perms = 0;
    for (int i = 0; i < APP_ROLE_COUNT; i++) {
        if (role_mask & APP_BIT(i))
            perms |= roles[i].permissions;
    }
    return perms;
}

const char *app_catalogue_scope_name(enum app_scope scope)
{
    return (unsigned)scope < APP_SCOPE_COUNT ? scope_names[scope] : NULL;
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
                mask |= APP_BIT(i);
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

uint64_t app_catalogue_roles_parse(const char *csv, size_t *unknown)
{
    return csv_parse(csv, app_catalogue_role_index, unknown);
}

uint64_t app_catalogue_permissions_parse(const char *csv, size_t *unknown)
{
    return csv_parse(csv, app_catalogue_permission_index, unknown);
}
