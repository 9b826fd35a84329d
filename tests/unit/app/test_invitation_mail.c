/* The invitation email's wording over a real store: roles in words, extra permissions by what
 * they let one do, custom roles by their name, the expiry as a date people read, in the text
 * and HTML parts alike; never a role id, a permission code or an ISO stamp. */
#include "../unit.h"

#include "../fixture.h"

#include "app/invitation_int.h"
#include "store/store.h"

/* 2026-12-11T14:00:00Z, a Friday. */
#define EXPIRES_MS 1796997600000LL

struct fixture {
    struct store *store;
    char *dir;
    struct arena arena;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    fixture_store_open(&f->store, &f->dir);
    arena_init(&f->arena);
    fixture_agency_add(f->store, "agy_acme", "Acme & Co");
    fixture_environment_add(f->store, "env_prod", "agy_acme", "production");
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    fixture_store_close(f->store, f->dir);
    arena_dispose(&f->arena);
    free(f);
    return 0;
}

/* Queues the email of an invitation to email with grants (response shape) and returns the
 * outbox row's column (body_text or body_html). */
static const char *mailed(struct fixture *f, const char *email, const char *grants,
                          const char *column)
{
    struct app_invitation_view v = {
        .inv = {.id = "inv_words",
                .agency_id = "agy_acme",
                .email = email,
                .first_name = "Nora",
                .expires_at = EXPIRES_MS,
                .generation = 1},
        .status = "pending",
        .agency_name = "Acme & Co",
        .inviter_name = "Mia Manager",
        .grants = json_loads(grants, 0, NULL),
    };
    assert_non_null(v.grants);
    struct store_conn *c = NULL;
    struct usher_error err = {0};
    assert_int_equal(store_conn_get(f->store, &c, &err), 0);
    assert_int_equal(store_begin(c, true, &err), 0);
    assert_int_equal(app_invitation_mail_queue(c, &f->arena, &v, &err), 0);
    assert_int_equal(store_commit(c, &err), 0);
    store_conn_put(c);
    json_decref(v.grants);
    struct store_value p[] = {store_text(email)};
    const char *sql = strcmp(column, "body_html") == 0
                          ? "SELECT body_html FROM mail_outbox WHERE recipient = $1"
                          : "SELECT body_text FROM mail_outbox WHERE recipient = $1";
    struct store_rows rows = fixture_sql_rows(f->store, &f->arena, sql, p, 1);
    assert_int_equal(rows.count, 1);
    return store_cell(&rows, 0, 0)->s;
}

static const char GRANTS[] =
    "[{\"environment_id\":\"env_prod\",\"roles\":[\"operator\",\"environment_manager\"],"
    "\"extra_permissions\":[\"analytics.read\",\"crm.write\"]},"
    "{\"roles\":[\"content_manager\",\"Night shift\"],\"extra_permissions\":[]}]";

static void test_invitation_mail__names_roles_and_permissions_in_words(void **state)
{
    struct fixture *f = *state;
    const char *text = mailed(f, "words@example.com", GRANTS, "body_text");
    assert_non_null(strstr(text, "  - environment production: Operator, Environment manager; "
                                 "also: see analytics and reports, change customer records\n"));
    assert_non_null(strstr(text, "  - all of Acme & Co: Content manager, Night shift\n"));
    assert_null(strstr(text, "environment_manager"));
    assert_null(strstr(text, "content_manager"));
    assert_null(strstr(text, "analytics.read"));
    const char *html = mailed(f, "words-html@example.com", GRANTS, "body_html");
    assert_non_null(strstr(html, "<li>environment production: Operator, Environment manager; "
                                 "also: see analytics and reports, change customer records</li>"));
    assert_non_null(strstr(html, "<li>all of Acme &amp; Co: Content manager, Night shift</li>"));
    assert_null(strstr(html, "environment_manager"));
}

static void test_invitation_mail__gives_the_expiry_as_people_read_it(void **state)
{
    struct fixture *f = *state;
    static const char line[] = "expires on Friday 11 December 2026, 14:00 UTC.";
    const char *text = mailed(f, "when@example.com", GRANTS, "body_text");
    assert_non_null(strstr(text, line));
    assert_null(strstr(text, "2026-12-11T"));
    const char *html = mailed(f, "when-html@example.com", GRANTS, "body_html");
    assert_non_null(strstr(html, line));
    assert_null(strstr(html, "2026-12-11T"));
}

static void test_invitation_mail__lists_extra_permissions_alone_without_also(void **state)
{
    struct fixture *f = *state;
    const char *text =
        mailed(f, "none@example.com", "[{\"roles\":[],\"extra_permissions\":[\"inbox.notify\"]}]",
               "body_text");
    /* Extra permissions alone read without the "also". */
    assert_non_null(strstr(text, "  - all of Acme & Co: be notified of incoming chats\n"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_invitation_mail__names_roles_and_permissions_in_words,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_invitation_mail__gives_the_expiry_as_people_read_it,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_invitation_mail__lists_extra_permissions_alone_without_also, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
