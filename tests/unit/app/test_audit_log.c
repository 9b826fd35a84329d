/* Reading the audit log over a real SQLite store: newest first, keyset pages, the user filter
 * (actor or subject), exact and prefix action filters, input validation, and who may read an
 * agency's log. */
#include "../unit.h"

#include "../fixture.h"

#include "app/app.h"
#include "app/audit.h"
#include "app/audit_log.h"
#include "authz/authz.h"
#include "config/config.h"
#include "store/store.h"
#include "store/store_audit.h"
#include "store/store_tenancy.h"

struct fixture {
    char *dir;
    struct config cfg;
    struct app app;
    struct arena arena;
    struct usher_error err;
};

static void entry_add(struct fixture *f, const char *agency, const char *actor, const char *action,
                      const char *subject)
{
    struct store_conn *c = NULL;
    struct app_actor who = {.user_id = actor};
    struct app_audit_event ev = {
        .agency_id = agency,
        .action = action,
        .subject_user_id = subject,
        .scope_type = agency ? "agency" : NULL,
        .scope_id = agency,
        .details = json_pack("{s:i}", "n", 1),
    };
    assert_int_equal(store_conn_get(f->app.store, &c, &f->err), 0);
    assert_int_equal(store_begin(c, true, &f->err), 0);
    assert_int_equal(app_audit_record(c, &f->arena, &who, &ev, &f->err), 0);
    assert_int_equal(store_commit(c, &f->err), 0);
    store_conn_put(c);
}

/* Agency A: auditor (organisation_manager, holds audit.read), agent (agent). Agency B. */
static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    fixture_config_init(&f->cfg, &f->dir);
    fixture_app_open(&f->app, &f->cfg);
    arena_init(&f->arena);
    fixture_agency_add(f->app.store, "agy_a", "A");
    fixture_agency_add(f->app.store, "agy_b", "B");
    fixture_user_add(f->app.store, "usr_auditor");
    fixture_user_add(f->app.store, "usr_agent");
    fixture_user_add(f->app.store, "usr_bee");
    fixture_grant_set(f->app.store, "agy_a", "usr_auditor", NULL, "organisation_manager", NULL);
    fixture_grant_set(f->app.store, "agy_a", "usr_agent", NULL, "agent", NULL);
    fixture_grant_set(f->app.store, "agy_b", "usr_bee", NULL, "owner", NULL);
    assert_int_equal(authz_index_load(f->app.authz, f->app.store, &f->err), 0);
    /* Entries of A, oldest first: */
    entry_add(f, "agy_a", "usr_auditor", "invitation.created", "usr_x");   /* 1 */
    entry_add(f, "agy_a", "usr_x", "invitation.accepted", NULL);           /* 2 */
    entry_add(f, "agy_b", "usr_x", "invitation.created", NULL);            /* 3: B */
    entry_add(f, "agy_a", "usr_auditor", "grant.changed", "usr_agent");    /* 4 */
    entry_add(f, NULL, "usr_x", "session.created", NULL);                  /* 5: no agency */
    entry_add(f, "agy_a", "usr_agent", "invitations.purged", NULL);        /* 6 */
    entry_add(f, "agy_a", "usr_auditor", "invitation_x.created", "usr_x"); /* 7 */
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

static void expect_error(struct fixture *f, int rc, int code, const char *field)
{
    assert_int_equal(rc, code);
    assert_int_equal(f->err.code, code);
    assert_string_equal(f->err.field, field ? field : "");
    usher_error_clear(&f->err);
}

/* The ids of one page as "7,6,4", for compact assertions. */
static const char *ids(struct fixture *f, const struct app_audit_page *page)
{
    char buf[256];
    size_t len = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < page->count; i++)
        len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%lld", i ? "," : "",
                                (long long)page->items[i].entry.id);
    return arena_strdup(&f->arena, buf);
}

static int list(struct fixture *f, struct app_audit_page *out, const char *actor_id,
                const char *user_id, const char *action, const char *limit, const char *cursor)
{
    struct app_actor actor = {.user_id = actor_id};
    struct app_audit_query q = {
        .user_id = user_id, .action = action, .limit = limit, .cursor = cursor};
    return app_audit_list(out, FIXTURE_AS(f, &actor), "agy_a", &q);
}

