/* The store on SQLite (or on PostgreSQL with USHER_TEST_PG_URL): migrations, parameter binding,
 * error mapping, transactions, the pool under several threads, and the durability settings of
 * every SQLite connection. */
#include "../unit.h"

#include "../fixture.h"

#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>

#include "base/clock.h"
#include "base/log.h"
#include "store/migrations.h"
#include "store/store.h"
#include "store/store_audit.h"

struct fixture {
    char *dir;
    struct store *store;
    struct store_conn *conn;
    struct arena arena;
    struct usher_error err;
    char *url; /* the database the store opened */
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    f->dir = unit_tempdir_new();
    arena_init(&f->arena);
    f->url = fixture_db_url(f->dir);
    int rc = store_open(&f->store, f->url, f->dir, 4, &f->err);
    if (rc != 0)
        return -1;
    if (store_migrate(f->store, NULL, &f->err) != 0)
        return -1;
    if (store_conn_get(f->store, &f->conn, &f->err) != 0)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    store_conn_put(f->conn);
    store_free(f->store);
    free(f->url);
    arena_dispose(&f->arena);
    fixture_db_drop(f->dir);
    unit_tempdir_remove(f->dir);
    free(f);
    return 0;
}

static int exec(struct fixture *f, struct store_conn *c, const char *sql,
                const struct store_value *params, size_t n, struct store_rows *rows)
{
    usher_error_clear(&f->err);
    return store_exec(c, &f->arena, sql, params, n, rows, NULL, &f->err);
}

static int64_t count_rows(struct fixture *f, struct store_conn *c, const char *table_sql)
{
    struct store_rows rows;
    assert_int_equal(exec(f, c, table_sql, NULL, 0, &rows), 0);
    assert_int_equal(rows.count, 1);
    return store_cell(&rows, 0, 0)->i;
}

static int insert_user(struct fixture *f, struct store_conn *c, const char *id, const char *email)
{
    static const char sql[] = "INSERT INTO users (id, email, created_at) VALUES ($1, $2, $3)";
    struct store_value p[] = {store_text(id), store_text(email), store_int(clock_now_ms())};
    return exec(f, c, sql, p, 3, NULL);
}

static const char *dialect(void)
{
    return fixture_pg_url() ? "postgres" : "sqlite";
}

static int dialect_migration_count(void)
{
    int n = 0;
    for (const struct store_migration *m = store_migrations; m->name; m++)
        n += strcmp(m->dialect, dialect()) == 0;
    return n;
}

static void test_store_migrate__applies_each_migration_once(void **state)
{
    (void)state;
    char *dir = unit_tempdir_new();
    char *url = fixture_db_url(dir);
    struct store *s = NULL;
    struct usher_error err = {0};
    assert_int_equal(store_open(&s, url, dir, 2, &err), 0);
    int applied = -1;
    assert_int_equal(store_migrate(s, &applied, &err), 0);
    assert_true(dialect_migration_count() >= 1);
    assert_int_equal(applied, dialect_migration_count());
    assert_int_equal(store_migrate(s, &applied, &err), 0);
    assert_int_equal(applied, 0);
    store_free(s);

    /* A restart finds every migration recorded. */
    assert_int_equal(store_open(&s, url, dir, 2, &err), 0);
    assert_int_equal(store_migrate(s, &applied, &err), 0);
    assert_int_equal(applied, 0);
    struct store_conn *c;
    assert_int_equal(store_conn_get(s, &c, &err), 0);
    struct arena a;
    arena_init(&a);
    struct store_rows rows;
    assert_int_equal(store_exec(c, &a, "SELECT name FROM schema_migrations ORDER BY name", NULL, 0,
                                &rows, NULL, &err),
                     0);
    assert_int_equal(rows.count, (size_t)dialect_migration_count());
    assert_string_equal(store_cell(&rows, 0, 0)->s, "0001_init.sql");
    arena_dispose(&a);
    store_conn_put(c);
    store_free(s);
    free(url);
    fixture_db_drop(dir);
    unit_tempdir_remove(dir);
}

static void test_store_open__names_the_dialect_and_answers_ping(void **state)
{
    struct fixture *f = *state;
    assert_string_equal(store_dialect(f->store), dialect());
    assert_int_equal(store_ping(f->store, &f->err), 0);
}

static void test_store_open__refuses_an_unknown_driver(void **state)
{
    (void)state;
    struct store *s = (struct store *)1;
    struct usher_error err = {0};
    assert_int_equal(store_open(&s, "mysql://db/usher", "/tmp", 1, &err), USHER_EINVAL);
    assert_null(s);
    assert_string_equal(err.field, "database_url");
}

static void test_store_open__reports_an_unopenable_database(void **state)
{
    (void)state;
    struct store *s = NULL;
    struct usher_error err = {0};
    assert_int_equal(store_open(&s, "sqlite:/nonexistent/dir/usher.db", "/tmp", 2, &err),
                     USHER_EUNAVAIL);
    assert_null(s);
    assert_non_null(strstr(err.message, "cannot open database"));
}

static void test_store_exec__binds_parameters_by_number_in_any_order(void **state)
{
    struct fixture *f = *state;
    struct store_value p[] = {store_text("first"), store_int(2)};
    struct store_rows rows;
    assert_int_equal(exec(f, f->conn, "SELECT $2, $1, $2 + 1", p, 2, &rows), 0);
    assert_int_equal(rows.count, 1);
    assert_int_equal(rows.cols, 3);
    assert_int_equal(store_cell(&rows, 0, 0)->type, STORE_INT);
    assert_int_equal(store_cell(&rows, 0, 0)->i, 2);
    assert_int_equal(store_cell(&rows, 0, 1)->type, STORE_TEXT);
    assert_string_equal(store_cell(&rows, 0, 1)->s, "first");
    assert_int_equal(store_cell(&rows, 0, 2)->i, 3);

    /* Ten and more parameters: $1 must not be mistaken for $10. */
    struct store_value many[12];
    for (int i = 0; i < 12; i++)
        many[i] = store_int(100 + i);
    assert_int_equal(exec(f, f->conn, "SELECT $12, $10, $1", many, 12, &rows), 0);
    assert_int_equal(store_cell(&rows, 0, 0)->i, 111);
    assert_int_equal(store_cell(&rows, 0, 1)->i, 109);
    assert_int_equal(store_cell(&rows, 0, 2)->i, 100);
}

