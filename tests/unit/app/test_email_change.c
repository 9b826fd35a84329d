/* Email changes against a real database (SQLite, or PostgreSQL with USHER_TEST_PG_URL): the
 * masked address the old address is shown, a change asked for and confirmed with the token its
 * link carries (email set, sessions ended, link single use), and the hourly purge that deletes
 * email-change and password-reset rows older than a week and keeps newer ones. */
#include "../unit.h"

#include "../fixture.h"

#include <stdlib.h>
#include <string.h>

#include "app/account.h"
#include "app/email_change.h"
#include "base/clock.h"
#include "store/store.h"

#define PASSWORD "a long and correct password"
#define DAY_MS   (24LL * 60 * 60 * 1000)

struct fixture {
    char *dir;
    struct config cfg;
    struct app app;
    struct arena arena;
    struct usher_error err;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    fixture_config_init(&f->cfg, &f->dir);
    fixture_app_open(&f->app, &f->cfg);
    arena_init(&f->arena);
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

static int64_t count(struct fixture *f, const char *sql)
{
    return fixture_sql_int(f->app.store, sql, NULL, 0);
}

static void test_email_mask__keeps_a_first_character_of_each_part_and_the_last_label(void **state)
{
    struct fixture *f = *state;
    assert_string_equal(app_email_mask(&f->arena, "nina@example.org"), "n…@e….org");
    assert_string_equal(app_email_mask(&f->arena, "n@mail.example.co.uk"), "n…@m….uk");
    assert_string_equal(app_email_mask(&f->arena, "émile@ünï.de"), "é…@ü….de");
    assert_string_equal(app_email_mask(&f->arena, "root@localhost"), "r…@l…");
}

/* Inserts one row into each table, created `age_ms` before now. */
static void links_add(struct fixture *f, const char *id, int64_t age_ms)
{
    int64_t at = clock_now_ms() - age_ms;
    struct store_value pr[] = {store_text(id), store_int(at)};
    fixture_sql(f->app.store,
                "INSERT INTO password_resets (id, email, user_id, status, token_nonce, "
                "token_hash, created_at, expires_at) "
                "VALUES ($1, 'ada@example.com', 'usr_ada', 'used', 'n', $1, $2, $2)",
                pr, 2);
    fixture_sql(f->app.store,
                "INSERT INTO email_changes (id, user_id, new_email, status, token_nonce, "
                "token_hash, created_at, expires_at) "
                "VALUES ($1, 'usr_ada', 'ada@elsewhere.example', 'voided', 'n', $1, $2, $2)",
                pr, 2);
}

static void test_links_purge__deletes_rows_older_than_a_week_and_keeps_newer_ones(void **state)
{
    struct fixture *f = *state;
    fixture_user_add(f->app.store, "usr_ada");
    links_add(f, "old", 8 * DAY_MS);
    links_add(f, "week", 7 * DAY_MS + 60 * 1000);
    links_add(f, "recent", 6 * DAY_MS);
    links_add(f, "new", 0);
    int64_t deleted = -1;
    assert_int_equal(app_account_links_purge(&deleted, &f->app, &f->err), 0);
    assert_int_equal(deleted, 4);
    assert_int_equal(count(f, "SELECT COUNT(*) FROM password_resets WHERE id IN ('old', 'week')"),
                     0);
    assert_int_equal(count(f, "SELECT COUNT(*) FROM email_changes WHERE id IN ('old', 'week')"), 0);
    assert_int_equal(count(f, "SELECT COUNT(*) FROM password_resets"), 2);
    assert_int_equal(count(f, "SELECT COUNT(*) FROM email_changes"), 2);
    /* Two days later the six-day-old rows are past a week too. */
    clock_set_offset_ms(2 * DAY_MS);
    assert_int_equal(app_account_links_purge(&deleted, &f->app, &f->err), 0);
    assert_int_equal(deleted, 2);
    assert_int_equal(count(f, "SELECT COUNT(*) FROM password_resets WHERE id = 'new'"), 1);
    assert_int_equal(count(f, "SELECT COUNT(*) FROM email_changes WHERE id = 'new'"), 1);
    assert_int_equal(count(f, "SELECT COUNT(*) FROM email_changes"), 1);
}

/* The token of the pending change's link, read as the mail sender derives it. */
static const char *link_token(struct fixture *f, const char *user_id)
{
    struct store_value p[] = {store_text(user_id)};
    struct store_rows rows = fixture_sql_rows(
        f->app.store, &f->arena,
        "SELECT id FROM email_changes WHERE user_id = $1 AND status = 'pending'", p, 1);
    assert_int_equal(rows.count, 1);
    const char *url = NULL;
    assert_int_equal(
        app_email_change_link(&url, &f->app, &f->arena, store_cell_text(&rows, 0, 0), &f->err), 0);
    const char *mark = strstr(url, "/email-change#token=");
    assert_non_null(mark);
    return mark + strlen("/email-change#token=");
}

static void test_email_change__confirmed_once_sets_the_email_and_ends_every_session(void **state)
{
    struct fixture *f = *state;
    struct app_actor nobody = {.source_ip = "203.0.113.9"};
    struct app_account_new in = {.email = "ann@example.com", .password = PASSWORD, .via = "test"};
    struct store_user ann;
    assert_int_equal(app_account_create(&ann, FIXTURE_AS(f, &nobody), &in), 0);
    struct app_session_new s;
    int64_t retry = 0;
    struct app_sign_in sign = {.email = "ann@example.com", .password = PASSWORD};
    assert_int_equal(app_account_sign_in(&s, &retry, FIXTURE_AS(f, &nobody), &sign), 0);

    struct app_actor me = {.user_id = ann.id, .source_ip = "203.0.113.5"};
    struct app_email_change_request req = {
        .email = "Ann@Elsewhere.example",
        .current_password = PASSWORD,
        .session_hash = s.token_hash,
    };
    const char *pending = NULL;
    assert_int_equal(app_email_change_request(&pending, &retry, FIXTURE_AS(f, &me), &req), 0);
    assert_string_equal(pending, "ann@elsewhere.example");
    const char *shown = NULL;
    assert_int_equal(app_email_change_pending(&shown, FIXTURE_AS(f, &me), ann.id), 0);
    assert_string_equal(shown, "ann@elsewhere.example");
    assert_int_equal(count(f, "SELECT COUNT(*) FROM mail_outbox WHERE recipient = "
                              "'ann@elsewhere.example' AND link_kind = 'email_change'"),
                     1);
    assert_int_equal(
        count(f, "SELECT COUNT(*) FROM mail_outbox WHERE recipient = 'ann@example.com'"), 1);

    /* Without a session (an API token) the request is refused. */
    req.session_hash = NULL;
    assert_int_equal(app_email_change_request(&pending, &retry, FIXTURE_AS(f, &me), &req),
                     USHER_EFORBIDDEN);
    usher_error_clear(&f->err);

    const char *token = link_token(f, ann.id);
    struct store_user changed;
    assert_int_equal(app_email_change_confirm(&changed, FIXTURE_AS(f, &nobody), token), 0);
    assert_string_equal(changed.email, "ann@elsewhere.example");
    assert_int_equal(count(f, "SELECT COUNT(*) FROM users WHERE email = 'ann@elsewhere.example'"),
                     1);
    assert_int_equal(count(f, "SELECT COUNT(*) FROM sessions"), 0);
    assert_int_equal(count(f, "SELECT COUNT(*) FROM audit_log WHERE action = 'email.changed'"), 1);
    assert_int_equal(app_email_change_pending(&shown, FIXTURE_AS(f, &me), ann.id), 0);
    assert_null(shown);

    assert_int_equal(app_email_change_confirm(&changed, FIXTURE_AS(f, &nobody), token),
                     USHER_EINVAL);
    assert_string_equal(f->err.problem, "invalid_token");
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_email_mask__keeps_a_first_character_of_each_part_and_the_last_label),
        T(test_links_purge__deletes_rows_older_than_a_week_and_keeps_newer_ones),
        T(test_email_change__confirmed_once_sets_the_email_and_ends_every_session),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
