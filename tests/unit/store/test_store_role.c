/* Custom role records on a real SQLite store: one agency's roles never reach another's, ids
 * and names (ignoring ASCII case) are unique per agency, "in use" matches whole role ids in
 * grants and pending invitations, and migration 0008 turns "crl_..." ids into identifiers
 * made from names, rewriting grants and invitations. */
#include "../unit.h"

#include "../fixture.h"

#include <sqlite3.h>

#include "base/arena.h"
#include "base/error.h"
#include "base/log.h"
#include "store/store.h"
#include "policy/catalogue.h"
#include "store/migrations.h"
#include "store/store_role.h"

struct fixture {
    char *dir;
    struct store *store;
    struct store_conn *conn;
    struct arena arena;
    struct usher_error err;
};

static void exec_ok(struct fixture *f, const char *sql, const struct store_value *p, size_t n)
{
    usher_error_clear(&f->err);
    int rc = store_exec(f->conn, &f->arena, sql, p, n, NULL, NULL, &f->err);
    if (rc)
        fail_msg("%s: %s", sql, f->err.message);
}

static void role_add(struct fixture *f, const char *id, const char *agency_id, const char *name,
                     const char *permissions)
{
    struct store_custom_role r = {id, agency_id, name, permissions, 1000};
    usher_error_clear(&f->err);
    if (store_role_insert(f->conn, &f->arena, &r, &f->err))
        fail_msg("insert %s: %s", id, f->err.message);
}

static void grant_add(struct fixture *f, const char *id, const char *agency_id, const char *user_id,
                      const char *environment_id, const char *roles)
{
    const char *scope = environment_id ? environment_id : agency_id;
    struct store_value p[] = {store_text(id),    store_text(agency_id),      store_text(user_id),
                              store_text(scope), store_text(environment_id), store_text(roles)};
    exec_ok(f,
            "INSERT INTO grants (id, agency_id, user_id, scope_id, environment_id, roles, "
            "created_at) VALUES ($1, $2, $3, $4, $5, $6, 1)",
            p, 6);
}

