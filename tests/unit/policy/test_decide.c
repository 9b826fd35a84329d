/* The decision function, driven row by row by inheritance_matrix.csv: each row is one cmocka
 * test named after its case, so a failure names the row and its line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../fixture.h"

#include "policy/decide.h"
#include "base/arena.h"

#define MATRIX_COLUMNS 9

static struct fixture_csv_row *rows;
static long row_count;

/* "operator+agent" -> "operator,agent" for the catalogue's list parsers. */
static void plus_to_comma(char *out, size_t cap, const char *in, size_t len)
{
    size_t n = len < cap - 1 ? len : cap - 1;
    for (size_t i = 0; i < n; i++)
        out[i] = in[i] == '+' ? ',' : in[i];
    out[n] = '\0';
}

/* Parses a grant cell; returns false for "-". Unknown role names fail the row (a typo in the
 * matrix); unknown extra permissions are kept out of the mask, as the store reader does. */
static bool grant_parse(struct policy_decide_grant *out, const char *cell,
                        const struct fixture_csv_row *r)
{
    if (strcmp(cell, "-") == 0)
        return false;
    const char *slash = strchr(cell, '/');
    if (!slash)
        fail_msg("line %d (%s): grant cell \"%s\" needs ROLES/EXTRAS", r->line, r->cells[0], cell);
    char buf[256];
    size_t unknown = 0;
    plus_to_comma(buf, sizeof(buf), cell, (size_t)(slash - cell));
    out->roles = policy_catalogue_roles_parse(buf, &unknown);
    if (unknown)
        fail_msg("line %d (%s): unknown role in \"%s\"", r->line, r->cells[0], cell);
    plus_to_comma(buf, sizeof(buf), slash + 1, strlen(slash + 1));
    out->extra = policy_catalogue_permissions_parse(buf, NULL);
    return true;
}

static void target_parse(struct policy_decide_target *out, const char *scope,
                         const struct fixture_csv_row *r)
{
    static const struct {
        const char *label;
        enum policy_scope scope;
        const char *id;
        const char *environment_id;
    } fixture[] = {
        {"agency", POLICY_SCOPE_AGENCY, "A", NULL},
        {"A2", POLICY_SCOPE_AGENCY, "A2", NULL},
        {"E1", POLICY_SCOPE_ENVIRONMENT, "E1", NULL},
        {"E2", POLICY_SCOPE_ENVIRONMENT, "E2", NULL},
        /* An environment or bot the store does not know reaches the decision unresolved. */
        {"E9", POLICY_SCOPE_ENVIRONMENT, NULL, NULL},
        {"B1", POLICY_SCOPE_BOT, "B1", "E1"},
        {"B2", POLICY_SCOPE_BOT, "B2", "E1"},
        {"B3", POLICY_SCOPE_BOT, "B3", "E2"},
        {"B9", POLICY_SCOPE_BOT, "B9", NULL},
    };
    for (size_t i = 0; i < sizeof(fixture) / sizeof(fixture[0]); i++) {
        if (strcmp(fixture[i].label, scope) == 0) {
            out->scope = fixture[i].scope;
            out->scope_id = fixture[i].id;
            out->environment_id = fixture[i].environment_id;
            return;
        }
    }
    fail_msg("line %d (%s): unknown scope label \"%s\"", r->line, r->cells[0], scope);
}

static void test_matrix_row(void **state)
{
    const struct fixture_csv_row *r = *state;
    struct policy_decide_grant agency = {.scope_id = "A"};
    struct policy_decide_grant environment = {.scope_id = "E1"};
    struct policy_decide_grant bot = {.scope_id = "B1", .environment_id = "E1"};
    struct policy_decide_grants grants = {0};
    if (grant_parse(&agency, r->cells[1], r))
        grants.agency = &agency;
    if (grant_parse(&environment, r->cells[2], r)) {
        grants.environments = &environment;
        grants.environment_count = 1;
    }
    if (grant_parse(&bot, r->cells[3], r)) {
        grants.bots = &bot;
        grants.bot_count = 1;
    }
    struct policy_decide_target target;
    target_parse(&target, r->cells[4], r);

    struct policy_decide_result res;
    policy_decide_check(&res, &grants, &target, r->cells[5]);

    char roles[512] = "";
    size_t used = 0;
    for (size_t i = 0; i < res.role_count; i++)
        used += (size_t)snprintf(roles + used, sizeof(roles) - used, "%s%s", i ? "+" : "",
                                 res.roles[i]);
    if (res.role_count == 0)
        snprintf(roles, sizeof(roles), "-");

    const char *allowed = res.allowed ? "true" : "false";
    const char *source = policy_decide_source_name(res.source);
    if (strcmp(allowed, r->cells[6]) != 0 || strcmp(source, r->cells[7]) != 0 ||
        strcmp(roles, r->cells[8]) != 0)
        fail_msg("inheritance_matrix.csv line %d (%s): expected allowed=%s source=%s roles=%s, "
                 "got allowed=%s source=%s roles=%s",
                 r->line, r->cells[0], r->cells[6], r->cells[7], r->cells[8], allowed, source,
                 roles);
}

