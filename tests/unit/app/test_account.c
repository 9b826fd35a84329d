/* Accounts and sessions against a real SQLite database in a temporary directory: creation,
 * sign-in answers that do not reveal whether an email exists, throttling, re-hashing, session
 * timeouts, sign-out, CSRF tokens, audit rows, the bootstrap admin, and the strength rule
 * where a password is set (and not at sign-in); self-service: own names, password change, own
 * sessions listed and ended. */
#include "../unit.h"

#include "../fixture.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/account.h"
#include "app/password.h"
#include "base/clock.h"
#include "base/log.h"
#include "config/config.h"
#include "store/store_session.h"

#define PASSWORD           "a long and correct password"
#define BOOTSTRAP_PASSWORD "a bootstrap passphrase kept in a vault"

struct fixture {
    char *dir;
    struct config cfg;
    struct app app;
    struct arena arena;
    struct app_actor actor;
};

static void config_string(char **slot, const char *value)
{
    free(*slot);
    *slot = strdup(value);
}

static int setup_with(void **state, const char *admin_email, const char *admin_password)
{
    struct fixture *f = calloc(1, sizeof(*f));
    f->dir = unit_tempdir_new();
    struct usher_error err = {0};
    config_init(&f->cfg);
    config_string(&f->cfg.data_dir, f->dir);
    free(f->cfg.database_url);
    f->cfg.database_url = fixture_db_url(f->dir);
    config_string(&f->cfg.listen, "127.0.0.1:0");
    config_string(&f->cfg.admin_email, admin_email);
    config_string(&f->cfg.admin_password, admin_password);
    f->cfg.hash_workers = 2;
    f->cfg.session_idle_seconds = 600;
    f->cfg.session_absolute_seconds = 3600;
    assert_int_equal(config_finish(&f->cfg, &err), 0);
    assert_int_equal(app_open(&f->app, &f->cfg, true, &err), 0);
    arena_init(&f->arena);
    f->actor.source_ip = "203.0.113.5";
    f->actor.request_id = "req-test";
    *state = f;
    return 0;
}

static int setup(void **state)
{
    return setup_with(state, "", "");
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    clock_set_offset_ms(0);
    app_close(&f->app);
    config_dispose(&f->cfg);
    arena_dispose(&f->arena);
    fixture_db_drop(f->dir);
    unit_tempdir_remove(f->dir);
    free(f);
    return 0;
}

static struct store_user user_create(struct fixture *f, const char *email, bool admin)
{
    struct app_account_new in = {
        .email = email,
        .password = PASSWORD,
        .first_name = " Ann ",
        .last_name = "Lee",
        .is_platform_admin = admin,
        .via = "test",
    };
    struct store_user u;
    struct usher_error err = {0};
    assert_int_equal(app_account_create(&u, FIXTURE_CALL(&f->app, &f->arena, &f->actor, &err), &in),
                     0);
    return u;
}

/* Runs one query and returns the first cell of the first row as text ("" when none). */
static const char *query_text(struct fixture *f, const char *sql, const char *param)
{
    struct store_conn *c;
    struct usher_error err = {0};
    struct store_rows rows;
    struct store_value p[] = {store_text(param)};
    assert_int_equal(store_conn_get(f->app.store, &c, &err), 0);
    assert_int_equal(store_exec(c, &f->arena, sql, p, param ? 1 : 0, &rows, NULL, &err), 0);
    store_conn_put(c);
    if (rows.count == 0)
        return "";
    const struct store_value *v = store_cell(&rows, 0, 0);
    if (v->type == STORE_INT)
        return arena_printf(&f->arena, "%lld", (long long)v->i);
    return v->s ? v->s : "";
}

static int sign_in(struct fixture *f, struct app_session_new *out, struct usher_error *err,
                   const char *email, const char *password)
{
    int64_t retry = 0;
    struct app_sign_in in = {.email = email, .password = password};
    return app_account_sign_in(out, &retry, FIXTURE_CALL(&f->app, &f->arena, &f->actor, err), &in);
}

static void test_account_create__stores_a_normalised_email_and_an_argon2id_hash(void **state)
{
    struct fixture *f = *state;
    struct store_user u = user_create(f, "  Ann.Lee@Example.COM ", false);
    assert_string_equal(u.email, "ann.lee@example.com");
    assert_string_equal(u.first_name, "Ann");
    assert_true(strncmp(u.id, "usr_", 4) == 0);
    const char *hash = query_text(f, "SELECT password_hash FROM users WHERE id = $1", u.id);
    assert_true(strncmp(hash, "$argon2id$v=19$m=19456,t=2,p=1$", 31) == 0);
    /* The address is kept in the entry's personal row, apart from its hashed details. */
    const char *details =
        query_text(f, "SELECT details FROM audit_log WHERE action = 'user.created'", NULL);
    assert_null(strstr(details, "ann.lee@example.com"));
    assert_null(strstr(details, PASSWORD));
    const char *personal = query_text(f,
                                      "SELECT p.data FROM audit_personal p JOIN audit_log l ON "
                                      "l.id = p.entry_id WHERE l.action = 'user.created'",
                                      NULL);
    assert_non_null(strstr(personal, "ann.lee@example.com"));
    assert_null(strstr(personal, PASSWORD));
}

static void test_account_create__refuses_an_email_that_already_has_an_account(void **state)
{
    struct fixture *f = *state;
    user_create(f, "ann@example.com", false);
    struct app_account_new in = {.email = "ANN@example.com ", .password = PASSWORD};
    struct usher_error err = {0};
    assert_int_equal(app_account_create(NULL, FIXTURE_CALL(&f->app, &f->arena, NULL, &err), &in),
                     USHER_ECONFLICT);
    assert_string_equal(err.problem, "account_exists");
}

