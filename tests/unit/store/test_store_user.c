/* User and session records on a real SQLite database in a temporary directory. */
#include "../unit.h"

#include "../fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/crypto.h"
#include "base/log.h"
#include "store/store.h"
#include "store/store_session.h"
#include "store/store_user.h"

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
    fixture_store_open(&f->store, &f->dir);
    assert_int_equal(store_conn_get(f->store, &f->conn, &f->err), 0);
    arena_init(&f->arena);
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

static struct store_user user_make(const char *id, const char *email)
{
    struct store_user u = {
        .id = id,
        .email = email,
        .first_name = "Ann",
        .last_name = "Lee",
        .password_hash = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA",
        .status = STORE_USER_ACTIVE,
        .created_at = 1000,
    };
    return u;
}

static void test_store_user__insert_then_read_by_id_and_by_email(void **state)
{
    struct fixture *f = *state;
    struct store_user u = user_make("usr_1", "ann@example.com");
    assert_int_equal(store_user_insert(f->conn, &f->arena, &u, &f->err), 0);
    struct store_user got;
    assert_int_equal(store_user_get(&got, f->conn, &f->arena, "usr_1", &f->err), 0);
    assert_string_equal(got.email, "ann@example.com");
    assert_string_equal(got.first_name, "Ann");
    assert_string_equal(got.last_name, "Lee");
    assert_string_equal(got.password_hash, u.password_hash);
    assert_string_equal(got.status, "active");
    assert_false(got.is_platform_admin);
    assert_int_equal(got.created_at, 1000);
    assert_int_equal(got.last_active_at, 0);
    assert_int_equal(store_user_by_email(&got, f->conn, &f->arena, "ann@example.com", &f->err), 0);
    assert_string_equal(got.id, "usr_1");
}

static void test_store_user__unknown_ids_and_emails_are_not_found(void **state)
{
    struct fixture *f = *state;
    struct store_user got;
    assert_int_equal(store_user_get(&got, f->conn, &f->arena, "usr_none", &f->err),
                     USHER_ENOTFOUND);
    usher_error_clear(&f->err);
    assert_int_equal(store_user_by_email(&got, f->conn, &f->arena, "no@example.com", &f->err),
                     USHER_ENOTFOUND);
    usher_error_clear(&f->err);
    assert_int_equal(store_user_password_set(f->conn, &f->arena, "usr_none", "x", &f->err),
                     USHER_ENOTFOUND);
}

static void test_store_user__refuses_a_second_account_with_the_same_email(void **state)
{
    struct fixture *f = *state;
    struct store_user a = user_make("usr_a", "same@example.com");
    struct store_user b = user_make("usr_b", "same@example.com");
    assert_int_equal(store_user_insert(f->conn, &f->arena, &a, &f->err), 0);
    assert_int_equal(store_user_insert(f->conn, &f->arena, &b, &f->err), USHER_ECONFLICT);
}

static void test_store_user__updates_hash_status_and_last_active(void **state)
{
    struct fixture *f = *state;
    struct store_user u = user_make("usr_u", "upd@example.com");
    u.password_hash = NULL;
    assert_int_equal(store_user_insert(f->conn, &f->arena, &u, &f->err), 0);
    struct store_user got;
    assert_int_equal(store_user_get(&got, f->conn, &f->arena, "usr_u", &f->err), 0);
    assert_null(got.password_hash);
    assert_int_equal(store_user_password_set(f->conn, &f->arena, "usr_u", "$argon2id$new", &f->err),
                     0);
    assert_int_equal(
        store_user_status_set(f->conn, &f->arena, "usr_u", STORE_USER_DISABLED, &f->err), 0);
    assert_int_equal(store_user_touch(f->conn, &f->arena, "usr_u", 4242, &f->err), 0);
    assert_int_equal(store_user_get(&got, f->conn, &f->arena, "usr_u", &f->err), 0);
    assert_string_equal(got.password_hash, "$argon2id$new");
    assert_string_equal(got.status, "disabled");
    assert_int_equal(got.last_active_at, 4242);
    /* The schema refuses any other status: a CHECK violation is a bug, not a conflict. */
    assert_int_equal(store_user_status_set(f->conn, &f->arena, "usr_u", "deleted", &f->err),
                     USHER_EINTERNAL);
}

static void test_store_user__counts_platform_admins(void **state)
{
    struct fixture *f = *state;
    int64_t n = -1;
    assert_int_equal(store_user_admin_count(&n, f->conn, &f->arena, &f->err), 0);
    assert_int_equal(n, 0);
    struct store_user a = user_make("usr_a", "a@example.com");
    struct store_user b = user_make("usr_b", "b@example.com");
    struct store_user c = user_make("usr_c", "c@example.com");
    a.is_platform_admin = true;
    c.is_platform_admin = true;
    assert_int_equal(store_user_insert(f->conn, &f->arena, &a, &f->err), 0);
    assert_int_equal(store_user_insert(f->conn, &f->arena, &b, &f->err), 0);
    assert_int_equal(store_user_insert(f->conn, &f->arena, &c, &f->err), 0);
    assert_int_equal(store_user_admin_count(&n, f->conn, &f->arena, &f->err), 0);
    assert_int_equal(n, 2);
}