static void test_decide__null_grants_deny(void **state)
{
    (void)state;
    struct policy_decide_target t = {POLICY_SCOPE_AGENCY, "A", NULL};
    struct policy_decide_result res;
    policy_decide_check(&res, NULL, &t, "bot.read");
    assert_false(res.allowed);
    assert_int_equal(res.source, POLICY_DECIDE_NONE);
    policy_decide_check(&res, &(struct policy_decide_grants){0}, NULL, "bot.read");
    assert_false(res.allowed);
}

static void test_decide__null_permission_denies(void **state)
{
    (void)state;
    struct policy_decide_grant owner = {.scope_id = "A", .roles = POLICY_BIT(POLICY_ROLE_OWNER)};
    struct policy_decide_grants g = {.agency = &owner};
    struct policy_decide_target t = {POLICY_SCOPE_AGENCY, "A", NULL};
    struct policy_decide_result res;
    policy_decide_check(&res, &g, &t, NULL);
    assert_false(res.allowed);
    policy_decide_check(&res, &g, &t, "");
    assert_false(res.allowed);
}

static void test_decide__bits_outside_the_catalogue_grant_nothing(void **state)
{
    (void)state;
    struct policy_decide_grant g1 = {
        .scope_id = "A", .roles = ~POLICY_ROLES_ALL, .extra = ~POLICY_PERMS_ALL};
    struct policy_decide_grants g = {.agency = &g1};
    struct policy_decide_target t = {POLICY_SCOPE_AGENCY, "A", NULL};
    struct policy_decide_effective eff;
    policy_decide_effective(&eff, &g, &t);
    assert_int_equal(eff.roles, 0);
    assert_int_equal(eff.permissions, 0);
}

static void test_decide__effective_splits_bot_and_base(void **state)
{
    (void)state;
    struct policy_decide_grant agency = {.scope_id = "A", .roles = POLICY_BIT(POLICY_ROLE_AGENT)};
    struct policy_decide_grant bot = {
        .scope_id = "B1", .environment_id = "E1", .roles = POLICY_BIT(POLICY_ROLE_BOT_MANAGER)};
    struct policy_decide_grants g = {.agency = &agency, .bots = &bot, .bot_count = 1};
    struct policy_decide_target t = {POLICY_SCOPE_BOT, "B1", "E1"};
    struct policy_decide_effective eff;
    policy_decide_effective(&eff, &g, &t);
    assert_int_equal(eff.base, POLICY_DECIDE_AGENCY);
    assert_true(eff.has_bot_grant);
    assert_int_equal(eff.base_permissions, policy_catalogue_roles_permissions(agency.roles));
    assert_int_equal(eff.bot_permissions, policy_catalogue_roles_permissions(bot.roles));
    assert_int_equal(eff.permissions, eff.base_permissions | eff.bot_permissions);
    assert_int_equal(eff.roles, agency.roles | bot.roles);
}

static void test_decide__bot_in_another_environment_uses_that_environment(void **state)
{
    (void)state;
    /* A grant on B1 whose stored environment differs from the bot's: the store's answer
     * about the bot wins, so E2's override applies. */
    struct policy_decide_grant agency = {.scope_id = "A", .roles = POLICY_BIT(POLICY_ROLE_OWNER)};
    struct policy_decide_grant env = {.scope_id = "E2"};
    struct policy_decide_grant bot = {.scope_id = "B1", .environment_id = "E1"};
    struct policy_decide_grants g = {.agency = &agency,
                                     .environments = &env,
                                     .environment_count = 1,
                                     .bots = &bot,
                                     .bot_count = 1};
    struct policy_decide_target t = {POLICY_SCOPE_BOT, "B1", "E2"};
    struct policy_decide_result res;
    policy_decide_check(&res, &g, &t, "bot.read");
    assert_false(res.allowed);
}

int main(void)
{
    row_count = fixture_csv_load(&rows, "policy/inheritance_matrix.csv", MATRIX_COLUMNS);
    if (row_count < 60) {
        fprintf(stderr, "inheritance matrix missing or too small (%ld rows)\n", row_count);
        return 1;
    }
    static const struct CMUnitTest fixed[] = {
        cmocka_unit_test(test_decide__null_grants_deny),
        cmocka_unit_test(test_decide__null_permission_denies),
        cmocka_unit_test(test_decide__bits_outside_the_catalogue_grant_nothing),
        cmocka_unit_test(test_decide__effective_splits_bot_and_base),
        cmocka_unit_test(test_decide__bot_in_another_environment_uses_that_environment),
    };
    size_t n_fixed = sizeof(fixed) / sizeof(fixed[0]);
    size_t total = n_fixed + (size_t)row_count;
    struct CMUnitTest *tests = xcalloc(total, sizeof(*tests));
    memcpy(tests, fixed, sizeof(fixed));
    for (size_t i = 0; i < (size_t)row_count; i++) {
        tests[n_fixed + i].name = rows[i].cells[0];
        tests[n_fixed + i].test_func = test_matrix_row;
        tests[n_fixed + i].initial_state = &rows[i];
    }
    int failed = _cmocka_run_group_tests("decide", tests, total, NULL, NULL);
    free(tests);
    fixture_csv_free(rows, row_count, MATRIX_COLUMNS);
    return failed;
}