static void test_account_create__names_the_bad_field(void **state)
{
    struct fixture *f = *state;
    struct usher_error err = {0};
    struct app_account_new in = {.email = "a@b", .password = PASSWORD};
    assert_int_equal(app_account_create(NULL, FIXTURE_CALL(&f->app, &f->arena, NULL, &err), &in),
                     USHER_EINVAL);
    assert_string_equal(err.field, "email");
    usher_error_clear(&err);
    in.email = "ok@example.com";
    in.password = "short";
    assert_int_equal(app_account_create(NULL, FIXTURE_CALL(&f->app, &f->arena, NULL, &err), &in),
                     USHER_EINVAL);
    assert_string_equal(err.field, "password");
    usher_error_clear(&err);
    in.password = PASSWORD;
    in.last_name = "bad\x01name";
    assert_int_equal(app_account_create(NULL, FIXTURE_CALL(&f->app, &f->arena, NULL, &err), &in),
                     USHER_EINVAL);
    assert_string_equal(err.field, "last_name");
}

static void test_account_create__refuses_a_weak_password_with_its_reason(void **state)
{
    struct fixture *f = *state;
    struct usher_error err = {0};
    struct app_account_new in = {
        .email = "ops@example.com", .password = "Olga2024!", .first_name = "Olga", .via = "cli"};
    assert_int_equal(app_account_create(NULL, FIXTURE_CALL(&f->app, &f->arena, NULL, &err), &in),
                     USHER_EINVAL);
    assert_string_equal(err.problem, "weak_password");
    assert_string_equal(err.field, "password");
    assert_string_equal(err.message,
                        "password is too easy to guess: it contains your name or email address");
    usher_error_clear(&err);
    in.password = "password1";
    assert_int_equal(app_account_create(NULL, FIXTURE_CALL(&f->app, &f->arena, NULL, &err), &in),
                     USHER_EINVAL);
    assert_string_equal(err.problem, "weak_password");
    assert_string_equal(query_text(f, "SELECT COUNT(*) FROM users", NULL), "0");
    /* Without the name, the same first password is no longer about the person. */
    in.password = "Olga2024!";
    in.first_name = NULL;
    usher_error_clear(&err);
    assert_int_equal(app_account_create(NULL, FIXTURE_CALL(&f->app, &f->arena, NULL, &err), &in),
                     USHER_EINVAL);
    assert_null(strstr(err.message, "your name"));
}

static void test_sign_in__does_not_judge_the_strength_of_a_stored_password(void **state)
{
    struct fixture *f = *state;
    struct store_user u = user_create(f, "ann@example.com", false);
    /* A password set before strength was checked, as an older usher stored it. */
    char old[APP_PASSWORD_HASH_MAX];
    struct usher_error err = {0};
    assert_int_equal(app_password_hash(f->app.hash_pool, old, "password1", &err), 0);
    struct store_conn *c;
    assert_int_equal(store_conn_get(f->app.store, &c, &err), 0);
    assert_int_equal(store_user_password_set(c, &f->arena, u.id, old, &err), 0);
    store_conn_put(c);
    struct app_session_new s;
    assert_int_equal(sign_in(f, &s, &err, "ann@example.com", "password1"), 0);
    assert_string_equal(s.user.id, u.id);
}

static void test_sign_in__returns_a_session_whose_token_resolves(void **state)
{
    struct fixture *f = *state;
    struct store_user u = user_create(f, "ann@example.com", true);
    struct app_session_new s;
    struct usher_error err = {0};
    assert_int_equal(sign_in(f, &s, &err, "Ann@Example.com", PASSWORD), 0);
    assert_string_equal(s.user.id, u.id);
    assert_int_equal(strlen(s.token), CRYPTO_TOKEN_CHARS);
    assert_true(s.expires_at > clock_now_ms() + 3590 * 1000);
    struct store_user who;
    char hash[CRYPTO_HASH_HEX + 1];
    assert_int_equal(app_account_session_resolve(&who, hash, &f->app, &f->arena, s.token, &err), 0);
    assert_string_equal(who.id, u.id);
    assert_true(who.is_platform_admin);
    assert_string_equal(hash, s.token_hash);
}

static void test_sign_in__stores_only_a_keyed_hash_of_the_token(void **state)
{
    struct fixture *f = *state;
    user_create(f, "ann@example.com", false);
    struct app_session_new s;
    struct usher_error err = {0};
    assert_int_equal(sign_in(f, &s, &err, "ann@example.com", PASSWORD), 0);
    const char *stored = query_text(f, "SELECT token_hash FROM sessions", NULL);
    char expected[CRYPTO_HASH_HEX + 1];
    crypto_hmac_hex(expected, f->app.secret, sizeof(f->app.secret), s.token, strlen(s.token));
    assert_string_equal(stored, expected);
    assert_string_equal(
        query_text(f, "SELECT COUNT(*) FROM sessions WHERE token_hash = $1", s.token), "0");
}

static void test_sign_in__makes_a_new_session_every_time(void **state)
{
    struct fixture *f = *state;
    user_create(f, "ann@example.com", false);
    struct app_session_new a, b;
    struct usher_error err = {0};
    assert_int_equal(sign_in(f, &a, &err, "ann@example.com", PASSWORD), 0);
    assert_int_equal(sign_in(f, &b, &err, "ann@example.com", PASSWORD), 0);
    assert_string_not_equal(a.token, b.token);
    assert_string_not_equal(a.csrf_token, b.csrf_token);
    assert_string_equal(query_text(f, "SELECT COUNT(*) FROM sessions", NULL), "2");
}