static void test_audit_list__newest_first_in_pages(void **state)
{
    struct fixture *f = *state;
    struct app_audit_page page;
    assert_int_equal(list(f, &page, "usr_auditor", NULL, NULL, NULL, NULL), 0);
    assert_string_equal(ids(f, &page), "7,6,4,2,1");
    assert_null(page.next_cursor);
    assert_string_equal(page.items[0].entry.action, "invitation_x.created");
    assert_string_equal(page.items[0].entry.details_json, "{\"n\":1}");
    assert_int_equal(list(f, &page, "usr_auditor", NULL, NULL, "2", NULL), 0);
    assert_string_equal(ids(f, &page), "7,6");
    assert_non_null(page.next_cursor);
    assert_int_equal(list(f, &page, "usr_auditor", NULL, NULL, "2", page.next_cursor), 0);
    assert_string_equal(ids(f, &page), "4,2");
    assert_int_equal(list(f, &page, "usr_auditor", NULL, NULL, "2", page.next_cursor), 0);
    assert_string_equal(ids(f, &page), "1");
    assert_null(page.next_cursor);
}

static void test_audit_list__filters_by_user_and_action(void **state)
{
    struct fixture *f = *state;
    struct app_audit_page page;
    /* Actor or subject. */
    assert_int_equal(list(f, &page, "usr_auditor", "usr_agent", NULL, NULL, NULL), 0);
    assert_string_equal(ids(f, &page), "6,4");
    assert_int_equal(list(f, &page, "usr_auditor", "usr_x", NULL, NULL, NULL), 0);
    assert_string_equal(ids(f, &page), "7,2,1");
    assert_int_equal(list(f, &page, "usr_auditor", NULL, "invitation.created", NULL, NULL), 0);
    assert_string_equal(ids(f, &page), "1");
    /* A prefix: "invitation." does not match "invitations." or "invitation_x.". */
    assert_int_equal(list(f, &page, "usr_auditor", NULL, "invitation.*", NULL, NULL), 0);
    assert_string_equal(ids(f, &page), "2,1");
    assert_int_equal(list(f, &page, "usr_auditor", NULL, "invitation*", NULL, NULL), 0);
    assert_string_equal(ids(f, &page), "7,6,2,1");
    assert_int_equal(list(f, &page, "usr_auditor", NULL, "*", NULL, NULL), 0);
    assert_string_equal(ids(f, &page), "7,6,4,2,1");
    assert_int_equal(list(f, &page, "usr_auditor", "usr_x", "invitation.*", NULL, NULL), 0);
    assert_string_equal(ids(f, &page), "2,1");
    assert_int_equal(list(f, &page, "usr_auditor", NULL, "Invitation.created", NULL, NULL),
                     USHER_EINVAL);
    usher_error_clear(&f->err);
    assert_int_equal(list(f, &page, "usr_auditor", NULL, "session.created", NULL, NULL), 0);
    assert_int_equal(page.count, 0);
}

static void test_audit_list__validates_its_input(void **state)
{
    struct fixture *f = *state;
    struct app_audit_page page;
    const char *bad_actions[] = {"", "a b", "a*b", "**", "invitation.%", "x'--"};
    for (size_t i = 0; i < sizeof(bad_actions) / sizeof(bad_actions[0]); i++)
        expect_error(f, list(f, &page, "usr_auditor", NULL, bad_actions[i], NULL, NULL),
                     USHER_EINVAL, "action");
    char long_action[APP_AUDIT_ACTION_MAX + 2];
    memset(long_action, 'a', sizeof(long_action) - 1);
    long_action[sizeof(long_action) - 1] = '\0';
    expect_error(f, list(f, &page, "usr_auditor", NULL, long_action, NULL, NULL), USHER_EINVAL,
                 "action");
    expect_error(f, list(f, &page, "usr_auditor", "", NULL, NULL, NULL), USHER_EINVAL, "user_id");
    expect_error(f, list(f, &page, "usr_auditor", NULL, NULL, "0", NULL), USHER_EINVAL, "limit");
    expect_error(f, list(f, &page, "usr_auditor", NULL, NULL, "201", NULL), USHER_EINVAL, "limit");
    expect_error(f, list(f, &page, "usr_auditor", NULL, NULL, NULL, "nonsense"), USHER_EINVAL,
                 "cursor");
    /* A cursor of another list is refused, not misread. */
    const char *other = store_cursor_encode(&f->arena, 5, "agy_a");
    expect_error(f, list(f, &page, "usr_auditor", NULL, NULL, NULL, other), USHER_EINVAL, "cursor");
}

