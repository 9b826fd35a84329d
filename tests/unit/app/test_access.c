/* The authority rules of app/access.h, driven row by row by authority_matrix.csv: each row is one
 * cmocka test naming its case and line, with the caller's and the member's grants built in
 * memory (no store), so the rule is checked exactly as the operations ask it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../fixture.h"

#include "app/access.h"
#include "policy/catalogue.h"

#define AGENCY "agy_A"
#define ENV1   "env_1"
#define ENV2   "env_2"
#define BOT1   "bot_1"

#define COLUMNS 9 /* case, caller, member, action, scope, needed, roles, extras, expected */

static struct fixture_csv_row *rows;
static long row_count;

static uint64_t roles_of(const char *list)
{
    uint64_t mask = 0;
    char buf[512];
    snprintf(buf, sizeof(buf), "%s", list);
    for (char *save = NULL, *t = strtok_r(buf, "+", &save); t; t = strtok_r(NULL, "+", &save)) {
        int idx = policy_catalogue_role_index(t);
        if (idx < 0)
            fail_msg("unknown role %s", t);
        mask |= POLICY_BIT(idx);
    }
    return mask;
}

static uint64_t perms_of(const char *list)
{
    uint64_t mask = 0;
    char buf[512];
    snprintf(buf, sizeof(buf), "%s", list);
    for (char *save = NULL, *t = strtok_r(buf, "+", &save); t; t = strtok_r(NULL, "+", &save)) {
        uint64_t bit = policy_catalogue_permission_bit(t);
        if (!bit)
            fail_msg("unknown permission %s", t);
        mask |= bit;
    }
    return mask;
}

static const char *scope_id(const char *name)
{
    if (strcmp(name, "A") == 0)
        return AGENCY;
    if (strcmp(name, "E1") == 0)
        return ENV1;
    if (strcmp(name, "E2") == 0)
        return ENV2;
    if (strcmp(name, "B1") == 0)
        return BOT1;
    fail_msg("unknown scope %s", name);
    return NULL;
}

static struct policy_decide_target target_of(const char *name)
{
    const char *id = scope_id(name);
    if (strcmp(name, "A") == 0)
        return (struct policy_decide_target){POLICY_SCOPE_AGENCY, id, NULL};
    if (strcmp(name, "B1") == 0)
        return (struct policy_decide_target){POLICY_SCOPE_BOT, id, ENV1};
    return (struct policy_decide_target){POLICY_SCOPE_ENVIRONMENT, id, NULL};
}

/* Grants from "A:roles/extras|E1:..."; storage is 4 grants long. */
static void grants_parse(struct policy_decide_grants *out, struct policy_decide_grant *storage,
                         const char *spec)
{
    memset(out, 0, sizeof(*out));
    if (strcmp(spec, "-") == 0 || strcmp(spec, "admin") == 0)
        return;
    char buf[1024];
    snprintf(buf, sizeof(buf), "%s", spec);
    size_t envs = 0;
    struct policy_decide_grant *env_store = storage + 1;
    for (char *save = NULL, *item = strtok_r(buf, "|", &save); item;
         item = strtok_r(NULL, "|", &save)) {
        char *colon = strchr(item, ':');
        char *slash = colon ? strchr(colon, '/') : NULL;
        if (!colon || !slash)
            fail_msg("bad grant %s", item);
        *colon = '\0';
        *slash = '\0';
        struct policy_decide_grant g = {scope_id(item), NULL, roles_of(colon + 1),
                                        perms_of(slash + 1)};
        if (strcmp(item, "A") == 0) {
            storage[0] = g;
            out->agency = &storage[0];
        } else if (strcmp(item, "B1") == 0) {
            g.environment_id = ENV1;
            storage[3] = g;
            out->bots = &storage[3];
            out->bot_count = 1;
        } else {
            env_store[envs++] = g;
        }
    }
    out->environments = env_store;
    out->environment_count = envs;
}

