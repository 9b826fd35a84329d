/* Unit tests of the audit hash chain: entries chain per agency, and verification names the
 * first entry that was altered, removed, inserted or reordered, a head rewritten or put back,
 * a chain deleted whole, an emptied log, oldest entries removed without a retention record; a
 * signed checkpoint reveals a rollback of the whole database and refuses to be edited; format-2
 * entries keep personal values in a row checked against a keyed digest, which erasure blanks,
 * and format-1 entries are converted once, only from a log that verifies. */
#include "../unit.h"

#include <sodium.h>

#include "../fixture.h"

#include "app/audit.h"
#include "app/audit_int.h"
#include "base/clock.h"
#include "base/crypto.h"
#include "base/json.h"
#include "base/error.h"
#include "store/store.h"
#include "store/store_audit.h"

static const unsigned char test_key[32] = {7, 7, 7};

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
    app_audit_key_set(test_key, sizeof(test_key));
    char *url = fixture_db_url(f->dir);
    assert_int_equal(store_open(&f->store, url, f->dir, 2, &err), 0);
    free(url);
    assert_int_equal(store_migrate_hooked(f->store, NULL, &app_audit_migrate_hook, &err), 0);
    arena_init(&f->arena);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    arena_dispose(&f->arena);
    store_free(f->store);
    fixture_db_drop(f->dir);
    unit_tempdir_remove(f->dir);
    free(f);
    return 0;
}

static void sql_on(struct fixture *f, struct store *store, const char *text)
{
    struct store_conn *c;
    struct usher_error err = {0};
    assert_int_equal(store_conn_get(store, &c, &err), 0);
    assert_int_equal(store_exec(c, &f->arena, text, NULL, 0, NULL, NULL, &err), 0);
    store_conn_put(c);
}

static void sql(struct fixture *f, const char *text)
{
    sql_on(f, f->store, text);
}

/* The first cell of a query's first row, as text ("" for none, NULL or an integer's digits). */
static const char *sql_value(struct fixture *f, const char *text)
{
    struct store_conn *c;
    struct usher_error err = {0};
    struct store_rows rows;
    assert_int_equal(store_conn_get(f->store, &c, &err), 0);
    assert_int_equal(store_exec(c, &f->arena, text, NULL, 0, &rows, NULL, &err), 0);
    store_conn_put(c);
    if (rows.count == 0)
        return "";
    const struct store_value *v = store_cell(&rows, 0, 0);
    if (v->type == STORE_INT)
        return arena_printf(&f->arena, "%lld", (long long)v->i);
    return v->type == STORE_TEXT ? v->s : "";
}

/* Writes n entries: agency A gets the even ones, agency B the odd ones, each in its own
 * transaction or (for every third) with none, as some callers do. On a fresh log, A's entries
 * are ids 1, 3, 5, ... and B's 2, 4, 6, ... */
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

static void write_to(struct fixture *f, const char *agency_id, int n)
{
    struct store_conn *c;
    struct usher_error err = {0};
    assert_int_equal(store_conn_get(f->store, &c, &err), 0);
    for (int i = 0; i < n; i++) {
        struct app_audit_event ev = {.agency_id = agency_id, .action = "thing.done"};
        assert_int_equal(app_audit_record(c, &f->arena, NULL, &ev, &err), 0);
    }
    store_conn_put(c);
}

static void verify_on(struct fixture *f, struct store *store, struct app_audit_verdict *v)
{
    struct usher_error err = {0};
    assert_int_equal(app_audit_verify(v, store, &f->arena, &err), 0);
}

static void verify(struct fixture *f, struct app_audit_verdict *v)
{
    verify_on(f, f->store, v);
}