static void test_sign_in__same_answer_for_unknown_email(void **state)
{
    struct fixture *f = *state;
    user_create(f, "ann@example.com", false);
    struct app_session_new s;
    struct usher_error wrong = {0}, unknown = {0};
    /* The fastest of three tries each, alternating, so a busy machine slowing one try does not
     * decide the comparison (three of each stays inside every throttle window). */
    int64_t fastest_wrong = INT64_MAX, fastest_unknown = INT64_MAX;
    for (int i = 0; i < 3; i++) {
        int64_t t0 = clock_mono_ns();
        assert_int_equal(sign_in(f, &s, &wrong, "ann@example.com", "not the password"),
                         USHER_EUNAUTH);
        int64_t t1 = clock_mono_ns();
        assert_int_equal(sign_in(f, &s, &unknown, "nobody@example.com", "not the password"),
                         USHER_EUNAUTH);
        int64_t t2 = clock_mono_ns();
        if (t1 - t0 < fastest_wrong)
            fastest_wrong = t1 - t0;
        if (t2 - t1 < fastest_unknown)
            fastest_unknown = t2 - t1;
        assert_memory_equal(&wrong, &unknown, sizeof(wrong));
    }
    assert_string_equal(wrong.problem, "invalid_credentials");
    /* Both verify one argon2id hash: the times are of the same order. */
    assert_true(fastest_unknown * 4 > fastest_wrong);
    assert_true(fastest_wrong * 4 > fastest_unknown);
}

static void test_sign_in__disabled_user_fails_like_a_wrong_password(void **state)
{
    struct fixture *f = *state;
    struct store_user u = user_create(f, "ann@example.com", false);
    struct app_session_new s;
    struct usher_error before = {0};
    assert_int_equal(sign_in(f, &s, &before, "ann@example.com", PASSWORD), 0);
    struct store_conn *c;
    struct usher_error err = {0};
    assert_int_equal(store_conn_get(f->app.store, &c, &err), 0);
    assert_int_equal(store_user_status_set(c, &f->arena, u.id, STORE_USER_DISABLED, &err), 0);
    store_conn_put(c);
    /* The live session stops working on the very next request. */
    struct store_user who;
    char hash[CRYPTO_HASH_HEX + 1];
    assert_int_equal(app_account_session_resolve(&who, hash, &f->app, &f->arena, s.token, &err),
                     USHER_EUNAUTH);
    struct usher_error disabled = {0}, wrong = {0};
    assert_int_equal(sign_in(f, &s, &disabled, "ann@example.com", PASSWORD), USHER_EUNAUTH);
    assert_int_equal(sign_in(f, &s, &wrong, "ann@example.com", "a wrong password"), USHER_EUNAUTH);
    assert_memory_equal(&disabled, &wrong, sizeof(wrong));
}

static void test_sign_in__upgrades_a_hash_made_with_weaker_parameters(void **state)
{
    struct fixture *f = *state;
    struct store_user u = user_create(f, "ann@example.com", false);
    char weak[crypto_pwhash_STRBYTES];
    assert_int_equal(crypto_pwhash_str_alg(weak, PASSWORD, strlen(PASSWORD), 1, 8u * 1024 * 1024,
                                           crypto_pwhash_ALG_ARGON2ID13),
                     0);
    struct store_conn *c;
    struct usher_error err = {0};
    assert_int_equal(store_conn_get(f->app.store, &c, &err), 0);
    assert_int_equal(store_user_password_set(c, &f->arena, u.id, weak, &err), 0);
    store_conn_put(c);
    assert_true(strncmp(query_text(f, "SELECT password_hash FROM users", NULL),
                        "$argon2id$v=19$m=8192,t=1,p=1$", 30) == 0);
    struct app_session_new s;
    assert_int_equal(sign_in(f, &s, &err, "ann@example.com", PASSWORD), 0);
    const char *now = query_text(f, "SELECT password_hash FROM users", NULL);
    assert_true(strncmp(now, "$argon2id$v=19$m=19456,t=2,p=1$", 31) == 0);
    /* The upgraded hash still takes the same password. */
    assert_int_equal(sign_in(f, &s, &err, "ann@example.com", PASSWORD), 0);
}

static void test_sign_in__throttles_an_account_after_repeated_failures(void **state)
{
    struct fixture *f = *state;
    user_create(f, "ann@example.com", false);
    struct app_session_new s;
    for (int i = 0; i < 10; i++) {
        struct usher_error err = {0};
        assert_int_equal(sign_in(f, &s, &err, "ann@example.com", "guess number one"),
                         USHER_EUNAUTH);
    }
    /* Even the right password waits: the answer must not confirm a guess. */
    struct usher_error err = {0};
    int64_t retry = 0;
    struct app_sign_in right = {.email = "ann@example.com", .password = PASSWORD};
    assert_int_equal(
        app_account_sign_in(&s, &retry, FIXTURE_CALL(&f->app, &f->arena, &f->actor, &err), &right),
        USHER_ELIMIT);
    assert_string_equal(err.problem, "rate_limited");
    assert_true(retry > 0 && retry <= 15 * 60);
    /* An unknown email is throttled just the same, so the limit reveals nothing either. */
    for (int i = 0; i < 10; i++) {
        usher_error_clear(&err);
        sign_in(f, &s, &err, "nobody@example.com", "guess number one");
    }
    usher_error_clear(&err);
    assert_int_equal(sign_in(f, &s, &err, "nobody@example.com", "guess number one"), USHER_ELIMIT);
    /* The block ends by itself once the window has passed. */
    clock_set_offset_ms(15 * 60 * 1000 + 1000);
    usher_error_clear(&err);
    assert_int_equal(sign_in(f, &s, &err, "ann@example.com", PASSWORD), 0);
}

/* One sign-in from the fixture's address as address, presenting cookie. */
static int sign_in_from(struct fixture *f, struct app_session_new *out, const char *address,
                        const char *email, const char *password, const char *cookie)
{
    struct app_actor actor = f->actor;
    actor.source_ip = address;
    struct app_sign_in in = {.email = email, .password = password, .device_cookie = cookie};
    struct usher_error err = {0};
    int64_t retry = 0;
    return app_account_sign_in(out, &retry, FIXTURE_CALL(&f->app, &f->arena, &actor, &err), &in);
}