static void test_store_exec__binds_null_and_reuses_a_parameter(void **state)
{
    struct fixture *f = *state;
    struct store_value p[] = {store_null(), store_text("ab"), store_text(NULL)};
    struct store_rows rows;
    assert_int_equal(
        exec(f, f->conn,
             "SELECT CAST($1 AS TEXT) IS NULL, CAST($2 AS TEXT) || $2, CAST($3 AS TEXT)", p, 3,
             &rows),
        0);
    assert_int_equal(store_cell(&rows, 0, 0)->i, 1);
    assert_string_equal(store_cell(&rows, 0, 1)->s, "abab");
    assert_int_equal(store_cell(&rows, 0, 2)->type, STORE_NULL);
}

static void test_store_exec__ignores_parameters_the_statement_does_not_use(void **state)
{
    struct fixture *f = *state;
    struct store_value p[] = {store_int(1), store_int(2)};
    struct store_rows rows;
    assert_int_equal(exec(f, f->conn, "SELECT $2", p, 2, &rows), 0);
    assert_int_equal(store_cell(&rows, 0, 0)->i, 2);
}

static void test_store_exec__refuses_a_placeholder_without_value(void **state)
{
    struct fixture *f = *state;
    struct store_value p[] = {store_int(1), store_int(2)};
    struct store_rows rows;
    assert_int_equal(exec(f, f->conn, "SELECT $1, $3", p, 2, &rows), USHER_EINTERNAL);
    assert_string_equal(f->err.message, "statement parameter $3 has no value");
    assert_int_equal(exec(f, f->conn, "SELECT ?", p, 2, &rows), USHER_EINTERNAL);
    assert_int_equal(exec(f, f->conn, "SELECT :name", p, 2, &rows), USHER_EINTERNAL);
    assert_int_equal(exec(f, f->conn, "SELECT $0", p, 2, &rows), USHER_EINTERNAL);
    /* The connection stays usable. */
    assert_int_equal(exec(f, f->conn, "SELECT $1", p, 2, &rows), 0);
}

static void test_store_exec__returns_rows_and_changes(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(insert_user(f, f->conn, "usr_a", "a@x.io"), 0);
    assert_int_equal(insert_user(f, f->conn, "usr_b", "b@x.io"), 0);
    assert_int_equal(insert_user(f, f->conn, "usr_c", "c@x.io"), 0);
    struct store_rows rows;
    assert_int_equal(exec(f, f->conn,
                          "SELECT id, email, last_active_at FROM users ORDER BY id DESC", NULL, 0,
                          &rows),
                     0);
    assert_int_equal(rows.count, 3);
    assert_int_equal(rows.cols, 3);
    assert_string_equal(store_cell(&rows, 0, 0)->s, "usr_c");
    assert_string_equal(store_cell(&rows, 2, 1)->s, "a@x.io");
    assert_int_equal(store_cell(&rows, 1, 2)->type, STORE_NULL);

    struct store_value p[] = {store_text("disabled"), store_text("b@x.io")};
    int64_t changes = -1;
    assert_int_equal(store_exec(f->conn, &f->arena,
                                "UPDATE users SET status = $1 WHERE email <> $2", p, 2, NULL,
                                &changes, &f->err),
                     0);
    assert_int_equal(changes, 2);

    assert_int_equal(exec(f, f->conn, "SELECT id FROM users WHERE id = 'none'", NULL, 0, &rows), 0);
    assert_int_equal(rows.count, 0);
}

static void test_store_exec__returns_many_rows(void **state)
{
    struct fixture *f = *state;
    struct store_rows rows;
    assert_int_equal(exec(f, f->conn,
                          "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
                          "WHERE i < 5000) SELECT i, 'row' || i FROM n",
                          NULL, 0, &rows),
                     0);
    assert_int_equal(rows.count, 5000);
    assert_int_equal(store_cell(&rows, 4999, 0)->i, 5000);
    assert_string_equal(store_cell(&rows, 1234, 1)->s, "row1235");
}

/* What a paged query handed over: page sizes, and every row's number and text checked in
 * order. */
struct pages_seen {
    size_t pages, rows, sizes[8];
    bool is_in_order;
    int fail_after; /* pages to take before answering USHER_ECONFLICT; 0 never */
};

static int pages_take(void *ctx, const struct store_rows *page, struct usher_error *err)
{
    struct pages_seen *seen = ctx;
    if (seen->pages < 8)
        seen->sizes[seen->pages] = page->count;
    seen->pages++;
    for (size_t r = 0; r < page->count; r++) {
        int64_t i = store_cell_int(page, r, 0);
        char want[32];
        snprintf(want, sizeof(want), "row%lld", (long long)i);
        const char *text = store_cell_text(page, r, 1);
        if (i != (int64_t)++seen->rows || !text || strcmp(text, want) != 0)
            seen->is_in_order = false;
    }
    if (seen->fail_after && (int)seen->pages == seen->fail_after)
        return usher_error_set(err, USHER_ECONFLICT, NULL, NULL, "enough pages");
    return 0;
}

static int pages_run(struct fixture *f, int64_t rows, size_t page_rows, struct pages_seen *seen)
{
    static const char sql[] = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
                              "WHERE i < $1) SELECT i, 'row' || i FROM n WHERE i <= $1 ORDER BY i";
    struct store_value p[] = {store_int(rows)};
    struct store_pages q = {
        .sql = sql, .params = p, .n = 1, .page_rows = page_rows, .each = pages_take, .ctx = seen};
    seen->is_in_order = true;
    usher_error_clear(&f->err);
    return store_exec_pages(f->conn, &q, &f->err);
}