static int query(struct fixture *f, struct app_audit_page *out, const struct app_audit_query *q)
{
    struct app_actor actor = {.user_id = "usr_auditor"};
    return app_audit_list(out, FIXTURE_AS(f, &actor), "agy_a", q);
}

static void test_audit_list__kinds_people_and_times(void **state)
{
    struct fixture *f = *state;
    struct app_audit_page page;
    /* Several kinds at once, names and prefixes mixed. */
    assert_int_equal(list(f, &page, "usr_auditor", NULL, "grant.changed,invitations.*", NULL, NULL),
                     0);
    assert_string_equal(ids(f, &page), "6,4");
    expect_error(f, list(f, &page, "usr_auditor", NULL, "grant.changed,", NULL, NULL), USHER_EINVAL,
                 "action");
    /* The people an entry names, as recorded when it was written: the auditor's address. */
    struct app_audit_query q = {.q = "AUDITOR@example"};
    assert_int_equal(query(f, &page, &q), 0);
    assert_string_equal(ids(f, &page), "7,4,1");
    assert_string_equal(page.items[2].actor.email, "auditor@example.com");
    assert_null(page.items[2].subject.email); /* usr_x has no account */
    assert_string_equal(page.items[1].subject.email, "agent@example.com");
    q.q = "auditor nobody";
    assert_int_equal(query(f, &page, &q), 0);
    assert_int_equal(page.count, 0);
    q.q = "%";
    assert_int_equal(query(f, &page, &q), 0);
    assert_int_equal(page.count, 0);
    q.q = "a b c d e";
    expect_error(f, query(f, &page, &q), USHER_EINVAL, "q");
    /* Times, with offsets and fractions. */
    struct app_audit_query t = {.since = "2000-01-01T00:00:00Z"};
    assert_int_equal(query(f, &page, &t), 0);
    assert_string_equal(ids(f, &page), "7,6,4,2,1");
    t = (struct app_audit_query){.until = "2000-01-01T01:00:00+01:00"};
    assert_int_equal(query(f, &page, &t), 0);
    assert_int_equal(page.count, 0);
    t = (struct app_audit_query){.since = "2024-02-29T23:59:59.5-12:00"};
    assert_int_equal(query(f, &page, &t), 0);
    assert_int_equal(page.count, 5);
    t = (struct app_audit_query){.since = "2999-12-31T23:59:59.999Z"};
    assert_int_equal(query(f, &page, &t), 0);
    assert_int_equal(page.count, 0);
    const char *bad[] = {"2026-13-01T00:00:00Z", "2026-02-29T00:00:00Z",    "2026-01-01 00:00:00Z",
                         "2026-01-01T00:00:00",  "2026-01-01T24:00:00Z",    "2026-01-01T00:00:00.Z",
                         "2026-1-01T00:00:00Z",  "2026-01-01T00:00:00+0100"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        t = (struct app_audit_query){.until = bad[i]};
        expect_error(f, query(f, &page, &t), USHER_EINVAL, "until");
    }
    /* Someone with a first name only is named by it. */
    struct fixture_user solo = {.id = "usr_solo", .first_name = "Solo"};
    fixture_user_add_with(f->app.store, &solo);
    entry_add(f, "agy_a", "usr_solo", "grant.changed", NULL);
    q = (struct app_audit_query){.q = "solo"};
    assert_int_equal(query(f, &page, &q), 0);
    assert_int_equal(page.count, 1);
    assert_string_equal(page.items[0].actor.name, "Solo");
    assert_string_equal(page.items[0].actor.email, "solo@example.com");
    t = (struct app_audit_query){.group = "everything"};
    expect_error(f, query(f, &page, &t), USHER_EINVAL, "group");
}

