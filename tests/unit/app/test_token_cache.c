/* The cache of resolved API tokens: a token is answered from memory for APP_TOKEN_CACHE_MS and
 * read again from the store afterwards, so a revocation made elsewhere takes effect within that
 * time; one made here takes effect at once; an unknown token is never remembered. */
#include "../unit.h"

#include "../fixture.h"

#include "app/app.h"
#include "app/tenancy.h"
#include "app/tokens.h"
#include "base/clock.h"
#include "config/config.h"
#include "store/store.h"

struct fixture {
    char *dir;
    struct config cfg;
    struct app app;
    struct arena arena;
    struct usher_error err;
    struct app_token_new token;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    fixture_config_init(&f->cfg, &f->dir);
    fixture_app_open(&f->app, &f->cfg);
    arena_init(&f->arena);
    struct app_actor cli = {.is_platform_admin = true, .source_ip = "cli"};
    assert_int_equal(app_token_create(&f->token, FIXTURE_AS(f, &cli), NULL, "service"), 0);
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

static int resolve(struct fixture *f, const char *secret)
{
    struct store_token t;
    usher_error_clear(&f->err);
    int rc = app_token_resolve(&t, &f->app, &f->arena, secret, &f->err);
    if (rc == 0)
        assert_string_equal(t.id, f->token.token.id);
    return rc;
}

static void test_token_cache__answers_from_memory_until_the_entry_is_old(void **state)
{
    struct fixture *f = *state;
    clock_set_offset_ms(0);
    int64_t started = clock_now_ms();
    assert_int_equal(resolve(f, f->token.secret), 0);
    /* Another process revokes the token: the store says so, the cache not yet (unless this
     * machine is so slow that the entry already aged). */
    struct store_value p[] = {store_text(f->token.token.id)};
    fixture_sql(f->app.store, "UPDATE api_tokens SET revoked_at = 1 WHERE id = $1", p, 1);
    int rc = resolve(f, f->token.secret);
    if (clock_now_ms() - started < APP_TOKEN_CACHE_MS)
        assert_int_equal(rc, 0);
    clock_set_offset_ms(APP_TOKEN_CACHE_MS);
    assert_int_equal(resolve(f, f->token.secret), USHER_EUNAUTH);
    /* The revoked row is remembered too, and stays refused. */
    assert_int_equal(resolve(f, f->token.secret), USHER_EUNAUTH);
}

static void test_token_cache__a_revocation_here_takes_effect_at_once(void **state)
{
    struct fixture *f = *state;
    struct app_actor cli = {.is_platform_admin = true, .source_ip = "cli"};
    assert_int_equal(resolve(f, f->token.secret), 0);
    assert_int_equal(app_token_revoke(FIXTURE_AS(f, &cli), NULL, f->token.token.id), 0);
    assert_int_equal(resolve(f, f->token.secret), USHER_EUNAUTH);
}

static void test_token_cache__never_remembers_an_unknown_token(void **state)
{
    struct fixture *f = *state;
    struct app_actor cli = {.is_platform_admin = true, .source_ip = "cli"};
    /* A secret nobody holds yet is refused; once a token with it exists it works at once. */
    struct app_token_new other;
    assert_int_equal(app_token_create(&other, FIXTURE_AS(f, &cli), NULL, "other"), 0);
    char unknown[APP_TOKEN_CHARS + 1];
    snprintf(unknown, sizeof(unknown), "%s", other.secret);
    unknown[10] = unknown[10] == 'A' ? 'B' : 'A';
    for (int i = 0; i < 3; i++)
        assert_int_equal(resolve(f, unknown), USHER_EUNAUTH);
    assert_int_equal(resolve(f, f->token.secret), 0);
}

static void test_token_cache__a_deleted_row_stops_the_token_after_the_entry_ages(void **state)
{
    struct fixture *f = *state;
    clock_set_offset_ms(0);
    assert_int_equal(resolve(f, f->token.secret), 0);
    struct store_value p[] = {store_text(f->token.token.id)};
    fixture_sql(f->app.store, "DELETE FROM api_tokens WHERE id = $1", p, 1);
    clock_set_offset_ms(APP_TOKEN_CACHE_MS + 1);
    assert_int_equal(resolve(f, f->token.secret), USHER_EUNAUTH);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_token_cache__answers_from_memory_until_the_entry_is_old),
        T(test_token_cache__a_revocation_here_takes_effect_at_once),
        T(test_token_cache__never_remembers_an_unknown_token),
        T(test_token_cache__a_deleted_row_stops_the_token_after_the_entry_ages),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
