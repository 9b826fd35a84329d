/* The permission catalogue and built-in roles against an independent transcription of their
 * tables in docs/rules.md. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "policy/catalogue.h"

static const char *const spec_permissions[] = {
    "inbox.reply",    "inbox.notify", "inbox.start", "inbox.closed",       "crm.read",
    "crm.write",      "cms.read",     "cms.write",   "analytics.read",     "settings.read",
    "settings.write", "bot.read",     "bot.develop", "bot.delegate",       "users.read",
    "users.invite",   "users.manage", "audit.read",  "environment.manage", "environments.create",
    "agency.manage",
};

struct spec_role {
    const char *name;
    const char *scopes;      /* "agency,environment" */
    const char *permissions; /* comma-separated, or "*" for every permission */
};

static const struct spec_role spec_roles[] = {
    {"agent", "agency,environment", "inbox.reply,inbox.notify,bot.read"},
    {"operator", "agency,environment",
     "inbox.reply,inbox.notify,bot.read,inbox.start,inbox.closed,crm.read,crm.write"},
    {"content_manager", "agency,environment", "cms.read,cms.write,bot.read"},
    {"analyst", "agency,environment", "analytics.read,crm.read,bot.read"},
    {"producer", "agency,environment",
     "crm.read,crm.write,cms.read,cms.write,analytics.read,settings.read,settings.write,"
     "bot.read"},
    {"developer", "agency,environment", "bot.read,bot.develop,settings.read"},
    {"environment_manager", "agency,environment",
     "users.read,users.invite,users.manage,audit.read,environment.manage,bot.read,"
     "bot.delegate"},
    {"organisation_manager", "agency",
     "users.read,users.invite,users.manage,audit.read,environment.manage,bot.read,"
     "bot.delegate,environments.create"},
    {"owner", "agency", "*"},
    {"bot_manager", "bot", "bot.read,bot.develop,settings.read"},
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static void test_catalogue__permissions_match_the_spec_in_order(void **state)
{
    (void)state;
    assert_int_equal(POLICY_PERM_COUNT, COUNT(spec_permissions));
    for (size_t i = 0; i < COUNT(spec_permissions); i++) {
        const struct policy_catalogue_permission *p = policy_catalogue_permission_at(i);
        assert_non_null(p);
        assert_string_equal(p->name, spec_permissions[i]);
        assert_true(strlen(p->description) > 0);
        assert_int_equal(policy_catalogue_permission_index(spec_permissions[i]), (int)i);
        assert_true(policy_catalogue_permission_exists(spec_permissions[i]));
        assert_int_equal(policy_catalogue_permission_bit(spec_permissions[i]), POLICY_BIT(i));
    }
    assert_null(policy_catalogue_permission_at(POLICY_PERM_COUNT));
}

static void test_catalogue__unknown_permissions_have_no_bit(void **state)
{
    (void)state;
    const char *bad[] = {"", "inbox", "Inbox.Reply", "inbox.reply ", "crm.*", "*", "bot.fly"};
    for (size_t i = 0; i < COUNT(bad); i++) {
        assert_false(policy_catalogue_permission_exists(bad[i]));
        assert_int_equal(policy_catalogue_permission_bit(bad[i]), 0);
    }
    assert_int_equal(policy_catalogue_permission_bit(NULL), 0);
}

static void test_catalogue__roles_match_the_spec(void **state)
{
    (void)state;
    assert_int_equal(POLICY_ROLE_COUNT, COUNT(spec_roles));
    for (size_t i = 0; i < COUNT(spec_roles); i++) {
        const struct policy_catalogue_role *r = policy_catalogue_role_at(i);
        assert_non_null(r);
        assert_string_equal(r->name, spec_roles[i].name);
        assert_ptr_equal(policy_catalogue_role_find(spec_roles[i].name), r);
        assert_true(strlen(r->description) > 0);
        size_t unknown = 99;
        uint64_t want =
            strcmp(spec_roles[i].permissions, "*") == 0
                ? POLICY_PERMS_ALL
                : policy_catalogue_permissions_parse(spec_roles[i].permissions, &unknown);
        if (unknown != 99)
            assert_int_equal(unknown, 0);
        assert_int_equal(r->permissions, want);
        assert_int_equal(policy_catalogue_roles_permissions(POLICY_BIT(i)), want);
        for (int s = 0; s < POLICY_SCOPE_COUNT; s++) {
            bool listed = strstr(spec_roles[i].scopes, policy_catalogue_scope_name(s)) != NULL;
            assert_int_equal(policy_catalogue_role_allowed_at(r, (enum policy_scope)s), listed);
        }
    }
    assert_null(policy_catalogue_role_at(POLICY_ROLE_COUNT));
    assert_null(policy_catalogue_role_find("admin"));
    assert_null(policy_catalogue_role_find(NULL));
}

static void test_catalogue__role_relations_hold(void **state)
{
    (void)state;
    uint64_t agent = policy_catalogue_role_find("agent")->permissions;
    uint64_t op = policy_catalogue_role_find("operator")->permissions;
    uint64_t env_manager = policy_catalogue_role_find("environment_manager")->permissions;
    uint64_t org_manager = policy_catalogue_role_find("organisation_manager")->permissions;
    assert_int_equal(op & agent, agent);
    assert_int_equal(org_manager,
                     env_manager | policy_catalogue_permission_bit("environments.create"));
    assert_int_equal(policy_catalogue_role_find("owner")->permissions, POLICY_PERMS_ALL);
}

static void test_catalogue__roles_at_each_scope(void **state)
{
    (void)state;
    assert_int_equal(policy_catalogue_roles_at(POLICY_SCOPE_BOT),
                     POLICY_BIT(POLICY_ROLE_BOT_MANAGER));
    assert_int_equal(policy_catalogue_roles_at(POLICY_SCOPE_AGENCY),
                     POLICY_ROLES_ALL & ~POLICY_BIT(POLICY_ROLE_BOT_MANAGER));
    assert_int_equal(policy_catalogue_roles_at(POLICY_SCOPE_ENVIRONMENT),
                     POLICY_ROLES_ALL &
                         ~(POLICY_BIT(POLICY_ROLE_BOT_MANAGER) | POLICY_BIT(POLICY_ROLE_OWNER) |
                           POLICY_BIT(POLICY_ROLE_ORGANISATION_MANAGER)));
    assert_false(policy_catalogue_role_allowed_at(NULL, POLICY_SCOPE_AGENCY));
    assert_false(policy_catalogue_role_allowed_at(policy_catalogue_role_at(0), POLICY_SCOPE_COUNT));
    assert_null(policy_catalogue_scope_name(POLICY_SCOPE_COUNT));
}

static void test_catalogue__lists_parse_and_count_unknown_names(void **state)
{
    (void)state;
    size_t unknown = 0;
    uint64_t roles = policy_catalogue_roles_parse("agent,,operator,custom_role,", &unknown);
    assert_int_equal(roles, POLICY_BIT(POLICY_ROLE_AGENT) | POLICY_BIT(POLICY_ROLE_OPERATOR));
    assert_int_equal(unknown, 1);
    uint64_t perms = policy_catalogue_permissions_parse("cms.read,crm.*,cms.read", &unknown);
    assert_int_equal(perms, policy_catalogue_permission_bit("cms.read"));
    assert_int_equal(unknown, 1);
    assert_int_equal(policy_catalogue_roles_parse("", &unknown), 0);
    assert_int_equal(unknown, 0);
    assert_int_equal(policy_catalogue_roles_parse(NULL, NULL), 0);
    char long_name[200];
    memset(long_name, 'a', sizeof(long_name) - 1);
    long_name[sizeof(long_name) - 1] = '\0';
    assert_int_equal(policy_catalogue_permissions_parse(long_name, &unknown), 0);
    assert_int_equal(unknown, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_catalogue__permissions_match_the_spec_in_order),
        cmocka_unit_test(test_catalogue__unknown_permissions_have_no_bit),
        cmocka_unit_test(test_catalogue__roles_match_the_spec),
        cmocka_unit_test(test_catalogue__role_relations_hold),
        cmocka_unit_test(test_catalogue__roles_at_each_scope),
        cmocka_unit_test(test_catalogue__lists_parse_and_count_unknown_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
