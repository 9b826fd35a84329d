/* Unit tests of the decision index on a real SQLite store: loading, ripple-down through the
 * index, bots, custom roles, disabled users, platform admins, agency limits, refreshes after
 * changes, and readers running while a writer changes grants. */
#include "../unit.h"

#include <pthread.h>

#include "../fixture.h"

#include "authz/authz.h"
#include "authz/authz_int.h"
#include "base/clock.h"
#include "base/crypto.h"
#include "store/store.h"

struct fixture {
    char *dir;
    struct store *store;
    struct authz_index *ix;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    crypto_setup();
    struct usher_error err = {0};
    fixture_store_open(&f->store, &f->dir);
    fixture_sql(f->store,
                "INSERT INTO users (id, email, created_at, is_platform_admin) VALUES "
                "('u_admin', 'admin@x.test', 1, 1), ('u_ann', 'ann@x.test', 1, 0), "
                "('u_bob', 'bob@x.test', 1, 0), ('u_cy', 'cy@x.test', 1, 0)",
                NULL, 0);
    fixture_sql(
        f->store,
        "INSERT INTO agencies (id, name, created_at) VALUES ('ag_a', 'A', 1), ('ag_b', 'B', 1)",
        NULL, 0);
    fixture_sql(f->store,
                "INSERT INTO environments (id, agency_id, name, created_at) VALUES "
                "('env_prod', 'ag_a', 'prod', 1), ('env_test', 'ag_a', 'test', 1), "
                "('env_b', 'ag_b', 'b', 1)",
                NULL, 0);
    fixture_sql(f->store,
                "INSERT INTO bots (id, agency_id, environment_id, name, created_at) VALUES "
                "('bot_1', 'ag_a', 'env_prod', 'one', 1), ('bot_2', 'ag_a', 'env_test', 'two', 1)",
                NULL, 0);
    /* The same custom role id in two agencies: two roles. */
    fixture_sql(f->store,
                "INSERT INTO custom_roles (id, agency_id, name, permissions, created_at) VALUES "
                "('reviewer', 'ag_a', 'Reviewer', 'cms.read,analytics.read', 1), "
                "('reviewer', 'ag_b', 'Reviewer', 'cms.read,cms.write,crm.write', 1)",
                NULL, 0);
    /* ann: operator at agency A, lowered to analyst in prod, explicit no access in test. */
    fixture_sql(
        f->store,
        "INSERT INTO grants (id, agency_id, user_id, environment_id, bot_id, scope_id, roles, "
        "extra_permissions, created_at) VALUES "
        "('g1', 'ag_a', 'u_ann', NULL, NULL, 'ag_a', 'operator', '', 1), "
        "('g2', 'ag_a', 'u_ann', 'env_prod', NULL, 'env_prod', 'analyst', '', 1), "
        "('g3', 'ag_a', 'u_ann', 'env_test', NULL, 'env_test', '', '', 1), "
        "('g4', 'ag_a', 'u_bob', NULL, 'bot_2', 'bot_2', 'bot_manager', '', 1), "
        "('g5', 'ag_a', 'u_cy', 'env_prod', NULL, 'env_prod', 'reviewer', 'crm.read', 1)",
        NULL, 0);
    f->ix = authz_index_new();
    assert_int_equal(authz_index_load(f->ix, f->store, &err), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    authz_index_free(f->ix);
    fixture_store_close(f->store, f->dir);
    free(f);
    return 0;
}

static bool ask(struct fixture *f, const char *user, const char *perm, enum policy_scope scope,
                const char *id)
{
    struct authz_question q = {user, perm, scope, id, NULL};
    struct authz_answer ans;
    authz_check(&ans, f->ix, &q, NULL);
    return ans.allowed;
}

static void test_index__agency_grant_ripples_down_unless_overridden(void **state)
{
    struct fixture *f = *state;
    assert_true(ask(f, "u_ann", "inbox.start", POLICY_SCOPE_AGENCY, "ag_a"));
    /* prod lowers ann to analyst. */
    assert_false(ask(f, "u_ann", "inbox.start", POLICY_SCOPE_ENVIRONMENT, "env_prod"));
    assert_true(ask(f, "u_ann", "analytics.read", POLICY_SCOPE_ENVIRONMENT, "env_prod"));
    /* test is an explicit "no access". */
    assert_false(ask(f, "u_ann", "inbox.reply", POLICY_SCOPE_ENVIRONMENT, "env_test"));
    assert_false(ask(f, "u_ann", "bot.read", POLICY_SCOPE_BOT, "bot_2"));
    /* The bot in prod follows prod. */
    assert_true(ask(f, "u_ann", "analytics.read", POLICY_SCOPE_BOT, "bot_1"));
}

static void test_index__bot_grant_adds_to_environment(void **state)
{
    struct fixture *f = *state;
    assert_true(ask(f, "u_bob", "bot.develop", POLICY_SCOPE_BOT, "bot_2"));
    assert_false(ask(f, "u_bob", "bot.develop", POLICY_SCOPE_BOT, "bot_1"));
    assert_false(ask(f, "u_bob", "bot.read", POLICY_SCOPE_ENVIRONMENT, "env_test"));
}

static void test_index__custom_role_permissions_apply(void **state)
{
    struct fixture *f = *state;
    assert_true(ask(f, "u_cy", "cms.read", POLICY_SCOPE_ENVIRONMENT, "env_prod"));
    assert_true(ask(f, "u_cy", "crm.read", POLICY_SCOPE_ENVIRONMENT, "env_prod"));
    /* B's role of the same id gives nothing in A, and changing it changes nothing in A. */
    assert_false(ask(f, "u_cy", "cms.write", POLICY_SCOPE_ENVIRONMENT, "env_prod"));
    assert_false(ask(f, "u_cy", "crm.write", POLICY_SCOPE_ENVIRONMENT, "env_prod"));
    authz_index_put_custom_role(f->ix, "reviewer", "ag_b", 0, true);
    assert_true(ask(f, "u_cy", "cms.read", POLICY_SCOPE_ENVIRONMENT, "env_prod"));
    authz_index_put_custom_role(f->ix, "reviewer", "ag_b", POLICY_PERMS_ALL, false);
    assert_false(ask(f, "u_cy", "cms.write", POLICY_SCOPE_ENVIRONMENT, "env_prod"));
    /* Changing the role's permissions is seen by the next check. */
    authz_index_put_custom_role(f->ix, "reviewer", "ag_a", 0, true);
    assert_false(ask(f, "u_cy", "cms.read", POLICY_SCOPE_ENVIRONMENT, "env_prod"));
}

static void test_index__denies_unknowns(void **state)
{
    struct fixture *f = *state;
    assert_false(ask(f, "u_nobody", "bot.read", POLICY_SCOPE_AGENCY, "ag_a"));
    assert_false(ask(f, "u_ann", "bot.read", POLICY_SCOPE_ENVIRONMENT, "env_nowhere"));
    assert_false(ask(f, "u_ann", "no.such.permission", POLICY_SCOPE_AGENCY, "ag_a"));
    assert_false(ask(f, "u_ann", "bot.read", POLICY_SCOPE_AGENCY, "ag_b"));
    assert_false(ask(f, NULL, "bot.read", POLICY_SCOPE_AGENCY, "ag_a"));
}

static void test_index__platform_admin_may_do_everything_on_known_scopes(void **state)
{
    struct fixture *f = *state;
    assert_true(ask(f, "u_admin", "agency.manage", POLICY_SCOPE_AGENCY, "ag_b"));
    assert_false(ask(f, "u_admin", "agency.manage", POLICY_SCOPE_AGENCY, "ag_missing"));
}

static void test_index__agency_limit_hides_other_agencies(void **state)
{
    struct fixture *f = *state;
    struct authz_question q = {"u_admin", "bot.read", POLICY_SCOPE_ENVIRONMENT, "env_b", "ag_a"};
    struct authz_answer ans;
    authz_check(&ans, f->ix, &q, NULL);
    assert_false(ans.allowed);
}

static void test_index__answers_nothing_once_it_is_no_longer_current(void **state)
{
    struct fixture *f = *state;
    struct policy_decide_effective eff;
    bool is_admin = false;
    assert_true(authz_index_is_current(f->ix));
    assert_true(ask(f, "u_ann", "inbox.start", POLICY_SCOPE_AGENCY, "ag_a"));
    /* Stopped: every check denies, the platform admin's too, and nothing is effective. */
    authz_index_current_until(f->ix, 0);
    assert_false(authz_index_is_current(f->ix));
    assert_false(ask(f, "u_ann", "inbox.start", POLICY_SCOPE_AGENCY, "ag_a"));
    assert_false(ask(f, "u_admin", "agency.manage", POLICY_SCOPE_AGENCY, "ag_b"));
    assert_false(
        authz_effective(&eff, &is_admin, f->ix, "u_ann", POLICY_SCOPE_AGENCY, "ag_a", NULL, NULL));
    /* A deadline in the future answers until it passes. */
    authz_index_current_until(f->ix, clock_mono_ns() + 60LL * 1000000000LL);
    assert_true(ask(f, "u_ann", "inbox.start", POLICY_SCOPE_AGENCY, "ag_a"));
    assert_true(
        authz_effective(&eff, &is_admin, f->ix, "u_ann", POLICY_SCOPE_AGENCY, "ag_a", NULL, NULL));
    authz_index_current_until(f->ix, clock_mono_ns() - 1);
    assert_false(ask(f, "u_ann", "inbox.start", POLICY_SCOPE_AGENCY, "ag_a"));
}

static void test_index__refresh_sees_removed_grants_and_disabled_users(void **state)
{
    struct fixture *f = *state;
    struct store_conn *c;
    struct usher_error err = {0};
    assert_true(ask(f, "u_ann", "inbox.start", POLICY_SCOPE_AGENCY, "ag_a"));
    fixture_sql(f->store, "DELETE FROM grants WHERE id = 'g1'", NULL, 0);
    assert_int_equal(store_conn_get(f->store, &c, &err), 0);
    assert_int_equal(authz_index_refresh_user(f->ix, c, "u_ann", &err), 0);
    assert_false(ask(f, "u_ann", "inbox.start", POLICY_SCOPE_AGENCY, "ag_a"));
    fixture_sql(f->store, "UPDATE users SET status = 'disabled' WHERE id = 'u_bob'", NULL, 0);
    assert_int_equal(authz_index_refresh_user(f->ix, c, "u_bob", &err), 0);
    assert_false(ask(f, "u_bob", "bot.develop", POLICY_SCOPE_BOT, "bot_2"));
    fixture_sql(f->store, "DELETE FROM users WHERE id = 'u_cy'", NULL, 0);
    assert_int_equal(authz_index_refresh_user(f->ix, c, "u_cy", &err), 0);
    assert_false(ask(f, "u_cy", "crm.read", POLICY_SCOPE_ENVIRONMENT, "env_prod"));
    store_conn_put(c);
}

/* A grant counts until the millisecond before its expires_at and for nothing from then on, with
 * no job run and nothing read again: the index compares the clock itself. Grants of the same
 * person without an end keep counting. */
static void test_index__a_grant_counts_until_its_expiry_and_not_from_then_on(void **state)
{
    struct fixture *f = *state;
    struct store_conn *c;
    struct usher_error err = {0};
    int64_t now = clock_now_ms();
    int64_t at = now + 3600 * 1000;
    char sql[256];
    /* ann's agency grant (operator) ends in an hour; her prod grant (analyst) never does. */
    snprintf(sql, sizeof(sql), "UPDATE grants SET expires_at = %lld WHERE id = 'g1'",
             (long long)at);
    fixture_sql(f->store, sql, NULL, 0);
    assert_int_equal(store_conn_get(f->store, &c, &err), 0);
    assert_int_equal(authz_index_refresh_user(f->ix, c, "u_ann", &err), 0);
    store_conn_put(c);
    assert_true(ask(f, "u_ann", "inbox.start", POLICY_SCOPE_AGENCY, "ag_a"));
    clock_set_offset_ms(at - 100 - clock_now_ms());
    assert_true(ask(f, "u_ann", "inbox.start", POLICY_SCOPE_AGENCY, "ag_a"));
    /* At (or just past) the expiry: the agency grant is gone everywhere it rippled. */
    clock_set_offset_ms(0);
    clock_set_offset_ms(at - clock_now_ms());
    assert_false(ask(f, "u_ann", "inbox.start", POLICY_SCOPE_AGENCY, "ag_a"));
    assert_false(ask(f, "u_ann", "inbox.start", POLICY_SCOPE_BOT, "bot_1"));
    /* prod has a grant of its own without an end. */
    assert_true(ask(f, "u_ann", "analytics.read", POLICY_SCOPE_ENVIRONMENT, "env_prod"));
    struct policy_decide_effective eff;
    bool is_admin = false;
    assert_true(
        authz_effective(&eff, &is_admin, f->ix, "u_ann", POLICY_SCOPE_AGENCY, "ag_a", NULL, NULL));
    assert_int_equal(eff.permissions, 0);
    clock_set_offset_ms(0);
    assert_true(ask(f, "u_ann", "inbox.start", POLICY_SCOPE_AGENCY, "ag_a"));
}

/* The compare itself, to the millisecond, on a set built directly: a grant with an expiry and
 * one without in the same set, and a set where nothing ends. */
static void test_index__the_expiry_compare_is_exact_to_the_millisecond(void **state)
{
    (void)state;
    struct ix_data d;
    ix_data_init(&d);
    struct ix_grant_row rows[] = {
        {.agency_id = "ag",
         .scope_id = "ag",
         .kind = POLICY_SCOPE_AGENCY,
         .roles = "agent",
         .expires_at = 5000},
        {.agency_id = "ag",
         .scope_id = "env",
         .kind = POLICY_SCOPE_ENVIRONMENT,
         .roles = "reviewer,analyst",
         .expires_at = 0},
        {.agency_id = "ag",
         .scope_id = "env2",
         .kind = POLICY_SCOPE_ENVIRONMENT,
         .roles = "",
         .expires_at = 7000},
    };
    struct ix_grant_set *set = ix_grant_set_build(&d, rows, 3, false);
    assert_int_equal(set->first_expiry, 5000);
    assert_false(ix_grant_lapsed(set, 0, 4999));
    assert_true(ix_grant_lapsed(set, 0, 5000));
    assert_true(ix_grant_lapsed(set, 0, 5001));
    assert_false(ix_grant_lapsed(set, 1, 5000));
    assert_false(ix_grant_lapsed(set, 1, IX_NEVER - 1));
    assert_false(ix_grant_lapsed(set, 2, 6999));
    assert_true(ix_grant_lapsed(set, 2, 7000));
    /* The custom role list sits before the expiries and is intact. */
    assert_int_equal(set->custom_count, 1);
    free(set);
    struct ix_grant_set *plain = ix_grant_set_build(&d, rows + 1, 1, false);
    assert_int_equal(plain->first_expiry, IX_NEVER);
    assert_false(ix_grant_lapsed(plain, 0, IX_NEVER - 1));
    free(plain);
    ix_data_dispose(&d);
}

/* A load reads expiries too, and the stats count their bytes. */
static void test_index__a_load_reads_expiries(void **state)
{
    struct fixture *f = *state;
    struct usher_error err = {0};
    struct authz_stats before, after;
    authz_index_stats(&before, f->ix);
    fixture_sql(f->store, "UPDATE grants SET expires_at = 1000 WHERE id = 'g5'", NULL, 0);
    assert_int_equal(authz_index_load(f->ix, f->store, &err), 0);
    authz_index_stats(&after, f->ix);
    assert_int_equal(after.grants, before.grants);
    assert_int_equal(after.bytes, before.bytes + sizeof(int64_t));
    assert_false(ask(f, "u_cy", "crm.read", POLICY_SCOPE_ENVIRONMENT, "env_prod"));
    assert_true(ask(f, "u_ann", "inbox.start", POLICY_SCOPE_AGENCY, "ag_a"));
}

static void test_index__explain_names_source_and_roles(void **state)
{
    struct fixture *f = *state;
    struct authz_question q = {"u_ann", "analytics.read", POLICY_SCOPE_ENVIRONMENT, "env_prod",
                               NULL};
    struct authz_answer ans;
    authz_check(&ans, f->ix, &q, NULL);
    assert_true(ans.allowed);
    assert_int_equal(ans.source, POLICY_DECIDE_ENVIRONMENT);
    assert_int_equal(ans.role_count, 1);
    assert_string_equal(ans.roles[0], "analyst");
}

struct race {
    struct fixture *f;
    int stop; /* read and written atomically */
    long checks;
    long wrong;
};

static void *reader(void *arg)
{
    struct race *r = arg;
    while (!__atomic_load_n(&r->stop, __ATOMIC_ACQUIRE)) {
        /* bob's bot grant is toggled by the writer; either answer is valid, but the bot in
         * another environment must never be allowed. */
        if (ask(r->f, "u_bob", "bot.develop", POLICY_SCOPE_BOT, "bot_1"))
            __atomic_add_fetch(&r->wrong, 1, __ATOMIC_RELAXED);
        ask(r->f, "u_bob", "bot.develop", POLICY_SCOPE_BOT, "bot_2");
        __atomic_add_fetch(&r->checks, 2, __ATOMIC_RELAXED);
    }
    return NULL;
}

static void test_index__readers_run_while_grants_change(void **state)
{
    struct fixture *f = *state;
    struct race r = {f, 0, 0, 0};
    pthread_t threads[3];
    for (int i = 0; i < 3; i++)
        pthread_create(&threads[i], NULL, reader, &r);
    struct store_conn *c;
    struct usher_error err = {0};
    assert_int_equal(store_conn_get(f->store, &c, &err), 0);
    for (int i = 0; i < 100; i++) {
        fixture_sql(f->store,
                    i % 2 ? "UPDATE grants SET roles = 'bot_manager' WHERE id = 'g4'"
                          : "UPDATE grants SET roles = '' WHERE id = 'g4'",
                    NULL, 0);
        assert_int_equal(authz_index_refresh_user(f->ix, c, "u_bob", &err), 0);
        bool allowed = ask(f, "u_bob", "bot.develop", POLICY_SCOPE_BOT, "bot_2");
        assert_int_equal(allowed, i % 2 == 1);
    }
    store_conn_put(c);
    __atomic_store_n(&r.stop, 1, __ATOMIC_RELEASE);
    for (int i = 0; i < 3; i++)
        pthread_join(threads[i], NULL);
    assert_int_equal(r.wrong, 0);
    assert_true(r.checks > 0);
}

static void test_index__sync_applies_changes_made_elsewhere(void **state)
{
    struct fixture *f = *state;
    struct store_conn *c;
    struct usher_error err = {0};
    int64_t cursor = 0;
    int applied = 0;
    assert_int_equal(authz_index_sync_cursor(&cursor, f->store, &err), 0);
    /* Another process adds an environment, gives bob a grant there, and drops the custom
     * role: each change writes its audit row. */
    fixture_sql(f->store,
                "INSERT INTO environments (id, agency_id, name, created_at) VALUES "
                "('env_new', 'ag_a', 'new', 2)",
                NULL, 0);
    fixture_sql(f->store,
                "INSERT INTO audit_log (at, agency_id, action, scope_type, scope_id) VALUES "
                "(2, 'ag_a', 'environment.created', 'environment', 'env_new')",
                NULL, 0);
    fixture_sql(
        f->store,
        "INSERT INTO grants (id, agency_id, user_id, environment_id, bot_id, scope_id, roles, "
        "extra_permissions, created_at) VALUES "
        "('g9', 'ag_a', 'u_bob', 'env_new', NULL, 'env_new', 'developer', '', 2)",
        NULL, 0);
    fixture_sql(f->store,
                "INSERT INTO audit_log (at, agency_id, action, subject_user_id) VALUES "
                "(2, 'ag_a', 'member.grants_replaced', 'u_bob')",
                NULL, 0);
    fixture_sql(f->store, "DELETE FROM custom_roles WHERE agency_id = 'ag_a' AND id = 'reviewer'",
                NULL, 0);
    fixture_sql(f->store,
                "INSERT INTO audit_log (at, agency_id, action) VALUES (2, 'ag_a', 'role.deleted')",
                NULL, 0);
    assert_false(ask(f, "u_bob", "bot.develop", POLICY_SCOPE_ENVIRONMENT, "env_new"));
    assert_true(ask(f, "u_cy", "cms.read", POLICY_SCOPE_ENVIRONMENT, "env_prod"));
    assert_int_equal(store_conn_get(f->store, &c, &err), 0);
    assert_int_equal(authz_index_sync(f->ix, c, &cursor, &applied, &err), 0);
    assert_int_equal(applied, 3);
    assert_true(ask(f, "u_bob", "bot.develop", POLICY_SCOPE_ENVIRONMENT, "env_new"));
    assert_false(ask(f, "u_cy", "cms.read", POLICY_SCOPE_ENVIRONMENT, "env_prod"));
    /* A deleted environment is dropped from the index. */
    fixture_sql(f->store, "DELETE FROM environments WHERE id = 'env_new'", NULL, 0);
    fixture_sql(f->store,
                "INSERT INTO audit_log (at, agency_id, action, scope_type, scope_id) VALUES "
                "(3, 'ag_a', 'environment.deleted', 'environment', 'env_new')",
                NULL, 0);
    assert_int_equal(authz_index_sync(f->ix, c, &cursor, &applied, &err), 0);
    assert_int_equal(applied, 1);
    assert_false(ask(f, "u_bob", "bot.develop", POLICY_SCOPE_ENVIRONMENT, "env_new"));
    /* Nothing new: nothing applied, cursor unchanged. */
    int64_t before = cursor;
    assert_int_equal(authz_index_sync(f->ix, c, &cursor, &applied, &err), 0);
    assert_int_equal(applied, 0);
    assert_int_equal(cursor, before);
    store_conn_put(c);
}

static bool ask_suspended(struct fixture *f, const char *user, const char *perm,
                          enum policy_scope scope, const char *id)
{
    struct authz_question q = {user, perm, scope, id, NULL};
    struct authz_answer ans;
    authz_check(&ans, f->ix, &q, NULL);
    assert_false(ans.allowed);
    return ans.agency_suspended;
}

static void test_index__a_suspended_agency_denies_everyone_until_resumed(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(authz_agency_state(f->ix, "ag_a"), AUTHZ_AGENCY_ACTIVE);
    authz_index_put_agency_status(f->ix, "ag_a", true);
    assert_int_equal(authz_agency_state(f->ix, "ag_a"), AUTHZ_AGENCY_SUSPENDED);
    /* Every scope of the agency, platform admins included, with the reason. */
    assert_true(ask_suspended(f, "u_ann", "inbox.start", POLICY_SCOPE_AGENCY, "ag_a"));
    assert_true(ask_suspended(f, "u_ann", "analytics.read", POLICY_SCOPE_ENVIRONMENT, "env_prod"));
    assert_true(ask_suspended(f, "u_bob", "bot.develop", POLICY_SCOPE_BOT, "bot_2"));
    assert_true(ask_suspended(f, "u_admin", "bot.read", POLICY_SCOPE_BOT, "bot_1"));
    /* Unknown places and other agencies say nothing of a suspension. */
    assert_false(ask_suspended(f, "u_ann", "bot.read", POLICY_SCOPE_ENVIRONMENT, "env_nowhere"));
    assert_true(ask(f, "u_admin", "bot.read", POLICY_SCOPE_ENVIRONMENT, "env_b"));
    struct policy_decide_effective eff;
    bool is_admin = false;
    assert_false(
        authz_effective(&eff, &is_admin, f->ix, "u_ann", POLICY_SCOPE_AGENCY, "ag_a", NULL, NULL));
    /* Resuming gives back exactly what was there. */
    authz_index_put_agency_status(f->ix, "ag_a", false);
    assert_true(ask(f, "u_ann", "inbox.start", POLICY_SCOPE_AGENCY, "ag_a"));
    assert_false(ask(f, "u_ann", "inbox.start", POLICY_SCOPE_ENVIRONMENT, "env_prod"));
    assert_true(ask(f, "u_bob", "bot.develop", POLICY_SCOPE_BOT, "bot_2"));
    assert_int_equal(authz_agency_state(f->ix, "ag_nowhere"), AUTHZ_AGENCY_UNKNOWN);
}

static void test_index__a_gone_environment_or_agency_takes_what_is_under_it(void **state)
{
    struct fixture *f = *state;
    assert_true(ask(f, "u_ann", "analytics.read", POLICY_SCOPE_BOT, "bot_1"));
    /* Only the environment is marked gone: its bot is denied with it, the rest stays. */
    authz_index_put_environment(f->ix, "env_prod", NULL);
    assert_false(ask(f, "u_ann", "analytics.read", POLICY_SCOPE_BOT, "bot_1"));
    assert_false(ask(f, "u_admin", "bot.read", POLICY_SCOPE_BOT, "bot_1"));
    assert_true(ask(f, "u_bob", "bot.develop", POLICY_SCOPE_BOT, "bot_2"));
    /* Only the agency is dropped: every environment and bot under it goes too. */
    struct arena a;
    arena_init(&a);
    const char **users = NULL;
    assert_int_equal(authz_index_place_gone(&users, f->ix, POLICY_SCOPE_AGENCY, "ag_a", &a), 3);
    arena_dispose(&a);
    assert_int_equal(authz_agency_state(f->ix, "ag_a"), AUTHZ_AGENCY_UNKNOWN);
    assert_false(ask(f, "u_bob", "bot.develop", POLICY_SCOPE_BOT, "bot_2"));
    assert_false(ask(f, "u_admin", "bot.read", POLICY_SCOPE_ENVIRONMENT, "env_test"));
    assert_false(ask(f, "u_ann", "inbox.start", POLICY_SCOPE_AGENCY, "ag_a"));
    assert_true(ask(f, "u_admin", "bot.read", POLICY_SCOPE_ENVIRONMENT, "env_b"));
}

static void test_index__sync_applies_suspension_and_deletion_of_an_agency(void **state)
{
    struct fixture *f = *state;
    struct store_conn *c;
    struct usher_error err = {0};
    int64_t cursor = 0;
    int applied = 0;
    assert_int_equal(authz_index_sync_cursor(&cursor, f->store, &err), 0);
    fixture_sql(f->store, "UPDATE agencies SET status = 'suspended' WHERE id = 'ag_a'", NULL, 0);
    fixture_sql(f->store,
                "INSERT INTO audit_log (at, agency_id, action, scope_type, scope_id) VALUES "
                "(2, 'ag_a', 'agency.suspended', 'agency', 'ag_a')",
                NULL, 0);
    assert_int_equal(store_conn_get(f->store, &c, &err), 0);
    assert_int_equal(authz_index_sync(f->ix, c, &cursor, &applied, &err), 0);
    assert_true(ask_suspended(f, "u_cy", "crm.read", POLICY_SCOPE_ENVIRONMENT, "env_prod"));
    fixture_sql(f->store, "UPDATE agencies SET status = 'active' WHERE id = 'ag_a'", NULL, 0);
    fixture_sql(f->store,
                "INSERT INTO audit_log (at, agency_id, action, scope_type, scope_id) VALUES "
                "(3, 'ag_a', 'agency.resumed', 'agency', 'ag_a')",
                NULL, 0);
    assert_int_equal(authz_index_sync(f->ix, c, &cursor, &applied, &err), 0);
    assert_true(ask(f, "u_cy", "crm.read", POLICY_SCOPE_ENVIRONMENT, "env_prod"));
    /* A deletion is a platform entry naming the agency as its scope. */
    fixture_sql(f->store, "DELETE FROM agencies WHERE id = 'ag_a'", NULL, 0);
    fixture_sql(f->store,
                "INSERT INTO audit_log (at, action, scope_type, scope_id) VALUES "
                "(4, 'agency.deleted', 'agency', 'ag_a')",
                NULL, 0);
    assert_int_equal(authz_index_sync(f->ix, c, &cursor, &applied, &err), 0);
    store_conn_put(c);
    assert_false(ask(f, "u_cy", "crm.read", POLICY_SCOPE_ENVIRONMENT, "env_prod"));
    assert_false(ask(f, "u_admin", "bot.read", POLICY_SCOPE_BOT, "bot_2"));
    assert_int_equal(authz_agency_state(f->ix, "ag_a"), AUTHZ_AGENCY_UNKNOWN);
    assert_true(ask(f, "u_admin", "bot.read", POLICY_SCOPE_ENVIRONMENT, "env_b"));
}

/* Whether f->ix counts what an index freshly loaded from f's store counts. */
static void assert_as_fresh(struct fixture *f)
{
    struct usher_error err = {0};
    struct authz_index *fresh = authz_index_new();
    assert_int_equal(authz_index_load(fresh, f->store, &err), 0);
    struct authz_stats have, want;
    authz_index_stats(&have, f->ix);
    authz_index_stats(&want, fresh);
    authz_index_free(fresh);
    assert_int_equal(have.users, want.users);
    assert_int_equal(have.grants, want.grants);
    assert_int_equal(have.agencies, want.agencies);
    assert_int_equal(have.environments, want.environments);
    assert_int_equal(have.bots, want.bots);
    assert_int_equal(have.custom_roles, want.custom_roles);
}

/* Runs the statements of a deletion made elsewhere (NULL-terminated) and writes the one feed
 * row that names the place. */
static void place_delete_elsewhere(struct fixture *f, const char *const *sql, int at,
                                   const char *action, const char *type, const char *id)
{
    for (size_t i = 0; sql[i]; i++)
        fixture_sql(f->store, sql[i], NULL, 0);
    char row[256];
    snprintf(row, sizeof(row),
             "INSERT INTO audit_log (at, action, scope_type, scope_id) VALUES (%d, '%s', '%s', "
             "'%s')",
             at, action, type, id);
    fixture_sql(f->store, row, NULL, 0);
}

static void test_index__sync_of_a_deletion_ends_as_a_fresh_load(void **state)
{
    struct fixture *f = *state;
    struct store_conn *c;
    struct usher_error err = {0};
    int64_t cursor = 0;
    int applied = 0;
    assert_int_equal(authz_index_sync_cursor(&cursor, f->store, &err), 0);
    int64_t start = cursor;
    assert_int_equal(store_conn_get(f->store, &c, &err), 0);
    /* The feed names only the environment: ann's and cy's grants there, and its bot, go. */
    static const char *const env_gone[] = {
        "DELETE FROM grants WHERE environment_id = 'env_prod' OR bot_id = 'bot_1'",
        "DELETE FROM bots WHERE id = 'bot_1'",
        "DELETE FROM environments WHERE id = 'env_prod'",
        NULL,
    };
    place_delete_elsewhere(f, env_gone, 2, "environment.deleted", "environment", "env_prod");
    assert_int_equal(authz_index_sync(f->ix, c, &cursor, &applied, &err), 0);
    assert_int_equal(applied, 1);
    assert_as_fresh(f);
    struct authz_stats st;
    authz_index_stats(&st, f->ix);
    assert_int_equal(st.grants, 3);
    assert_int_equal(st.bots, 1);
    /* Read again (as after a failed batch), the row finds nothing more to do. */
    cursor = start;
    assert_int_equal(authz_index_sync(f->ix, c, &cursor, &applied, &err), 0);
    assert_as_fresh(f);
    /* The agency goes with what is left under it: its environments, bots, roles and grants. */
    static const char *const agency_gone[] = {
        "DELETE FROM grants WHERE agency_id = 'ag_a'",
        "DELETE FROM bots WHERE agency_id = 'ag_a'",
        "DELETE FROM environments WHERE agency_id = 'ag_a'",
        "DELETE FROM custom_roles WHERE agency_id = 'ag_a'",
        "DELETE FROM memberships WHERE agency_id = 'ag_a'",
        "DELETE FROM agencies WHERE id = 'ag_a'",
        NULL,
    };
    place_delete_elsewhere(f, agency_gone, 3, "agency.deleted", "agency", "ag_a");
    assert_int_equal(authz_index_sync(f->ix, c, &cursor, &applied, &err), 0);
    store_conn_put(c);
    assert_as_fresh(f);
    authz_index_stats(&st, f->ix);
    assert_int_equal(st.grants, 0);
    assert_int_equal(st.environments, 1);
    assert_int_equal(st.bots, 0);
    assert_int_equal(st.custom_roles, 1);
}

static void test_index__stats_count_what_was_loaded(void **state)
{
    struct fixture *f = *state;
    struct authz_stats st;
    authz_index_stats(&st, f->ix);
    assert_int_equal(st.users, 4);
    assert_int_equal(st.grants, 5);
    assert_int_equal(st.agencies, 2);
    assert_int_equal(st.environments, 3);
    assert_int_equal(st.bots, 2);
    assert_int_equal(st.custom_roles, 2);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_index__agency_grant_ripples_down_unless_overridden),
        T(test_index__bot_grant_adds_to_environment),
        T(test_index__custom_role_permissions_apply),
        T(test_index__denies_unknowns),
        T(test_index__platform_admin_may_do_everything_on_known_scopes),
        T(test_index__agency_limit_hides_other_agencies),
        T(test_index__answers_nothing_once_it_is_no_longer_current),
        T(test_index__refresh_sees_removed_grants_and_disabled_users),
        T(test_index__a_grant_counts_until_its_expiry_and_not_from_then_on),
        T(test_index__a_load_reads_expiries),
        cmocka_unit_test(test_index__the_expiry_compare_is_exact_to_the_millisecond),
        T(test_index__explain_names_source_and_roles),
        T(test_index__readers_run_while_grants_change),
        T(test_index__sync_applies_changes_made_elsewhere),
        T(test_index__a_suspended_agency_denies_everyone_until_resumed),
        T(test_index__a_gone_environment_or_agency_takes_what_is_under_it),
        T(test_index__sync_applies_suspension_and_deletion_of_an_agency),
        T(test_index__stats_count_what_was_loaded),
        T(test_index__sync_of_a_deletion_ends_as_a_fresh_load),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
