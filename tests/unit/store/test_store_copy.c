/* Copying a database with store_copy: the tables read from the schema, parents first, with
 * their keys; rows moved in batches small enough to take many pages of a composite key, ids
 * kept; sequences moved past copied ids; the online backup; the migrations comparison. Runs
 * from one migrated database into another of the same dialect (SQLite, or PostgreSQL with
 * USHER_TEST_PG_URL). */
#include "../unit.h"

#include "../fixture.h"

#include "base/arena.h"
#include "base/error.h"
#include "store/store.h"
#include "store/store_copy.h"

struct fixture {
    char *src_dir;
    char *dst_dir;
    struct store *src;
    struct store *dst;
    struct arena arena;
    struct usher_error err;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    arena_init(&f->arena);
    fixture_store_open(&f->src, &f->src_dir);
    fixture_store_open(&f->dst, &f->dst_dir);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    fixture_store_close(f->src, f->src_dir);
    fixture_store_close(f->dst, f->dst_dir);
    arena_dispose(&f->arena);
    free(f);
    return 0;
}

/* The place of table name in s, failing the test when it is missing. */
static size_t place_of(const struct store_schema *s, const char *name)
{
    const struct store_table *t = store_copy_table_find(s, name);
    if (!t)
        fail_msg("no table %s", name);
    return (size_t)(t - s->tables);
}

static void schema_read(struct fixture *f, struct store *s, struct store_schema *out)
{
    struct store_conn *c = NULL;
    assert_int_equal(store_conn_get(s, &c, &f->err), 0);
    int rc = store_copy_tables(out, c, &f->arena, &f->err);
    store_conn_put(c);
    if (rc)
        fail_msg("store_copy_tables: %s", f->err.message);
}

static void test_store_copy_tables__lists_every_table_parents_first_with_its_key(void **state)
{
    struct fixture *f = *state;
    struct store_schema s;
    schema_read(f, f->src, &s);
    const char *expected[] = {
        "agencies",
        "api_tokens",
        "audit_chain_heads",
        "audit_log",
        "audit_personal",
        "audit_registry",
        "bots",
        "custom_roles",
        "email_changes",
        "environments",
        "grants",
        "identities",
        "invitations",
        "mail_outbox",
        "memberships",
        "mfa_tokens",
        "oidc_connections",
        "oidc_domains",
        "oidc_states",
        "password_resets",
        "recovery_codes",
        "schema_migrations",
        "second_factors",
        "secret_check",
        "sessions",
        "throttle_events",
        "users",
    };
    assert_int_equal(s.count, sizeof(expected) / sizeof(expected[0]));
    for (size_t i = 0; i < sizeof(expected) / sizeof(expected[0]); i++)
        place_of(&s, expected[i]);
    /* Every table comes after every table its foreign keys refer to. */
    for (size_t i = 0; i < s.count; i++) {
        for (size_t p = 0; p < s.tables[i].parent_count; p++) {
            if (place_of(&s, s.tables[i].parents[p]) >= i)
                fail_msg("%s comes before its parent %s", s.tables[i].name, s.tables[i].parents[p]);
        }
    }
    assert_true(place_of(&s, "users") < place_of(&s, "sessions"));
    assert_true(place_of(&s, "agencies") < place_of(&s, "environments"));
    assert_true(place_of(&s, "environments") < place_of(&s, "bots"));
    assert_true(place_of(&s, "bots") < place_of(&s, "grants"));
    assert_true(place_of(&s, "audit_log") < place_of(&s, "audit_personal"));
    const struct store_table *m = store_copy_table_find(&s, "memberships");
    assert_int_equal(m->key_count, 2);
    assert_string_equal(m->key[0], "agency_id");
    assert_string_equal(m->key[1], "user_id");
    assert_true(m->parent_count == 2);
    const struct store_table *r = store_copy_table_find(&s, "custom_roles");
    assert_int_equal(r->key_count, 2);
    assert_string_equal(r->key[0], "agency_id");
    assert_string_equal(r->key[1], "id");
    const struct store_table *log = store_copy_table_find(&s, "audit_log");
    assert_int_equal(log->key_count, 1);
    assert_string_equal(log->key[0], "id");
    assert_int_equal(log->parent_count, 0);
    assert_true(log->col_count >= 16);
}