static void test_store_exec_pages__hands_every_row_over_a_page_at_a_time_in_order(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(store_begin(f->conn, false, &f->err), 0);
    struct pages_seen seen = {0};
    assert_int_equal(pages_run(f, 2500, 1000, &seen), 0);
    assert_true(seen.is_in_order);
    assert_int_equal(seen.rows, 2500);
    assert_int_equal(seen.pages, 3);
    assert_int_equal(seen.sizes[0], 1000);
    assert_int_equal(seen.sizes[1], 1000);
    assert_int_equal(seen.sizes[2], 500);
    /* A last page that is full is not followed by an empty one. */
    struct pages_seen exact = {0};
    assert_int_equal(pages_run(f, 2000, 1000, &exact), 0);
    assert_true(exact.is_in_order);
    assert_int_equal(exact.rows, 2000);
    assert_int_equal(exact.pages, 2);
    /* No rows, no call; and the transaction goes on as usual afterwards. */
    struct pages_seen none = {0};
    assert_int_equal(pages_run(f, 0, 1000, &none), 0);
    assert_int_equal(none.pages, 0);
    assert_int_equal(count_rows(f, f->conn, "SELECT COUNT(*) FROM schema_migrations"),
                     dialect_migration_count());
    assert_int_equal(store_commit(f->conn, &f->err), 0);
}

static void test_store_exec_pages__stops_at_the_first_failing_page(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(store_begin(f->conn, false, &f->err), 0);
    struct pages_seen seen = {.fail_after = 2};
    assert_int_equal(pages_run(f, 5000, 1000, &seen), USHER_ECONFLICT);
    assert_string_equal(f->err.message, "enough pages");
    assert_int_equal(seen.pages, 2);
    assert_int_equal(seen.rows, 2000);
    /* The same transaction reads on, a paged query included. */
    struct pages_seen again = {0};
    assert_int_equal(pages_run(f, 1500, 1000, &again), 0);
    assert_true(again.is_in_order);
    assert_int_equal(again.rows, 1500);
    assert_int_equal(count_rows(f, f->conn, "SELECT COUNT(*) FROM schema_migrations"),
                     dialect_migration_count());
    assert_int_equal(store_commit(f->conn, &f->err), 0);
}

static void test_store_exec_pages__refuses_to_run_outside_a_transaction(void **state)
{
    struct fixture *f = *state;
    struct pages_seen seen = {0};
    assert_int_equal(pages_run(f, 10, 5, &seen), USHER_EINTERNAL);
    assert_int_equal(seen.pages, 0);
    assert_int_equal(store_begin(f->conn, false, &f->err), 0);
    assert_int_equal(pages_run(f, 10, 0, &seen), USHER_EINTERNAL);
    assert_int_equal(pages_run(f, 10, 5, &seen), 0);
    assert_int_equal(seen.pages, 2);
    store_rollback(f->conn);
}

static void test_store_exec_pages__reports_bad_sql_as_internal(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(store_begin(f->conn, false, &f->err), 0);
    struct pages_seen seen = {0};
    struct store_pages q = {.sql = "SELECT nothing FROM no_such_table",
                            .page_rows = 10,
                            .each = pages_take,
                            .ctx = &seen};
    assert_int_equal(store_exec_pages(f->conn, &q, &f->err), USHER_EINTERNAL);
    assert_int_equal(seen.pages, 0);
    store_rollback(f->conn);
}

static void test_store_exec__maps_a_unique_violation_to_conflict(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(insert_user(f, f->conn, "usr_1", "same@x.io"), 0);
    assert_int_equal(insert_user(f, f->conn, "usr_2", "same@x.io"), USHER_ECONFLICT);
    assert_string_equal(f->err.problem, "conflict");
    assert_int_equal(insert_user(f, f->conn, "usr_1", "other@x.io"), USHER_ECONFLICT);
    assert_int_equal(count_rows(f, f->conn, "SELECT count(*) FROM users"), 1);
}

static void test_store_exec__enforces_foreign_keys(void **state)
{
    struct fixture *f = *state;
    static const char session_sql[] = "INSERT INTO sessions (token_hash, user_id, created_at, "
                                      "last_seen_at, expires_at) VALUES ($1, $2, 1, 1, 2)";
    struct store_value p[] = {store_text("hash1"), store_text("usr_missing")};
    assert_int_equal(exec(f, f->conn, session_sql, p, 2, NULL), USHER_ECONFLICT);

    assert_int_equal(insert_user(f, f->conn, "usr_real", "real@x.io"), 0);
    p[1] = store_text("usr_real");
    assert_int_equal(exec(f, f->conn, session_sql, p, 2, NULL), 0);
    /* ON DELETE CASCADE works only with foreign keys on. */
    assert_int_equal(exec(f, f->conn, "DELETE FROM users WHERE id = 'usr_real'", NULL, 0, NULL), 0);
    assert_int_equal(count_rows(f, f->conn, "SELECT count(*) FROM sessions"), 0);
}

static void test_store_exec__maps_a_not_null_violation_to_internal(void **state)
{
    struct fixture *f = *state;
    struct store_value p[] = {store_text("usr_x"), store_null(), store_int(1)};
    assert_int_equal(exec(f, f->conn,
                          "INSERT INTO users (id, email, created_at) VALUES ($1, $2, $3)", p, 3,
                          NULL),
                     USHER_EINTERNAL);
    p[1] = store_text("x@x.io");
    assert_int_equal(exec(f, f->conn,
                          "INSERT INTO users (id, email, created_at, status) "
                          "VALUES ($1, $2, $3, 'frozen')",
                          p, 3, NULL),
                     USHER_EINTERNAL);
}

static void test_store_exec__keeps_statements_apart_in_a_reused_buffer(void **state)
{
    struct fixture *f = *state;
    char sql[64];
    struct store_rows rows;
    /* Same address, different text: each must run as written. */
    for (int i = 0; i < 300; i++) {
        snprintf(sql, sizeof(sql), "SELECT %d", i);
        assert_int_equal(exec(f, f->conn, sql, NULL, 0, &rows), 0);
        assert_int_equal(store_cell(&rows, 0, 0)->i, i);
    }
    /* Past the statement cache's size, a static statement still runs. */
    assert_int_equal(exec(f, f->conn, "SELECT 'static'", NULL, 0, &rows), 0);
    assert_string_equal(store_cell(&rows, 0, 0)->s, "static");
}

static void test_store_exec__reports_bad_sql_as_internal(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(exec(f, f->conn, "SELEKT 1", NULL, 0, NULL), USHER_EINTERNAL);
    assert_int_equal(exec(f, f->conn, "SELECT * FROM no_such_table", NULL, 0, NULL),
                     USHER_EINTERNAL);
    assert_string_equal(f->err.message, "database error");
}