static void test_audit_list__needs_audit_read_in_the_agency(void **state)
{
    struct fixture *f = *state;
    struct app_audit_page page;
    expect_error(f, list(f, &page, "usr_agent", NULL, NULL, NULL, NULL), USHER_EFORBIDDEN, NULL);
    expect_error(f, list(f, &page, "usr_bee", NULL, NULL, NULL, NULL), USHER_ENOTFOUND, NULL);
    expect_error(f, list(f, &page, NULL, NULL, NULL, NULL, NULL), USHER_ENOTFOUND, NULL);
    struct app_actor admin = {.user_id = "usr_root", .is_platform_admin = true};
    struct app_audit_query q = {0};
    assert_int_equal(app_audit_list(&page, FIXTURE_AS(f, &admin), "agy_b", &q), 0);
    assert_string_equal(ids(f, &page), "3");
    expect_error(f, app_audit_list(&page, FIXTURE_AS(f, &admin), "agy_c", &q), USHER_ENOTFOUND,
                 NULL);
}

/* Every personal row's search column as "id:search" lines, in entry order. */
static const char *searches(struct fixture *f)
{
    struct store_rows rows =
        fixture_sql_rows(f->app.store, &f->arena,
                         "SELECT entry_id, search FROM audit_personal ORDER BY entry_id", NULL, 0);
    char buf[4096];
    size_t len = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < rows.count; i++) {
        const char *v = store_cell_text(&rows, i, 1);
        len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%lld:%s\n",
                                (long long)store_cell_int(&rows, i, 0), v ? v : "NULL");
        assert_true(len < sizeof(buf));
    }
    return arena_strdup(&f->arena, buf);
}

/* Migration 0021 on rows written before it: each personal row gets its values, lower-cased
 * and joined by spaces (the text usher writes with a new row), an erased row none; and the
 * search then matches values, not keys. */
static void test_migration_0021__fills_the_search_of_existing_rows(void **state)
{
    struct fixture *f = *state;
    struct store_conn *c = NULL;
    struct app_actor who = {.user_id = "usr_auditor"};
    struct app_audit_event ev = {
        .agency_id = "agy_a",
        .action = "invitation.created",
        .subject_user_id = "usr_agent",
        .details =
            json_pack("{s:s, s:s, s:s, s:s, s:i}", "email", "Zoe.Ng@Example.COM", "first_name",
                      "Zo\xC3\xAB", "last_name", "Ng-Van Dijk", "role", "agent", "n", 2),
    };
    assert_int_equal(store_conn_get(f->app.store, &c, &f->err), 0);
    assert_int_equal(app_audit_record(c, &f->arena, &who, &ev, &f->err), 0); /* 8 */
    store_conn_put(c);
    fixture_sql(f->app.store,
                "UPDATE audit_personal SET data = NULL, search = NULL, email = NULL, "
                "erased_at = 1 WHERE entry_id = 1",
                NULL, 0);
    const char *written = searches(f);
    assert_non_null(strstr(written, "\n8:zoe.ng@example.com zo\xC3\xAB ng-van dijk "
                                    "auditor@example.com"));
    assert_int_equal(strncmp(written, "1:NULL\n", 7), 0);

    /* The database as it was before 0021, with the same personal rows. */
    fixture_sql(f->app.store, "DROP INDEX audit_log_view_session", NULL, 0);
    fixture_sql(f->app.store, "ALTER TABLE audit_log DROP COLUMN view_session", NULL, 0);
    fixture_sql(f->app.store, "ALTER TABLE audit_personal DROP COLUMN search", NULL, 0);
    fixture_sql(f->app.store, "DELETE FROM schema_migrations WHERE name = '0021_audit_search.sql'",
                NULL, 0);
    int applied = 0;
    assert_int_equal(store_migrate(f->app.store, &applied, &f->err), 0);
    assert_int_equal(applied, 1);
    assert_string_equal(searches(f), written);

    struct app_audit_page page;
    struct app_audit_query q = {.q = "ng-van"};
    assert_int_equal(query(f, &page, &q), 0);
    assert_string_equal(ids(f, &page), "8");
    const char *keys[] = {"email", "first_name", "role", "\"", "{", ":"};
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        q.q = keys[i];
        assert_int_equal(query(f, &page, &q), 0);
        if (page.count != 0)
            fail_msg("\"%s\" found %s", keys[i], ids(f, &page));
    }
}