static void invitation_add(struct fixture *f, const char *id, const char *agency_id,
                           const char *status, const char *grants)
{
    struct store_value p[] = {store_text(id), store_text(agency_id), store_text(status),
                              store_text(grants)};
    exec_ok(f,
            "INSERT INTO invitations (id, agency_id, email, grants, status, token_nonce, "
            "token_hash, created_at, expires_in_seconds, expires_at) "
            "VALUES ($1, $2, $1 || '@example.com', $4, $3, 'n', 'h-' || $1, 1, 60, 60001)",
            p, 4);
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    f->dir = unit_tempdir_new();
    log_set_level(LOG_ERROR);
    arena_init(&f->arena);
    char *url = fixture_db_url(f->dir);
    assert_int_equal(store_open(&f->store, url, f->dir, 2, &f->err), 0);
    free(url);
    assert_int_equal(store_migrate(f->store, NULL, &f->err), 0);
    assert_int_equal(store_conn_get(f->store, &f->conn, &f->err), 0);
    exec_ok(f,
            "INSERT INTO agencies (id, name, created_at) VALUES ('agy_a', 'A', 1), "
            "('agy_b', 'B', 1)",
            NULL, 0);
    exec_ok(f,
            "INSERT INTO environments (id, agency_id, name, created_at) "
            "VALUES ('env_a', 'agy_a', 'E', 1)",
            NULL, 0);
    exec_ok(f,
            "INSERT INTO users (id, email, created_at) VALUES ('usr_1', '1@example.com', 1), "
            "('usr_2', '2@example.com', 1)",
            NULL, 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    store_conn_put(f->conn);
    store_free(f->store);
    arena_dispose(&f->arena);
    fixture_db_drop(f->dir);
    unit_tempdir_remove(f->dir);
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
    if (store_role_in_use(&used, f->conn, &f->arena, agency_id, role_id, 0, &f->err))
        fail_msg("in_use %s: %s", role_id, f->err.message);
    return used;
}

static void test_role_insert__reads_back_within_its_agency_only(void **state)
{
    struct fixture *f = *state;
    role_add(f, "night_shift", "agy_a", "Night shift", "inbox.reply,bot.read");
    struct store_custom_role r;
    assert_int_equal(store_role_get(&r, f->conn, &f->arena, "agy_a", "night_shift", &f->err), 0);
    assert_string_equal(r.id, "night_shift");
    assert_string_equal(r.agency_id, "agy_a");
    assert_string_equal(r.name, "Night shift");
    assert_string_equal(r.permissions, "inbox.reply,bot.read");
    assert_int_equal(r.created_at, 1000);
    expect_error(f, store_role_get(&r, f->conn, &f->arena, "agy_b", "night_shift", &f->err),
                 USHER_ENOTFOUND, "not_found", NULL);
    expect_error(f, store_role_get(&r, f->conn, &f->arena, "agy_a", "day_shift", &f->err),
                 USHER_ENOTFOUND, "not_found", NULL);
}

static void test_role_insert__ids_and_names_are_unique_per_agency(void **state)
{
    struct fixture *f = *state;
    role_add(f, "night_shift", "agy_a", "Night shift", "inbox.reply");
    /* The same name under another id, in another case, or the same id: all taken. */
    struct store_custom_role same_name = {"nights", "agy_a", "Night shift", "cms.read", 1};
    struct store_custom_role other_case = {"nights", "agy_a", "NIGHT SHIFT", "cms.read", 1};
    struct store_custom_role same_id = {"night_shift", "agy_a", "Late", "cms.read", 1};
    expect_error(f, store_role_insert(f->conn, &f->arena, &same_name, &f->err), USHER_ECONFLICT,
                 "conflict", NULL);
    expect_error(f, store_role_insert(f->conn, &f->arena, &other_case, &f->err), USHER_ECONFLICT,
                 "conflict", NULL);
    expect_error(f, store_role_insert(f->conn, &f->arena, &same_id, &f->err), USHER_ECONFLICT,
                 "conflict", NULL);
    /* Case is folded for ASCII letters only, as the application compares names. */
    role_add(f, "ete", "agy_a", "\xC3\xA9t\xC3\xA9", "cms.read");
    role_add(f, "ete_caps", "agy_a", "\xC3\x89T\xC3\x89", "cms.read");
    /* Another agency may use both the id and the name. */
    role_add(f, "night_shift", "agy_b", "Night shift", "cms.read");
    struct store_custom_role *items = NULL;
    size_t count = 0;
    assert_int_equal(store_custom_role_list(&items, &count, f->conn, &f->arena, "agy_a", &f->err),
                     0);
    assert_int_equal(count, 3);
    struct store_custom_role r;
    assert_int_equal(store_role_get(&r, f->conn, &f->arena, "agy_b", "night_shift", &f->err), 0);
    assert_string_equal(r.permissions, "cms.read");
    assert_int_equal(store_role_get(&r, f->conn, &f->arena, "agy_a", "night_shift", &f->err), 0);
    assert_string_equal(r.permissions, "inbox.reply");
}

static void test_role_rename__keeps_the_id_and_refuses_a_taken_name(void **state)
{
    struct fixture *f = *state;
    role_add(f, "one", "agy_a", "One", "inbox.reply");
    role_add(f, "two", "agy_a", "Two", "inbox.reply");
    role_add(f, "one", "agy_b", "Three", "inbox.reply");
    assert_int_equal(store_role_rename(f->conn, &f->arena, "agy_a", "one", "Uno", &f->err), 0);
    struct store_custom_role r;
    assert_int_equal(store_role_get(&r, f->conn, &f->arena, "agy_a", "one", &f->err), 0);
    assert_string_equal(r.name, "Uno");
    expect_error(f, store_role_rename(f->conn, &f->arena, "agy_a", "one", "Two", &f->err),
                 USHER_ECONFLICT, "conflict", "name");
    expect_error(f, store_role_rename(f->conn, &f->arena, "agy_a", "one", "tWO", &f->err),
                 USHER_ECONFLICT, "conflict", "name");
    /* Its own name in another case is its own. */
    assert_int_equal(store_role_rename(f->conn, &f->arena, "agy_a", "one", "UNO", &f->err), 0);
    /* Another agency's name is free; another agency's role cannot be renamed from here. */
    assert_int_equal(store_role_rename(f->conn, &f->arena, "agy_a", "one", "Three", &f->err), 0);
    expect_error(f, store_role_rename(f->conn, &f->arena, "agy_b", "two", "Mine", &f->err),
                 USHER_ENOTFOUND, NULL, NULL);
    assert_int_equal(store_role_get(&r, f->conn, &f->arena, "agy_b", "one", &f->err), 0);
    assert_string_equal(r.name, "Three");
}

static void test_role_permissions_set__replaces_the_list(void **state)
{
    struct fixture *f = *state;
    role_add(f, "one", "agy_a", "One", "inbox.reply");
    assert_int_equal(store_role_permissions_set(f->conn, &f->arena, "agy_a", "one",
                                                "cms.read,cms.write", &f->err),
                     0);
    struct store_custom_role r;
    assert_int_equal(store_role_get(&r, f->conn, &f->arena, "agy_a", "one", &f->err), 0);
    assert_string_equal(r.permissions, "cms.read,cms.write");
    expect_error(f, store_role_permissions_set(f->conn, &f->arena, "agy_b", "one", "", &f->err),
                 USHER_ENOTFOUND, NULL, NULL);
}

static void test_role_delete__removes_only_the_agencys_role(void **state)
{
    struct fixture *f = *state;
    role_add(f, "one", "agy_a", "One", "inbox.reply");
    role_add(f, "one", "agy_b", "One", "inbox.reply");
    assert_int_equal(store_role_delete(f->conn, &f->arena, "agy_a", "one", &f->err), 0);
    struct store_custom_role r;
    expect_error(f, store_role_get(&r, f->conn, &f->arena, "agy_a", "one", &f->err),
                 USHER_ENOTFOUND, NULL, NULL);
    expect_error(f, store_role_delete(f->conn, &f->arena, "agy_a", "one", &f->err), USHER_ENOTFOUND,
                 NULL, NULL);
    assert_int_equal(store_role_get(&r, f->conn, &f->arena, "agy_b", "one", &f->err), 0);
}

static void test_role_in_use__matches_whole_items_of_grants(void **state)
{
    struct fixture *f = *state;
    role_add(f, "x_y", "agy_a", "One", "inbox.reply");
    assert_false(in_use(f, "agy_a", "x_y"));

    /* Ids that only contain, start or end like the role, or match it through LIKE's
     * wildcards ('_' matches any character), are not the role. */
    grant_add(f, "grt_1", "agy_a", "usr_1", NULL, "agent,x_yz,ax_y");
    grant_add(f, "grt_2", "agy_a", "usr_1", "env_a", "xay,operator");
    assert_false(in_use(f, "agy_a", "x_y"));
    assert_false(in_use(f, "agy_a", "x%"));

    /* The same id in another agency's grant is another agency's role. */
    grant_add(f, "grt_3", "agy_b", "usr_2", NULL, "x_y");
    assert_false(in_use(f, "agy_a", "x_y"));

    /* Alone, first, middle or last in the list. */
    static const char *const lists[] = {"x_y", "x_y,agent", "agent,x_y,operator", "agent,x_y"};
    for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
        struct store_value p[] = {store_text(lists[i])};
        exec_ok(f, "UPDATE grants SET roles = $1 WHERE id = 'grt_2'", p, 1);
        assert_true(in_use(f, "agy_a", "x_y"));
    }
}