/* The rows of a query as one text, for comparing two databases. */
static const char *rows_text(struct fixture *f, struct store *s, const char *sql)
{
    struct store_rows rows = fixture_sql_rows(s, &f->arena, sql, NULL, 0);
    const char *out = "";
    for (size_t r = 0; r < rows.count; r++) {
        for (size_t c = 0; c < rows.cols; c++) {
            const struct store_value *v = store_cell(&rows, r, c);
            out = v->type == STORE_INT    ? arena_printf(&f->arena, "%s%lld|", out, (long long)v->i)
                  : v->type == STORE_TEXT ? arena_printf(&f->arena, "%s'%s'|", out, v->s)
                                          : arena_printf(&f->arena, "%sNULL|", out);
        }
        out = arena_printf(&f->arena, "%s\n", out);
    }
    return out;
}

/* Copies every table (the migrations' own aside) from src to dst in batches of batch rows,
 * in one read and one write transaction, emptying dst's tables first. */
static void copy_all(struct fixture *f, size_t batch)
{
    struct store_schema s;
    struct store_conn *from = NULL, *to = NULL;
    assert_int_equal(store_conn_get(f->src, &from, &f->err), 0);
    assert_int_equal(store_conn_get(f->dst, &to, &f->err), 0);
    assert_int_equal(store_begin(from, false, &f->err), 0);
    assert_int_equal(store_begin(to, true, &f->err), 0);
    if (store_copy_tables(&s, from, &f->arena, &f->err))
        fail_msg("tables: %s", f->err.message);
    for (size_t i = s.count; i-- > 0;) {
        if (strcmp(s.tables[i].name, "schema_migrations") != 0 &&
            store_copy_clear(to, &s.tables[i], &f->err))
            fail_msg("clear %s: %s", s.tables[i].name, f->err.message);
    }
    for (size_t i = 0; i < s.count; i++) {
        if (strcmp(s.tables[i].name, "schema_migrations") == 0)
            continue;
        int64_t copied = -1, expected = -1;
        if (store_copy_rows(&copied, from, to, &s.tables[i], batch, &f->err))
            fail_msg("copy %s: %s", s.tables[i].name, f->err.message);
        assert_int_equal(store_copy_count(&expected, from, &s.tables[i], &f->err), 0);
        assert_int_equal(copied, expected);
    }
    assert_int_equal(store_copy_sequences(to, &f->err), 0);
    assert_int_equal(store_commit(to, &f->err), 0);
    store_conn_put(to);
    store_conn_put(from);
}

static void test_store_copy_rows__moves_every_row_in_small_batches_ids_kept(void **state)
{
    struct fixture *f = *state;
    fixture_agency_add(f->src, "agy_b", "B");
    fixture_agency_add(f->src, "agy_a", "A");
    fixture_environment_add(f->src, "env_1", "agy_a", "Production");
    fixture_bot_add(f->src, "bot_1", "env_1", "Support");
    const char *users[] = {"usr_e", "usr_a", "usr_d", "usr_b", "usr_c", "usr_f", "usr_g"};
    for (size_t i = 0; i < sizeof(users) / sizeof(users[0]); i++) {
        fixture_user_add(f->src, users[i]);
        fixture_member_add(f->src, i % 2 ? "agy_a" : "agy_b", users[i]);
        fixture_member_add(f->src, "agy_a", users[i]);
    }
    /* Values of every kind: NULLs, integers, text with quotes and commas. */
    fixture_sql(f->src,
                "INSERT INTO audit_log (id, at, agency_id, actor_id, action, details, chain) "
                "VALUES (7, 10, 'agy_a', NULL, 'agency.renamed', '{\"name\":\"O''Brien, A\"}', "
                "'agency:agy_a'), (3, 11, NULL, 'usr_a', 'user.created', '{}', 'platform'), "
                "(12, 12, 'agy_b', 'usr_b', 'member.added', '{}', 'agency:agy_b')",
                NULL, 0);

    copy_all(f, 2);

    const char *queries[] = {
        "SELECT agency_id, user_id, shortcode, created_at, sort_name FROM memberships "
        "ORDER BY agency_id, user_id",
        "SELECT id, email, password_hash, is_platform_admin, created_at FROM users ORDER BY id",
        "SELECT id, at, agency_id, actor_id, action, details, chain FROM audit_log ORDER BY id",
        "SELECT id, agency_id, environment_id, name FROM bots ORDER BY id",
        "SELECT id, chains, entries, last_chain, mac FROM audit_registry ORDER BY id",
    };
    for (size_t q = 0; q < sizeof(queries) / sizeof(queries[0]); q++)
        assert_string_equal(rows_text(f, f->dst, queries[q]), rows_text(f, f->src, queries[q]));
    assert_int_equal(fixture_sql_int(f->dst, "SELECT COUNT(*) FROM memberships", NULL, 0), 11);
    assert_int_equal(fixture_sql_int(f->dst, "SELECT COUNT(*) FROM audit_log", NULL, 0), 3);
}