static void test_sign_in__a_known_device_signs_in_while_strangers_are_throttled(void **state)
{
    struct fixture *f = *state;
    user_create(f, "ann@example.com", false);
    user_create(f, "bob@example.com", false);
    struct app_session_new s, bob;
    assert_int_equal(sign_in_from(f, &s, "203.0.113.5", "ann@example.com", PASSWORD, NULL), 0);
    char device[APP_DEVICE_COOKIE_CHARS + 1];
    assert_int_equal(strlen(s.device_cookie), APP_DEVICE_COOKIE_CHARS);
    memcpy(device, s.device_cookie, sizeof(device));
    assert_int_equal(sign_in_from(f, &bob, "203.0.113.5", "bob@example.com", PASSWORD, NULL), 0);
    /* Strangers guess from Ann's own address and from elsewhere until the account is shut to
     * every client without her cookie. */
    for (int i = 0; i < 10; i++) {
        assert_int_equal(
            sign_in_from(f, &s, "203.0.113.5", "ann@example.com", "guess number one", NULL),
            USHER_EUNAUTH);
        assert_int_equal(sign_in_from(f, &s, "198.51.100.7", "ann@example.com", "guess number one",
                                      bob.device_cookie),
                         USHER_EUNAUTH);
    }
    assert_int_equal(sign_in_from(f, &s, "192.0.2.200", "ann@example.com", PASSWORD, NULL),
                     USHER_ELIMIT);
    assert_int_equal(
        sign_in_from(f, &s, "192.0.2.200", "ann@example.com", PASSWORD, bob.device_cookie),
        USHER_ELIMIT);
    /* Ann's device is let through with the right password, and gets a new cookie. */
    assert_int_equal(sign_in_from(f, &s, "203.0.113.5", "ann@example.com", PASSWORD, device), 0);
    assert_string_not_equal(s.device_cookie, device);
    assert_int_equal(strlen(s.device_cookie), APP_DEVICE_COOKIE_CHARS);
}

static void test_sign_in__records_audit_rows_without_secrets(void **state)
{
    struct fixture *f = *state;
    struct store_user u = user_create(f, "ann@example.com", false);
    struct app_session_new s;
    struct usher_error err = {0};
    assert_int_equal(sign_in(f, &s, &err, "ann@example.com", PASSWORD), 0);
    usher_error_clear(&err);
    sign_in(f, &s, &err, "ann@example.com", "the canary password");
    usher_error_clear(&err);
    sign_in(f, &s, &err, "ghost@example.com", "the canary password");
    assert_string_equal(
        query_text(f, "SELECT actor_id FROM audit_log WHERE action = 'session.created'", NULL),
        u.id);
    assert_string_equal(
        query_text(f, "SELECT COUNT(*) FROM audit_log WHERE action = 'session.failed'", NULL), "2");
    assert_string_equal(query_text(f,
                                   "SELECT COUNT(*) FROM audit_log WHERE action = "
                                   "'session.failed' AND subject_user_id IS NULL AND id IN "
                                   "(SELECT entry_id FROM audit_personal WHERE "
                                   "email = 'ghost@example.com')",
                                   NULL),
                        "1");
    assert_string_equal(
        query_text(f, "SELECT COUNT(*) FROM audit_log WHERE agency_id IS NOT NULL", NULL), "0");
    assert_string_equal(query_text(f,
                                   "SELECT COUNT(*) FROM audit_log WHERE details LIKE '%canary%' "
                                   "OR details LIKE '%' || $1 || '%'",
                                   s.token),
                        "0");
    assert_string_equal(query_text(f,
                                   "SELECT COUNT(*) FROM audit_personal WHERE data LIKE '%canary%' "
                                   "OR data LIKE '%' || $1 || '%'",
                                   s.token),
                        "0");
    assert_string_equal(
        query_text(f, "SELECT source_ip FROM audit_log WHERE action = 'session.failed'", NULL),
        "203.0.113.5");
}

static void test_session__ends_after_the_idle_timeout(void **state)
{
    struct fixture *f = *state;
    user_create(f, "ann@example.com", false);
    struct app_session_new s;
    struct usher_error err = {0};
    assert_int_equal(sign_in(f, &s, &err, "ann@example.com", PASSWORD), 0);
    struct store_user who;
    char hash[CRYPTO_HASH_HEX + 1];
    /* Used every five minutes, it lives on past the ten-minute idle timeout. */
    for (int i = 1; i <= 4; i++) {
        clock_set_offset_ms(i * 5 * 60 * 1000);
        assert_int_equal(app_account_session_resolve(&who, hash, &f->app, &f->arena, s.token, &err),
                         0);
    }
    clock_set_offset_ms(4 * 5 * 60 * 1000 + 10 * 60 * 1000);
    assert_int_equal(app_account_session_resolve(&who, hash, &f->app, &f->arena, s.token, &err),
                     USHER_EUNAUTH);
    /* An ended session's row is gone. */
    assert_string_equal(query_text(f, "SELECT COUNT(*) FROM sessions", NULL), "0");
}

static void test_session__ends_at_the_absolute_timeout_even_when_in_use(void **state)
{
    struct fixture *f = *state;
    user_create(f, "ann@example.com", false);
    struct app_session_new s;
    struct usher_error err = {0};
    assert_int_equal(sign_in(f, &s, &err, "ann@example.com", PASSWORD), 0);
    struct store_user who;
    char hash[CRYPTO_HASH_HEX + 1];
    int64_t step = 5 * 60 * 1000;
    int64_t offset = 0;
    while (offset + step < 3600 * 1000) {
        offset += step;
        clock_set_offset_ms(offset);
        assert_int_equal(app_account_session_resolve(&who, hash, &f->app, &f->arena, s.token, &err),
                         0);
    }
    clock_set_offset_ms(3600 * 1000);
    assert_int_equal(app_account_session_resolve(&who, hash, &f->app, &f->arena, s.token, &err),
                     USHER_EUNAUTH);
}

