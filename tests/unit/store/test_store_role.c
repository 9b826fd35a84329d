/* Custom role records on a real SQLite store: one agency's roles never reach another's, names
 * are unique per agency, and "in use" matches whole role ids in grants and pending
 * invitations. */
#include "../unit.h"

#include "../fixture.h"

#include "base/arena.h"
#include "base/error.h"
#include "store/store.h"
#include "store/store_role.h"

struct fixture {
    char *dir;
    struct store *store;
    struct store_conn *conn;
    struct arena arena;
    struct usher_error err;
};

static void role_add(struct fixture *f, const char *id, const char *agency_id, const char *name,
                     const char *permissions)
{
    struct store_custom_role r = {id, agency_id, name, permissions, 1000};
    usher_error_clear(&f->err);
    if (store_role_insert(f->conn, &f->arena, &r, &f->err))
        fail_msg("insert %s: %s", id, f->err.message);
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    arena_init(&f->arena);
    fixture_store_open(&f->store, &f->dir);
    assert_int_equal(store_conn_get(f->store, &f->conn, &f->err), 0);
    fixture_agency_add(f->store, "agy_a", "A");
    fixture_agency_add(f->store, "agy_b", "B");
    fixture_environment_add(f->store, "env_a", "agy_a", "E");
    fixture_user_add(f->store, "usr_1");
    fixture_user_add(f->store, "usr_2");
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    store_conn_put(f->conn);
    fixture_store_close(f->store, f->dir);
    arena_dispose(&f->arena);
    free(f);
    return 0;
}

static void expect_error(struct fixture *f, int rc, int code, const char *problem,
                         const char *field)
{
    assert_int_equal(rc, code);
    assert_int_equal(f->err.code, code);
    if (problem)
        assert_string_equal(f->err.problem, problem);
    assert_string_equal(f->err.field, field ? field : "");
    usher_error_clear(&f->err);
}

static bool in_use(struct fixture *f, const char *agency_id, const char *role_id)
{
    bool used = true;
    usher_error_clear(&f->err);
    if (store_role_in_use(&used, f->conn, &f->arena, agency_id, role_id, &f->err))
        fail_msg("in_use %s: %s", role_id, f->err.message);
    return used;
}

static void test_role_insert__reads_back_within_its_agency_only(void **state)
{
    struct fixture *f = *state;
    role_add(f, "crl_one", "agy_a", "Night shift", "inbox.reply,bot.read");
    struct store_custom_role r;
    assert_int_equal(store_role_get(&r, f->conn, &f->arena, "agy_a", "crl_one", &f->err), 0);
    assert_string_equal(r.id, "crl_one");
    assert_string_equal(r.agency_id, "agy_a");
    assert_string_equal(r.name, "Night shift");
    assert_string_equal(r.permissions, "inbox.reply,bot.read");
    assert_int_equal(r.created_at, 1000);
    expect_error(f, store_role_get(&r, f->conn, &f->arena, "agy_b", "crl_one", &f->err),
                 USHER_ENOTFOUND, "not_found", NULL);
    expect_error(f, store_role_get(&r, f->conn, &f->arena, "agy_a", "crl_two", &f->err),
                 USHER_ENOTFOUND, "not_found", NULL);
}

static void test_role_insert__names_are_unique_per_agency(void **state)
{
    struct fixture *f = *state;
    role_add(f, "crl_one", "agy_a", "Night shift", "inbox.reply");
    struct store_custom_role dup = {"crl_two", "agy_a", "Night shift", "cms.read", 1};
    expect_error(f, store_role_insert(f->conn, &f->arena, &dup, &f->err), USHER_ECONFLICT,
                 "conflict", "name");
    role_add(f, "crl_three", "agy_b", "Night shift", "cms.read");
    struct store_custom_role *items = NULL;
    size_t count = 0;
    assert_int_equal(store_custom_role_list(&items, &count, f->conn, &f->arena, "agy_a", &f->err),
                     0);
    assert_int_equal(count, 1);
    assert_string_equal(items[0].id, "crl_one");
}

static void test_role_rename__keeps_the_id_and_refuses_a_taken_name(void **state)
{
    struct fixture *f = *state;
    role_add(f, "crl_one", "agy_a", "One", "inbox.reply");
    role_add(f, "crl_two", "agy_a", "Two", "inbox.reply");
    role_add(f, "crl_b", "agy_b", "Three", "inbox.reply");
    assert_int_equal(store_role_rename(f->conn, &f->arena, "agy_a", "crl_one", "Uno", &f->err), 0);
    struct store_custom_role r;
    assert_int_equal(store_role_get(&r, f->conn, &f->arena, "agy_a", "crl_one", &f->err), 0);
    assert_string_equal(r.name, "Uno");
    expect_error(f, store_role_rename(f->conn, &f->arena, "agy_a", "crl_one", "Two", &f->err),
                 USHER_ECONFLICT, "conflict", "name");
    /* Another agency's name is free; another agency's role cannot be renamed from here. */
    assert_int_equal(store_role_rename(f->conn, &f->arena, "agy_a", "crl_one", "Three", &f->err),
                     0);
    expect_error(f, store_role_rename(f->conn, &f->arena, "agy_a", "crl_b", "Mine", &f->err),
                 USHER_ENOTFOUND, NULL, NULL);
    assert_int_equal(store_role_get(&r, f->conn, &f->arena, "agy_b", "crl_b", &f->err), 0);
    assert_string_equal(r.name, "Three");
}