static void test_store_tx__commit_makes_changes_visible_to_other_connections(void **state)
{
    struct fixture *f = *state;
    struct store_conn *other;
    assert_int_equal(store_conn_get(f->store, &other, &f->err), 0);
    assert_int_equal(store_begin(f->conn, true, &f->err), 0);
    assert_int_equal(insert_user(f, f->conn, "usr_tx", "tx@x.io"), 0);
    assert_int_equal(count_rows(f, f->conn, "SELECT count(*) FROM users"), 1);
    assert_int_equal(count_rows(f, other, "SELECT count(*) FROM users"), 0);
    assert_int_equal(store_commit(f->conn, &f->err), 0);
    assert_int_equal(count_rows(f, other, "SELECT count(*) FROM users"), 1);
    store_conn_put(other);
}

static void test_store_tx__rollback_discards_changes(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(store_begin(f->conn, true, &f->err), 0);
    assert_int_equal(insert_user(f, f->conn, "usr_rb", "rb@x.io"), 0);
    store_rollback(f->conn);
    assert_int_equal(count_rows(f, f->conn, "SELECT count(*) FROM users"), 0);
    /* Rolling back twice, or with no transaction, is harmless. */
    store_rollback(f->conn);
    assert_int_equal(store_begin(f->conn, false, &f->err), 0);
    assert_int_equal(store_commit(f->conn, &f->err), 0);
}

static void test_store_tx__failed_statement_leaves_the_transaction_to_the_caller(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(store_begin(f->conn, true, &f->err), 0);
    assert_int_equal(insert_user(f, f->conn, "usr_1", "one@x.io"), 0);
    assert_int_equal(insert_user(f, f->conn, "usr_2", "one@x.io"), USHER_ECONFLICT);
    assert_int_equal(store_commit(f->conn, &f->err), 0);
    assert_int_equal(count_rows(f, f->conn, "SELECT count(*) FROM users"), 1);
}

static void test_store_conn_put__rolls_back_an_open_transaction(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(store_begin(f->conn, true, &f->err), 0);
    assert_int_equal(insert_user(f, f->conn, "usr_left", "left@x.io"), 0);
    store_conn_put(f->conn);
    f->conn = NULL;
    assert_int_equal(store_conn_get(f->store, &f->conn, &f->err), 0);
    assert_int_equal(count_rows(f, f->conn, "SELECT count(*) FROM users"), 0);
    /* Every pooled connection can take the write lock again. */
    struct store_conn *all[4];
    for (int i = 0; i < 3; i++)
        assert_int_equal(store_conn_get(f->store, &all[i], &f->err), 0);
    all[3] = f->conn;
    for (int i = 0; i < 4; i++) {
        assert_int_equal(store_begin(all[i], true, &f->err), 0);
        assert_int_equal(store_commit(all[i], &f->err), 0);
    }
    for (int i = 0; i < 3; i++)
        store_conn_put(all[i]);
}

static void test_store_audit__rolls_back_with_its_transaction(void **state)
{
    struct fixture *f = *state;
    struct store_audit_entry e = {.at = clock_now_ms(),
                                  .action = "test.done",
                                  .request_id = "r1",
                                  .chain = "platform",
                                  .prev_hash = "",
                                  .hash = "h1"};
    assert_int_equal(store_begin(f->conn, true, &f->err), 0);
    assert_int_equal(store_audit_insert(f->conn, &f->arena, &e, &f->err), 0);
    store_rollback(f->conn);
    assert_int_equal(count_rows(f, f->conn, "SELECT count(*) FROM audit_log"), 0);
    assert_int_equal(store_begin(f->conn, true, &f->err), 0);
    assert_int_equal(store_audit_insert(f->conn, &f->arena, &e, &f->err), 0);
    assert_int_equal(store_commit(f->conn, &f->err), 0);
    struct store_rows rows;
    assert_int_equal(
        exec(f, f->conn, "SELECT action, details, agency_id FROM audit_log", NULL, 0, &rows), 0);
    assert_int_equal(rows.count, 1);
    assert_string_equal(store_cell(&rows, 0, 0)->s, "test.done");
    assert_string_equal(store_cell(&rows, 0, 1)->s, "{}");
    assert_int_equal(store_cell(&rows, 0, 2)->type, STORE_NULL);
}

struct worker {
    struct store *store;
    int index;
    int failures;
};

#define WORKERS          6
#define WORKER_WRITES    25
#define POOL_CONNECTIONS 3

static void *pool_worker(void *arg)
{
    struct worker *w = arg;
    struct usher_error err;
    for (int i = 0; i < WORKER_WRITES; i++) {
        usher_error_clear(&err);
        struct store_conn *c = NULL;
        struct arena a;
        arena_init(&a);
        char id[32], email[48];
        snprintf(id, sizeof(id), "usr_%d_%d", w->index, i);
        snprintf(email, sizeof(email), "w%d.%d@x.io", w->index, i);
        struct store_value p[] = {store_text(id), store_text(email), store_int(i + 1)};
        struct store_rows rows;
        int rc = store_conn_get(w->store, &c, &err);
        if (rc == 0)
            rc = store_begin(c, true, &err);
        if (rc == 0)
            rc = store_exec(c, &a, "INSERT INTO users (id, email, created_at) VALUES ($1, $2, $3)",
                            p, 3, NULL, NULL, &err);
        if (rc == 0)
            rc = store_exec(c, &a, "SELECT count(*) FROM users WHERE id = $1", p, 1, &rows, NULL,
                            &err);
        if (rc == 0 && store_cell(&rows, 0, 0)->i != 1)
            rc = -100;
        if (rc == 0)
            rc = store_commit(c, &err);
        if (rc != 0)
            w->failures++;
        store_conn_put(c);
        arena_dispose(&a);
    }
    return NULL;
}