static void test_store_user__lists_memberships_with_their_grants(void **state)
{
    struct fixture *f = *state;
    struct store_user u = user_make("usr_m", "member@example.com");
    struct store_user other = user_make("usr_o", "other@example.com");
    assert_int_equal(store_user_insert(f->conn, &f->arena, &u, &f->err), 0);
    assert_int_equal(store_user_insert(f->conn, &f->arena, &other, &f->err), 0);
    fixture_sql(f->store,
                "INSERT INTO agencies (id, name, created_at) VALUES ('agy_b', 'Beta', 1), "
                "('agy_a', 'Acme', 1), ('agy_c', 'Gamma', 1)",
                NULL, 0);
    fixture_sql(f->store,
                "INSERT INTO environments (id, agency_id, name, created_at) VALUES "
                "('env_1', 'agy_a', 'Acme production', 1)",
                NULL, 0);
    fixture_sql(f->store,
                "INSERT INTO bots (id, agency_id, environment_id, name, created_at) VALUES "
                "('bot_1', 'agy_a', 'env_1', 'Support bot', 1)",
                NULL, 0);
    fixture_sql(
        f->store,
        "INSERT INTO memberships (agency_id, user_id, shortcode, created_at) VALUES "
        "('agy_a', 'usr_m', 'AL', 1), ('agy_b', 'usr_m', NULL, 1), ('agy_c', 'usr_o', NULL, 1)",
        NULL, 0);
    fixture_sql(
        f->store,
        "INSERT INTO grants (id, agency_id, user_id, environment_id, bot_id, scope_id, roles, "
        "extra_permissions, created_at) VALUES "
        "('g1', 'agy_a', 'usr_m', NULL, 'bot_1', 'bot_1', 'bot_manager', '', 1), "
        "('g2', 'agy_a', 'usr_m', 'env_1', NULL, 'env_1', 'operator,analyst', 'cms.read', 1), "
        "('g3', 'agy_a', 'usr_m', NULL, NULL, 'agy_a', 'agent', '', 1), "
        "('g4', 'agy_b', 'usr_m', NULL, NULL, 'agy_b', 'owner', '', 1), "
        "('g5', 'agy_c', 'usr_o', NULL, NULL, 'agy_c', 'owner', '', 1)",
        NULL, 0);
    struct store_user_membership *m = NULL;
    size_t count = 0;
    assert_int_equal(store_user_memberships(&m, &count, f->conn, &f->arena, "usr_m", 0, &f->err),
                     0);
    assert_int_equal(count, 2);
    assert_string_equal(m[0].agency_id, "agy_a");
    assert_string_equal(m[0].agency_name, "Acme");
    assert_string_equal(m[0].shortcode, "AL");
    assert_int_equal(m[0].grant_count, 3);
    /* Agency scope first, then environments, then bots. */
    assert_null(m[0].grants[0].environment_id);
    assert_null(m[0].grants[0].bot_id);
    assert_string_equal(m[0].grants[0].roles, "agent");
    assert_string_equal(m[0].grants[1].environment_id, "env_1");
    assert_string_equal(m[0].grants[1].roles, "operator,analyst");
    assert_string_equal(m[0].grants[1].extra_permissions, "cms.read");
    assert_string_equal(m[0].grants[2].bot_id, "bot_1");
    assert_string_equal(m[1].agency_name, "Beta");
    assert_null(m[1].shortcode);
    assert_int_equal(m[1].grant_count, 1);
    assert_string_equal(m[1].grants[0].roles, "owner");

    assert_int_equal(store_user_memberships(&m, &count, f->conn, &f->arena, "usr_none", 0, &f->err),
                     0);
    assert_int_equal(count, 0);
}

static void test_store_session__insert_read_touch_and_delete(void **state)
{
    struct fixture *f = *state;
    struct store_user u = user_make("usr_s", "s@example.com");
    assert_int_equal(store_user_insert(f->conn, &f->arena, &u, &f->err), 0);
    struct store_session s = {.token_hash = "hash1",
                              .user_id = "usr_s",
                              .created_at = 100,
                              .last_seen_at = 100,
                              .expires_at = 10000};
    assert_int_equal(store_session_insert(f->conn, &f->arena, &s, &f->err), 0);
    assert_int_equal(store_session_insert(f->conn, &f->arena, &s, &f->err), USHER_ECONFLICT);
    usher_error_clear(&f->err);
    struct store_session got;
    assert_int_equal(store_session_get(&got, f->conn, &f->arena, "hash1", &f->err), 0);
    assert_string_equal(got.user_id, "usr_s");
    assert_int_equal(got.created_at, 100);
    assert_int_equal(got.expires_at, 10000);
    assert_int_equal(store_session_touch(f->conn, &f->arena, "hash1", 500, &f->err), 0);
    assert_int_equal(store_session_get(&got, f->conn, &f->arena, "hash1", &f->err), 0);
    assert_int_equal(got.last_seen_at, 500);
    int64_t deleted = -1;
    assert_int_equal(store_session_delete(&deleted, f->conn, &f->arena, "hash1", &f->err), 0);
    assert_int_equal(deleted, 1);
    assert_int_equal(store_session_delete(&deleted, f->conn, &f->arena, "hash1", &f->err), 0);
    assert_int_equal(deleted, 0);
    assert_int_equal(store_session_get(&got, f->conn, &f->arena, "hash1", &f->err),
                     USHER_ENOTFOUND);
}