static void test_role_in_use__counts_pending_invitations_only(void **state)
{
    struct fixture *f = *state;
    role_add(f, "one", "agy_a", "One", "inbox.reply");
    invitation_add(f, "inv_1", "agy_a", "revoked",
                   "[{\"environment_id\":\"env_a\",\"roles\":[\"one\"],"
                   "\"extra_permissions\":[]}]");
    invitation_add(f, "inv_2", "agy_a", "accepted", "[{\"roles\":[\"one\"]}]");
    invitation_add(f, "inv_3", "agy_a", "pending", "[{\"roles\":[\"one2\",\"agent\",\"xone\"]}]");
    invitation_add(f, "inv_4", "agy_b", "pending", "[{\"roles\":[\"one\"]}]");
    assert_false(in_use(f, "agy_a", "one"));
    invitation_add(f, "inv_5", "agy_a", "pending",
                   "[{\"roles\":[\"agent\"]},{\"environment_id\":\"env_a\",\"roles\":[\"one\"],"
                   "\"extra_permissions\":[]}]");
    assert_true(in_use(f, "agy_a", "one"));
}

static void test_role_in_use__is_not_fooled_by_keys_and_scope_ids(void **state)
{
    struct fixture *f = *state;
    /* Valid ids that also occur in every stored invitation as a key, or as a scope's id. */
    role_add(f, "roles", "agy_a", "Roles", "inbox.reply");
    role_add(f, "env_a", "agy_a", "Env", "inbox.reply");
    role_add(f, "extra_permissions", "agy_a", "Extras", "inbox.reply");
    invitation_add(f, "inv_1", "agy_a", "pending",
                   "[{\"environment_id\":\"env_a\",\"roles\":[\"agent\"],"
                   "\"extra_permissions\":[\"cms.read\"]}]");
    assert_false(in_use(f, "agy_a", "roles"));
    assert_false(in_use(f, "agy_a", "env_a"));
    assert_false(in_use(f, "agy_a", "extra_permissions"));
    invitation_add(f, "inv_2", "agy_a", "pending",
                   "[{\"roles\":[\"roles\",\"env_a\"],\"extra_permissions\":[]}]");
    assert_true(in_use(f, "agy_a", "roles"));
    assert_true(in_use(f, "agy_a", "env_a"));
    assert_false(in_use(f, "agy_a", "extra_permissions"));
}