static void test_store_pool__serves_more_threads_than_connections(void **state)
{
    (void)state;
    char *dir = unit_tempdir_new();
    char *url = fixture_db_url(dir);
    struct store *s = NULL;
    struct usher_error err = {0};
    assert_int_equal(store_open(&s, url, dir, POOL_CONNECTIONS, &err), 0);
    free(url);
    assert_int_equal(store_migrate(s, NULL, &err), 0);
    pthread_t threads[WORKERS];
    struct worker workers[WORKERS];
    for (int i = 0; i < WORKERS; i++) {
        workers[i] = (struct worker){s, i, 0};
        assert_int_equal(pthread_create(&threads[i], NULL, pool_worker, &workers[i]), 0);
    }
    for (int i = 0; i < WORKERS; i++) {
        pthread_join(threads[i], NULL);
        assert_int_equal(workers[i].failures, 0);
    }
    struct store_conn *c;
    assert_int_equal(store_conn_get(s, &c, &err), 0);
    struct arena a;
    arena_init(&a);
    struct store_rows rows;
    assert_int_equal(store_exec(c, &a, "SELECT count(*) FROM users", NULL, 0, &rows, NULL, &err),
                     0);
    assert_int_equal(store_cell(&rows, 0, 0)->i, WORKERS * WORKER_WRITES);
    arena_dispose(&a);
    store_conn_put(c);
    store_free(s);
    fixture_db_drop(dir);
    unit_tempdir_remove(dir);
}

static void test_store_sqlite__sets_wal_full_sync_and_foreign_keys_on_every_connection(void **state)
{
    struct fixture *f = *state;
    FIXTURE_SQLITE_ONLY("checks SQLite pragmas and the database file's mode");
    struct store_conn *all[4] = {f->conn};
    for (int i = 1; i < 4; i++)
        assert_int_equal(store_conn_get(f->store, &all[i], &f->err), 0);
    for (int i = 0; i < 4; i++) {
        struct store_rows rows;
        assert_int_equal(exec(f, all[i], "PRAGMA journal_mode", NULL, 0, &rows), 0);
        assert_string_equal(store_cell(&rows, 0, 0)->s, "wal");
        assert_int_equal(exec(f, all[i], "PRAGMA synchronous", NULL, 0, &rows), 0);
        assert_int_equal(store_cell(&rows, 0, 0)->i, 2); /* FULL */
        assert_int_equal(exec(f, all[i], "PRAGMA foreign_keys", NULL, 0, &rows), 0);
        assert_int_equal(store_cell(&rows, 0, 0)->i, 1);
    }
    for (int i = 1; i < 4; i++)
        store_conn_put(all[i]);
    char path[4200];
    snprintf(path, sizeof(path), "%s/usher.db", f->dir);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0077, 0);
}

static void test_store_exec__returns_integers_of_every_width_as_integers(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(insert_user(f, f->conn, "usr_a", "a@x.io"), 0);
    assert_int_equal(insert_user(f, f->conn, "usr_b", "b@x.io"), 0);
    struct store_rows rows;
    /* is_platform_admin is INTEGER, created_at BIGINT, SUM of BIGINT numeric in PostgreSQL. */
    assert_int_equal(exec(f, f->conn,
                          "SELECT MAX(is_platform_admin), COUNT(*), SUM(created_at) - "
                          "SUM(created_at) + 7, MAX(created_at) > 0 FROM users",
                          NULL, 0, &rows),
                     0);
    for (size_t c = 0; c < 4; c++)
        assert_int_equal(store_cell(&rows, 0, c)->type, STORE_INT);
    assert_int_equal(store_cell(&rows, 0, 0)->i, 0);
    assert_int_equal(store_cell(&rows, 0, 1)->i, 2);
    assert_int_equal(store_cell(&rows, 0, 2)->i, 7);
    assert_int_equal(store_cell(&rows, 0, 3)->i, 1);
}

struct writer {
    struct store *store;
    int64_t began_ms;
    int rc;
};

static void *second_writer(void *arg)
{
    struct writer *w = arg;
    struct usher_error err = {0};
    struct store_conn *c = NULL;
    w->rc = store_conn_get(w->store, &c, &err);
    if (w->rc == 0)
        w->rc = store_begin(c, true, &err);
    w->began_ms = clock_now_ms();
    if (w->rc == 0)
        w->rc = store_commit(c, &err);
    store_conn_put(c);
    return NULL;
}

static void test_store_tx__a_second_writer_waits_for_the_first(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(store_begin(f->conn, true, &f->err), 0);
    int64_t held_until = 0;
    struct writer w = {f->store, 0, -1};
    pthread_t thread;
    assert_int_equal(pthread_create(&thread, NULL, second_writer, &w), 0);
    usleep(400 * 1000);
    assert_int_equal(insert_user(f, f->conn, "usr_first", "first@x.io"), 0);
    held_until = clock_now_ms();
    assert_int_equal(store_commit(f->conn, &f->err), 0);
    pthread_join(thread, NULL);
    assert_int_equal(w.rc, 0);
    /* The second write transaction began only once the first had ended. */
    assert_true(w.began_ms >= held_until);
}

struct migrator {
    struct store *store;
    int applied;
    int rc;
};

static void *migrate_one(void *arg)
{
    struct migrator *m = arg;
    struct usher_error err = {0};
    m->rc = store_migrate(m->store, &m->applied, &err);
    return NULL;
}

static void test_store_migrate__instances_starting_together_migrate_once(void **state)
{
    (void)state;
    char *dir = unit_tempdir_new();
    char *url = fixture_db_url(dir);
    struct usher_error err = {0};
    struct migrator m[3] = {{0}};
    for (int i = 0; i < 3; i++)
        assert_int_equal(store_open(&m[i].store, url, dir, 1, &err), 0);
    pthread_t threads[3];
    for (int i = 0; i < 3; i++)
        assert_int_equal(pthread_create(&threads[i], NULL, migrate_one, &m[i]), 0);
    int applied = 0;
    for (int i = 0; i < 3; i++) {
        pthread_join(threads[i], NULL);
        assert_int_equal(m[i].rc, 0);
        applied += m[i].applied;
    }
    assert_int_equal(applied, dialect_migration_count());
    struct store_conn *c;
    assert_int_equal(store_conn_get(m[0].store, &c, &err), 0);
    struct arena a;
    arena_init(&a);
    struct store_rows rows;
    assert_int_equal(
        store_exec(c, &a, "SELECT COUNT(*) FROM schema_migrations", NULL, 0, &rows, NULL, &err), 0);
    assert_int_equal(store_cell(&rows, 0, 0)->i, dialect_migration_count());
    arena_dispose(&a);
    store_conn_put(c);
    for (int i = 0; i < 3; i++)
        store_free(m[i].store);
    free(url);
    fixture_db_drop(dir);
    unit_tempdir_remove(dir);
}

