/* The second factor's building blocks and rules: the sealed secret bound to its account and
 * server secret, code checks through liboath against RFC 6238's test vector with one step of
 * drift, recovery codes (shape, typing leniency, hashes bound to the account, constant-time
 * search), the otpauth URL and QR SVG, and, against a real database, the enrolment, the replay
 * refusal, single-use recovery codes and the two-step sign-in. */
#include "../unit.h"

#include "../fixture.h"

#include <liboath/oath.h>
#include <stdlib.h>
#include <string.h>

#include "app/account.h"
#include "app/second_factor.h"
#include "authz/authz.h"
#include "store/store_tenancy.h"
#include "base/clock.h"
#include "base/log.h"
#include "config/config.h"
#include "store/store_second_factor.h"

#define PASSWORD "a long and correct password"

/* RFC 6238 appendix B's SHA-1 key. */
static const unsigned char rfc_secret[APP_SECOND_FACTOR_SECRET_BYTES] = "12345678901234567890";

struct fixture {
    char *dir;
    struct config cfg;
    struct app app;
    struct arena arena;
    struct app_actor actor;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    fixture_config_init(&f->cfg, &f->dir);
    f->cfg.hash_workers = 2;
    fixture_app_open(&f->app, &f->cfg);
    arena_init(&f->arena);
    f->actor.source_ip = "203.0.113.7";
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    fixture_app_close(&f->app, &f->cfg, f->dir);
    arena_dispose(&f->arena);
    free(f);
    return 0;
}

/* --- building blocks --- */

static void test_seal__opens_only_for_its_account_and_server_secret(void **state)
{
    (void)state;
    unsigned char server[CRYPTO_SECRET_BYTES] = {1}, other[CRYPTO_SECRET_BYTES] = {2};
    unsigned char out[APP_SECOND_FACTOR_SECRET_BYTES];
    char box[APP_SECOND_FACTOR_SECRET_BOX_MAX], again[APP_SECOND_FACTOR_SECRET_BOX_MAX];
    assert_int_equal(
        app_second_factor_seal(box, sizeof(box), server, "usr_a", rfc_secret, sizeof(rfc_secret)),
        0);
    assert_int_equal(app_second_factor_seal(again, sizeof(again), server, "usr_a", rfc_secret,
                                            sizeof(rfc_secret)),
                     0);
    /* A fresh nonce every time; the secret never shows. */
    assert_string_not_equal(box, again);
    assert_null(strstr(box, "3132333435363738393031323334353637383930"));
    assert_int_equal(app_second_factor_open(out, server, "usr_a", box), 0);
    assert_memory_equal(out, rfc_secret, sizeof(out));
    assert_int_equal(app_second_factor_open(out, server, "usr_b", box), USHER_EINTERNAL);
    assert_int_equal(app_second_factor_open(out, other, "usr_a", box), USHER_EINTERNAL);
    box[70] = box[70] == '0' ? '1' : '0';
    assert_int_equal(app_second_factor_open(out, server, "usr_a", box), USHER_EINTERNAL);
    assert_int_equal(app_second_factor_open(out, server, "usr_a", "zz"), USHER_EINTERNAL);
}

static void test_code_check__rfc_6238_vector_with_one_step_of_drift(void **state)
{
    (void)state;
    int64_t step = 0;
    /* T = 59 s: 94287082 in eight digits, 287082 in six (step 1). */
    assert_true(app_second_factor_code_check(&step, rfc_secret, "287082", 59000));
    assert_int_equal(step, 1);
    /* One step later or earlier still takes it, as step 1. */
    assert_true(app_second_factor_code_check(&step, rfc_secret, "287082", 89000));
    assert_int_equal(step, 1);
    assert_true(app_second_factor_code_check(&step, rfc_secret, "287082", 29000));
    assert_int_equal(step, 1);
    /* Two steps away: refused. */
    assert_false(app_second_factor_code_check(&step, rfc_secret, "287082", 119000));
    /* T = 1111111109 s: 07081804 (step 37037036). */
    assert_true(app_second_factor_code_check(&step, rfc_secret, "081804", 1111111109000LL));
    assert_int_equal(step, 37037036);
    assert_false(app_second_factor_code_check(&step, rfc_secret, "081805", 1111111109000LL));
    assert_false(app_second_factor_code_check(&step, rfc_secret, "28708", 59000));
    assert_false(app_second_factor_code_check(&step, rfc_secret, "2870822", 59000));
    assert_false(app_second_factor_code_check(&step, rfc_secret, "28708a", 59000));
    assert_false(app_second_factor_code_check(&step, rfc_secret, NULL, 59000));
}

