/* Unit tests of the audit hash chain: entries chain per agency, and verification names the
 * first entry that was altered, removed or inserted, or a chain whose newest entries went. */
#include "../unit.h"

#include "app/audit.h"
#include "base/clock.h"
#include "base/crypto.h"
#include "store/store.h"
#include "store/store_audit.h"

struct fixture {
    char *dir;
    struct store *store;
    struct arena arena;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    crypto_setup();
    f->dir = unit_tempdir_new();
    struct usher_error err = {0};
    assert_int_equal(store_open(&f->store, "", f->dir, 2, &err), 0);
    assert_int_equal(store_migrate(f->store, NULL, &err), 0);
    static const unsigned char key[32] = {7, 7, 7};
    app_audit_key_set(key, sizeof(key));
    arena_init(&f->arena);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    arena_dispose(&f->arena);
    store_free(f->store);
    unit_tempdir_remove(f->dir);
    free(f);
    return 0;
}

static void sql(struct fixture *f, const char *text)
{
    struct store_conn *c;
    struct usher_error err = {0};
    assert_int_equal(store_conn_get(f->store, &c, &err), 0);
    assert_int_equal(store_exec(c, &f->arena, text, NULL, 0, NULL, NULL, &err), 0);
    store_conn_put(c);
}

/* Writes n entries: agency A gets the even ones, agency B the odd ones, each in its own
 * transaction or (for every third) with none, as some callers do. */
static void write_entries(struct fixture *f, int n)
{
    struct store_conn *c;
    struct usher_error err = {0};
    assert_int_equal(store_conn_get(f->store, &c, &err), 0);
    struct app_actor actor = {.user_id = "usr_1", .source_ip = "127.0.0.1"};
    for (int i = 0; i < n; i++) {
        struct app_audit_event ev = {
            .agency_id = i % 2 ? "agy_b" : "agy_a",
            .action = "thing.done",
            .details = json_pack("{s:i}", "n", i),
        };
        bool own = i % 3 != 0;
        if (own)
            assert_int_equal(store_begin(c, true, &err), 0);
        assert_int_equal(app_audit_record(c, &f->arena, &actor, &ev, &err), 0);
        if (own)
            assert_int_equal(store_commit(c, &err), 0);
    }
    store_conn_put(c);
}

static void verify(struct fixture *f, struct app_audit_verdict *v)
{
    struct usher_error err = {0};
    assert_int_equal(app_audit_verify(v, f->store, &f->arena, &err), 0);
}

static void test_audit_chain__intact_after_writes(void **state)
{
    struct fixture *f = *state;
    write_entries(f, 10);
    struct app_audit_verdict v;
    verify(f, &v);
    assert_true(v.is_intact);
    assert_int_equal(v.entries, 10);
    assert_int_equal(v.chains, 2);
}

static void test_audit_chain__names_an_altered_entry(void **state)
{
    struct fixture *f = *state;
    write_entries(f, 10);
    sql(f, "UPDATE audit_log SET actor_id = 'usr_2' WHERE id = 5");
    struct app_audit_verdict v;
    verify(f, &v);
    assert_false(v.is_intact);
    assert_int_equal(v.broken_id, 5);
    assert_string_equal(v.chain, "agency:agy_a");
    assert_non_null(strstr(v.reason, "altered"));
}

static void test_audit_chain__names_the_entry_after_a_removed_one(void **state)
{
    struct fixture *f = *state;
    write_entries(f, 10);
    sql(f, "DELETE FROM audit_log WHERE id = 4");
    struct app_audit_verdict v;
    verify(f, &v);
    assert_false(v.is_intact);
    assert_int_equal(v.broken_id, 6);
    assert_string_equal(v.chain, "agency:agy_b");
    assert_non_null(strstr(v.reason, "removed"));
}

static void test_audit_chain__notices_removed_newest_entries(void **state)
{
    struct fixture *f = *state;
    write_entries(f, 10);
    sql(f, "DELETE FROM audit_log WHERE id IN (9, 10)");
    struct app_audit_verdict v;
    verify(f, &v);
    assert_false(v.is_intact);
}

static void test_audit_chain__a_rehashed_forgery_without_the_secret_fails(void **state)
{
    struct fixture *f = *state;
    write_entries(f, 4);
    /* Someone with database access but not the secret edits an entry and recomputes its
     * hash with another key: the chain still breaks. */
    static const unsigned char other[32] = {9};
    app_audit_key_set(other, sizeof(other));
    struct store_audit_entry e = {.chain = "agency:agy_a",
                                  .at = 1,
                                  .agency_id = "agy_a",
                                  .action = "thing.done",
                                  .details_json = "{}",
                                  .prev_hash = ""};
    char forged[CRYPTO_HASH_HEX + 1];
    app_audit_entry_hash(forged, &e);
    static const unsigned char key[32] = {7, 7, 7};
    app_audit_key_set(key, sizeof(key));
    char sql_text[512];
    snprintf(sql_text, sizeof(sql_text),
             "UPDATE audit_log SET at = 1, actor_id = NULL, source_ip = NULL, details = '{}', "
             "hash = '%s' WHERE id = 1",
             forged);
    sql(f, sql_text);
    struct app_audit_verdict v;
    verify(f, &v);
    assert_false(v.is_intact);
    assert_int_equal(v.broken_id, 1);
}

static void test_audit_chain__retention_prunes_old_entries_and_keeps_chains_verifiable(void **state)
{
    struct fixture *f = *state;
    clock_set_offset_ms(-40LL * 86400 * 1000);
    write_entries(f, 6);
    /* A chain whose entries are all old keeps its newest one. */
    struct store_conn *c;
    struct usher_error e0 = {0};
    assert_int_equal(store_conn_get(f->store, &c, &e0), 0);
    struct app_audit_event ev = {.agency_id = "agy_c", .action = "thing.done"};
    assert_int_equal(app_audit_record(c, &f->arena, NULL, &ev, &e0), 0);
    assert_int_equal(app_audit_record(c, &f->arena, NULL, &ev, &e0), 0);
    store_conn_put(c);
    clock_set_offset_ms(0);
    write_entries(f, 4);
    struct usher_error err = {0};
    int64_t deleted = 0;
    assert_int_equal(app_audit_prune(&deleted, f->store, 0, &err), 0);
    assert_int_equal(deleted, 0);
    assert_int_equal(app_audit_prune(&deleted, f->store, 30, &err), 0);
    assert_int_equal(deleted, 7);
    struct app_audit_verdict v;
    verify(f, &v);
    assert_true(v.is_intact);
    /* Four recent entries, agency C's newest, and the record of the pruning itself. */
    assert_int_equal(v.entries, 6);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_audit_chain__intact_after_writes),
        T(test_audit_chain__names_an_altered_entry),
        T(test_audit_chain__names_the_entry_after_a_removed_one),
        T(test_audit_chain__notices_removed_newest_entries),
        T(test_audit_chain__a_rehashed_forgery_without_the_secret_fails),
        T(test_audit_chain__retention_prunes_old_entries_and_keeps_chains_verifiable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