static void test_store_pg__a_lost_connection_is_unavailable_then_reopened(void **state)
{
    struct fixture *f = *state;
    if (!fixture_pg_url()) {
        print_message("[     SKIP ] PostgreSQL only: ends a server backend\n");
        skip();
    }
    struct store_conn *other;
    assert_int_equal(store_conn_get(f->store, &other, &f->err), 0);
    struct store_rows rows;
    assert_int_equal(exec(f, f->conn, "SELECT pg_backend_pid()", NULL, 0, &rows), 0);
    struct store_value p[] = {store_int(store_cell(&rows, 0, 0)->i)};
    assert_int_equal(
        exec(f, other, "SELECT pg_terminate_backend(CAST($1 AS INTEGER))", p, 1, &rows), 0);
    assert_int_equal(store_cell(&rows, 0, 0)->i, 1);
    store_conn_put(other);
    /* The server ends the backend shortly after answering. */
    usleep(200 * 1000);
    assert_int_equal(exec(f, f->conn, "SELECT 1", NULL, 0, &rows), USHER_EUNAVAIL);
    /* The next use opens the connection again. */
    assert_int_equal(exec(f, f->conn, "SELECT 1", NULL, 0, &rows), 0);
    assert_int_equal(store_cell(&rows, 0, 0)->i, 1);
    assert_int_equal(store_begin(f->conn, true, &f->err), 0);
    assert_int_equal(insert_user(f, f->conn, "usr_back", "back@x.io"), 0);
    assert_int_equal(store_commit(f->conn, &f->err), 0);
    /* A connection lost while idle is reopened by the next transaction, which then begins. */
    assert_int_equal(exec(f, f->conn, "SELECT pg_backend_pid()", NULL, 0, &rows), 0);
    p[0] = store_int(store_cell(&rows, 0, 0)->i);
    assert_int_equal(store_conn_get(f->store, &other, &f->err), 0);
    assert_int_equal(
        exec(f, other, "SELECT pg_terminate_backend(CAST($1 AS INTEGER))", p, 1, &rows), 0);
    store_conn_put(other);
    usleep(200 * 1000);
    assert_int_equal(store_begin(f->conn, true, &f->err), 0);
    assert_int_equal(insert_user(f, f->conn, "usr_again", "again@x.io"), 0);
    assert_int_equal(store_commit(f->conn, &f->err), 0);
    assert_int_equal(count_rows(f, f->conn, "SELECT count(*) FROM users"), 2);
}

static void test_store_pg__a_read_transaction_refuses_writes(void **state)
{
    struct fixture *f = *state;
    if (!fixture_pg_url()) {
        print_message("[     SKIP ] PostgreSQL only: SQLite lets a read transaction write\n");
        skip();
    }
    /* A write outside the write lock could break the rules the lock keeps, so PostgreSQL read
     * transactions are READ ONLY. */
    assert_int_equal(store_begin(f->conn, false, &f->err), 0);
    assert_int_equal(insert_user(f, f->conn, "usr_r", "r@x.io"), USHER_EINTERNAL);
    store_rollback(f->conn);
    assert_int_equal(count_rows(f, f->conn, "SELECT count(*) FROM users"), 0);
}

/* Waits up to a second for notices on l; true when one came. */
static bool heard(struct store_listener *l, struct usher_error *err)
{
    bool changed = false;
    for (int i = 0; i < 10 && !changed; i++)
        assert_int_equal(store_listener_wait(l, 100, &changed, err), 0);
    return changed;
}

static void test_store_notices__a_committed_write_is_heard_and_nothing_else(void **state)
{
    struct fixture *f = *state;
    struct store_listener *l = NULL;
    if (!fixture_pg_url()) {
        /* SQLite has no notices: processes sharing a file poll. */
        assert_false(store_notifies(f->store));
        assert_int_equal(store_listener_open(&l, f->store, &f->err), USHER_EINVAL);
        return;
    }
    /* Another store on the same database listens, as another instance would. */
    struct store *other = NULL;
    assert_int_equal(store_open(&other, f->url, f->dir, 1, &f->err), 0);
    assert_true(store_notifies(other));
    assert_int_equal(store_listener_open(&l, other, &f->err), 0);
    bool changed = true;
    assert_int_equal(store_listener_wait(l, 50, &changed, &f->err), 0);
    assert_false(changed);
    /* A read transaction, a rolled-back write and a write that failed to commit say nothing. */
    assert_int_equal(store_begin(f->conn, false, &f->err), 0);
    assert_int_equal(store_commit(f->conn, &f->err), 0);
    assert_int_equal(store_begin(f->conn, true, &f->err), 0);
    assert_int_equal(insert_user(f, f->conn, "usr_gone", "gone@x.io"), 0);
    store_rollback(f->conn);
    assert_int_equal(store_begin(f->conn, true, &f->err), 0);
    assert_int_equal(exec(f, f->conn, "SELECT no_such_column FROM users", NULL, 0, NULL),
                     USHER_EINTERNAL);
    assert_int_not_equal(store_commit(f->conn, &f->err), 0);
    assert_int_equal(store_listener_wait(l, 200, &changed, &f->err), 0);
    assert_false(changed);
    /* A committed write is heard once, however many rows it changed. */
    assert_int_equal(store_begin(f->conn, true, &f->err), 0);
    assert_int_equal(insert_user(f, f->conn, "usr_a", "a@x.io"), 0);
    assert_int_equal(insert_user(f, f->conn, "usr_b", "b@x.io"), 0);
    assert_int_equal(store_commit(f->conn, &f->err), 0);
    assert_true(heard(l, &f->err));
    assert_int_equal(store_listener_wait(l, 100, &changed, &f->err), 0);
    assert_false(changed);
    /* A store does not hear its own commits: its writers have applied them already. */
    struct store_listener *own = NULL;
    assert_int_equal(store_listener_open(&own, f->store, &f->err), 0);
    assert_int_equal(store_begin(f->conn, true, &f->err), 0);
    assert_int_equal(insert_user(f, f->conn, "usr_own", "own@x.io"), 0);
    assert_int_equal(store_commit(f->conn, &f->err), 0);
    assert_true(heard(l, &f->err));
    assert_int_equal(store_listener_wait(own, 300, &changed, &f->err), 0);
    assert_false(changed);
    store_listener_close(own);
    /* A listener whose connection ends says so, and a new one hears again. */
    struct store_rows rows;
    assert_int_equal(exec(f, f->conn,
                          "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE "
                          "application_name = 'usher_listener' AND datname = current_database()",
                          NULL, 0, &rows),
                     0);
    assert_int_equal(rows.count, 1);
    int rc = 0;
    for (int i = 0; i < 20 && rc == 0; i++)
        rc = store_listener_wait(l, 100, &changed, &f->err);
    assert_int_equal(rc, USHER_EUNAVAIL);
    store_listener_close(l);
    assert_int_equal(store_listener_open(&l, other, &f->err), 0);
    assert_int_equal(store_begin(f->conn, true, &f->err), 0);
    assert_int_equal(insert_user(f, f->conn, "usr_c", "c@x.io"), 0);
    assert_int_equal(store_commit(f->conn, &f->err), 0);
    assert_true(heard(l, &f->err));
    store_listener_close(l);
    store_free(other);
}