static void test_store_session__needs_an_existing_user(void **state)
{
    struct fixture *f = *state;
    struct store_session s = {.token_hash = "hash-orphan",
                              .user_id = "usr_missing",
                              .created_at = 1,
                              .last_seen_at = 1,
                              .expires_at = 2};
    assert_int_equal(store_session_insert(f->conn, &f->arena, &s, &f->err), USHER_ECONFLICT);
}

static void test_store_session__purge_removes_only_ended_sessions(void **state)
{
    struct fixture *f = *state;
    struct store_user a = user_make("usr_a", "a@example.com");
    struct store_user b = user_make("usr_b", "b@example.com");
    assert_int_equal(store_user_insert(f->conn, &f->arena, &a, &f->err), 0);
    assert_int_equal(store_user_insert(f->conn, &f->arena, &b, &f->err), 0);
    const int64_t now = 100000, idle = 1000;
    struct store_session rows[] = {
        {.token_hash = "live",
         .user_id = "usr_a",
         .created_at = 0,
         .last_seen_at = now - 10,
         .expires_at = now + 5000}, /* in use, not expired */
        {.token_hash = "idle",
         .user_id = "usr_a",
         .created_at = 0,
         .last_seen_at = now - idle,
         .expires_at = now + 5000}, /* unused for the whole idle time */
        {.token_hash = "absolute",
         .user_id = "usr_a",
         .created_at = 0,
         .last_seen_at = now - 10,
         .expires_at = now}, /* reached its absolute end */
        {.token_hash = "b-idle",
         .user_id = "usr_b",
         .created_at = 0,
         .last_seen_at = now - 2 * idle,
         .expires_at = now + 5000}, /* another user's */
    };
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(store_session_insert(f->conn, &f->arena, &rows[i], &f->err), 0);
    int64_t deleted = 0;
    assert_int_equal(store_session_purge(&deleted, f->conn, &f->arena, "usr_a", now, idle, &f->err),
                     0);
    assert_int_equal(deleted, 2);
    struct store_session got;
    assert_int_equal(store_session_get(&got, f->conn, &f->arena, "b-idle", &f->err), 0);
    assert_int_equal(store_session_purge(&deleted, f->conn, &f->arena, NULL, now, idle, &f->err),
                     0);
    assert_int_equal(deleted, 1);
    assert_int_equal(store_session_get(&got, f->conn, &f->arena, "live", &f->err), 0);
    assert_int_equal(store_session_delete_user(&deleted, f->conn, &f->arena, "usr_a", &f->err), 0);
    assert_int_equal(deleted, 1);
}

static void test_store_session__deleting_a_user_deletes_their_sessions(void **state)
{
    struct fixture *f = *state;
    struct store_user u = user_make("usr_d", "d@example.com");
    assert_int_equal(store_user_insert(f->conn, &f->arena, &u, &f->err), 0);
    struct store_session s = {.token_hash = "hash-d",
                              .user_id = "usr_d",
                              .created_at = 1,
                              .last_seen_at = 1,
                              .expires_at = 2};
    assert_int_equal(store_session_insert(f->conn, &f->arena, &s, &f->err), 0);
    struct store_value p[] = {store_text("usr_d")};
    fixture_sql(f->store, "DELETE FROM users WHERE id = $1", p, 1);
    struct store_session got;
    assert_int_equal(store_session_get(&got, f->conn, &f->arena, "hash-d", &f->err),
                     USHER_ENOTFOUND);
}

int main(void)
{
    crypto_setup();
    log_set_level(LOG_WARN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_store_user__insert_then_read_by_id_and_by_email, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_store_user__unknown_ids_and_emails_are_not_found,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_store_user__refuses_a_second_account_with_the_same_email, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_user__updates_hash_status_and_last_active, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_store_user__counts_platform_admins, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_user__lists_memberships_with_their_grants, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_store_session__insert_read_touch_and_delete, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_store_session__needs_an_existing_user, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_store_session__purge_removes_only_ended_sessions,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_session__deleting_a_user_deletes_their_sessions,
                                        setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