static void test_recovery_codes__shape_typing_and_hashes(void **state)
{
    (void)state;
    unsigned char server[CRYPTO_SECRET_BYTES] = {3};
    char code[APP_RECOVERY_CODE_CHARS + 1], other[APP_RECOVERY_CODE_CHARS + 1];
    char normal[APP_RECOVERY_CODE_SYMBOLS + 1], typed_normal[APP_RECOVERY_CODE_SYMBOLS + 1];
    app_recovery_code_new(code);
    app_recovery_code_new(other);
    assert_int_equal(strlen(code), APP_RECOVERY_CODE_CHARS);
    assert_true(code[4] == '-' && code[9] == '-');
    assert_string_not_equal(code, other);
    assert_true(app_recovery_code_normalize(normal, code));
    /* Upper case, spaces instead of dashes: the same code. */
    char typed[32];
    size_t n = 0;
    for (const char *p = code; *p; p++)
        typed[n++] = *p == '-' ? ' ' : (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
    typed[n] = '\0';
    assert_true(app_recovery_code_normalize(typed_normal, typed));
    assert_string_equal(normal, typed_normal);
    /* Look-alikes read as Crockford base32 does; anything else is refused. */
    assert_true(app_recovery_code_normalize(normal, "IlOo-2345-67"));
    assert_string_equal(normal, "1100234567");
    assert_false(app_recovery_code_normalize(normal, "abcd-efgh-j"));
    assert_false(app_recovery_code_normalize(normal, "abcd-efgh-jkm"));
    assert_false(app_recovery_code_normalize(normal, "abcd-efgh-u!"));
    assert_false(app_recovery_code_normalize(normal, ""));
    /* The hash binds the code to its account; the search finds it among others. */
    char h1[CRYPTO_HASH_HEX + 1], h2[CRYPTO_HASH_HEX + 1], h3[CRYPTO_HASH_HEX + 1];
    app_recovery_code_hash(h1, server, "usr_a", "1100234567");
    app_recovery_code_hash(h2, server, "usr_b", "1100234567");
    app_recovery_code_hash(h3, server, "usr_a", "1100234568");
    assert_string_not_equal(h1, h2);
    assert_string_not_equal(h1, h3);
    const char *hashes[] = {h3, h2, h1};
    size_t at = 99;
    assert_true(app_recovery_code_find(&at, h1, hashes, 3));
    assert_int_equal(at, 2);
    const char *none[] = {h2, h3};
    assert_false(app_recovery_code_find(&at, h1, none, 2));
    assert_false(app_recovery_code_find(&at, h1, NULL, 0));
}

static void test_otpauth_and_qr__encoded_and_self_contained(void **state)
{
    (void)state;
    struct arena a;
    arena_init(&a);
    const char *url = app_second_factor_otpauth_url(&a, "ann+x@example.com", "ABC234");
    assert_string_equal(url, "otpauth://totp/usher:ann%2Bx%40example.com?secret=ABC234"
                             "&issuer=usher&algorithm=SHA1&digits=6&period=30");
    const char *svg = NULL;
    struct usher_error err = {0};
    assert_int_equal(app_second_factor_qr_svg(&svg, &a, url, &err), 0);
    assert_true(strncmp(svg, "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 ", 52) == 0);
    assert_non_null(strstr(svg, "<path fill=\"#000\" d=\"M"));
    assert_null(strstr(svg, "href"));
    assert_string_equal(svg + strlen(svg) - 9, "\"/></svg>");
    arena_dispose(&a);
}

/* --- against a database --- */

static struct store_user user_create(struct fixture *f, const char *email)
{
    struct app_account_new in = {.email = email, .password = PASSWORD, .via = "test"};
    struct store_user u;
    struct usher_error err = {0};
    assert_int_equal(app_account_create(&u, FIXTURE_CALL(&f->app, &f->arena, &f->actor, &err), &in),
                     0);
    return u;
}

/* The code of secret (base32) for time step `step`, made with liboath's own generator. */
static void code_for(char out[7], const char *secret_base32, int64_t step)
{
    char *raw = NULL;
    size_t len = 0;
    assert_int_equal(oath_base32_decode(secret_base32, strlen(secret_base32), &raw, &len), OATH_OK);
    assert_int_equal(oath_totp_generate(raw, len, (time_t)(step * 30), 30, 0, 6, out), OATH_OK);
    free(raw);
}

/* Enrols u (signed in as f->actor) and confirms with the code of the current step; returns the
 * base32 secret and fills codes. */
static const char *factor_on(struct fixture *f, const struct store_user *u, const char ***codes)
{
    struct usher_error err = {0};
    f->actor.user_id = u->id;
    struct app_second_factor_enrolment e;
    assert_int_equal(app_second_factor_enrol(&e, NULL,
                                             FIXTURE_CALL(&f->app, &f->arena, &f->actor, &err),
                                             PASSWORD, NULL),
                     0);
    char code[7];
    code_for(code, e.secret, clock_now_ms() / 30000);
    assert_int_equal(app_second_factor_confirm(codes, NULL,
                                               FIXTURE_CALL(&f->app, &f->arena, &f->actor, &err),
                                               code, NULL),
                     0);
    return e.secret;
}

/* The last time step u's factor accepted. */
static int64_t last_step(struct fixture *f, const struct store_user *u)
{
    struct store_conn *c = NULL;
    struct store_second_factor sf;
    struct usher_error err = {0};
    assert_int_equal(store_conn_get(f->app.store, &c, &err), 0);
    assert_int_equal(store_second_factor_get(&sf, c, &f->arena, u->id, &err), 0);
    store_conn_put(c);
    assert_true(sf.enabled_at > 0);
    return sf.last_step;
}

static void test_step_take__a_step_is_taken_once_and_never_an_older_one(void **state)
{
    struct fixture *f = *state;
    struct store_user u = user_create(f, "ann@example.com");
    const char **codes = NULL;
    factor_on(f, &u, &codes);
    struct store_conn *c = NULL;
    struct usher_error err = {0};
    int64_t step = last_step(f, &u), taken = -1;
    assert_int_equal(store_conn_get(f->app.store, &c, &err), 0);
    /* The confirmation took the current step: it and older ones are refused. */
    assert_int_equal(
        store_second_factor_step_take(&taken, c, &f->arena, u.id, step, false, 0, &err), 0);
    assert_int_equal(taken, 0);
    assert_int_equal(
        store_second_factor_step_take(&taken, c, &f->arena, u.id, step - 1, false, 0, &err), 0);
    assert_int_equal(taken, 0);
    assert_int_equal(
        store_second_factor_step_take(&taken, c, &f->arena, u.id, step + 1, false, 0, &err), 0);
    assert_int_equal(taken, 1);
    assert_int_equal(
        store_second_factor_step_take(&taken, c, &f->arena, u.id, step + 1, false, 0, &err), 0);
    assert_int_equal(taken, 0);
    /* An "enable" take only works on an unconfirmed enrolment. */
    assert_int_equal(
        store_second_factor_step_take(&taken, c, &f->arena, u.id, step + 5, true, 1, &err), 0);
    assert_int_equal(taken, 0);
    store_conn_put(c);
}

static void test_sign_in__two_steps_with_a_code_then_a_recovery_code_once(void **state)
{
    struct fixture *f = *state;
    struct store_user u = user_create(f, "bob@example.com");
    const char **codes = NULL;
    const char *secret = factor_on(f, &u, &codes);
    assert_non_null(codes);
    struct usher_error err = {0};
    struct app_actor anonymous = {.source_ip = "203.0.113.8"};
    struct app_sign_in in = {.email = "bob@example.com", .password = PASSWORD};
    struct app_session_new s;
    /* The password alone makes a two-step token, not a session. */
    assert_int_equal(
        app_account_sign_in(&s, NULL, FIXTURE_CALL(&f->app, &f->arena, &anonymous, &err), &in), 0);
    assert_true(s.mfa_required);
    assert_int_equal(strlen(s.mfa_token), CRYPTO_TOKEN_CHARS);
    assert_string_equal(s.token, "");
    char token[CRYPTO_TOKEN_CHARS + 1];
    memcpy(token, s.mfa_token, sizeof(token));
    /* The step the confirmation took is refused, and the token survives it. */
    char code[7];
    code_for(code, secret, last_step(f, &u));
    struct app_second_factor_proof proof = {.code = code};
    struct app_session_new done;
    assert_int_equal(app_second_factor_sign_in(&done, NULL,
                                               FIXTURE_CALL(&f->app, &f->arena, &anonymous, &err),
                                               token, &proof, NULL),
                     USHER_EUNAUTH);
    assert_string_equal(err.problem, "invalid_code");
    usher_error_clear(&err);
    proof = (struct app_second_factor_proof){.recovery_code = codes[3]};
    assert_int_equal(app_second_factor_sign_in(&done, NULL,
                                               FIXTURE_CALL(&f->app, &f->arena, &anonymous, &err),
                                               token, &proof, NULL),
                     0);
    assert_false(done.mfa_required);
    assert_int_equal(strlen(done.token), CRYPTO_TOKEN_CHARS);
    assert_int_equal(strlen(done.device_cookie), APP_DEVICE_COOKIE_CHARS);
    /* The token is spent, and so is the recovery code. */
    assert_int_equal(app_second_factor_sign_in(&done, NULL,
                                               FIXTURE_CALL(&f->app, &f->arena, &anonymous, &err),
                                               token, &proof, NULL),
                     USHER_EUNAUTH);
    assert_string_equal(err.problem, "mfa_token_invalid");
    usher_error_clear(&err);
    assert_int_equal(
        app_account_sign_in(&s, NULL, FIXTURE_CALL(&f->app, &f->arena, &anonymous, &err), &in), 0);
    assert_int_equal(app_second_factor_sign_in(&done, NULL,
                                               FIXTURE_CALL(&f->app, &f->arena, &anonymous, &err),
                                               s.mfa_token, &proof, NULL),
                     USHER_EUNAUTH);
    assert_string_equal(err.problem, "invalid_code");
    assert_string_equal(err.field, "recovery_code");
}

static void test_policy__the_index_knows_it_after_a_load_and_through_the_change_feed(void **state)
{
    struct fixture *f = *state;
    struct usher_error err = {0};
    struct store_user ann = user_create(f, "ann@example.com");
    struct store_user bob = user_create(f, "bob@example.com");
    fixture_agency_add(f->app.store, "agy_1", "Acme");
    fixture_environment_add(f->app.store, "env_1", "agy_1", "Prod");
    fixture_member_add(f->app.store, "agy_1", ann.id);
    fixture_member_add(f->app.store, "agy_1", bob.id);
    fixture_grant_set(f->app.store, "agy_1", ann.id, "env_1", "agent", "");
    fixture_grant_set(f->app.store, "agy_1", bob.id, "agy_1", "owner", "");
    /* Another instance's index, loaded before the changes, follows the change feed. */
    struct authz_index *other = authz_index_new();
    assert_int_equal(authz_index_load(other, f->app.store, &err), 0);
    assert_int_equal(authz_index_load(f->app.authz, f->app.store, &err), 0);
    int64_t cursor = authz_index_cursor(other);
    assert_false(app_second_factor_required(&f->app, ann.id));

    struct app_actor owner = {.user_id = bob.id, .source_ip = "203.0.113.9"};
    struct store_agency agency;
    assert_int_equal(app_agency_second_factor_set(
                         &agency, FIXTURE_CALL(&f->app, &f->arena, &owner, &err), "agy_1", true),
                     0);
    assert_true(agency.require_second_factor);
    /* An environment grant counts for its agency; an owner is held back as anyone. */
    assert_true(app_second_factor_required(&f->app, ann.id));
    assert_true(app_second_factor_required(&f->app, bob.id));
    const char **codes = NULL;
    factor_on(f, &ann, &codes);
    assert_false(app_second_factor_required(&f->app, ann.id));
    assert_true(app_second_factor_on_cached(&f->app, ann.id));

    struct store_conn *c = NULL;
    assert_int_equal(store_conn_get(f->app.store, &c, &err), 0);
    assert_int_equal(authz_index_sync(other, c, &cursor, NULL, &err), 0);
    store_conn_put(c);
    assert_true(authz_user_second_factor(other, ann.id));
    assert_false(authz_second_factor_required(other, ann.id));
    assert_true(authz_second_factor_required(other, bob.id));
    authz_index_free(other);

    /* A fresh load reads both flags from the tables. */
    other = authz_index_new();
    assert_int_equal(authz_index_load(other, f->app.store, &err), 0);
    assert_true(authz_user_second_factor(other, ann.id));
    assert_false(authz_user_second_factor(other, bob.id));
    assert_true(authz_second_factor_required(other, bob.id));
    authz_index_free(other);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
    crypto_setup();
    log_set_level(LOG_WARN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seal__opens_only_for_its_account_and_server_secret),
        cmocka_unit_test(test_code_check__rfc_6238_vector_with_one_step_of_drift),
        cmocka_unit_test(test_recovery_codes__shape_typing_and_hashes),
        cmocka_unit_test(test_otpauth_and_qr__encoded_and_self_contained),
        T(test_step_take__a_step_is_taken_once_and_never_an_older_one),
        T(test_sign_in__two_steps_with_a_code_then_a_recovery_code_once),
        T(test_policy__the_index_knows_it_after_a_load_and_through_the_change_feed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