/* --- migration 0008 on a database of the previous shape --- */

static void db_exec(sqlite3 *db, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        fail_msg("%.200s: %s", sql, msg ? msg : "?");
    }
}

/* The first column of the rows of sql, one per line, in db's arena-free buffer out. */
static void db_lines(sqlite3 *db, const char *sql, char *out, size_t size)
{
    sqlite3_stmt *st = NULL;
    size_t len = 0;
    out[0] = '\0';
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *v = (const char *)sqlite3_column_text(st, 0);
        len += (size_t)snprintf(out + len, size - len, "%s\n", v ? v : "NULL");
        assert_true(len < size);
    }
    sqlite3_finalize(st);
}

static void test_migration_0008__makes_ids_from_names_and_rewrites_references(void **state)
{
    struct fixture *f = *state;
    FIXTURE_SQLITE_ONLY("runs the SQLite migration on a raw sqlite3 handle");
    char path[512];
    snprintf(path, sizeof(path), "%s/old.db", f->dir);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    db_exec(db, "PRAGMA foreign_keys = ON");
    const struct store_migration *m8 = NULL;
    for (const struct store_migration *m = store_migrations; m->name; m++) {
        if (strcmp(m->dialect, "sqlite") != 0)
            continue;
        if (strcmp(m->name, "0008_role_ids.sql") == 0)
            m8 = m;
        else if (strcmp(m->name, "0008") < 0)
            db_exec(db, m->sql);
    }
    assert_non_null(m8);
    db_exec(db,
            "INSERT INTO agencies (id, name, created_at) VALUES ('agy_a', 'A', 1), "
            "('agy_b', 'B', 1);"
            "INSERT INTO users (id, email, created_at) VALUES ('usr_1', '1@example.com', 1);"
            "INSERT INTO memberships (agency_id, user_id, created_at) VALUES ('agy_a', 'usr_1', 1);"
            "INSERT INTO custom_roles (id, agency_id, name, permissions, created_at) VALUES "
            "('crl_A1', 'agy_a', 'Night shift', 'cms.read', 1),"
            "('crl_A2', 'agy_a', 'night-shift', 'cms.read', 2),"
            "('crl_A3', 'agy_a', 'Night shift 2', 'cms.read', 3),"
            "('crl_A4', 'agy_a', 'NIGHT SHIFT', 'cms.read', 4),"
            "('crl_A5', 'agy_a', 'Caf\xC3\xA9 staff', 'cms.read', 5),"
            "('crl_A6', 'agy_a', '\xD0\x9D\xD0\xBE\xD1\x87\xD1\x8C', 'cms.read', 6),"
            "('crl_A7', 'agy_a', '24h support', 'cms.read', 7),"
            "('crl_A8', 'agy_a', 'Content manager', 'cms.read', 8),"
            "('crl_A9', 'agy_a', 'x', 'cms.read', 9),"
            "('crl_B1', 'agy_b', 'Night shift', 'cms.read', 1);"
            "INSERT INTO grants (id, agency_id, user_id, scope_id, roles, extra_permissions, "
            "created_at) VALUES ('g1', 'agy_a', 'usr_1', 'agy_a', "
            "'agent,crl_A1,crl_gone,crl_A2,crl_B1', '', 1);"
            "INSERT INTO invitations (id, agency_id, email, grants, token_nonce, token_hash, "
            "created_at, expires_in_seconds, expires_at) VALUES "
            "('i1', 'agy_a', 'x@example.com', '[{\"roles\":[\"agent\",\"crl_A1\"],"
            "\"extra_permissions\":[]},{\"environment_id\":\"env_1\",\"roles\":[\"crl_gone\","
            "\"crl_A6\"],\"extra_permissions\":[\"cms.read\"]}]', 'n', 'h1', 1, 1, 1),"
            "('i2', 'agy_b', 'x@example.com', '[{\"roles\":[\"crl_B1\"],"
            "\"extra_permissions\":[]}]', 'n', 'h2', 1, 1, 1);");
    db_exec(db, "BEGIN");
    db_exec(db, m8->sql);
    db_exec(db, "COMMIT");

    char out[2048];
    db_lines(db,
             "SELECT agency_id || ' ' || id || ' ' || name FROM custom_roles "
             "ORDER BY agency_id, created_at",
             out, sizeof(out));
    assert_string_equal(out, "agy_a night_shift Night shift\n"
                             "agy_a night_shift__2 night-shift\n"
                             "agy_a night_shift_2 Night shift 2\n"
                             "agy_a night_shift__4 NIGHT SHIFT (night_shift__4)\n"
                             "agy_a caf_staff Caf\xC3\xA9 staff\n"
                             "agy_a role \xD0\x9D\xD0\xBE\xD1\x87\xD1\x8C\n"
                             "agy_a custom_24h_support 24h support\n"
                             "agy_a custom_content_manager Content manager\n"
                             "agy_a custom_x x\n"
                             "agy_b night_shift Night shift\n");
    /* Every id made is one the application accepts. */
    db_lines(db, "SELECT id FROM custom_roles", out, sizeof(out));
    for (char *line = out; *line;) {
        char *end = strchr(line, '\n');
        *end = '\0';
        if (!policy_catalogue_custom_id_valid(line, strlen(line)))
            fail_msg("migration made the invalid id %s", line);
        line = end + 1;
    }
    /* Grants and invitations hold the new ids; those of roles that are gone, or of another
     * agency, are dropped. */
    db_lines(db, "SELECT roles FROM grants", out, sizeof(out));
    assert_string_equal(out, "agent,night_shift,night_shift__2\n");
    db_lines(db, "SELECT grants FROM invitations ORDER BY id", out, sizeof(out));
    assert_string_equal(out,
                        "[{\"roles\":[\"agent\",\"night_shift\"],\"extra_permissions\":[]},"
                        "{\"environment_id\":\"env_1\",\"roles\":[\"role\"],\"extra_permissions\":"
                        "[\"cms.read\"]}]\n"
                        "[{\"roles\":[\"night_shift\"],\"extra_permissions\":[]}]\n");
    /* The new keys hold: ids per agency, names ignoring ASCII case. */
    char *msg = NULL;
    assert_int_not_equal(sqlite3_exec(db,
                                      "INSERT INTO custom_roles (id, agency_id, name, created_at) "
                                      "VALUES ('late', 'agy_a', 'NIGHT shift', 1)",
                                      NULL, NULL, &msg),
                         SQLITE_OK);
    sqlite3_free(msg);
    db_exec(db, "INSERT INTO custom_roles (id, agency_id, name, created_at) "
                "VALUES ('late', 'agy_a', 'Late', 1), ('late', 'agy_b', 'Late', 1)");
    /* Nothing of the migration's own is left behind on the connection. */
    db_lines(db, "SELECT COUNT(*) FROM sqlite_temp_master", out, sizeof(out));
    assert_string_equal(out, "0\n");
    sqlite3_close(db);
}

int main(void)
{
    unit_env_clear();
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_role_insert__reads_back_within_its_agency_only),
        T(test_role_insert__ids_and_names_are_unique_per_agency),
        T(test_role_rename__keeps_the_id_and_refuses_a_taken_name),
        T(test_role_permissions_set__replaces_the_list),
        T(test_role_delete__removes_only_the_agencys_role),
        T(test_role_in_use__matches_whole_items_of_grants),
        T(test_role_in_use__counts_pending_invitations_only),
        T(test_role_in_use__is_not_fooled_by_keys_and_scope_ids),
        T(test_migration_0008__makes_ids_from_names_and_rewrites_references),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