static void test_store_copy_sequences__new_ids_follow_the_copied_ones(void **state)
{
    struct fixture *f = *state;
    fixture_sql(f->src,
                "INSERT INTO audit_log (id, at, action, chain) VALUES (41, 1, 'a.one', "
                "'platform'), (40, 1, 'a.two', 'platform')",
                NULL, 0);
    copy_all(f, 500);
    fixture_sql(f->dst, "INSERT INTO audit_log (at, action, chain) VALUES (2, 'a.new', 'platform')",
                NULL, 0);
    assert_int_equal(
        fixture_sql_int(f->dst, "SELECT id FROM audit_log WHERE action = 'a.new'", NULL, 0), 42);
}

static void test_store_copy_rows__refuses_a_table_without_a_key(void **state)
{
    struct fixture *f = *state;
    const char *cols[] = {"id"};
    struct store_table t = {.name = "users", .cols = cols, .col_count = 1};
    struct store_conn *from = NULL, *to = NULL;
    assert_int_equal(store_conn_get(f->src, &from, &f->err), 0);
    assert_int_equal(store_conn_get(f->dst, &to, &f->err), 0);
    int64_t copied = -1;
    assert_int_equal(store_copy_rows(&copied, from, to, &t, 10, &f->err), USHER_EINTERNAL);
    assert_non_null(strstr(f->err.message, "no primary key"));
    assert_int_equal(copied, 0);
    store_conn_put(to);
    store_conn_put(from);
}

static void test_store_copy_backup__writes_a_copy_sqlite_opens(void **state)
{
    struct fixture *f = *state;
    char *path = arena_printf(&f->arena, "%s/copy.db", f->src_dir);
    FILE *out = fopen(path, "w");
    assert_non_null(out);
    fclose(out);
    int rc = store_copy_backup(f->src, path, &f->err);
    if (fixture_pg_url()) {
        assert_int_equal(rc, USHER_EINVAL);
        assert_string_equal(f->err.problem, "backup_unsupported");
        return;
    }
    fixture_user_add(f->src, "usr_after");
    assert_int_equal(rc, 0);
    struct store *copy = NULL;
    assert_int_equal(
        store_open(&copy, arena_printf(&f->arena, "sqlite:%s", path), f->src_dir, 1, &f->err), 0);
    int pending = -1, unknown = -1;
    assert_int_equal(store_copy_migrations_compare(&pending, &unknown, copy, &f->err), 0);
    assert_int_equal(pending, 0);
    assert_int_equal(unknown, 0);
    assert_int_equal(fixture_sql_int(copy, "SELECT COUNT(*) FROM users", NULL, 0), 0);
    store_free(copy);
}

static void test_store_copy_migrations_compare__counts_missing_and_unknown(void **state)
{
    struct fixture *f = *state;
    int pending = -1, unknown = -1;
    assert_int_equal(store_copy_migrations_compare(&pending, &unknown, f->src, &f->err), 0);
    assert_int_equal(pending, 0);
    assert_int_equal(unknown, 0);
    fixture_sql(f->src, "DELETE FROM schema_migrations WHERE name = '0008_role_ids.sql'", NULL, 0);
    fixture_sql(f->src,
                "INSERT INTO schema_migrations (name, applied_at) VALUES ('9998_a.sql', 1), "
                "('9999_b.sql', 1)",
                NULL, 0);
    assert_int_equal(store_copy_migrations_compare(&pending, &unknown, f->src, &f->err), 0);
    assert_int_equal(pending, 1);
    assert_int_equal(unknown, 2);
}

int main(void)
{
    unit_env_clear();
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_store_copy_tables__lists_every_table_parents_first_with_its_key),
        T(test_store_copy_rows__moves_every_row_in_small_batches_ids_kept),
        T(test_store_copy_sequences__new_ids_follow_the_copied_ones),
        T(test_store_copy_rows__refuses_a_table_without_a_key),
        T(test_store_copy_backup__writes_a_copy_sqlite_opens),
        T(test_store_copy_migrations_compare__counts_missing_and_unknown),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