/* The whole CSV export of agency_id as actor_id sees it, in f->arena. */
static const char *export_csv(struct fixture *f, const char *actor_id, const char *agency_id)
{
    struct app_actor actor = {.user_id = actor_id};
    struct app_audit_query q = {0};
    struct app_audit_export *x = NULL;
    assert_int_equal(app_audit_export_open(&x, FIXTURE_AS(f, &actor), agency_id, &q, "csv"), 0);
    char *text = NULL;
    size_t len = 0;
    char buf[512];
    long n;
    while ((n = app_audit_export_read(x, buf, sizeof(buf))) > 0) {
        text = realloc(text, len + (size_t)n + 1);
        memcpy(text + len, buf, (size_t)n);
        len += (size_t)n;
        text[len] = '\0';
    }
    assert_int_equal(n, 0);
    app_audit_export_free(x);
    const char *out = arena_strdup(&f->arena, text ? text : "");
    free(text);
    return out;
}

/* A cell starting with = + - @, a tab or a carriage return (the characters OWASP lists for CSV
 * injection) is prefixed with ' so a spreadsheet reads text, not a formula; the same character
 * further in is left alone. */
static void test_audit_export__defuses_every_formula_start_in_a_csv_cell(void **state)
{
    struct fixture *f = *state;
    static const char *const starts[] = {"=1+1", "+1", "-1", "@SUM(A1)", "\tcmd", "\rcmd"};
    const size_t count = sizeof(starts) / sizeof(starts[0]);
    for (size_t i = 0; i < count; i++) {
        struct store_conn *c = NULL;
        struct app_actor who = {.user_id = "usr_bee", .user_agent = starts[i]};
        struct app_audit_event ev = {.agency_id = "agy_b", .action = "agency.updated"};
        assert_int_equal(store_conn_get(f->app.store, &c, &f->err), 0);
        assert_int_equal(app_audit_record(c, &f->arena, &who, &ev, &f->err), 0);
        store_conn_put(c);
    }
    /* The owner of B sees user agents (agency.manage). */
    const char *csv = export_csv(f, "usr_bee", "agy_b");
    for (size_t i = 0; i < count; i++) {
        const char *defused = arena_printf(&f->arena, ",\"'%s\",", starts[i]);
        if (!strstr(csv, defused))
            fail_msg("no defused cell for \"%s\" in:\n%s", starts[i], csv);
    }
    /* Past the header row, every cell is quoted; none opens with a character a spreadsheet
     * would run. */
    const char *p = strstr(csv, "\r\n");
    assert_non_null(p);
    for (p += 2; *p;) {
        assert_int_equal(*p, '"');
        p++;
        if (*p && strchr("=+-@\t\r", *p))
            fail_msg("a cell starts with 0x%02x: %.20s", (unsigned char)*p, p);
        while (!(p[0] == '"' && p[1] != '"')) {
            assert_true(*p != '\0');
            p += p[0] == '"' ? 2 : 1;
        }
        p++;
        if (*p == ',') {
            p++;
        } else {
            assert_true(p[0] == '\r' && p[1] == '\n');
            p += 2;
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_audit_list__newest_first_in_pages, setup, teardown),
        cmocka_unit_test_setup_teardown(test_audit_list__filters_by_user_and_action, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_audit_list__validates_its_input, setup, teardown),
        cmocka_unit_test_setup_teardown(test_audit_list__kinds_people_and_times, setup, teardown),
        cmocka_unit_test_setup_teardown(test_audit_list__needs_audit_read_in_the_agency, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_migration_0021__fills_the_search_of_existing_rows,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_audit_export__defuses_every_formula_start_in_a_csv_cell, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
