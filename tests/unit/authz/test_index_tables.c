/* The decision index's interned tables on a real SQLite store: grants read before their place,
 * places removed and added again, users deleted and created again under the same id, reloads,
 * the feed position a load records, and an index large enough for its tables to be mapped on
 * their own. */
#include "../unit.h"

#include "../fixture.h"

#include "authz/authz.h"
#include "base/crypto.h"
#include "store/store.h"

struct fixture {
    char *dir;
    struct store *store;
    struct authz_index *ix;
};

static void refresh(struct fixture *f, const char *user_id)
{
    struct store_conn *c;
    struct usher_error err = {0};
    assert_int_equal(store_conn_get(f->store, &c, &err), 0);
    assert_int_equal(authz_index_refresh_user(f->ix, c, user_id, &err), 0);
    store_conn_put(c);
}

static void load(struct fixture *f)
{
    struct usher_error err = {0};
    assert_int_equal(authz_index_load(f->ix, f->store, &err), 0);
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    crypto_setup();
    fixture_store_open(&f->store, &f->dir);
    fixture_sql(f->store,
                "INSERT INTO users (id, email, created_at) VALUES ('u_ann', 'ann@x.test', 1)", NULL,
                0);
    fixture_sql(
        f->store,
        "INSERT INTO agencies (id, name, created_at) VALUES ('ag_a', 'A', 1), ('ag_b', 'B', 1)",
        NULL, 0);
    fixture_sql(f->store,
                "INSERT INTO environments (id, agency_id, name, created_at) VALUES "
                "('env_a', 'ag_a', 'a', 1), ('env_b', 'ag_b', 'b', 1)",
                NULL, 0);
    fixture_sql(f->store,
                "INSERT INTO grants (id, agency_id, user_id, scope_id, roles, created_at) VALUES "
                "('g1', 'ag_a', 'u_ann', 'ag_a', 'agent', 1)",
                NULL, 0);
    f->ix = authz_index_new();
    load(f);
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

static void test_index__a_grant_read_before_its_environment_counts_once_it_arrives(void **state)
{
    struct fixture *f = *state;
    fixture_sql(f->store,
                "INSERT INTO environments (id, agency_id, name, created_at) VALUES "
                "('env_new', 'ag_a', 'new', 2)",
                NULL, 0);
    fixture_sql(f->store,
                "INSERT INTO grants (id, agency_id, user_id, environment_id, scope_id, roles, "
                "created_at) VALUES ('g2', 'ag_a', 'u_ann', 'env_new', 'env_new', 'developer', 2)",
                NULL, 0);
    /* The user is re-read before the index hears of the environment. */
    refresh(f, "u_ann");
    assert_false(ask(f, "u_ann", "bot.develop", POLICY_SCOPE_ENVIRONMENT, "env_new"));
    authz_index_put_environment(f->ix, "env_new", "ag_a");
    assert_true(ask(f, "u_ann", "bot.develop", POLICY_SCOPE_ENVIRONMENT, "env_new"));
    /* The environment grant replaces the agency grant there, and only there. */
    assert_false(ask(f, "u_ann", "inbox.reply", POLICY_SCOPE_ENVIRONMENT, "env_new"));
    assert_true(ask(f, "u_ann", "inbox.reply", POLICY_SCOPE_ENVIRONMENT, "env_a"));
}

static void test_index__a_removed_environment_is_denied_and_can_come_back(void **state)
{
    struct fixture *f = *state;
    assert_true(ask(f, "u_ann", "inbox.reply", POLICY_SCOPE_ENVIRONMENT, "env_a"));
    struct store_conn *c;
    struct usher_error err = {0};
    int64_t cursor = 0;
    int applied = 0;
    assert_int_equal(authz_index_sync_cursor(&cursor, f->store, &err), 0);
    fixture_sql(f->store, "DELETE FROM environments WHERE id = 'env_a'", NULL, 0);
    fixture_sql(f->store,
                "INSERT INTO audit_log (at, agency_id, action, scope_type, scope_id) VALUES "
                "(2, 'ag_a', 'environment.deleted', 'environment', 'env_a')",
                NULL, 0);
    assert_int_equal(store_conn_get(f->store, &c, &err), 0);
    assert_int_equal(authz_index_sync(f->ix, c, &cursor, &applied, &err), 0);
    store_conn_put(c);
    assert_false(ask(f, "u_ann", "inbox.reply", POLICY_SCOPE_ENVIRONMENT, "env_a"));
    struct authz_stats st;
    authz_index_stats(&st, f->ix);
    assert_int_equal(st.environments, 1);
    authz_index_put_environment(f->ix, "env_a", "ag_a");
    assert_true(ask(f, "u_ann", "inbox.reply", POLICY_SCOPE_ENVIRONMENT, "env_a"));
    /* Another agency's environment never takes ann's agency grant. */
    assert_false(ask(f, "u_ann", "inbox.reply", POLICY_SCOPE_ENVIRONMENT, "env_b"));
}

static void test_index__a_user_created_again_under_the_same_id_starts_empty(void **state)
{
    struct fixture *f = *state;
    fixture_sql(f->store, "DELETE FROM users WHERE id = 'u_ann'", NULL, 0);
    refresh(f, "u_ann");
    assert_false(ask(f, "u_ann", "inbox.reply", POLICY_SCOPE_AGENCY, "ag_a"));
    fixture_sql(f->store,
                "INSERT INTO users (id, email, created_at) VALUES ('u_ann', 'ann2@x.test', 3)",
                NULL, 0);
    refresh(f, "u_ann");
    assert_false(ask(f, "u_ann", "inbox.reply", POLICY_SCOPE_AGENCY, "ag_a"));
    fixture_sql(f->store,
                "INSERT INTO grants (id, agency_id, user_id, scope_id, roles, created_at) VALUES "
                "('g3', 'ag_b', 'u_ann', 'ag_b', 'agent', 3)",
                NULL, 0);
    refresh(f, "u_ann");
    assert_true(ask(f, "u_ann", "inbox.reply", POLICY_SCOPE_AGENCY, "ag_b"));
    struct authz_stats st;
    authz_index_stats(&st, f->ix);
    assert_int_equal(st.users, 1);
    assert_int_equal(st.grants, 1);
}

static void test_index__loading_again_replaces_everything(void **state)
{
    struct fixture *f = *state;
    authz_index_forget_user(f->ix, "u_ann");
    authz_index_put_environment(f->ix, "env_ghost", "ag_a");
    assert_false(ask(f, "u_ann", "inbox.reply", POLICY_SCOPE_AGENCY, "ag_a"));
    assert_false(ask(f, "u_ann", "inbox.reply", POLICY_SCOPE_ENVIRONMENT, "env_ghost"));
    load(f);
    assert_true(ask(f, "u_ann", "inbox.reply", POLICY_SCOPE_AGENCY, "ag_a"));
    struct authz_stats st;
    authz_index_stats(&st, f->ix);
    assert_int_equal(st.users, 1);
    assert_int_equal(st.environments, 2);
    assert_true(st.bytes > 0);
}

static void test_index__a_load_records_the_feed_position(void **state)
{
    struct fixture *f = *state;
    fixture_sql(f->store,
                "INSERT INTO audit_log (at, action) VALUES (5, 'test.one'), (6, 'test.two')", NULL,
                0);
    load(f);
    int64_t newest = 0;
    struct usher_error err = {0};
    assert_int_equal(authz_index_sync_cursor(&newest, f->store, &err), 0);
    assert_true(newest > 0);
    assert_int_equal(authz_index_cursor(f->ix), newest);
}

/* Users u0 .. u(n-1), each an agent at agency ag_a and a developer on env_a for odd i. */
static void many_users(struct fixture *f, int n)
{
    char text[1024];
    snprintf(text, sizeof(text),
             "WITH RECURSIVE i(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM i WHERE n < %d) "
             "INSERT INTO users (id, email, created_at) SELECT 'usr_many_' || n, "
             "'m' || n || '@x.test', 1 FROM i",
             n - 1);
    fixture_sql(f->store, text, NULL, 0);
    snprintf(text, sizeof(text),
             "WITH RECURSIVE i(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM i WHERE n < %d) "
             "INSERT INTO grants (id, agency_id, user_id, scope_id, roles, created_at) "
             "SELECT 'ga_' || n, 'ag_a', 'usr_many_' || n, 'ag_a', 'agent', 1 FROM i",
             n - 1);
    fixture_sql(f->store, text, NULL, 0);
    snprintf(text, sizeof(text),
             "WITH RECURSIVE i(n) AS (SELECT 1 UNION ALL SELECT n + 2 FROM i WHERE n < %d) "
             "INSERT INTO grants (id, agency_id, user_id, environment_id, scope_id, roles, "
             "created_at) SELECT 'ge_' || n, 'ag_a', 'usr_many_' || n, 'env_a', 'env_a', "
             "'developer', 1 FROM i",
             n - 2);
    fixture_sql(f->store, text, NULL, 0);
}

static void test_index__a_large_index_answers_like_a_small_one(void **state)
{
    struct fixture *f = *state;
    const int n = 150000; /* enough for tables of several megabytes */
    many_users(f, n);
    load(f);
    struct authz_stats st;
    authz_index_stats(&st, f->ix);
    assert_int_equal(st.users, n + 1);
    assert_int_equal(st.grants, 1 + n + n / 2);
    for (int i = 0; i < n; i += 997) {
        char id[32];
        snprintf(id, sizeof(id), "usr_many_%d", i);
        /* Even users ripple the agency's agent role down; odd ones are developers there. */
        assert_int_equal(ask(f, id, "inbox.reply", POLICY_SCOPE_ENVIRONMENT, "env_a"), i % 2 == 0);
        assert_int_equal(ask(f, id, "bot.develop", POLICY_SCOPE_ENVIRONMENT, "env_a"), i % 2 == 1);
        assert_true(ask(f, id, "inbox.reply", POLICY_SCOPE_AGENCY, "ag_a"));
    }
    assert_false(ask(f, "usr_many_150000", "inbox.reply", POLICY_SCOPE_AGENCY, "ag_a"));
    /* Changes after a load land in blocks of their own, beside the loaded ones. */
    fixture_sql(f->store, "UPDATE grants SET roles = 'operator' WHERE user_id = 'usr_many_2'", NULL,
                0);
    refresh(f, "usr_many_2");
    assert_true(ask(f, "usr_many_2", "crm.write", POLICY_SCOPE_AGENCY, "ag_a"));
    assert_false(ask(f, "usr_many_4", "crm.write", POLICY_SCOPE_AGENCY, "ag_a"));
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_index__a_grant_read_before_its_environment_counts_once_it_arrives),
        T(test_index__a_removed_environment_is_denied_and_can_come_back),
        T(test_index__a_user_created_again_under_the_same_id_starts_empty),
        T(test_index__loading_again_replaces_everything),
        T(test_index__a_load_records_the_feed_position),
        T(test_index__a_large_index_answers_like_a_small_one),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