static void test_store_pg__a_statement_prepared_before_a_schema_change_runs_after_it(void **state)
{
    struct fixture *f = *state;
    if (!fixture_pg_url()) {
        print_message("[     SKIP ] PostgreSQL only: SQLite prepares a changed statement again\n");
        skip();
    }
    /* Another connection (another instance's migration) changes the collation of a column the
     * statements return, which PostgreSQL refuses to run a prepared plan across. */
    static const char query[] = "SELECT id, status FROM users WHERE id = $1";
    static const char change[] = "UPDATE users SET status = status WHERE id = $1 RETURNING status";
    static const char *const collations[] = {"ALTER TABLE users ALTER COLUMN status TYPE TEXT "
                                             "COLLATE \"POSIX\"",
                                             "ALTER TABLE users ALTER COLUMN status TYPE TEXT "
                                             "COLLATE \"C\""};
    struct store_conn *other;
    assert_int_equal(store_conn_get(f->store, &other, &f->err), 0);
    assert_int_equal(insert_user(f, f->conn, "usr_s", "s@x.io"), 0);
    struct store_value p[] = {store_text("usr_s")};
    struct store_rows rows;
    for (int round = 0; round < 2; round++) {
        assert_int_equal(exec(f, f->conn, query, p, 1, &rows), 0);
        assert_int_equal(exec(f, f->conn, change, p, 1, &rows), 0);
        assert_int_equal(exec(f, other, collations[round], NULL, 0, NULL), 0);
        /* Outside a transaction the statement is prepared again and runs. */
        assert_int_equal(exec(f, f->conn, query, p, 1, &rows), 0);
        assert_int_equal(rows.count, 1);
        assert_string_equal(store_cell(&rows, 0, 1)->s, "active");
        /* A change runs under its savepoint, so it too runs again in its transaction. */
        assert_int_equal(store_begin(f->conn, true, &f->err), 0);
        assert_int_equal(exec(f, f->conn, change, p, 1, &rows), 0);
        assert_int_equal(rows.count, 1);
        assert_int_equal(store_commit(f->conn, &f->err), 0);
    }
    /* A query inside a transaction aborts it: busy, and the next attempt runs. */
    assert_int_equal(exec(f, other, collations[0], NULL, 0, NULL), 0);
    assert_int_equal(store_begin(f->conn, false, &f->err), 0);
    assert_int_equal(exec(f, f->conn, query, p, 1, &rows), USHER_EUNAVAIL);
    store_rollback(f->conn);
    f->err = (struct usher_error){0};
    assert_int_equal(store_begin(f->conn, false, &f->err), 0);
    assert_int_equal(exec(f, f->conn, query, p, 1, &rows), 0);
    assert_int_equal(rows.count, 1);
    assert_int_equal(store_commit(f->conn, &f->err), 0);
    assert_int_equal(exec(f, other, collations[1], NULL, 0, NULL), 0);
    store_conn_put(other);
}

static void test_store_exec__compares_and_lower_cases_text_bytewise(void **state)
{
    struct fixture *f = *state;
    /* Byte order, which a linguistic collation (en_US and most others) would not give: upper
     * case before lower, '-' before digits, '_' between the cases, accented letters last. */
    static const char *const ids[] = {"A-1", "A1", "B", "Z_", "a", "e", "\xc3\x89mile"};
    static const char *const emails[] = {"A-1@X.IO", "a1@x.io", "b@x.io",           "z_@x.io",
                                         "a@x.io",   "e@x.io",  "\xc3\x89MILE@X.IO"};
    size_t n = sizeof(ids) / sizeof(ids[0]);
    for (size_t i = n; i-- > 0;)
        assert_int_equal(insert_user(f, f->conn, ids[i], emails[i]), 0);
    struct store_rows rows;
    assert_int_equal(
        exec(f, f->conn, "SELECT id, lower(email) FROM users ORDER BY id", NULL, 0, &rows), 0);
    assert_int_equal(rows.count, n);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(store_cell(&rows, i, 0)->s, ids[i]);
    /* lower() changes ASCII letters only, as SQLite's does. */
    assert_string_equal(store_cell(&rows, 6, 1)->s, "\xc3\x89mile@x.io");
    struct store_value p[] = {store_text("a")};
    assert_int_equal(count_rows(f, f->conn, "SELECT count(*) FROM users WHERE id > 'Z_'"), 3);
    assert_int_equal(exec(f, f->conn, "SELECT count(*) FROM users WHERE id < $1", p, 1, &rows), 0);
    assert_int_equal(store_cell(&rows, 0, 0)->i, 4);
    if (!fixture_pg_url())
        return;
    /* On PostgreSQL the database's default collation may be any; every text column of the
     * schema is COLLATE "C" so none of this depends on it. */
    assert_int_equal(exec(f, f->conn,
                          "SELECT table_name || '.' || column_name FROM information_schema.columns "
                          "WHERE table_schema = current_schema() AND data_type = 'text' "
                          "AND coalesce(collation_name, '') <> 'C' ORDER BY 1",
                          NULL, 0, &rows),
                     0);
    for (size_t i = 0; i < rows.count; i++)
        print_message("text column without COLLATE \"C\": %s\n", store_cell(&rows, i, 0)->s);
    assert_int_equal(rows.count, 0);
}