static void test_session__touches_last_seen_at_most_once_a_minute(void **state)
{
    struct fixture *f = *state;
    struct store_user u = user_create(f, "ann@example.com", false);
    struct app_session_new s;
    struct usher_error err = {0};
    assert_int_equal(sign_in(f, &s, &err, "ann@example.com", PASSWORD), 0);
    const char *first = query_text(f, "SELECT last_seen_at FROM sessions", NULL);
    struct store_user who;
    char hash[CRYPTO_HASH_HEX + 1];
    clock_set_offset_ms(30 * 1000);
    assert_int_equal(app_account_session_resolve(&who, hash, &f->app, &f->arena, s.token, &err), 0);
    assert_string_equal(query_text(f, "SELECT last_seen_at FROM sessions", NULL), first);
    clock_set_offset_ms(61 * 1000);
    assert_int_equal(app_account_session_resolve(&who, hash, &f->app, &f->arena, s.token, &err), 0);
    assert_string_not_equal(query_text(f, "SELECT last_seen_at FROM sessions", NULL), first);
    assert_string_equal(query_text(f, "SELECT last_active_at FROM users WHERE id = $1", u.id),
                        query_text(f, "SELECT last_seen_at FROM sessions", NULL));
}

static void test_session__unknown_and_empty_tokens_are_refused(void **state)
{
    struct fixture *f = *state;
    struct store_user who;
    char hash[CRYPTO_HASH_HEX + 1];
    struct usher_error err = {0};
    char forged[CRYPTO_TOKEN_CHARS + 1];
    crypto_token_new(forged);
    assert_int_equal(app_account_session_resolve(&who, hash, &f->app, &f->arena, forged, &err),
                     USHER_EUNAUTH);
    assert_int_equal(app_account_session_resolve(&who, hash, &f->app, &f->arena, "", &err),
                     USHER_EUNAUTH);
}

static void test_sign_out__ends_the_session_on_the_server(void **state)
{
    struct fixture *f = *state;
    user_create(f, "ann@example.com", false);
    struct app_session_new a, b;
    struct usher_error err = {0};
    assert_int_equal(sign_in(f, &a, &err, "ann@example.com", PASSWORD), 0);
    assert_int_equal(sign_in(f, &b, &err, "ann@example.com", PASSWORD), 0);
    assert_int_equal(
        app_account_sign_out(FIXTURE_CALL(&f->app, &f->arena, &f->actor, &err), a.token_hash), 0);
    struct store_user who;
    char hash[CRYPTO_HASH_HEX + 1];
    assert_int_equal(app_account_session_resolve(&who, hash, &f->app, &f->arena, a.token, &err),
                     USHER_EUNAUTH);
    usher_error_clear(&err);
    /* Only that session: the other one goes on. */
    assert_int_equal(app_account_session_resolve(&who, hash, &f->app, &f->arena, b.token, &err), 0);
    assert_string_equal(
        query_text(f, "SELECT COUNT(*) FROM audit_log WHERE action = 'session.ended'", NULL), "1");
    /* Signing out twice is harmless and writes nothing more. */
    assert_int_equal(
        app_account_sign_out(FIXTURE_CALL(&f->app, &f->arena, &f->actor, &err), a.token_hash), 0);
    assert_string_equal(
        query_text(f, "SELECT COUNT(*) FROM audit_log WHERE action = 'session.ended'", NULL), "1");
}

/* f->actor as the signed-in user u (the fixture's actor has no user of its own). */
static struct app_actor actor_for(struct fixture *f, const struct store_user *u)
{
    struct app_actor a = f->actor;
    a.user_id = u->id;
    return a;
}

static void test_names__sets_the_callers_own_names_and_audits_what_changed(void **state)
{
    struct fixture *f = *state;
    struct store_user u = user_create(f, "ann@example.com", false);
    struct app_actor me = actor_for(f, &u);
    struct usher_error err = {0};
    struct store_user out;
    struct app_account_names names = {.first_name = "  Zoë ", .last_name = NULL};
    assert_int_equal(
        app_account_names_set(&out, FIXTURE_CALL(&f->app, &f->arena, &me, &err), &names), 0);
    assert_string_equal(out.first_name, "Zoë");
    assert_string_equal(out.last_name, "Lee");
    assert_string_equal(query_text(f, "SELECT first_name FROM users WHERE id = $1", u.id), "Zoë");
    /* Names go to the entry's personal row, apart from its hashed details, with the actor's
     * names and address as they are when the entry is written. */
    assert_string_equal(
        query_text(f, "SELECT details FROM audit_log WHERE action = 'user.updated'", NULL), "{}");
    assert_string_equal(query_text(f,
                                   "SELECT p.data FROM audit_personal p JOIN audit_log l ON "
                                   "l.id = p.entry_id WHERE l.action = 'user.updated'",
                                   NULL),
                        "{\"first_name\":\"Zoë\",\"actor_email\":\"ann@example.com\","
                        "\"actor_first_name\":\"Zoë\",\"actor_last_name\":\"Lee\"}");
    /* The same names again change nothing and write no row. */
    assert_int_equal(
        app_account_names_set(&out, FIXTURE_CALL(&f->app, &f->arena, &me, &err), &names), 0);
    assert_string_equal(
        query_text(f, "SELECT COUNT(*) FROM audit_log WHERE action = 'user.updated'", NULL), "1");
    /* Checked as everywhere: a zero width space is refused, naming the field. */
    struct app_account_names bad = {.last_name = "L\xe2\x80\x8b"
                                                 "ee"};
    assert_int_equal(app_account_names_set(&out, FIXTURE_CALL(&f->app, &f->arena, &me, &err), &bad),
                     USHER_EINVAL);
    assert_string_equal(err.field, "last_name");
    /* Someone viewing as the person cannot rename them. */
    struct app_actor viewer = me;
    viewer.impersonator_id = "usr_someone_else";
    usher_error_clear(&err);
    struct app_account_names other = {.first_name = "Hijacked"};
    assert_int_equal(
        app_account_names_set(&out, FIXTURE_CALL(&f->app, &f->arena, &viewer, &err), &other),
        USHER_EFORBIDDEN);
    assert_string_equal(query_text(f, "SELECT first_name FROM users WHERE id = $1", u.id), "Zoë");
}

