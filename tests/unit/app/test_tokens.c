/* API tokens over a real SQLite store: only the keyed hash is stored, the secret never reaches
 * the database or the audit log, who may create, list and revoke, and a revoked token stops
 * resolving at once. */
#include "../unit.h"

#include "../fixture.h"

#include "app/app.h"
#include "app/tenancy.h"
#include "app/tokens.h"
#include "authz/authz.h"
#include "base/clock.h"
#include "base/crypto.h"
#include "config/config.h"
#include "store/store.h"

/* Agency A (owner, org = organisation_manager, agent) and agency B (outsider = owner of B). */
struct fixture {
    char *dir;
    struct config cfg;
    struct app app;
    struct arena arena;
    struct usher_error err;
    struct store_agency a, b;
};

static struct app_actor user(const char *id)
{
    struct app_actor actor = {.user_id = id};
    return actor;
}

static struct app_actor admin(void)
{
    struct app_actor actor = {.user_id = "usr_admin", .is_platform_admin = true};
    return actor;
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    fixture_config_init(&f->cfg, &f->dir);
    fixture_app_open(&f->app, &f->cfg);
    arena_init(&f->arena);
    struct fixture_user adm = {.id = "usr_admin", .is_platform_admin = true};
    fixture_user_add_with(f->app.store, &adm);
    struct app_actor actor = admin();
    assert_int_equal(app_agency_create(&f->a, FIXTURE_AS(f, &actor), "A"), 0);
    assert_int_equal(app_agency_create(&f->b, FIXTURE_AS(f, &actor), "B"), 0);
    fixture_user_add(f->app.store, "usr_owner");
    fixture_grant_set(f->app.store, f->a.id, "usr_owner", NULL, "owner", NULL);
    fixture_user_add(f->app.store, "usr_org");
    fixture_grant_set(f->app.store, f->a.id, "usr_org", NULL, "organisation_manager", NULL);
    fixture_user_add(f->app.store, "usr_outsider");
    fixture_grant_set(f->app.store, f->b.id, "usr_outsider", NULL, "owner", NULL);
    assert_int_equal(authz_index_load(f->app.authz, f->app.store, &f->err), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    fixture_app_close(&f->app, &f->cfg, f->dir);
    arena_dispose(&f->arena);
    clock_set_offset_ms(0);
    free(f);
    return 0;
}

static void expect_error(struct fixture *f, int rc, int code, const char *field)
{
    assert_int_equal(rc, code);
    assert_int_equal(f->err.code, code);
    assert_string_equal(f->err.field, field ? field : "");
    usher_error_clear(&f->err);
}

/* True when text occurs in any cell of any table that could hold it. */
static bool stored_anywhere(struct fixture *f, const char *text)
{
    /* replace(x, $1, '') <> x: "x contains $1", the same in SQLite and PostgreSQL. */
    static const char *const queries[] = {
        "SELECT COUNT(*) FROM api_tokens WHERE id = $1 OR name = $1 OR token_hash = $1 OR "
        "replace(token_hash, $1, '') <> token_hash",
        "SELECT COUNT(*) FROM audit_log WHERE replace(details, $1, '') <> details OR "
        "replace(action, $1, '') <> action",
    };
    for (size_t i = 0; i < sizeof(queries) / sizeof(queries[0]); i++) {
        struct store_value p[] = {store_text(text)};
        struct store_rows rows = fixture_sql_rows(f->app.store, &f->arena, queries[i], p, 1);
        if (store_cell(&rows, 0, 0)->i != 0)
            return true;
    }
    return false;
}

static void test_token_create__stores_only_the_keyed_hash(void **state)
{
    struct fixture *f = *state;
    struct app_actor owner = user("usr_owner");
    struct app_token_new made;
    assert_int_equal(app_token_create(&made, FIXTURE_AS(f, &owner), f->a.id, " inbox "), 0);
    assert_int_equal(strlen(made.secret), APP_TOKEN_CHARS);
    assert_memory_equal(made.secret, "usk_", 4);
    assert_string_equal(made.token.name, "inbox");
    assert_string_equal(made.token.agency_id, f->a.id);
    assert_string_equal(made.token.created_by, "usr_owner");

    char hash[CRYPTO_HASH_HEX + 1];
    crypto_hmac_hex(hash, f->app.secret, sizeof(f->app.secret), made.secret, strlen(made.secret));
    struct store_value p[] = {store_text(made.token.id)};
    struct store_rows rows = fixture_sql_rows(
        f->app.store, &f->arena,
        "SELECT token_hash, last_used_at, revoked_at FROM api_tokens WHERE id = $1", p, 1);
    assert_int_equal(rows.count, 1);
    assert_string_equal(store_cell(&rows, 0, 0)->s, hash);
    assert_int_equal(store_cell(&rows, 0, 1)->type, STORE_NULL);
    assert_int_equal(store_cell(&rows, 0, 2)->type, STORE_NULL);
    /* Neither the secret nor its random part is stored or audited (the id is, which shows the
     * search looks in the right places). */
    assert_true(stored_anywhere(f, made.token.id));
    assert_true(stored_anywhere(f, hash + 8));
    assert_false(stored_anywhere(f, made.secret));
    assert_false(stored_anywhere(f, made.secret + APP_TOKEN_PREFIX_LEN));
    struct store_rows audit =
        fixture_sql_rows(f->app.store, &f->arena,
                         "SELECT agency_id, actor_id, scope_type, scope_id, details FROM audit_log "
                         "WHERE action = 'token.created'",
                         NULL, 0);
    assert_int_equal(audit.count, 1);
    assert_string_equal(store_cell(&audit, 0, 0)->s, f->a.id);
    assert_string_equal(store_cell(&audit, 0, 1)->s, "usr_owner");
    assert_string_equal(store_cell(&audit, 0, 2)->s, "agency");
    assert_non_null(strstr(store_cell(&audit, 0, 4)->s, made.token.id));
    assert_null(strstr(store_cell(&audit, 0, 4)->s, hash));
}

static void test_token_create__two_tokens_have_different_secrets(void **state)
{
    struct fixture *f = *state;
    struct app_actor adm = admin();
    struct app_token_new one, two;
    assert_int_equal(app_token_create(&one, FIXTURE_AS(f, &adm), f->a.id, "x"), 0);
    assert_int_equal(app_token_create(&two, FIXTURE_AS(f, &adm), f->a.id, "x"), 0);
    assert_string_not_equal(one.secret, two.secret);
    assert_string_not_equal(one.token.id, two.token.id);
    assert_string_not_equal(one.token.token_hash, two.token.token_hash);
}

static void test_token_create__validates_the_name(void **state)
{
    struct fixture *f = *state;
    struct app_actor adm = admin();
    struct app_token_new made;
    char long_name[202];
    memset(long_name, 'n', 201);
    long_name[201] = '\0';
    const char *bad[] = {"", "  ", long_name, "a\nb", "\xff"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        expect_error(f, app_token_create(&made, FIXTURE_AS(f, &adm), f->a.id, bad[i]), USHER_EINVAL,
                     "name");
    expect_error(f, app_token_create(&made, FIXTURE_AS(f, &adm), f->a.id, NULL), USHER_EINVAL,
                 "name");
    long_name[200] = '\0';
    assert_int_equal(app_token_create(&made, FIXTURE_AS(f, &adm), f->a.id, long_name), 0);
    struct store_rows rows =
        fixture_sql_rows(f->app.store, &f->arena, "SELECT COUNT(*) FROM api_tokens", NULL, 0);
    assert_int_equal(store_cell(&rows, 0, 0)->i, 1);
}

static void test_token_create__needs_agency_manage_and_hides_other_agencies(void **state)
{
    struct fixture *f = *state;
    struct app_token_new made;
    struct app_actor org = user("usr_org");
    struct app_actor outsider = user("usr_outsider");
    struct app_actor nobody = {0};
    expect_error(f, app_token_create(&made, FIXTURE_AS(f, &org), f->a.id, "x"), USHER_EFORBIDDEN,
                 NULL);
    expect_error(f, app_token_create(&made, FIXTURE_AS(f, &outsider), f->a.id, "x"),
                 USHER_ENOTFOUND, NULL);
    expect_error(f, app_token_create(&made, FIXTURE_AS(f, &nobody), f->a.id, "x"), USHER_ENOTFOUND,
                 NULL);
    struct app_actor adm = admin();
    expect_error(f, app_token_create(&made, FIXTURE_AS(f, &adm), "agy_nope", "x"), USHER_ENOTFOUND,
                 NULL);
    struct store_rows rows =
        fixture_sql_rows(f->app.store, &f->arena, "SELECT COUNT(*) FROM api_tokens", NULL, 0);
    assert_int_equal(store_cell(&rows, 0, 0)->i, 0);
    rows = fixture_sql_rows(f->app.store, &f->arena,
                            "SELECT COUNT(*) FROM audit_log WHERE action LIKE 'token.%'", NULL, 0);
    assert_int_equal(store_cell(&rows, 0, 0)->i, 0);
}

static void test_token_create__platform_tokens_need_a_platform_admin(void **state)
{
    struct fixture *f = *state;
    struct app_token_new made;
    struct app_actor owner = user("usr_owner");
    expect_error(f, app_token_create(&made, FIXTURE_AS(f, &owner), NULL, "x"), USHER_EFORBIDDEN,
                 NULL);
    struct app_actor cli = {.is_platform_admin = true, .source_ip = "cli"};
    assert_int_equal(app_token_create(&made, FIXTURE_AS(f, &cli), NULL, "svc"), 0);
    assert_null(made.token.agency_id);
    assert_null(made.token.created_by);
    struct store_token t;
    assert_int_equal(app_token_resolve(&t, &f->app, &f->arena, made.secret, &f->err), 0);
    assert_null(t.agency_id);
}

static void test_token_resolve__finds_working_tokens_and_records_use(void **state)
{
    struct fixture *f = *state;
    struct app_actor adm = admin();
    struct app_token_new made;
    assert_int_equal(app_token_create(&made, FIXTURE_AS(f, &adm), f->a.id, "x"), 0);
    struct store_token t;
    assert_int_equal(app_token_resolve(&t, &f->app, &f->arena, made.secret, &f->err), 0);
    assert_string_equal(t.id, made.token.id);
    assert_string_equal(t.agency_id, f->a.id);
    int64_t first_use = t.last_used_at;
    assert_true(first_use > 0);
    /* Within a minute the row is not written again; after it, it is. */
    clock_set_offset_ms(30000);
    assert_int_equal(app_token_resolve(&t, &f->app, &f->arena, made.secret, &f->err), 0);
    assert_int_equal(t.last_used_at, first_use);
    clock_set_offset_ms(61000);
    assert_int_equal(app_token_resolve(&t, &f->app, &f->arena, made.secret, &f->err), 0);
    assert_true(t.last_used_at >= first_use + 61000);
    struct store_value p[] = {store_text(made.token.id)};
    struct store_rows rows = fixture_sql_rows(
        f->app.store, &f->arena, "SELECT last_used_at FROM api_tokens WHERE id = $1", p, 1);
    assert_int_equal(store_cell(&rows, 0, 0)->i, t.last_used_at);
}

static void test_token_resolve__refuses_unknown_and_malformed_tokens(void **state)
{
    struct fixture *f = *state;
    struct app_actor adm = admin();
    struct app_token_new made;
    assert_int_equal(app_token_create(&made, FIXTURE_AS(f, &adm), f->a.id, "x"), 0);
    struct store_token t;
    char altered[APP_TOKEN_CHARS + 1];
    snprintf(altered, sizeof(altered), "%s", made.secret);
    altered[10] = altered[10] == 'A' ? 'B' : 'A';
    char *longer = arena_printf(&f->arena, "%sx", made.secret);
    char *shorter = arena_strndup(&f->arena, made.secret, APP_TOKEN_CHARS - 1);
    const char *bad[] = {altered, longer, shorter, "usk_", "", made.secret + 4};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        expect_error(f, app_token_resolve(&t, &f->app, &f->arena, bad[i], &f->err), USHER_EUNAUTH,
                     NULL);
    expect_error(f, app_token_resolve(&t, &f->app, &f->arena, NULL, &f->err), USHER_EUNAUTH, NULL);
    /* The stored hash is not a credential. */
    expect_error(f, app_token_resolve(&t, &f->app, &f->arena, made.token.token_hash, &f->err),
                 USHER_EUNAUTH, NULL);
}

static void test_token_revoke__stops_the_token_at_once(void **state)
{
    struct fixture *f = *state;
    struct app_actor owner = user("usr_owner");
    struct app_token_new made, other;
    assert_int_equal(app_token_create(&made, FIXTURE_AS(f, &owner), f->a.id, "x"), 0);
    assert_int_equal(app_token_create(&other, FIXTURE_AS(f, &owner), f->a.id, "y"), 0);
    struct store_token t;
    assert_int_equal(app_token_resolve(&t, &f->app, &f->arena, made.secret, &f->err), 0);
    assert_int_equal(app_token_revoke(FIXTURE_AS(f, &owner), f->a.id, made.token.id), 0);
    expect_error(f, app_token_resolve(&t, &f->app, &f->arena, made.secret, &f->err), USHER_EUNAUTH,
                 NULL);
    /* Only that token. */
    assert_int_equal(app_token_resolve(&t, &f->app, &f->arena, other.secret, &f->err), 0);
    /* A second revoke changes nothing and writes no second audit row. */
    assert_int_equal(app_token_revoke(FIXTURE_AS(f, &owner), f->a.id, made.token.id), 0);
    struct store_rows rows =
        fixture_sql_rows(f->app.store, &f->arena,
                         "SELECT COUNT(*) FROM audit_log WHERE action = 'token.revoked'", NULL, 0);
    assert_int_equal(store_cell(&rows, 0, 0)->i, 1);
    struct app_page page = {.limit = 50};
    struct app_token_page list;
    assert_int_equal(app_token_list(&list, FIXTURE_AS(f, &owner), f->a.id, &page), 0);
    assert_int_equal(list.count, 2);
    for (size_t i = 0; i < list.count; i++) {
        bool is_revoked = strcmp(list.items[i].id, made.token.id) == 0;
        assert_int_equal(list.items[i].revoked_at > 0, is_revoked);
    }
}

static void test_token_revoke__other_agencies_tokens_are_not_found(void **state)
{
    struct fixture *f = *state;
    struct app_actor adm = admin();
    struct app_token_new in_b, platform;
    assert_int_equal(app_token_create(&in_b, FIXTURE_AS(f, &adm), f->b.id, "b"), 0);
    assert_int_equal(app_token_create(&platform, FIXTURE_AS(f, &adm), NULL, "p"), 0);
    struct app_actor owner = user("usr_owner");
    expect_error(f, app_token_revoke(FIXTURE_AS(f, &owner), f->a.id, in_b.token.id),
                 USHER_ENOTFOUND, NULL);
    expect_error(f, app_token_revoke(FIXTURE_AS(f, &owner), f->a.id, platform.token.id),
                 USHER_ENOTFOUND, NULL);
    expect_error(f, app_token_revoke(FIXTURE_AS(f, &owner), f->b.id, in_b.token.id),
                 USHER_ENOTFOUND, NULL);
    expect_error(f, app_token_revoke(FIXTURE_AS(f, &adm), NULL, in_b.token.id), USHER_ENOTFOUND,
                 NULL);
    struct app_actor org = user("usr_org");
    struct store_token t;
    expect_error(f, app_token_revoke(FIXTURE_AS(f, &org), f->a.id, "tok_nope"), USHER_EFORBIDDEN,
                 NULL);
    assert_int_equal(app_token_resolve(&t, &f->app, &f->arena, in_b.secret, &f->err), 0);
    assert_int_equal(app_token_resolve(&t, &f->app, &f->arena, platform.secret, &f->err), 0);
}

static void test_token_list__pages_and_keeps_agencies_apart(void **state)
{
    struct fixture *f = *state;
    struct app_actor adm = admin();
    struct app_token_new made;
    for (int i = 0; i < 5; i++) {
        clock_set_offset_ms(i * 10);
        char name[32];
        snprintf(name, sizeof(name), "a%d", i);
        assert_int_equal(app_token_create(&made, FIXTURE_AS(f, &adm), f->a.id, name), 0);
    }
    assert_int_equal(app_token_create(&made, FIXTURE_AS(f, &adm), f->b.id, "b"), 0);
    assert_int_equal(app_token_create(&made, FIXTURE_AS(f, &adm), NULL, "p"), 0);
    struct app_page page;
    assert_int_equal(app_page_parse(&page, &f->arena, "2", NULL, &f->err), 0);
    struct app_token_page list;
    const char *seen[5];
    size_t n = 0;
    for (;;) {
        assert_int_equal(app_token_list(&list, FIXTURE_AS(f, &adm), f->a.id, &page), 0);
        for (size_t i = 0; i < list.count; i++) {
            assert_string_equal(list.items[i].agency_id, f->a.id);
            assert_true(n < 5);
            seen[n++] = list.items[i].name;
        }
        if (!list.next_cursor)
            break;
        assert_int_equal(app_page_parse(&page, &f->arena, "2", list.next_cursor, &f->err), 0);
    }
    assert_int_equal(n, 5);
    for (size_t i = 0; i < n; i++) {
        char name[32];
        snprintf(name, sizeof(name), "a%zu", i);
        assert_string_equal(seen[i], name);
    }
    page.limit = 50;
    page.after.is_set = false;
    assert_int_equal(app_token_list(&list, FIXTURE_AS(f, &adm), NULL, &page), 0);
    assert_int_equal(list.count, 1);
    assert_string_equal(list.items[0].name, "p");
    struct app_actor org = user("usr_org");
    struct app_actor outsider = user("usr_outsider");
    expect_error(f, app_token_list(&list, FIXTURE_AS(f, &org), f->a.id, &page), USHER_EFORBIDDEN,
                 NULL);
    expect_error(f, app_token_list(&list, FIXTURE_AS(f, &outsider), f->a.id, &page),
                 USHER_ENOTFOUND, NULL);
    expect_error(f, app_token_list(&list, FIXTURE_AS(f, &outsider), NULL, &page), USHER_EFORBIDDEN,
                 NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_token_create__stores_only_the_keyed_hash, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_token_create__two_tokens_have_different_secrets, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_token_create__validates_the_name, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_token_create__needs_agency_manage_and_hides_other_agencies, setup, teardown),
        cmocka_unit_test_setup_teardown(test_token_create__platform_tokens_need_a_platform_admin,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_token_resolve__finds_working_tokens_and_records_use,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_token_resolve__refuses_unknown_and_malformed_tokens,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_token_revoke__stops_the_token_at_once, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_token_revoke__other_agencies_tokens_are_not_found,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_token_list__pages_and_keeps_agencies_apart, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