static void
test_store_tx__a_statement_that_does_not_compile_leaves_the_transaction_usable(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(store_begin(f->conn, true, &f->err), 0);
    assert_int_equal(insert_user(f, f->conn, "usr_1", "one@x.io"), 0);
    assert_int_equal(exec(f, f->conn, "UPDATE no_such_table SET a = 1", NULL, 0, NULL),
                     USHER_EINTERNAL);
    assert_int_equal(insert_user(f, f->conn, "usr_2", "two@x.io"), 0);
    assert_int_equal(store_commit(f->conn, &f->err), 0);
    assert_int_equal(count_rows(f, f->conn, "SELECT count(*) FROM users"), 2);
}

static void test_store_exec__reuses_a_statement_with_other_kinds_of_values(void **state)
{
    struct fixture *f = *state;
    static const char sql[] = "SELECT CAST($1 AS TEXT), $2";
    struct store_rows rows;
    for (int round = 0; round < 2; round++) {
        struct store_value a[] = {store_int(42), store_int(1)};
        assert_int_equal(exec(f, f->conn, sql, a, 2, &rows), 0);
        assert_string_equal(store_cell(&rows, 0, 0)->s, "42");
        struct store_value b[] = {store_text("forty-two"), store_int(2)};
        assert_int_equal(exec(f, f->conn, sql, b, 2, &rows), 0);
        assert_string_equal(store_cell(&rows, 0, 0)->s, "forty-two");
        struct store_value c[] = {store_null(), store_int(3)};
        assert_int_equal(exec(f, f->conn, sql, c, 2, &rows), 0);
        assert_int_equal(store_cell(&rows, 0, 0)->type, STORE_NULL);
        assert_int_equal(store_cell(&rows, 0, 1)->i, 3);
    }
}

static void test_store_exec__logs_no_value_of_a_failing_row(void **state)
{
    struct fixture *f = *state;
    char path[4200];
    snprintf(path, sizeof(path), "%s/log.txt", f->dir);
    int fd = open(path, O_CREAT | O_RDWR | O_TRUNC, 0600);
    assert_true(fd >= 0);
    log_set_fd(fd);
    /* A NOT NULL and a CHECK violation on rows holding a secret-like hash, and a duplicate
     * key whose value is the secret itself. */
    struct store_value p[] = {store_text("usr_x"), store_null(), store_text("hash-SECRET-1")};
    int rc1 =
        exec(f, f->conn,
             "INSERT INTO users (id, email, password_hash, created_at) VALUES ($1, $2, $3, 1)", p,
             3, NULL);
    p[1] = store_text("x@x.io");
    int rc2 = exec(f, f->conn,
                   "INSERT INTO users (id, email, password_hash, created_at, status) "
                   "VALUES ($1, $2, $3, 1, 'frozen')",
                   p, 3, NULL);
    int rc3 =
        exec(f, f->conn,
             "INSERT INTO users (id, email, password_hash, created_at) VALUES ($3, $2, $3, 1)", p,
             3, NULL);
    int rc4 =
        exec(f, f->conn,
             "INSERT INTO users (id, email, password_hash, created_at) VALUES ($3, $2, $3, 1)", p,
             3, NULL);
    log_set_fd(2);
    assert_int_equal(rc1, USHER_EINTERNAL);
    assert_int_equal(rc2, USHER_EINTERNAL);
    assert_int_equal(rc3, 0);
    assert_int_equal(rc4, USHER_ECONFLICT);
    char text[8192] = "";
    assert_true(lseek(fd, 0, SEEK_SET) == 0);
    ssize_t len = read(fd, text, sizeof(text) - 1);
    close(fd);
    assert_true(len > 0);
    text[len] = '\0';
    /* The failures were logged, without the row. */
    assert_non_null(strstr(text, "users"));
    assert_null(strstr(text, "SECRET"));
    assert_null(strstr(text, "x@x.io"));
}

int main(void)
{
    log_set_level(LOG_WARN);
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_store_migrate__applies_each_migration_once),
        T(test_store_open__names_the_dialect_and_answers_ping),
        cmocka_unit_test(test_store_open__refuses_an_unknown_driver),
        cmocka_unit_test(test_store_open__reports_an_unopenable_database),
        T(test_store_exec__binds_parameters_by_number_in_any_order),
        T(test_store_exec__binds_null_and_reuses_a_parameter),
        T(test_store_exec__ignores_parameters_the_statement_does_not_use),
        T(test_store_exec__refuses_a_placeholder_without_value),
        T(test_store_exec__returns_rows_and_changes),
        T(test_store_exec__returns_many_rows),
        T(test_store_exec_pages__hands_every_row_over_a_page_at_a_time_in_order),
        T(test_store_exec_pages__stops_at_the_first_failing_page),
        T(test_store_exec_pages__refuses_to_run_outside_a_transaction),
        T(test_store_exec_pages__reports_bad_sql_as_internal),
        T(test_store_exec__maps_a_unique_violation_to_conflict),
        T(test_store_exec__enforces_foreign_keys),
        T(test_store_exec__maps_a_not_null_violation_to_internal),
        T(test_store_exec__keeps_statements_apart_in_a_reused_buffer),
        T(test_store_exec__reports_bad_sql_as_internal),
        T(test_store_tx__commit_makes_changes_visible_to_other_connections),
        T(test_store_tx__rollback_discards_changes),
        T(test_store_tx__failed_statement_leaves_the_transaction_to_the_caller),
        T(test_store_conn_put__rolls_back_an_open_transaction),
        T(test_store_audit__rolls_back_with_its_transaction),
        cmocka_unit_test(test_store_pool__serves_more_threads_than_connections),
        T(test_store_exec__returns_integers_of_every_width_as_integers),
        T(test_store_tx__a_second_writer_waits_for_the_first),
        cmocka_unit_test(test_store_migrate__instances_starting_together_migrate_once),
        T(test_store_pg__a_lost_connection_is_unavailable_then_reopened),
        T(test_store_pg__a_read_transaction_refuses_writes),
        T(test_store_notices__a_committed_write_is_heard_and_nothing_else),
        T(test_store_tx__a_statement_that_does_not_compile_leaves_the_transaction_usable),
        T(test_store_exec__reuses_a_statement_with_other_kinds_of_values),
        T(test_store_exec__logs_no_value_of_a_failing_row),
        T(test_store_exec__compares_and_lower_cases_text_bytewise),
        T(test_store_pg__a_statement_prepared_before_a_schema_change_runs_after_it),
        T(test_store_sqlite__sets_wal_full_sync_and_foreign_keys_on_every_connection),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