static int password_change(struct fixture *f, const struct app_actor *me, struct usher_error *err,
                           const char *session_hash, const char *current, const char *next)
{
    struct app_password_change in = {
        .current_password = current,
        .new_password = next,
        .session_hash = session_hash,
    };
    return app_account_password_change(NULL, FIXTURE_CALL(&f->app, &f->arena, me, err), &in);
}

#define NEW_PASSWORD "another long and quiet passphrase"

static void test_password_change__keeps_this_session_ends_the_others_and_queues_mail(void **state)
{
    struct fixture *f = *state;
    struct store_user u = user_create(f, "ann@example.com", false);
    struct app_actor me = actor_for(f, &u);
    struct app_session_new a, b, c;
    struct usher_error err = {0};
    assert_int_equal(sign_in(f, &a, &err, "ann@example.com", PASSWORD), 0);
    assert_int_equal(sign_in(f, &b, &err, "ann@example.com", PASSWORD), 0);
    assert_int_equal(sign_in(f, &c, &err, "ann@example.com", PASSWORD), 0);
    assert_int_equal(password_change(f, &me, &err, a.token_hash, PASSWORD, NEW_PASSWORD), 0);
    struct store_user who;
    char hash[CRYPTO_HASH_HEX + 1];
    assert_int_equal(app_account_session_resolve(&who, hash, &f->app, &f->arena, a.token, &err), 0);
    assert_int_equal(app_account_session_resolve(&who, hash, &f->app, &f->arena, b.token, &err),
                     USHER_EUNAUTH);
    usher_error_clear(&err);
    assert_int_equal(app_account_session_resolve(&who, hash, &f->app, &f->arena, c.token, &err),
                     USHER_EUNAUTH);
    usher_error_clear(&err);
    assert_int_equal(sign_in(f, &b, &err, "ann@example.com", PASSWORD), USHER_EUNAUTH);
    usher_error_clear(&err);
    assert_int_equal(sign_in(f, &b, &err, "ann@example.com", NEW_PASSWORD), 0);
    assert_string_equal(
        query_text(f, "SELECT details FROM audit_log WHERE action = 'user.password_changed'", NULL),
        "{\"via\":\"self_service\",\"sessions_ended\":2}");
    assert_string_equal(
        query_text(f, "SELECT subject FROM mail_outbox WHERE recipient = $1", "ann@example.com"),
        "Your password was changed");
    const char *text =
        query_text(f, "SELECT body_text FROM mail_outbox WHERE recipient = $1", "ann@example.com");
    assert_non_null(strstr(text, "203.0.113.5"));
    assert_non_null(strstr(text, "If it was not you"));
    assert_null(strstr(text, NEW_PASSWORD));
}

static void test_password_change__a_wrong_current_password_counts_as_a_failed_sign_in(void **state)
{
    struct fixture *f = *state;
    struct store_user u = user_create(f, "ann@example.com", false);
    struct app_actor me = actor_for(f, &u);
    struct app_session_new a, b;
    struct usher_error err = {0};
    assert_int_equal(sign_in(f, &a, &err, "ann@example.com", PASSWORD), 0);
    for (int i = 0; i < 10; i++) {
        usher_error_clear(&err);
        assert_int_equal(
            password_change(f, &me, &err, a.token_hash, "a wrong guess at it", NEW_PASSWORD),
            USHER_EFORBIDDEN);
        assert_string_equal(err.problem, "invalid_credentials");
    }
    usher_error_clear(&err);
    assert_int_equal(password_change(f, &me, &err, a.token_hash, PASSWORD, NEW_PASSWORD),
                     USHER_ELIMIT);
    usher_error_clear(&err);
    assert_int_equal(sign_in(f, &b, &err, "ann@example.com", PASSWORD), USHER_ELIMIT);
    assert_string_equal(
        query_text(f, "SELECT COUNT(*) FROM audit_log WHERE action = 'user.password_change_failed'",
                   NULL),
        "10");
    assert_string_equal(query_text(f, "SELECT COUNT(*) FROM mail_outbox", NULL), "0");
}

static void test_password_change__refuses_a_weak_new_password(void **state)
{
    struct fixture *f = *state;
    struct store_user u = user_create(f, "ann@example.com", false);
    struct app_actor me = actor_for(f, &u);
    struct app_session_new a;
    struct usher_error err = {0};
    assert_int_equal(sign_in(f, &a, &err, "ann@example.com", PASSWORD), 0);
    const char *before = query_text(f, "SELECT password_hash FROM users WHERE id = $1", u.id);
    assert_int_equal(password_change(f, &me, &err, a.token_hash, PASSWORD, "ann@example.com"),
                     USHER_EINVAL);
    assert_string_equal(err.problem, "weak_password");
    assert_string_equal(err.field, "new_password");
    assert_string_equal(query_text(f, "SELECT password_hash FROM users WHERE id = $1", u.id),
                        before);
    /* A view-as actor may not change it either. */
    struct app_actor viewer = me;
    viewer.impersonator_id = "usr_someone_else";
    usher_error_clear(&err);
    assert_int_equal(password_change(f, &viewer, &err, a.token_hash, PASSWORD, NEW_PASSWORD),
                     USHER_EFORBIDDEN);
    assert_string_equal(query_text(f, "SELECT password_hash FROM users WHERE id = $1", u.id),
                        before);
}