static void test_role_permissions_set__replaces_the_list(void **state)
{
    struct fixture *f = *state;
    role_add(f, "crl_one", "agy_a", "One", "inbox.reply");
    assert_int_equal(store_role_permissions_set(f->conn, &f->arena, "agy_a", "crl_one",
                                                "cms.read,cms.write", &f->err),
                     0);
    struct store_custom_role r;
    assert_int_equal(store_role_get(&r, f->conn, &f->arena, "agy_a", "crl_one", &f->err), 0);
    assert_string_equal(r.permissions, "cms.read,cms.write");
    expect_error(f, store_role_permissions_set(f->conn, &f->arena, "agy_b", "crl_one", "", &f->err),
                 USHER_ENOTFOUND, NULL, NULL);
}

static void test_role_delete__removes_only_the_agencys_role(void **state)
{
    struct fixture *f = *state;
    role_add(f, "crl_one", "agy_a", "One", "inbox.reply");
    expect_error(f, store_role_delete(f->conn, &f->arena, "agy_b", "crl_one", &f->err),
                 USHER_ENOTFOUND, NULL, NULL);
    assert_int_equal(store_role_delete(f->conn, &f->arena, "agy_a", "crl_one", &f->err), 0);
    struct store_custom_role r;
    expect_error(f, store_role_get(&r, f->conn, &f->arena, "agy_a", "crl_one", &f->err),
                 USHER_ENOTFOUND, NULL, NULL);
    expect_error(f, store_role_delete(f->conn, &f->arena, "agy_a", "crl_one", &f->err),
                 USHER_ENOTFOUND, NULL, NULL);
}

static void test_role_in_use__matches_whole_items_of_grants(void **state)
{
    struct fixture *f = *state;
    role_add(f, "crl_x_y", "agy_a", "One", "inbox.reply");
    assert_false(in_use(f, "agy_a", "crl_x_y"));

    /* Ids that only contain, start or end like the role, or match it through LIKE's
     * wildcards ('_' matches any character), are not the role. */
    fixture_grant_add_with(f->store, &(struct fixture_grant){.id = "grt_1",
                                                             .agency_id = "agy_a",
                                                             .user_id = "usr_1",
                                                             .roles = "agent,crl_x_yz,acrl_x_y"});
    fixture_grant_add_with(f->store, &(struct fixture_grant){.id = "grt_2",
                                                             .agency_id = "agy_a",
                                                             .user_id = "usr_1",
                                                             .environment_id = "env_a",
                                                             .roles = "crl_xAy,operator"});
    assert_false(in_use(f, "agy_a", "crl_x_y"));
    assert_false(in_use(f, "agy_a", "crl_x%"));

    /* The same id in another agency's grant does not count. */
    fixture_grant_add_with(
        f->store, &(struct fixture_grant){
                      .id = "grt_3", .agency_id = "agy_b", .user_id = "usr_2", .roles = "crl_x_y"});
    assert_false(in_use(f, "agy_a", "crl_x_y"));

    /* Alone, first, middle or last in the list. */
    static const char *const lists[] = {"crl_x_y", "crl_x_y,agent", "agent,crl_x_y,operator",
                                        "agent,crl_x_y"};
    for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
        struct store_value p[] = {store_text(lists[i])};
        fixture_sql(f->store, "UPDATE grants SET roles = $1 WHERE id = 'grt_2'", p, 1);
        assert_true(in_use(f, "agy_a", "crl_x_y"));
    }
}

static void test_role_in_use__counts_pending_invitations_only(void **state)
{
    struct fixture *f = *state;
    role_add(f, "crl_one", "agy_a", "One", "inbox.reply");
    fixture_invitation_add(f->store,
                           &(struct fixture_invitation){
                               .id = "inv_1",
                               .agency_id = "agy_a",
                               .status = "revoked",
                               .grants = "[{\"environment_id\":\"env_a\",\"roles\":[\"crl_one\"],"
                                         "\"extra_permissions\":[]}]"});
    fixture_invitation_add(f->store,
                           &(struct fixture_invitation){.id = "inv_2",
                                                        .agency_id = "agy_a",
                                                        .status = "accepted",
                                                        .grants = "[{\"roles\":[\"crl_one\"]}]"});
    fixture_invitation_add(
        f->store, &(struct fixture_invitation){.id = "inv_3",
                                               .agency_id = "agy_a",
                                               .status = "pending",
                                               .grants = "[{\"roles\":[\"crl_one2\",\"agent\"]}]"});
    fixture_invitation_add(f->store,
                           &(struct fixture_invitation){.id = "inv_4",
                                                        .agency_id = "agy_b",
                                                        .status = "pending",
                                                        .grants = "[{\"roles\":[\"crl_one\"]}]"});
    assert_false(in_use(f, "agy_a", "crl_one"));
    fixture_invitation_add(
        f->store,
        &(struct fixture_invitation){
            .id = "inv_5",
            .agency_id = "agy_a",
            .status = "pending",
            .grants = "[{\"roles\":[\"agent\"]},{\"environment_id\":\"env_a\",\"roles\":[\"crl_"
                      "one\"]}]"});
    assert_true(in_use(f, "agy_a", "crl_one"));
}

int main(void)
{
    unit_env_clear();
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_role_insert__reads_back_within_its_agency_only),
        T(test_role_insert__names_are_unique_per_agency),
        T(test_role_rename__keeps_the_id_and_refuses_a_taken_name),
        T(test_role_permissions_set__replaces_the_list),
        T(test_role_delete__removes_only_the_agencys_role),
        T(test_role_in_use__matches_whole_items_of_grants),
        T(test_role_in_use__counts_pending_invitations_only),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