static void test_matrix_row(void **state)
{
    const struct fixture_csv_row *r = *state;
    const char *name = r->cells[0];
    struct policy_decide_grant mine_store[4] = {0}, theirs_store[4] = {0};
    struct policy_decide_grants mine, theirs;
    grants_parse(&mine, mine_store, r->cells[1]);
    grants_parse(&theirs, theirs_store, r->cells[2]);
    bool caller_admin = strcmp(r->cells[1], "admin") == 0;
    struct app_actor actor = {.user_id = "usr_caller", .is_platform_admin = caller_admin};
    struct app_access acc = {
        .actor = &actor,
        .agency_id = AGENCY,
        .is_admin = caller_admin,
        .is_owner =
            caller_admin || (mine.agency && (mine.agency->roles & POLICY_BIT(POLICY_ROLE_OWNER))),
        .grants = mine,
    };
    struct arena a;
    arena_init(&a);
    struct usher_error err = {0};
    const char *action = r->cells[3];
    int rc;
    if (strcmp(action, "grant") == 0) {
        struct policy_decide_target t = target_of(r->cells[4]);
        struct app_grant g = {.scope = t.scope,
                              .scope_id = t.scope_id,
                              .environment_id = t.environment_id,
                              .bot_id = t.scope == POLICY_SCOPE_BOT ? BOT1 : NULL,
                              .roles = roles_of(r->cells[6]),
                              .extra = perms_of(r->cells[7])};
        g.permissions = policy_catalogue_roles_permissions(g.roles) | g.extra;
        rc = app_access_may_grant(&acc, &a, &g, 1, r->cells[5], "grants", &err);
        if (rc == 0 && app_access_grant_refusal(&acc, &a, &g, r->cells[5]) != NULL)
            fail_msg("authority_matrix.csv line %d (%s): a refusal reason for an allowed grant",
                     r->line, name);
    } else if (strcmp(action, "act_on") == 0) {
        struct policy_decide_target *targets = NULL;
        size_t count = 0;
        bool in_env = strcmp(r->cells[4], "all") != 0;
        app_access_member_targets(&targets, &count, &a, AGENCY, &theirs,
                                  in_env ? scope_id(r->cells[4]) : NULL);
        rc = app_access_may_act_on(&acc, "usr_member", &theirs, targets, count, &err);
    } else {
        struct policy_decide_target all[] = {target_of("A"), target_of("E1"), target_of("E2"),
                                             target_of("B1")};
        rc = app_access_may_impersonate(&acc, "usr_member", strcmp(r->cells[2], "admin") == 0,
                                        &theirs, all, 4, &err);
    }
    bool expect = strcmp(r->cells[8], "allow") == 0;
    if ((rc == 0) != expect)
        fail_msg("authority_matrix.csv line %d (%s): expected %s, got %s (%s)", r->line, name,
                 r->cells[8], rc == 0 ? "allow" : "refuse", err.message);
    if (rc != 0 && rc != USHER_EFORBIDDEN)
        fail_msg("authority_matrix.csv line %d (%s): refused with code %d, not forbidden", r->line,
                 name, rc);
    arena_dispose(&a);
}

int main(void)
{
    row_count = fixture_csv_load(&rows, "app/authority_matrix.csv", COLUMNS);
    if (row_count < 40) {
        fprintf(stderr, "authority matrix missing or too small (%ld rows)\n", row_count);
        return 1;
    }
    struct CMUnitTest *tests = calloc((size_t)row_count, sizeof(*tests));
    for (long i = 0; i < row_count; i++) {
        tests[i].name = rows[i].cells[0];
        tests[i].test_func = test_matrix_row;
        tests[i].initial_state = &rows[i];
    }
    int failed = _cmocka_run_group_tests("authority_matrix", tests, (size_t)row_count, NULL, NULL);
    free(tests);
    fixture_csv_free(rows, row_count, COLUMNS);
    return failed;
}