static void test_sessions__lists_own_live_sessions_and_ends_only_own(void **state)
{
    struct fixture *f = *state;
    struct store_user ann = user_create(f, "ann@example.com", false);
    struct store_user bob = user_create(f, "bob@example.com", false);
    struct app_actor as_ann = actor_for(f, &ann);
    struct app_actor as_bob = actor_for(f, &bob);
    struct app_session_new a1, a2, b1;
    struct usher_error err = {0};
    f->actor.user_agent = "Browser/1.0 \x01\xc3\xa9";
    assert_int_equal(sign_in(f, &a1, &err, "ann@example.com", PASSWORD), 0);
    assert_int_equal(sign_in(f, &a2, &err, "ann@example.com", PASSWORD), 0);
    assert_int_equal(sign_in(f, &b1, &err, "bob@example.com", PASSWORD), 0);
    struct store_session *list = NULL;
    size_t count = 0;
    assert_int_equal(
        app_account_sessions_list(&list, &count, FIXTURE_CALL(&f->app, &f->arena, &as_ann, &err)),
        0);
    assert_int_equal(count, 2);
    assert_string_equal(list[0].user_agent, "Browser/1.0 ???");
    assert_string_equal(list[0].source_ip, "203.0.113.5");
    assert_int_equal(strncmp(list[0].public_id, "ses_", 4), 0);
    const char *a2_id =
        strcmp(list[0].token_hash, a2.token_hash) == 0 ? list[0].public_id : list[1].public_id;
    /* Bob cannot end Ann's session: to him it does not exist. */
    bool current = true;
    assert_int_equal(app_account_session_end(&current,
                                             FIXTURE_CALL(&f->app, &f->arena, &as_bob, &err), a2_id,
                                             b1.token_hash),
                     USHER_ENOTFOUND);
    struct store_user who;
    char hash[CRYPTO_HASH_HEX + 1];
    usher_error_clear(&err);
    assert_int_equal(app_account_session_resolve(&who, hash, &f->app, &f->arena, a2.token, &err),
                     0);
    /* Ann ends it from her other session. */
    assert_int_equal(app_account_session_end(&current,
                                             FIXTURE_CALL(&f->app, &f->arena, &as_ann, &err), a2_id,
                                             a1.token_hash),
                     0);
    assert_false(current);
    assert_int_equal(app_account_session_resolve(&who, hash, &f->app, &f->arena, a2.token, &err),
                     USHER_EUNAUTH);
    usher_error_clear(&err);
    assert_int_equal(app_account_session_resolve(&who, hash, &f->app, &f->arena, a1.token, &err),
                     0);
}

static void test_csrf__token_is_bound_to_its_session(void **state)
{
    struct fixture *f = *state;
    user_create(f, "ann@example.com", false);
    struct app_session_new a, b;
    struct usher_error err = {0};
    assert_int_equal(sign_in(f, &a, &err, "ann@example.com", PASSWORD), 0);
    assert_int_equal(sign_in(f, &b, &err, "ann@example.com", PASSWORD), 0);
    assert_true(app_account_csrf_valid(&f->app, a.token_hash, a.csrf_token));
    assert_false(app_account_csrf_valid(&f->app, a.token_hash, b.csrf_token));
    assert_false(app_account_csrf_valid(&f->app, a.token_hash, NULL));
    assert_false(app_account_csrf_valid(&f->app, a.token_hash, ""));
    assert_false(app_account_csrf_valid(&f->app, a.token_hash, a.token_hash));
    assert_int_equal(strlen(a.csrf_token), CRYPTO_HASH_HEX);
}

static void test_sessions_purge__removes_ended_sessions(void **state)
{
    struct fixture *f = *state;
    user_create(f, "ann@example.com", false);
    struct app_session_new s;
    struct usher_error err = {0};
    assert_int_equal(sign_in(f, &s, &err, "ann@example.com", PASSWORD), 0);
    int64_t deleted = -1;
    assert_int_equal(app_account_sessions_purge(&deleted, &f->app, &err), 0);
    assert_int_equal(deleted, 0);
    clock_set_offset_ms(11 * 60 * 1000);
    assert_int_equal(app_account_sessions_purge(&deleted, &f->app, &err), 0);
    assert_int_equal(deleted, 1);
}

static void test_profile__lists_agencies_and_grants(void **state)
{
    struct fixture *f = *state;
    struct store_user u = user_create(f, "ann@example.com", false);
    struct store_conn *c;
    struct usher_error err = {0};
    assert_int_equal(store_conn_get(f->app.store, &c, &err), 0);
    struct store_value p[] = {store_text(u.id)};
    assert_int_equal(store_exec(c, &f->arena,
                                "INSERT INTO agencies (id, name, created_at) VALUES ('agy_1', "
                                "'Acme', 1)",
                                NULL, 0, NULL, NULL, &err),
                     0);
    assert_int_equal(store_exec(c, &f->arena,
                                "INSERT INTO memberships (agency_id, user_id, created_at) VALUES "
                                "('agy_1', $1, 1)",
                                p, 1, NULL, NULL, &err),
                     0);
    assert_int_equal(store_exec(c, &f->arena,
                                "INSERT INTO grants (id, agency_id, user_id, scope_id, roles, "
                                "created_at) VALUES ('g1', 'agy_1', $1, 'agy_1', 'owner', 1)",
                                p, 1, NULL, NULL, &err),
                     0);
    store_conn_put(c);
    struct store_user got;
    struct store_user_membership *m = NULL;
    size_t count = 0;
    assert_int_equal(
        app_account_profile(&got, &m, &count, FIXTURE_CALL(&f->app, &f->arena, NULL, &err), u.id),
        0);
    assert_string_equal(got.email, "ann@example.com");
    assert_int_equal(count, 1);
    assert_string_equal(m[0].agency_name, "Acme");
    assert_string_equal(m[0].grants[0].roles, "owner");
}

static int setup_bootstrap(void **state)
{
    return setup_with(state, " Root@Example.com", BOOTSTRAP_PASSWORD);
}

