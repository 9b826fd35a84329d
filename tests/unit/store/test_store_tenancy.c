/* Agency, environment, bot and grant records on a real SQLite store in a temporary directory,
 * and keyset pagination with its cursors. */
#include "../unit.h"

#include "../fixture.h"

#include "base/arena.h"
#include "base/error.h"
#include "store/store.h"
#include "store/store_tenancy.h"

struct fixture {
    char *dir;
    struct store *store;
    struct store_conn *conn;
    struct arena arena;
    struct usher_error err;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    arena_init(&f->arena);
    fixture_store_open(&f->store, &f->dir);
    assert_int_equal(store_conn_get(f->store, &f->conn, &f->err), 0);
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

static void agency_add(struct fixture *f, const char *id, int64_t created_at)
{
    struct store_agency a = {id, "Agency", created_at, NULL, false, false};
    usher_error_clear(&f->err);
    assert_int_equal(store_agency_insert(f->conn, &f->arena, &a, &f->err), 0);
}

static void environment_add(struct fixture *f, const char *id, const char *agency_id,
                            int64_t created_at)
{
    struct store_environment e = {id, agency_id, "Environment", created_at};
    usher_error_clear(&f->err);
    assert_int_equal(store_environment_insert(f->conn, &f->arena, &e, &f->err), 0);
}

static void bot_add(struct fixture *f, const char *id, const char *agency_id,
                    const char *environment_id, int64_t created_at)
{
    struct store_bot b = {id, agency_id, environment_id, "Bot", created_at, false};
    usher_error_clear(&f->err);
    assert_int_equal(store_bot_insert(f->conn, &f->arena, &b, &f->err), 0);
}

static void test_store_agency__insert_then_get(void **state)
{
    struct fixture *f = *state;
    fixture_user_add(f->store, "usr_1");
    struct store_agency in = {"agy_1", "Acme", 1000, "usr_1", false, false};
    assert_int_equal(store_agency_insert(f->conn, &f->arena, &in, &f->err), 0);
    struct store_agency out;
    assert_int_equal(store_agency_get(&out, f->conn, &f->arena, "agy_1", &f->err), 0);
    assert_string_equal(out.id, "agy_1");
    assert_string_equal(out.name, "Acme");
    assert_int_equal(out.created_at, 1000);
    assert_string_equal(out.created_by, "usr_1");
}

static void test_store_agency__unknown_id_is_not_found(void **state)
{
    struct fixture *f = *state;
    struct store_agency out;
    assert_int_equal(store_agency_get(&out, f->conn, &f->arena, "agy_none", &f->err),
                     USHER_ENOTFOUND);
    assert_string_equal(f->err.message, "agency not found");
}

static void test_store_agency__duplicate_id_conflicts(void **state)
{
    struct fixture *f = *state;
    agency_add(f, "agy_1", 1);
    struct store_agency again = {"agy_1", "Other", 2, NULL, false, false};
    assert_int_equal(store_agency_insert(f->conn, &f->arena, &again, &f->err), USHER_ECONFLICT);
}

/* Pages through a list of n agencies with limit, checking order and completeness. */
static void page_all_agencies(struct fixture *f, const char *user_id, size_t limit,
                              const char *const *want, size_t want_count)
{
    struct store_cursor after = {0};
    size_t seen = 0;
    for (int guard = 0; guard < 100; guard++) {
        struct store_agency *items = NULL;
        size_t count = 0;
        bool more = false;
        int rc = user_id ? store_agency_list_for_user(&items, &count, &more, f->conn, &f->arena,
                                                      user_id, &after, limit, &f->err)
                         : store_agency_list(&items, &count, &more, f->conn, &f->arena, &after,
                                             limit, &f->err);
        assert_int_equal(rc, 0);
        assert_true(count <= limit);
        for (size_t i = 0; i < count; i++) {
            assert_true(seen < want_count);
            assert_string_equal(items[i].id, want[seen]);
            seen++;
        }
        if (!more)
            break;
        assert_int_equal(count, limit);
        /* The cursor goes through its text form, as it does between HTTP requests. */
        const char *text =
            store_cursor_encode(&f->arena, items[count - 1].created_at, items[count - 1].id);
        assert_int_equal(store_cursor_decode(&after, &f->arena, text, &f->err), 0);
    }
    assert_int_equal(seen, want_count);
}

static void test_store_agency__list_pages_in_created_order_with_ties(void **state)
{
    struct fixture *f = *state;
    /* Inserted out of order; equal created_at values are ordered by id. */
    agency_add(f, "agy_e", 300);
    agency_add(f, "agy_b", 100);
    agency_add(f, "agy_d", 200);
    agency_add(f, "agy_a", 100);
    agency_add(f, "agy_c", 200);
    agency_add(f, "agy_g", 400);
    agency_add(f, "agy_f", 300);
    static const char *const want[] = {"agy_a", "agy_b", "agy_c", "agy_d",
                                       "agy_e", "agy_f", "agy_g"};
    for (size_t limit = 1; limit <= 8; limit++)
        page_all_agencies(f, NULL, limit, want, 7);
}

static void test_store_agency__list_for_user_shows_memberships_only(void **state)
{
    struct fixture *f = *state;
    fixture_user_add(f->store, "usr_1");
    fixture_user_add(f->store, "usr_2");
    agency_add(f, "agy_1", 1);
    agency_add(f, "agy_2", 2);
    agency_add(f, "agy_3", 3);
    agency_add(f, "agy_4", 4);
    fixture_member_add(f->store, "agy_1", "usr_1");
    fixture_member_add(f->store, "agy_3", "usr_1");
    fixture_member_add(f->store, "agy_4", "usr_1");
    fixture_member_add(f->store, "agy_2", "usr_2");
    static const char *const want[] = {"agy_1", "agy_3", "agy_4"};
    page_all_agencies(f, "usr_1", 2, want, 3);
    page_all_agencies(f, "usr_1", 50, want, 3);
    page_all_agencies(f, "usr_9", 50, NULL, 0);

    bool member = false;
    assert_int_equal(
        store_agency_has_member(&member, f->conn, &f->arena, "agy_3", "usr_1", &f->err), 0);
    assert_true(member);
    assert_int_equal(
        store_agency_has_member(&member, f->conn, &f->arena, "agy_2", "usr_1", &f->err), 0);
    assert_false(member);
}

static void test_store_environment__insert_get_and_list_by_agency(void **state)
{
    struct fixture *f = *state;
    agency_add(f, "agy_1", 1);
    agency_add(f, "agy_2", 1);
    environment_add(f, "env_b", "agy_1", 20);
    environment_add(f, "env_a", "agy_1", 10);
    environment_add(f, "env_x", "agy_2", 5);
    environment_add(f, "env_c", "agy_1", 20);

    struct store_environment e;
    assert_int_equal(store_environment_get(&e, f->conn, &f->arena, "env_b", &f->err), 0);
    assert_string_equal(e.agency_id, "agy_1");
    assert_string_equal(e.name, "Environment");
    assert_int_equal(e.created_at, 20);
    usher_error_clear(&f->err);
    assert_int_equal(store_environment_get(&e, f->conn, &f->arena, "env_none", &f->err),
                     USHER_ENOTFOUND);

    struct store_environment *items;
    size_t count;
    bool more;
    struct store_cursor after = {0};
    assert_int_equal(store_environment_list(&items, &count, &more, f->conn, &f->arena, "agy_1",
                                            &after, 2, &f->err),
                     0);
    assert_int_equal(count, 2);
    assert_true(more);
    assert_string_equal(items[0].id, "env_a");
    assert_string_equal(items[1].id, "env_b");
    after = (struct store_cursor){true, items[1].created_at, items[1].id};
    assert_int_equal(store_environment_list(&items, &count, &more, f->conn, &f->arena, "agy_1",
                                            &after, 2, &f->err),
                     0);
    assert_int_equal(count, 1);
    assert_false(more);
    assert_string_equal(items[0].id, "env_c");
}

static void test_store_environment__unknown_agency_conflicts(void **state)
{
    struct fixture *f = *state;
    struct store_environment e = {"env_1", "agy_none", "Orphan", 1};
    assert_int_equal(store_environment_insert(f->conn, &f->arena, &e, &f->err), USHER_ECONFLICT);
}

static void test_store_bot__shared_needs_a_bot_manager_grant(void **state)
{
    struct fixture *f = *state;
    fixture_user_add(f->store, "usr_1");
    fixture_user_add(f->store, "usr_2");
    agency_add(f, "agy_1", 1);
    environment_add(f, "env_1", "agy_1", 1);
    environment_add(f, "env_2", "agy_1", 1);
    bot_add(f, "bot_1", "agy_1", "env_1", 1);
    bot_add(f, "bot_2", "agy_1", "env_1", 2);
    bot_add(f, "bot_3", "agy_1", "env_1", 3);
    bot_add(f, "bot_4", "agy_1", "env_1", 4);
    bot_add(f, "bot_9", "agy_1", "env_2", 1);
    fixture_grant_add_with(f->store, &(struct fixture_grant){.id = "grt_1",
                                                             .agency_id = "agy_1",
                                                             .user_id = "usr_1",
                                                             .environment_id = "env_1",
                                                             .bot_id = "bot_1",
                                                             .roles = "bot_manager"});
    /* Names that only look like bot_manager do not count. */
    fixture_grant_add_with(f->store, &(struct fixture_grant){.id = "grt_2",
                                                             .agency_id = "agy_1",
                                                             .user_id = "usr_1",
                                                             .environment_id = "env_1",
                                                             .bot_id = "bot_2",
                                                             .roles = "botXmanager,bot_managers"});
    fixture_grant_add_with(f->store, &(struct fixture_grant){.id = "grt_3",
                                                             .agency_id = "agy_1",
                                                             .user_id = "usr_2",
                                                             .environment_id = "env_1",
                                                             .bot_id = "bot_3",
                                                             .roles = "developer,bot_manager"});
    fixture_grant_add_with(f->store, &(struct fixture_grant){.id = "grt_4",
                                                             .agency_id = "agy_1",
                                                             .user_id = "usr_2",
                                                             .environment_id = "env_1",
                                                             .bot_id = "bot_4",
                                                             .roles = "",
                                                             .extra_permissions = "bot.read"});

    struct store_bot *items;
    size_t count;
    bool more;
    assert_int_equal(
        store_bot_list(&items, &count, &more, f->conn, &f->arena, "env_1", NULL, 50, 1, &f->err),
        0);
    assert_int_equal(count, 4);
    assert_false(more);
    assert_string_equal(items[0].id, "bot_1");
    assert_true(items[0].is_shared);
    assert_false(items[1].is_shared);
    assert_true(items[2].is_shared);
    assert_false(items[3].is_shared);
    assert_string_equal(items[2].environment_id, "env_1");
    assert_string_equal(items[2].agency_id, "agy_1");

    struct store_bot b;
    assert_int_equal(store_bot_get(&b, f->conn, &f->arena, "bot_3", 1, &f->err), 0);
    assert_true(b.is_shared);
    assert_int_equal(store_bot_get(&b, f->conn, &f->arena, "bot_9", 1, &f->err), 0);
    assert_false(b.is_shared);
    assert_string_equal(b.environment_id, "env_2");
    usher_error_clear(&f->err);
    assert_int_equal(store_bot_get(&b, f->conn, &f->arena, "bot_none", 1, &f->err),
                     USHER_ENOTFOUND);
}

/* The shared flag is read at the caller's now, never at the store's own clock: a bot_manager
 * grant ending at 5000 shares the bot at 4999 and no longer at 5000. */
static void test_store_bot__shared_at_the_callers_now(void **state)
{
    struct fixture *f = *state;
    fixture_user_add(f->store, "usr_1");
    agency_add(f, "agy_1", 1);
    environment_add(f, "env_1", "agy_1", 1);
    bot_add(f, "bot_1", "agy_1", "env_1", 1);
    fixture_grant_add_with(f->store, &(struct fixture_grant){.id = "grt_1",
                                                             .agency_id = "agy_1",
                                                             .user_id = "usr_1",
                                                             .environment_id = "env_1",
                                                             .bot_id = "bot_1",
                                                             .roles = "bot_manager"});
    struct store_value p[] = {store_text("grt_1"), store_int(5000)};
    assert_int_equal(store_exec(f->conn, &f->arena,
                                "UPDATE grants SET expires_at = $2 WHERE id = $1", p, 2, NULL, NULL,
                                &f->err),
                     0);

    struct store_bot b;
    assert_int_equal(store_bot_get(&b, f->conn, &f->arena, "bot_1", 4999, &f->err), 0);
    assert_true(b.is_shared);
    assert_int_equal(store_bot_get(&b, f->conn, &f->arena, "bot_1", 5000, &f->err), 0);
    assert_false(b.is_shared);

    struct store_bot *items;
    size_t count;
    bool more;
    assert_int_equal(
        store_bot_list(&items, &count, &more, f->conn, &f->arena, "env_1", NULL, 50, 4999, &f->err),
        0);
    assert_int_equal(count, 1);
    assert_true(items[0].is_shared);
    assert_int_equal(
        store_bot_list(&items, &count, &more, f->conn, &f->arena, "env_1", NULL, 50, 5000, &f->err),
        0);
    assert_int_equal(count, 1);
    assert_false(items[0].is_shared);
}

static void test_store_bot__unknown_environment_conflicts(void **state)
{
    struct fixture *f = *state;
    agency_add(f, "agy_1", 1);
    struct store_bot b = {"bot_1", "agy_1", "env_none", "Bot", 1, false};
    assert_int_equal(store_bot_insert(f->conn, &f->arena, &b, &f->err), USHER_ECONFLICT);
}

static void test_store_grant__lists_a_users_grants_in_one_agency(void **state)
{
    struct fixture *f = *state;
    fixture_user_add(f->store, "usr_1");
    fixture_user_add(f->store, "usr_2");
    agency_add(f, "agy_1", 1);
    agency_add(f, "agy_2", 1);
    environment_add(f, "env_1", "agy_1", 1);
    environment_add(f, "env_2", "agy_1", 1);
    environment_add(f, "env_9", "agy_2", 1);
    bot_add(f, "bot_1", "agy_1", "env_2", 1);
    fixture_grant_add_with(f->store, &(struct fixture_grant){.id = "grt_a",
                                                             .agency_id = "agy_1",
                                                             .user_id = "usr_1",
                                                             .roles = "agent",
                                                             .extra_permissions = "cms.read"});
    fixture_grant_add_with(f->store, &(struct fixture_grant){.id = "grt_b",
                                                             .agency_id = "agy_1",
                                                             .user_id = "usr_1",
                                                             .environment_id = "env_1",
                                                             .roles = "operator"});
    /* A bot grant row without its environment takes the bot's. */
    fixture_grant_add_with(f->store, &(struct fixture_grant){.id = "grt_c",
                                                             .agency_id = "agy_1",
                                                             .user_id = "usr_1",
                                                             .bot_id = "bot_1",
                                                             .roles = "bot_manager"});
    fixture_grant_add_with(f->store, &(struct fixture_grant){.id = "grt_d",
                                                             .agency_id = "agy_2",
                                                             .user_id = "usr_1",
                                                             .environment_id = "env_9",
                                                             .roles = "agent"});
    fixture_grant_add_with(
        f->store, &(struct fixture_grant){
                      .id = "grt_e", .agency_id = "agy_1", .user_id = "usr_2", .roles = "owner"});

    struct store_grant *g;
    size_t count;
    assert_int_equal(
        store_grant_list_in_agency(&g, &count, f->conn, &f->arena, "agy_1", "usr_1", 0, &f->err),
        0);
    assert_int_equal(count, 3);
    assert_string_equal(g[0].id, "grt_a");
    assert_null(g[0].environment_id);
    assert_null(g[0].bot_id);
    assert_string_equal(g[0].scope_id, "agy_1");
    assert_string_equal(g[0].roles, "agent");
    assert_string_equal(g[0].extra_permissions, "cms.read");
    assert_string_equal(g[1].environment_id, "env_1");
    assert_null(g[1].bot_id);
    assert_string_equal(g[2].bot_id, "bot_1");
    assert_string_equal(g[2].environment_id, "env_2");

    assert_int_equal(
        store_grant_list_in_agency(&g, &count, f->conn, &f->arena, "agy_2", "usr_2", 0, &f->err),
        0);
    assert_int_equal(count, 0);
    assert_null(g);
}

static void test_store_cursor__round_trips(void **state)
{
    struct fixture *f = *state;
    const char *text = store_cursor_encode(&f->arena, 1795676271063, "agy_rd-Am5k_0uhdRT0By5");
    for (const char *p = text; *p; p++)
        assert_true(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", *p));
    struct store_cursor c;
    assert_int_equal(store_cursor_decode(&c, &f->arena, text, &f->err), 0);
    assert_true(c.is_set);
    assert_int_equal(c.created_at, 1795676271063);
    assert_string_equal(c.id, "agy_rd-Am5k_0uhdRT0By5");
    assert_int_equal(store_cursor_decode(&c, &f->arena, "MTIzLmFneV8x", &f->err), 0);
    assert_int_equal(c.created_at, 123);
    assert_string_equal(c.id, "agy_1");
    assert_int_equal(store_cursor_decode(&c, &f->arena, NULL, &f->err), 0);
    assert_false(c.is_set);
    assert_int_equal(store_cursor_decode(&c, &f->arena, "", &f->err), 0);
    assert_false(c.is_set);
}

static void test_store_cursor__refuses_anything_else(void **state)
{
    struct fixture *f = *state;
    char long_text[STORE_CURSOR_MAX + 2];
    memset(long_text, 'A', sizeof(long_text) - 1);
    long_text[sizeof(long_text) - 1] = '\0';
    const char *bad[] = {
        "!!!",
        "MTIz",                         /* "123": no dot */
        "MTIzLg",                       /* "123.": no id */
        "LmFneV8x",                     /* ".agy_1": no time */
        "LTEuYWd5XzE",                  /* "-1.agy_1" */
        "MTIzLmEgYg",                   /* "123.a b": space in the id */
        "MTIzLmFneV8x=",                /* padding is not part of the format */
        "MTIzLmFneV8x+",                /* standard base64 alphabet */
        "OTk5OTk5OTk5OTk5OTk5OTk5OS5h", /* "9999999999999999999.a": too many digits */
        long_text,
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct store_cursor c;
        usher_error_clear(&f->err);
        assert_int_equal(store_cursor_decode(&c, &f->arena, bad[i], &f->err), USHER_EINVAL);
        assert_string_equal(f->err.field, "cursor");
        assert_false(c.is_set);
    }
}

int main(void)
{
    unit_env_clear();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_store_agency__insert_then_get, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_agency__unknown_id_is_not_found, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_store_agency__duplicate_id_conflicts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_agency__list_pages_in_created_order_with_ties,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_agency__list_for_user_shows_memberships_only,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_environment__insert_get_and_list_by_agency,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_environment__unknown_agency_conflicts, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_store_bot__shared_needs_a_bot_manager_grant, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_store_bot__shared_at_the_callers_now, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_bot__unknown_environment_conflicts, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_store_grant__lists_a_users_grants_in_one_agency, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_store_cursor__round_trips, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_cursor__refuses_anything_else, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