/* Verification fails on chain (NULL: the log as a whole) with a reason containing word. */
static void expect_broken(struct fixture *f, const char *chain, const char *word)
{
    struct app_audit_verdict v;
    verify(f, &v);
    assert_false(v.is_intact);
    if (chain)
        assert_string_equal(v.chain, chain);
    else
        assert_null(v.chain);
    if (!strstr(v.reason, word))
        fail_msg("reason \"%s\" does not say \"%s\"", v.reason, word);
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

static void test_audit_chain__notices_reordered_entries(void **state)
{
    struct fixture *f = *state;
    write_entries(f, 10);
    /* Entries 3 and 7 of agency A swap places; each is intact by itself. */
    sql(f, "UPDATE audit_log SET id = -7 WHERE id = 7");
    sql(f, "UPDATE audit_log SET id = 7 WHERE id = 3");
    sql(f, "UPDATE audit_log SET id = 3 WHERE id = -7");
    struct app_audit_verdict v;
    verify(f, &v);
    assert_false(v.is_intact);
    assert_string_equal(v.chain, "agency:agy_a");
    assert_int_equal(v.broken_id, 3);
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

static void
test_audit_chain__refuses_a_head_rewritten_after_cutting_the_newest_entries(void **state)
{
    struct fixture *f = *state;
    write_entries(f, 10);
    /* Agency B's last two entries go, and its head is made to name the new last one, with
     * every field right but the MAC, which takes the secret. */
    sql(f, "DELETE FROM audit_log WHERE id IN (8, 10)");
    sql(f, "UPDATE audit_chain_heads SET last_id = 6, entries = entries - 2, "
           "last_hash = (SELECT hash FROM audit_log WHERE id = 6) WHERE chain = 'agency:agy_b'");
    expect_broken(f, "agency:agy_b", "head does not match its MAC");
    /* The next change to agency B does not make it whole again: usher does not sign a head it
     * did not write. */
    write_to(f, "agy_b", 1);
    expect_broken(f, "agency:agy_b", "head does not match its MAC");
}

static void test_audit_chain__refuses_a_head_put_back_to_an_earlier_state(void **state)
{
    struct fixture *f = *state;
    write_entries(f, 6);
    /* Someone keeps agency B's head (a valid MAC) as it is after entry 6 ... */
    sql(f, "CREATE TABLE kept AS SELECT * FROM audit_chain_heads WHERE chain = 'agency:agy_b'");
    write_entries(f, 4);
    /* ... and later deletes B's newer entries and puts that head back. */
    sql(f, "DELETE FROM audit_log WHERE chain = 'agency:agy_b' AND id > 6");
    sql(f, "DELETE FROM audit_chain_heads WHERE chain = 'agency:agy_b'");
    sql(f, "INSERT INTO audit_chain_heads SELECT * FROM kept");
    expect_broken(f, NULL, "a head was put back to an earlier state");
}

static void test_audit_chain__names_a_chain_deleted_whole(void **state)
{
    struct fixture *f = *state;
    write_entries(f, 10);
    write_to(f, "agy_c", 2);
    /* A chain in the middle: named by the head of the chain created after it. */
    sql(f, "DELETE FROM audit_log WHERE chain = 'agency:agy_b'");
    sql(f, "DELETE FROM audit_chain_heads WHERE chain = 'agency:agy_b'");
    expect_broken(f, "agency:agy_b", "missing");
    /* The newest chain: named by the registry. */
    sql(f, "DELETE FROM audit_log WHERE chain = 'agency:agy_c'");
    sql(f, "DELETE FROM audit_chain_heads WHERE chain = 'agency:agy_c'");
    struct app_audit_verdict v;
    verify(f, &v);
    assert_false(v.is_intact);
    assert_non_null(strstr(v.reason, "missing"));
    sql(f, "DELETE FROM audit_log WHERE chain = 'agency:agy_a'");
    sql(f, "DELETE FROM audit_chain_heads WHERE chain = 'agency:agy_a'");
    expect_broken(f, "agency:agy_c", "missing");
}

static void test_audit_chain__names_a_chain_whose_head_alone_was_deleted(void **state)
{
    struct fixture *f = *state;
    write_entries(f, 10);
    sql(f, "DELETE FROM audit_chain_heads WHERE chain = 'agency:agy_b'");
    expect_broken(f, "agency:agy_b", "missing");
}

static void test_audit_chain__refuses_entries_of_a_chain_without_head(void **state)
{
    struct fixture *f = *state;
    write_entries(f, 4);
    sql(f, "INSERT INTO audit_log (at, action, details, chain) VALUES (1, 'x', '{}', 'other')");
    expect_broken(f, "other", "no head");
}

static void test_audit_chain__refuses_an_emptied_log(void **state)
{
    struct fixture *f = *state;
    /* The registry of a fresh log: properly signed, and older than everything. */
    sql(f, "CREATE TABLE kept AS SELECT * FROM audit_registry");
    sql(f, "INSERT INTO users (id, email, created_at) VALUES ('usr_1', 'a@x.test', 1)");
    write_entries(f, 6);
    /* Every entry and head goes: the registry still counts the chains. */
    sql(f, "DELETE FROM audit_log");
    sql(f, "DELETE FROM audit_chain_heads");
    sql(f, "CREATE TABLE kept_now AS SELECT * FROM audit_registry");
    expect_broken(f, NULL, "log is empty");
    sql(f, "UPDATE audit_registry SET chains = 0, entries = 0, last_chain = ''");
    expect_broken(f, NULL, "log is empty");
    /* Without the account, the remaining checks still hold: the registry is missing, rewritten,
     * or counts chains that are not there. */
    sql(f, "DELETE FROM users");
    expect_broken(f, NULL, "registry of chains does not match its MAC");
    sql(f, "DELETE FROM audit_registry");
    expect_broken(f, NULL, "registry of chains (audit_registry) was deleted");
    sql(f, "INSERT INTO audit_registry SELECT * FROM kept_now");
    expect_broken(f, "agency:agy_b", "missing");
    /* The registry of the fresh log put back, with no account either: nothing says anything
     * happened. Only a checkpoint shows this rollback (see the checkpoint tests). */
    sql(f, "DELETE FROM audit_registry");
    sql(f, "INSERT INTO audit_registry SELECT * FROM kept");
    struct app_audit_verdict v;
    verify(f, &v);
    assert_true(v.is_intact);
    assert_int_equal(v.entries, 0);
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
    app_audit_key_set(test_key, sizeof(test_key));
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

/* Entries 40 days old, then recent ones; agency C's entries are all old. */
static void write_old_and_new(struct fixture *f)
{
    clock_set_offset_ms(-40LL * 86400 * 1000);
    write_entries(f, 6);
    write_to(f, "agy_c", 2);
    clock_set_offset_ms(0);
    write_entries(f, 4);
}

static void test_audit_chain__retention_prunes_old_entries_and_keeps_chains_verifiable(void **state)
{
    struct fixture *f = *state;
    write_old_and_new(f);
    struct usher_error err = {0};
    int64_t deleted = 0;
    assert_int_equal(app_audit_prune(&deleted, f->store, 0, &err), 0);
    assert_int_equal(deleted, 0);
    assert_int_equal(app_audit_prune(&deleted, f->store, 30, &err), 0);
    assert_int_equal(deleted, 8);
    struct app_audit_verdict v;
    verify(f, &v);
    assert_true(v.is_intact);
    /* Four recent entries and one record of the pruning in each chain, which is all that is
     * left of agency C. */
    assert_int_equal(v.entries, 7);
    assert_int_equal(v.chains, 3);
    /* Each record names the last entry deleted, which the chain's new first entry links to. */
    assert_string_equal(sql_value(f, "SELECT COUNT(*) FROM audit_log WHERE action = "
                                     "'audit.pruned' AND details LIKE '%\"through_hash\"%'"),
                        "3");
    assert_string_equal(sql_value(f, fixture_pg_url()
                                         ? "SELECT CAST(details AS json) ->> 'through_id' FROM "
                                           "audit_log WHERE chain = 'agency:agy_c' AND action = "
                                           "'audit.pruned'"
                                         : "SELECT json_extract(details, '$.through_id') FROM "
                                           "audit_log WHERE chain = 'agency:agy_c' AND action = "
                                           "'audit.pruned'"),
                        "8");
    /* A second pass finds nothing more to delete and records nothing. */
    assert_int_equal(app_audit_prune(&deleted, f->store, 30, &err), 0);
    assert_int_equal(deleted, 0);
    verify(f, &v);
    assert_true(v.is_intact);
    assert_int_equal(v.entries, 7);
}

static void test_audit_chain__refuses_oldest_entries_removed_without_a_record(void **state)
{
    struct fixture *f = *state;
    write_entries(f, 10);
    sql(f, "DELETE FROM audit_log WHERE id IN (1, 3)");
    struct app_audit_verdict v;
    verify(f, &v);
    assert_false(v.is_intact);
    assert_string_equal(v.chain, "agency:agy_a");
    assert_int_equal(v.broken_id, 5);
    assert_non_null(strstr(v.reason, "without a retention record"));
}

static void test_audit_chain__refuses_more_removed_after_a_pruning(void **state)
{
    struct fixture *f = *state;
    write_old_and_new(f);
    struct usher_error err = {0};
    int64_t deleted = 0;
    assert_int_equal(app_audit_prune(&deleted, f->store, 30, &err), 0);
    /* The oldest remaining entry of agency A goes too, behind retention's back. */
    sql(f, "DELETE FROM audit_log WHERE id = (SELECT MIN(id) FROM audit_log "
           "WHERE chain = 'agency:agy_a')");
    expect_broken(f, "agency:agy_a", "without a retention record");
}

static void test_audit_chain__refuses_an_edited_pruning_record(void **state)
{
    struct fixture *f = *state;
    write_old_and_new(f);
    struct usher_error err = {0};
    int64_t deleted = 0;
    assert_int_equal(app_audit_prune(&deleted, f->store, 30, &err), 0);
    /* A record made to vouch for a later start, to hide one more deleted entry. */
    sql(f, "DELETE FROM audit_log WHERE id = 9");
    if (fixture_pg_url())
        sql(f, "UPDATE audit_log SET details = CAST(jsonb_set(jsonb_set(CAST(details AS jsonb), "
               "'{through_id}', '9'), '{through_hash}', to_jsonb((SELECT prev_hash FROM "
               "audit_log WHERE id = 11))) AS text) "
               "WHERE chain = 'agency:agy_a' AND action = 'audit.pruned'");
    else
        sql(f, "UPDATE audit_log SET details = json_set(details, '$.through_id', 9, "
               "'$.through_hash', (SELECT prev_hash FROM audit_log WHERE id = 11)) "
               "WHERE chain = 'agency:agy_a' AND action = 'audit.pruned'");
    expect_broken(f, "agency:agy_a", "altered");
}

static void test_audit_chain__retention_does_not_sign_over_damage(void **state)
{
    struct fixture *f = *state;
    write_old_and_new(f);
    /* Agency A's recent entry 9 is made to look old, to have retention delete it and sign
     * the deletion; agency B's oldest entry is deleted outright, to have retention make the
     * missing start look recorded. */
    sql(f, "UPDATE audit_log SET at = 1 WHERE id = 9");
    sql(f, "DELETE FROM audit_log WHERE id = 2");
    struct usher_error err = {0};
    int64_t deleted = 0;
    assert_int_equal(app_audit_prune(&deleted, f->store, 30, &err), 0);
    /* Only agency C's two old entries went. */
    assert_int_equal(deleted, 2);
    assert_string_equal(sql_value(f, "SELECT COUNT(*) FROM audit_log WHERE id IN (1, 3, 5, 9)"),
                        "4");
    assert_string_equal(
        sql_value(f, "SELECT COUNT(*) FROM audit_log WHERE action = 'audit.pruned'"), "1");
    struct app_audit_verdict v;
    verify(f, &v);
    assert_false(v.is_intact);
    assert_string_equal(v.chain, "agency:agy_a");
    assert_int_equal(v.broken_id, 9);
    assert_non_null(strstr(v.reason, "altered"));
}

/* Makes a checkpoint of f's log; the caller frees it. */
static char *checkpoint(struct fixture *f)
{
    struct usher_error err = {0};
    struct app_audit_verdict v;
    char *json = NULL;
    assert_int_equal(app_audit_checkpoint_make(&json, &v, f->store, &f->arena, &err), 0);
    assert_true(v.is_intact);
    assert_non_null(json);
    return json;
}

static int checkpoint_check(struct fixture *f, struct store *store, struct app_audit_verdict *v,
                            const char *json, struct usher_error *err)
{
    return app_audit_checkpoint_check(v, store, &f->arena, json, strlen(json), err);
}

static void test_audit_chain__a_log_that_grew_extends_its_checkpoint(void **state)
{
    struct fixture *f = *state;
    write_entries(f, 6);
    char *cp = checkpoint(f);
    write_entries(f, 6);
    write_to(f, "agy_c", 1);
    struct usher_error err = {0};
    struct app_audit_verdict v;
    assert_int_equal(checkpoint_check(f, f->store, &v, cp, &err), 0);
    assert_true(v.is_intact);
    assert_int_equal(v.checkpoint_chains, 2);
    assert_true(v.checkpoint_at > 0);
    /* The layout of the file may change (pretty-printing, key order): the content is signed. */
    json_t *doc = json_loads(cp, 0, NULL);
    char *compact = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(doc);
    assert_int_equal(checkpoint_check(f, f->store, &v, compact, &err), 0);
    assert_true(v.is_intact);
    free(compact);
    free(cp);
}

static void test_audit_chain__a_checkpoint_reveals_a_rollback_of_the_database(void **state)
{
    struct fixture *f = *state;
    FIXTURE_SQLITE_ONLY("copies the database file with VACUUM INTO");
    write_entries(f, 6);
    /* A copy of the database, taken now ... */
    char *copy_dir = unit_tempdir_new();
    char sql_text[4200];
    snprintf(sql_text, sizeof(sql_text), "VACUUM INTO '%s/usher.db'", copy_dir);
    sql(f, sql_text);
    write_entries(f, 4);
    /* ... and a checkpoint taken later. */
    char *cp = checkpoint(f);
    struct store *old = NULL;
    struct usher_error err = {0};
    assert_int_equal(store_open(&old, "", copy_dir, 2, &err), 0);
    /* The old copy is consistent by itself ... */
    struct app_audit_verdict v;
    verify_on(f, old, &v);
    assert_true(v.is_intact);
    /* ... but not an extension of the checkpoint. */
    assert_int_equal(checkpoint_check(f, old, &v, cp, &err), 0);
    assert_false(v.is_intact);
    assert_string_equal(v.chain, "agency:agy_a");
    assert_non_null(strstr(v.reason, "rolled back"));
    /* The database it was taken from extends it. */
    assert_int_equal(checkpoint_check(f, f->store, &v, cp, &err), 0);
    assert_true(v.is_intact);
    assert_int_equal(v.checkpoint_chains, 2);
    store_free(old);
    unit_tempdir_remove(copy_dir);
    free(cp);
}

static void test_audit_chain__refuses_an_edited_checkpoint(void **state)
{
    struct fixture *f = *state;
    write_entries(f, 6);
    char *cp = checkpoint(f);
    write_entries(f, 2);
    /* Claiming the log was shorter at the checkpoint, to excuse a later cut. */
    json_t *doc = json_loads(cp, 0, NULL);
    json_t *first = json_array_get(json_object_get(doc, "chains"), 0);
    json_object_set_new(first, "entries", json_integer(1));
    char *edited = json_dumps(doc, 0);
    struct usher_error err = {0};
    struct app_audit_verdict v;
    assert_int_equal(checkpoint_check(f, f->store, &v, edited, &err), USHER_EINVAL);
    assert_non_null(strstr(err.message, "edited"));
    free(edited);
    usher_error_clear(&err);
    /* A chain left out. */
    json_array_remove(json_object_get(doc, "chains"), 1);
    edited = json_dumps(doc, 0);
    assert_int_equal(checkpoint_check(f, f->store, &v, edited, &err), USHER_EINVAL);
    free(edited);
    usher_error_clear(&err);
    json_decref(doc);
    /* Not JSON, or not a checkpoint. */
    assert_int_equal(checkpoint_check(f, f->store, &v, "{\"format\":\"other\"}", &err),
                     USHER_EINVAL);
    usher_error_clear(&err);
    assert_int_equal(checkpoint_check(f, f->store, &v, "nonsense", &err), USHER_EINVAL);
    usher_error_clear(&err);
    /* A checkpoint signed under another server secret. */
    static const unsigned char other[32] = {9};
    app_audit_key_set(other, sizeof(other));
    assert_int_equal(checkpoint_check(f, f->store, &v, cp, &err), USHER_EINVAL);
    assert_non_null(strstr(err.message, "another secret"));
    app_audit_key_set(test_key, sizeof(test_key));
    usher_error_clear(&err);
    assert_int_equal(checkpoint_check(f, f->store, &v, cp, &err), 0);
    assert_true(v.is_intact);
    free(cp);
}

static void test_audit_chain__a_checkpoint_survives_retention(void **state)
{
    struct fixture *f = *state;
    write_old_and_new(f);
    /* Agency C's newest entry (id 8) is in the checkpoint; retention later prunes it. */
    char *cp = checkpoint(f);
    struct usher_error err = {0};
    int64_t deleted = 0;
    assert_int_equal(app_audit_prune(&deleted, f->store, 30, &err), 0);
    assert_string_equal(sql_value(f, "SELECT COUNT(*) FROM audit_log WHERE id = 8"), "0");
    struct app_audit_verdict v;
    assert_int_equal(checkpoint_check(f, f->store, &v, cp, &err), 0);
    assert_true(v.is_intact);
    assert_int_equal(v.checkpoint_chains, 3);
    free(cp);
}

static void test_audit_chain__no_checkpoint_of_a_broken_log(void **state)
{
    struct fixture *f = *state;
    write_entries(f, 4);
    sql(f, "UPDATE audit_log SET action = 'other' WHERE id = 2");
    struct usher_error err = {0};
    struct app_audit_verdict v;
    char *json = NULL;
    assert_int_equal(app_audit_checkpoint_make(&json, &v, f->store, &f->arena, &err), 0);
    assert_null(json);
    assert_false(v.is_intact);
    assert_int_equal(v.broken_id, 2);
}

/* Runs the sealing of migration 0007 again, as at an upgrade. */
static void seal(struct fixture *f)
{
    struct store_conn *c;
    struct usher_error err = {0};
    assert_int_equal(store_conn_get(f->store, &c, &err), 0);
    assert_int_equal(store_begin(c, true, &err), 0);
    assert_int_equal(app_audit_migrate_hook.run(NULL, c, "0007_audit_heads.sql", &err), 0);
    assert_int_equal(store_commit(c, &err), 0);
    store_conn_put(c);
}

static void test_audit_chain__an_upgraded_log_is_sealed_once(void **state)
{
    struct fixture *f = *state;
    write_entries(f, 10);
    /* A log as versions before migration 0007 left it: heads without MACs, and a chain whose
     * oldest entries the retention of then removed without a record. */
    sql(f, "UPDATE audit_chain_heads SET ordinal = 0, prev_chain = '', entries = 0, seq = 0, "
           "mac = ''");
    sql(f, "UPDATE audit_registry SET chains = 0, entries = 0, last_chain = '', mac = 'unsealed'");
    sql(f, "DELETE FROM audit_log WHERE id IN (2, 4)");
    expect_broken(f, NULL, "never sealed");
    seal(f);
    struct app_audit_verdict v;
    verify(f, &v);
    assert_true(v.is_intact);
    /* Eight old entries, B's new start recorded, and the sealing itself. */
    assert_int_equal(v.entries, 10);
    assert_int_equal(v.chains, 3);
    assert_string_equal(
        sql_value(f, "SELECT COUNT(*) FROM audit_log WHERE action = 'audit.sealed'"), "1");
    write_entries(f, 2);
    verify(f, &v);
    assert_true(v.is_intact);
    /* Resetting the registry and heads again to have a cut log sealed is refused: the log
     * shows it was sealed before. */
    sql(f, "DELETE FROM audit_log WHERE id = (SELECT MAX(id) FROM audit_log "
           "WHERE chain = 'agency:agy_a')");
    sql(f, "UPDATE audit_chain_heads SET last_id = (SELECT MAX(id) FROM audit_log l "
           "WHERE l.chain = audit_chain_heads.chain), last_hash = (SELECT hash FROM audit_log "
           "WHERE id = (SELECT MAX(id) FROM audit_log l WHERE l.chain = audit_chain_heads.chain))");
    sql(f, "UPDATE audit_registry SET mac = 'unsealed'");
    seal(f);
    expect_broken(f, NULL, "never sealed");
}

static void test_audit_chain__an_emptied_log_is_not_sealed(void **state)
{
    struct fixture *f = *state;
    sql(f, "INSERT INTO users (id, email, created_at) VALUES ('usr_1', 'a@x.test', 1)");
    sql(f, "UPDATE audit_registry SET mac = 'unsealed'");
    seal(f);
    expect_broken(f, NULL, "log is empty");
    sql(f, "DELETE FROM users");
    expect_broken(f, NULL, "never sealed");
}

/* Writes one entry to agency_id's chain (NULL: the platform's) in the given format, with
 * details about a person, straight through app_audit_append: format 1 as entries were written
 * before migration 0016. */
static void write_personal(struct fixture *f, const char *agency_id, int64_t format,
                           const char *email, const char *first)
{
    struct store_conn *c;
    struct usher_error err = {0};
    assert_int_equal(store_conn_get(f->store, &c, &err), 0);
    assert_int_equal(store_begin(c, true, &err), 0);
    json_t *details = json_pack("{s:s, s:s, s:s, s:i}", "email", email, "first_name", first,
                                "invited_by_email", "boss@x.test", "n", 1);
    struct store_audit_entry e = {
        .at = clock_now_ms(),
        .agency_id = agency_id,
        .actor_id = "usr_1",
        .subject_user_id = "usr_2",
        .action = "user.created",
        .chain = agency_id ? arena_printf(&f->arena, "agency:%s", agency_id) : "platform",
        .format = format,
    };
    if (format == 2)
        app_audit_personal_split(&e, &f->arena, details);
    char *text = json_dump_compact(details);
    e.details_json = arena_strdup(&f->arena, text);
    free(text);
    json_decref(details);
    assert_int_equal(app_audit_append(c, &f->arena, &e, &err), 0);
    assert_int_equal(store_commit(c, &err), 0);
    store_conn_put(c);
}

static void test_audit_chain__format_2_keeps_personal_values_out_of_the_hash(void **state)
{
    struct fixture *f = *state;
    struct store_conn *c;
    struct usher_error err = {0};
    assert_int_equal(store_conn_get(f->store, &c, &err), 0);
    struct app_actor actor = {.user_id = "usr_1"};
    struct app_audit_event ev = {
        .agency_id = "agy_a",
        .action = "invitation.created",
        .details = json_pack("{s:s, s:s, s:s, s:s, s:i}", "email", "ann@x.test", "first_name",
                             "Ann", "last_name", "Lee", "new_email", "ann2@x.test", "n", 3),
    };
    assert_int_equal(app_audit_record(c, &f->arena, &actor, &ev, &err), 0);
    store_conn_put(c);
    assert_string_equal(sql_value(f, "SELECT details FROM audit_log WHERE id = 1"), "{\"n\":3}");
    assert_string_equal(sql_value(f, "SELECT format FROM audit_log WHERE id = 1"), "2");
    assert_string_equal(sql_value(f, "SELECT email FROM audit_personal WHERE entry_id = 1"),
                        "ann@x.test");
    const char *data = sql_value(f, "SELECT data FROM audit_personal WHERE entry_id = 1");
    assert_non_null(strstr(data, "\"first_name\":\"Ann\""));
    assert_non_null(strstr(data, "\"new_email\":\"ann2@x.test\""));
    /* The digest is keyed: not the plain BLAKE2b of the data, and another secret's differs. */
    const char *digest = sql_value(f, "SELECT personal_digest FROM audit_log WHERE id = 1");
    char mine[CRYPTO_HASH_HEX + 1];
    app_audit_personal_digest(mine, data);
    assert_string_equal(digest, mine);
    unsigned char plain[32];
    char plain_hex[CRYPTO_HASH_HEX + 1];
    crypto_generichash(plain, sizeof(plain), (const unsigned char *)data, strlen(data), NULL, 0);
    sodium_bin2hex(plain_hex, sizeof(plain_hex), plain, sizeof(plain));
    assert_string_not_equal(digest, plain_hex);
    static const unsigned char other_key[32] = {8};
    app_audit_key_set(other_key, sizeof(other_key));
    app_audit_personal_digest(mine, data);
    app_audit_key_set(test_key, sizeof(test_key));
    assert_string_not_equal(digest, mine);
    struct app_audit_verdict v;
    verify(f, &v);
    assert_true(v.is_intact);
    /* The hash input names its format: the same entry read as format 1 does not verify. */
    sql(f, "UPDATE audit_log SET format = 1 WHERE id = 1");
    expect_broken(f, "agency:agy_a", "hash does not match");
    sql(f, "UPDATE audit_log SET format = 2 WHERE id = 1");
    sql(f, "UPDATE audit_log SET personal_digest = NULL WHERE id = 1");
    expect_broken(f, "agency:agy_a", "hash does not match");
}

static void test_audit_chain__a_personal_row_is_checked_against_its_digest(void **state)
{
    struct fixture *f = *state;
    write_personal(f, "agy_a", 2, "ann@x.test", "Ann");
    write_personal(f, "agy_a", 2, "bob@x.test", "Bob");
    write_entries(f, 2);
    struct app_audit_verdict v;
    verify(f, &v);
    assert_true(v.is_intact);
    sql(f, "UPDATE audit_personal SET data = replace(data, 'Ann', 'Eve') WHERE entry_id = 1");
    expect_broken(f, "agency:agy_a", "does not match its digest");
    sql(f, "UPDATE audit_personal SET data = replace(data, 'Eve', 'Ann') WHERE entry_id = 1");
    verify(f, &v);
    assert_true(v.is_intact);
    /* A row added to an entry without personal data. */
    sql(f, "INSERT INTO audit_personal (entry_id, email, data) VALUES (3, 'x@x.test', '{}')");
    expect_broken(f, "agency:agy_a", "entry that had none");
    sql(f, "DELETE FROM audit_personal WHERE entry_id = 3");
    sql(f, "UPDATE audit_personal SET data = NULL WHERE entry_id = 1");
    expect_broken(f, "agency:agy_a", "removed without being marked erased");
    sql(f, "DELETE FROM audit_personal WHERE entry_id = 1");
    expect_broken(f, "agency:agy_a", "deleted without being marked erased");
}

static void test_audit_chain__erasure_blanks_personal_rows_and_the_log_stays_intact(void **state)
{
    struct fixture *f = *state;
    write_personal(f, "agy_a", 2, "ann@x.test", "Ann"); /* actor usr_1, subject usr_2 */
    struct store_conn *c;
    struct usher_error err = {0};
    assert_int_equal(store_conn_get(f->store, &c, &err), 0);
    struct app_actor actor = {.user_id = "usr_9"};
    struct app_audit_event ev = {
        .agency_id = "agy_b",
        .action = "session.failed",
        .details = json_pack("{s:s}", "email", "carl@x.test"),
    };
    assert_int_equal(app_audit_record(c, &f->arena, &actor, &ev, &err), 0);
    ev.details = json_pack("{s:s}", "email", "dora@x.test");
    assert_int_equal(app_audit_record(c, &f->arena, &actor, &ev, &err), 0);
    int64_t erased = 0;
    assert_int_equal(store_begin(c, true, &err), 0);
    /* usr_2 was the subject of entry 1; carl@x.test is the address of entry 2. */
    assert_int_equal(
        store_audit_personal_erase(&erased, c, &f->arena, "usr_2", "nobody@x.test", 42, &err), 0);
    assert_int_equal(erased, 1);
    assert_int_equal(
        store_audit_personal_erase(&erased, c, &f->arena, "usr_7", "carl@x.test", 43, &err), 0);
    assert_int_equal(erased, 1);
    assert_int_equal(store_commit(c, &err), 0);
    store_conn_put(c);
    assert_string_equal(sql_value(f, "SELECT COUNT(*) FROM audit_personal WHERE data IS NULL "
                                     "AND email IS NULL AND erased_at IS NOT NULL"),
                        "2");
    assert_string_equal(sql_value(f, "SELECT email FROM audit_personal WHERE entry_id = 3"),
                        "dora@x.test");
    struct app_audit_verdict v;
    verify(f, &v);
    assert_true(v.is_intact);
    assert_int_equal(v.entries, 3);
}

static void test_audit_chain__format_1_entries_are_converted_once(void **state)
{
    struct fixture *f = *state;
    write_personal(f, "agy_a", 1, "ann@x.test", "Ann");
    write_personal(f, NULL, 1, "bob@x.test", "Bob");
    write_personal(f, "agy_b", 1, "carl@x.test", "Carl");
    write_personal(f, "agy_a", 1, "dora@x.test", "Dora");
    /* Entries written after the migration but before the conversion follow in format 2. */
    write_personal(f, "agy_a", 2, "eve@x.test", "Eve");
    write_entries(f, 3);
    struct app_audit_verdict v;
    verify(f, &v);
    assert_true(v.is_intact);
    assert_string_equal(sql_value(f, "SELECT COUNT(*) FROM audit_log WHERE format = 1"), "4");
    const char *old_hash = sql_value(f, "SELECT hash FROM audit_log WHERE id = 1");
    int64_t converted = 0;
    struct usher_error err = {0};
    if (app_audit_reformat(&converted, f->store, &err) != 0)
        fail_msg("conversion failed: %s", err.message);
    assert_int_equal(converted, 4);
    verify(f, &v);
    assert_true(v.is_intact);
    assert_int_equal(v.entries, 9); /* 8 and the record of the conversion */
    assert_string_equal(sql_value(f, "SELECT COUNT(*) FROM audit_log WHERE format = 1"), "0");
    assert_string_equal(sql_value(f, "SELECT COUNT(*) FROM audit_log WHERE details LIKE '%@%' "
                                     "OR details LIKE '%first_name%'"),
                        "0");
    assert_string_equal(sql_value(f, "SELECT details FROM audit_log WHERE id = 1"), "{\"n\":1}");
    assert_string_equal(sql_value(f, "SELECT email FROM audit_personal WHERE entry_id = 4"),
                        "dora@x.test");
    assert_string_not_equal(sql_value(f, "SELECT hash FROM audit_log WHERE id = 1"), old_hash);
    assert_string_equal(
        sql_value(f, "SELECT details FROM audit_log WHERE action = 'audit.reformatted'"),
        "{\"entries\":4,\"chains\":3,\"format\":2}");
    /* A converted entry is erasable like any other. */
    sql(f, "UPDATE audit_personal SET data = NULL, email = NULL, erased_at = 5 WHERE entry_id = 2");
    verify(f, &v);
    assert_true(v.is_intact);
    /* Nothing left to convert: nothing written. */
    assert_int_equal(app_audit_reformat(&converted, f->store, &err), 0);
    assert_int_equal(converted, 0);
    assert_string_equal(
        sql_value(f, "SELECT COUNT(*) FROM audit_log WHERE action = 'audit.reformatted'"), "1");
}

static void test_audit_chain__a_broken_log_is_not_converted(void **state)
{
    struct fixture *f = *state;
    write_personal(f, "agy_a", 1, "ann@x.test", "Ann");
    write_personal(f, "agy_a", 1, "bob@x.test", "Bob");
    sql(f, "UPDATE audit_log SET details = replace(details, 'ann@', 'eve@') WHERE id = 1");
    int64_t converted = 7;
    struct usher_error err = {0};
    assert_int_equal(app_audit_reformat(&converted, f->store, &err), 0);
    assert_int_equal(converted, 0);
    assert_string_equal(sql_value(f, "SELECT COUNT(*) FROM audit_log WHERE format = 1"), "2");
    assert_string_equal(sql_value(f, "SELECT COUNT(*) FROM audit_personal"), "0");
    expect_broken(f, "agency:agy_a", "hash does not match");
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_audit_chain__intact_after_writes),
        T(test_audit_chain__names_an_altered_entry),
        T(test_audit_chain__names_the_entry_after_a_removed_one),
        T(test_audit_chain__notices_reordered_entries),
        T(test_audit_chain__notices_removed_newest_entries),
        T(test_audit_chain__refuses_a_head_rewritten_after_cutting_the_newest_entries),
        T(test_audit_chain__refuses_a_head_put_back_to_an_earlier_state),
        T(test_audit_chain__names_a_chain_deleted_whole),
        T(test_audit_chain__names_a_chain_whose_head_alone_was_deleted),
        T(test_audit_chain__refuses_entries_of_a_chain_without_head),
        T(test_audit_chain__refuses_an_emptied_log),
        T(test_audit_chain__a_rehashed_forgery_without_the_secret_fails),
        T(test_audit_chain__retention_prunes_old_entries_and_keeps_chains_verifiable),
        T(test_audit_chain__refuses_oldest_entries_removed_without_a_record),
        T(test_audit_chain__refuses_more_removed_after_a_pruning),
        T(test_audit_chain__refuses_an_edited_pruning_record),
        T(test_audit_chain__retention_does_not_sign_over_damage),
        T(test_audit_chain__a_log_that_grew_extends_its_checkpoint),
        T(test_audit_chain__a_checkpoint_reveals_a_rollback_of_the_database),
        T(test_audit_chain__refuses_an_edited_checkpoint),
        T(test_audit_chain__a_checkpoint_survives_retention),
        T(test_audit_chain__no_checkpoint_of_a_broken_log),
        T(test_audit_chain__an_upgraded_log_is_sealed_once),
        T(test_audit_chain__an_emptied_log_is_not_sealed),
        T(test_audit_chain__format_2_keeps_personal_values_out_of_the_hash),
        T(test_audit_chain__a_personal_row_is_checked_against_its_digest),
        T(test_audit_chain__erasure_blanks_personal_rows_and_the_log_stays_intact),
        T(test_audit_chain__format_1_entries_are_converted_once),
        T(test_audit_chain__a_broken_log_is_not_converted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