static void test_bootstrap__creates_the_admin_once(void **state)
{
    struct fixture *f = *state;
    struct usher_error err = {0};
    assert_int_equal(app_account_bootstrap(&f->app, &err), 0);
    assert_int_equal(app_account_bootstrap(&f->app, &err), 0);
    assert_string_equal(query_text(f,
                                   "SELECT COUNT(*) FROM users WHERE is_platform_admin = 1 "
                                   "AND email = 'root@example.com'",
                                   NULL),
                        "1");
    assert_string_equal(query_text(f,
                                   "SELECT details FROM audit_log WHERE action = 'user.created' "
                                   "AND agency_id IS NULL",
                                   NULL),
                        "{\"is_platform_admin\":true,\"via\":\"bootstrap\"}");
    assert_string_equal(query_text(f,
                                   "SELECT p.email FROM audit_personal p JOIN audit_log l ON "
                                   "l.id = p.entry_id WHERE l.action = 'user.created'",
                                   NULL),
                        "root@example.com");
    struct app_session_new s;
    assert_int_equal(sign_in(f, &s, &err, "root@example.com", BOOTSTRAP_PASSWORD), 0);
    assert_true(s.user.is_platform_admin);
}

static void test_bootstrap__never_promotes_an_existing_user(void **state)
{
    struct fixture *f = *state;
    user_create(f, "root@example.com", false);
    struct usher_error err = {0};
    log_set_level(LOG_ERROR + 1); /* the refusal is logged as an error on purpose */
    assert_int_equal(app_account_bootstrap(&f->app, &err), 0);
    log_set_level(LOG_WARN);
    assert_string_equal(
        query_text(f, "SELECT COUNT(*) FROM users WHERE is_platform_admin = 1", NULL), "0");
}

static void test_bootstrap__does_nothing_when_an_admin_exists(void **state)
{
    struct fixture *f = *state;
    user_create(f, "first@example.com", true);
    struct usher_error err = {0};
    assert_int_equal(app_account_bootstrap(&f->app, &err), 0);
    assert_string_equal(query_text(f, "SELECT COUNT(*) FROM users", NULL), "1");
}

static int setup_bootstrap_bad_password(void **state)
{
    return setup_with(state, "root@example.com", "short");
}

static void test_bootstrap__refuses_an_unusable_password(void **state)
{
    struct fixture *f = *state;
    struct usher_error err = {0};
    assert_int_equal(app_account_bootstrap(&f->app, &err), USHER_EINVAL);
    assert_string_equal(err.field, "USHER_ADMIN_PASSWORD");
    assert_null(strstr(err.message, "short"));
}

static int setup_bootstrap_weak_password(void **state)
{
    return setup_with(state, "root@example.com", "password2024");
}

static void test_bootstrap__refuses_a_weak_password_for_a_new_admin(void **state)
{
    struct fixture *f = *state;
    struct usher_error err = {0};
    assert_int_equal(app_account_bootstrap(&f->app, &err), USHER_EINVAL);
    assert_string_equal(err.problem, "weak_password");
    assert_string_equal(err.field, "USHER_ADMIN_PASSWORD");
    assert_string_equal(err.message, "USHER_ADMIN_PASSWORD is too easy to guess: it is a common "
                                     "word with a number added");
    assert_string_equal(query_text(f, "SELECT COUNT(*) FROM users", NULL), "0");
}

static void test_bootstrap__leaves_a_weak_password_alone_once_an_admin_exists(void **state)
{
    struct fixture *f = *state;
    user_create(f, "first@example.com", true);
    struct usher_error err = {0};
    assert_int_equal(app_account_bootstrap(&f->app, &err), 0);
    assert_string_equal(query_text(f, "SELECT COUNT(*) FROM users", NULL), "1");
}

#define T(name)     cmocka_unit_test_setup_teardown(name, setup, teardown)
#define TB(name, s) cmocka_unit_test_setup_teardown(name, s, teardown)

int main(void)
{
    crypto_setup();
    log_set_level(LOG_WARN);
    const struct CMUnitTest tests[] = {
        T(test_account_create__stores_a_normalised_email_and_an_argon2id_hash),
        T(test_account_create__refuses_an_email_that_already_has_an_account),
        T(test_account_create__names_the_bad_field),
        T(test_account_create__refuses_a_weak_password_with_its_reason),
        T(test_sign_in__does_not_judge_the_strength_of_a_stored_password),
        T(test_sign_in__returns_a_session_whose_token_resolves),
        T(test_sign_in__stores_only_a_keyed_hash_of_the_token),
        T(test_sign_in__makes_a_new_session_every_time),
        T(test_sign_in__same_answer_for_unknown_email),
        T(test_sign_in__disabled_user_fails_like_a_wrong_password),
        T(test_sign_in__upgrades_a_hash_made_with_weaker_parameters),
        T(test_sign_in__throttles_an_account_after_repeated_failures),
        T(test_sign_in__a_known_device_signs_in_while_strangers_are_throttled),
        T(test_sign_in__records_audit_rows_without_secrets),
        T(test_session__ends_after_the_idle_timeout),
        T(test_session__ends_at_the_absolute_timeout_even_when_in_use),
        T(test_session__touches_last_seen_at_most_once_a_minute),
        T(test_session__unknown_and_empty_tokens_are_refused),
        T(test_sign_out__ends_the_session_on_the_server),
        T(test_names__sets_the_callers_own_names_and_audits_what_changed),
        T(test_password_change__keeps_this_session_ends_the_others_and_queues_mail),
        T(test_password_change__a_wrong_current_password_counts_as_a_failed_sign_in),
        T(test_password_change__refuses_a_weak_new_password),
        T(test_sessions__lists_own_live_sessions_and_ends_only_own),
        T(test_csrf__token_is_bound_to_its_session),
        T(test_sessions_purge__removes_ended_sessions),
        T(test_profile__lists_agencies_and_grants),
        TB(test_bootstrap__creates_the_admin_once, setup_bootstrap),
        TB(test_bootstrap__never_promotes_an_existing_user, setup_bootstrap),
        TB(test_bootstrap__does_nothing_when_an_admin_exists, setup_bootstrap),
        TB(test_bootstrap__refuses_an_unusable_password, setup_bootstrap_bad_password),
        TB(test_bootstrap__refuses_a_weak_password_for_a_new_admin, setup_bootstrap_weak_password),
        TB(test_bootstrap__leaves_a_weak_password_alone_once_an_admin_exists,
           setup_bootstrap_weak_password),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
