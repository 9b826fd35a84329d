/* The rules for agencies, environments and bots over a real SQLite store: who may create,
 * see and list what; foreign agencies are not found, missing permissions are forbidden. */
#include "../unit.h"

#include "../fixture.h"

#include "app/access.h"
#include "app/app.h"
#include "app/tenancy.h"
#include "base/clock.h"
#include "config/config.h"
#include "store/store.h"

/* Agency A: environments E1, E2, E3; bots B1, B2 in E1, B3 in E2. Agency B: environment EB
 * with bot BB. Users and their grants (seeded as rows, as invitations will write them):
 *   owner     owner at A
 *   org       organisation_manager at A
 *   agent     agent at A
 *   dev       developer on E1 only
 *   botmgr    bot_manager on B1 only
 *   nothing   member of A without grants
 *   noaccess  operator at A, "no access" override on E1
 *   envextra  environments.create as an extra permission on E1 only
 *   outsider  owner at B, not a member of A */
struct fixture {
    char *dir;
    struct config cfg;
    struct app app;
    struct arena arena;
    struct usher_error err;
    struct store_agency a, b;
    struct store_environment e1, e2, e3, eb;
    struct store_bot b1, b2, b3, bb;
};

/* Moves the clock on by 10 ms so that objects made one after another list in that order. */
static void tick(void)
{
    static int64_t offset;
    offset += 10;
    clock_set_offset_ms(offset);
}

static struct app_actor admin(void)
{
    struct app_actor actor = {.user_id = "usr_admin", .is_platform_admin = true};
    return actor;
}

static struct app_actor user(const char *id)
{
    struct app_actor actor = {.user_id = id};
    return actor;
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    fixture_config_init(&f->cfg, &f->dir);
    fixture_app_open(&f->app, &f->cfg);
    arena_init(&f->arena);

    static const char *const users[] = {
        "usr_admin",  "usr_owner",   "usr_org",      "usr_agent",    "usr_dev",
        "usr_botmgr", "usr_nothing", "usr_noaccess", "usr_envextra", "usr_outsider"};
    for (size_t i = 0; i < sizeof(users) / sizeof(users[0]); i++)
        fixture_user_add(f->app.store, users[i]);

    struct app_actor adm = admin();
    tick();
    assert_int_equal(app_agency_create(&f->a, FIXTURE_AS(f, &adm), "Agency A"), 0);
    tick();
    assert_int_equal(app_agency_create(&f->b, FIXTURE_AS(f, &adm), "Agency B"), 0);
    tick();
    assert_int_equal(app_environment_create(&f->e1, FIXTURE_AS(f, &adm), f->a.id, "E1"), 0);
    tick();
    assert_int_equal(app_environment_create(&f->e2, FIXTURE_AS(f, &adm), f->a.id, "E2"), 0);
    tick();
    assert_int_equal(app_environment_create(&f->e3, FIXTURE_AS(f, &adm), f->a.id, "E3"), 0);
    tick();
    assert_int_equal(app_environment_create(&f->eb, FIXTURE_AS(f, &adm), f->b.id, "EB"), 0);
    tick();
    assert_int_equal(app_bot_create(&f->b1, FIXTURE_AS(f, &adm), f->e1.id, "B1"), 0);
    tick();
    assert_int_equal(app_bot_create(&f->b2, FIXTURE_AS(f, &adm), f->e1.id, "B2"), 0);
    tick();
    assert_int_equal(app_bot_create(&f->b3, FIXTURE_AS(f, &adm), f->e2.id, "B3"), 0);
    tick();
    assert_int_equal(app_bot_create(&f->bb, FIXTURE_AS(f, &adm), f->eb.id, "BB"), 0);

    fixture_grant_set(f->app.store, f->a.id, "usr_owner", NULL, "owner", "");
    fixture_grant_set(f->app.store, f->a.id, "usr_org", NULL, "organisation_manager", "");
    fixture_grant_set(f->app.store, f->a.id, "usr_agent", NULL, "agent", "");
    fixture_grant_set(f->app.store, f->a.id, "usr_dev", f->e1.id, "developer", "");
    fixture_grant_set(f->app.store, f->a.id, "usr_botmgr", f->b1.id, "bot_manager", "");
    fixture_member_add(f->app.store, f->a.id, "usr_nothing");
    fixture_grant_set(f->app.store, f->a.id, "usr_noaccess", NULL, "operator", "");
    fixture_grant_set(f->app.store, f->a.id, "usr_noaccess", f->e1.id, "", "");
    fixture_grant_set(f->app.store, f->a.id, "usr_envextra", f->e1.id, "",
                      "environments.create,bot.read");
    fixture_grant_set(f->app.store, f->b.id, "usr_outsider", NULL, "owner", "");
    usher_error_clear(&f->err);
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

/* Expects rc with the error slot's code and field, then clears the slot. */
static void expect_error(struct fixture *f, int rc, int code, const char *field)
{
    assert_int_equal(rc, code);
    assert_int_equal(f->err.code, code);
    assert_string_equal(f->err.field, field ? field : "");
    usher_error_clear(&f->err);
}

static int64_t audit_count(struct fixture *f, const char *action, const char *scope_type,
                           const char *scope_id)
{
    struct store_conn *c = NULL;
    struct store_rows rows = {0};
    struct store_value p[] = {store_text(action), store_text(scope_type), store_text(scope_id)};
    assert_int_equal(store_conn_get(f->app.store, &c, &f->err), 0);
    assert_int_equal(store_exec(c, &f->arena,
                                "SELECT COUNT(*) FROM audit_log WHERE action = $1 AND "
                                "scope_type = $2 AND scope_id = $3",
                                p, 3, &rows, NULL, &f->err),
                     0);
    store_conn_put(c);
    return store_cell(&rows, 0, 0)->i;
}

static void test_agency_create__needs_a_platform_admin(void **state)
{
    struct fixture *f = *state;
    struct store_agency out;
    struct app_actor owner = user("usr_owner");
    expect_error(f, app_agency_create(&out, FIXTURE_AS(f, &owner), "Mine"), USHER_EFORBIDDEN, NULL);
}

static void test_agency_create__trims_and_audits(void **state)
{
    struct fixture *f = *state;
    struct store_agency out;
    struct app_actor adm = admin();
    assert_int_equal(app_agency_create(&out, FIXTURE_AS(f, &adm), "  Acme  "), 0);
    assert_string_equal(out.name, "Acme");
    assert_string_equal(out.created_by, "usr_admin");
    assert_int_equal(audit_count(f, "agency.created", "agency", out.id), 1);
    struct store_agency read;
    assert_int_equal(app_agency_get(&read, FIXTURE_AS(f, &adm), out.id), 0);
    assert_string_equal(read.name, "Acme");
}

static void test_agency_create__validates_the_name(void **state)
{
    struct fixture *f = *state;
    struct store_agency out;
    struct app_actor adm = admin();
    char long_name[202];
    memset(long_name, 'x', 201);
    long_name[201] = '\0';
    const char *bad[] = {"", "   ", long_name, "a\tb", "a\x7f", "\xff"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        expect_error(f, app_agency_create(&out, FIXTURE_AS(f, &adm), bad[i]), USHER_EINVAL, "name");
    expect_error(f, app_agency_create(&out, FIXTURE_AS(f, &adm), NULL), USHER_EINVAL, "name");
    long_name[200] = '\0';
    assert_int_equal(app_agency_create(&out, FIXTURE_AS(f, &adm), long_name), 0);
}

static void test_agency_get__foreign_and_unknown_agencies_are_not_found(void **state)
{
    struct fixture *f = *state;
    struct store_agency out;
    struct app_actor outsider = user("usr_outsider");
    expect_error(f, app_agency_get(&out, FIXTURE_AS(f, &outsider), f->a.id), USHER_ENOTFOUND, NULL);
    assert_int_equal(app_agency_get(&out, FIXTURE_AS(f, &outsider), f->b.id), 0);
    int rc = app_agency_get(&out, FIXTURE_AS(f, &outsider), f->a.id);
    char foreign_message[USHER_ERROR_MESSAGE_MAX];
    snprintf(foreign_message, sizeof(foreign_message), "%s", f->err.message);
    expect_error(f, rc, USHER_ENOTFOUND, NULL);
    rc = app_agency_get(&out, FIXTURE_AS(f, &outsider), "agy_unknown");
    assert_string_equal(f->err.message, foreign_message);
    expect_error(f, rc, USHER_ENOTFOUND, NULL);
    struct app_actor anonymous = {0};
    expect_error(f, app_agency_get(&out, FIXTURE_AS(f, &anonymous), f->a.id), USHER_ENOTFOUND,
                 NULL);
}

static void test_agency_get__members_without_grants_see_their_agency(void **state)
{
    struct fixture *f = *state;
    struct store_agency out;
    struct app_actor nothing = user("usr_nothing");
    assert_int_equal(app_agency_get(&out, FIXTURE_AS(f, &nothing), f->a.id), 0);
    assert_string_equal(out.id, f->a.id);
    assert_int_equal(app_agency_check_visible(FIXTURE_AS(f, &nothing), f->a.id), 0);
    expect_error(f, app_agency_check_visible(FIXTURE_AS(f, &nothing), f->b.id), USHER_ENOTFOUND,
                 NULL);
}

static void test_agency_list__admins_see_all_members_their_own(void **state)
{
    struct fixture *f = *state;
    struct app_page page = {.limit = 1};
    struct app_agency_page list;
    struct app_actor adm = admin();
    assert_int_equal(app_agency_list(&list, FIXTURE_AS(f, &adm), &page), 0);
    assert_int_equal(list.count, 1);
    assert_string_equal(list.items[0].id, f->a.id);
    assert_non_null(list.next_cursor);
    assert_int_equal(store_cursor_decode(&page.after, &f->arena, list.next_cursor, &f->err), 0);
    assert_int_equal(app_agency_list(&list, FIXTURE_AS(f, &adm), &page), 0);
    assert_int_equal(list.count, 1);
    assert_string_equal(list.items[0].id, f->b.id);
    assert_null(list.next_cursor);

    struct app_page first = {.limit = 50};
    struct app_actor outsider = user("usr_outsider");
    assert_int_equal(app_agency_list(&list, FIXTURE_AS(f, &outsider), &first), 0);
    assert_int_equal(list.count, 1);
    assert_string_equal(list.items[0].id, f->b.id);
    assert_null(list.next_cursor);
    struct app_actor stranger = user("usr_admin_not");
    assert_int_equal(app_agency_list(&list, FIXTURE_AS(f, &stranger), &first), 0);
    assert_int_equal(list.count, 0);
}

static void test_environment_create__needs_environments_create_at_agency_scope(void **state)
{
    struct fixture *f = *state;
    struct store_environment out;
    static const char *const forbidden[] = {"usr_agent", "usr_dev", "usr_botmgr", "usr_nothing",
                                            "usr_envextra"};
    for (size_t i = 0; i < sizeof(forbidden) / sizeof(forbidden[0]); i++) {
        struct app_actor u = user(forbidden[i]);
        expect_error(f, app_environment_create(&out, FIXTURE_AS(f, &u), f->a.id, "New"),
                     USHER_EFORBIDDEN, NULL);
    }
    struct app_actor outsider = user("usr_outsider");
    expect_error(f, app_environment_create(&out, FIXTURE_AS(f, &outsider), f->a.id, "New"),
                 USHER_ENOTFOUND, NULL);
    expect_error(f, app_environment_create(&out, FIXTURE_AS(f, &outsider), "agy_unknown", "New"),
                 USHER_ENOTFOUND, NULL);
    struct app_actor org = user("usr_org");
    expect_error(f, app_environment_create(&out, FIXTURE_AS(f, &org), f->a.id, " "), USHER_EINVAL,
                 "name");
    assert_int_equal(app_environment_create(&out, FIXTURE_AS(f, &org), f->a.id, " New "), 0);
    assert_string_equal(out.name, "New");
    assert_string_equal(out.agency_id, f->a.id);
    assert_int_equal(audit_count(f, "environment.created", "environment", out.id), 1);
    struct app_actor owner = user("usr_owner");
    assert_int_equal(app_environment_create(&out, FIXTURE_AS(f, &owner), f->a.id, "Two"), 0);
}

/* The ids of a listed page, for comparisons. */
static void expect_environments(const struct app_environment_page *list, const char *const *ids,
                                size_t count)
{
    assert_int_equal(list->count, count);
    for (size_t i = 0; i < count; i++)
        assert_string_equal(list->items[i].id, ids[i]);
}

static void test_environment_list__shows_where_the_caller_has_access(void **state)
{
    struct fixture *f = *state;
    struct app_page page = {.limit = 50};
    struct app_environment_page list;
    const char *all[] = {f->e1.id, f->e2.id, f->e3.id};

    struct app_actor agent = user("usr_agent");
    assert_int_equal(app_environment_list(&list, FIXTURE_AS(f, &agent), f->a.id, &page), 0);
    expect_environments(&list, all, 3);
    struct app_actor adm = admin();
    assert_int_equal(app_environment_list(&list, FIXTURE_AS(f, &adm), f->a.id, &page), 0);
    expect_environments(&list, all, 3);

    struct app_actor dev = user("usr_dev");
    assert_int_equal(app_environment_list(&list, FIXTURE_AS(f, &dev), f->a.id, &page), 0);
    expect_environments(&list, all, 1);
    struct app_actor botmgr = user("usr_botmgr");
    assert_int_equal(app_environment_list(&list, FIXTURE_AS(f, &botmgr), f->a.id, &page), 0);
    expect_environments(&list, all, 1);

    struct app_actor noaccess = user("usr_noaccess");
    assert_int_equal(app_environment_list(&list, FIXTURE_AS(f, &noaccess), f->a.id, &page), 0);
    expect_environments(&list, all + 1, 2);

    struct app_actor nothing = user("usr_nothing");
    assert_int_equal(app_environment_list(&list, FIXTURE_AS(f, &nothing), f->a.id, &page), 0);
    assert_int_equal(list.count, 0);
    assert_null(list.next_cursor);

    struct app_actor outsider = user("usr_outsider");
    expect_error(f, app_environment_list(&list, FIXTURE_AS(f, &outsider), f->a.id, &page),
                 USHER_ENOTFOUND, NULL);
}

static void test_environment_list__filtered_pages_are_full_and_complete(void **state)
{
    struct fixture *f = *state;
    struct app_actor adm = admin();
    /* Six more environments; usr_noaccess is shut out of E1 and two of the new ones. */
    struct store_environment extra[6];
    for (int i = 0; i < 6; i++) {
        char name[16];
        snprintf(name, sizeof(name), "X%d", i);
        tick();
        assert_int_equal(app_environment_create(&extra[i], FIXTURE_AS(f, &adm), f->a.id, name), 0);
    }
    fixture_grant_set(f->app.store, f->a.id, "usr_noaccess", extra[1].id, "", "");
    fixture_grant_set(f->app.store, f->a.id, "usr_noaccess", extra[2].id, "", "");
    const char *want[] = {f->e2.id, f->e3.id, extra[0].id, extra[3].id, extra[4].id, extra[5].id};

    struct app_actor noaccess = user("usr_noaccess");
    struct app_page page = {.limit = 4};
    struct app_environment_page list;
    assert_int_equal(app_environment_list(&list, FIXTURE_AS(f, &noaccess), f->a.id, &page), 0);
    expect_environments(&list, want, 4);
    assert_non_null(list.next_cursor);
    assert_int_equal(store_cursor_decode(&page.after, &f->arena, list.next_cursor, &f->err), 0);
    assert_int_equal(app_environment_list(&list, FIXTURE_AS(f, &noaccess), f->a.id, &page), 0);
    expect_environments(&list, want + 4, 2);
    assert_null(list.next_cursor);

    /* Exactly a page's worth: no next cursor. */
    struct app_page six = {.limit = 6};
    assert_int_equal(app_environment_list(&list, FIXTURE_AS(f, &noaccess), f->a.id, &six), 0);
    expect_environments(&list, want, 6);
    assert_null(list.next_cursor);
}

static void test_environment_get__forbidden_inside_not_found_outside(void **state)
{
    struct fixture *f = *state;
    struct store_environment out;
    struct app_actor dev = user("usr_dev");
    assert_int_equal(app_environment_get(&out, FIXTURE_AS(f, &dev), f->e1.id), 0);
    assert_string_equal(out.name, "E1");
    expect_error(f, app_environment_get(&out, FIXTURE_AS(f, &dev), f->e2.id), USHER_EFORBIDDEN,
                 NULL);
    struct app_actor noaccess = user("usr_noaccess");
    expect_error(f, app_environment_get(&out, FIXTURE_AS(f, &noaccess), f->e1.id), USHER_EFORBIDDEN,
                 NULL);
    assert_int_equal(app_environment_get(&out, FIXTURE_AS(f, &noaccess), f->e2.id), 0);
    struct app_actor outsider = user("usr_outsider");
    expect_error(f, app_environment_get(&out, FIXTURE_AS(f, &outsider), f->e1.id), USHER_ENOTFOUND,
                 NULL);
    expect_error(f, app_environment_get(&out, FIXTURE_AS(f, &outsider), "env_unknown"),
                 USHER_ENOTFOUND, NULL);
    struct app_actor adm = admin();
    assert_int_equal(app_environment_get(&out, FIXTURE_AS(f, &adm), f->eb.id), 0);
}

static void test_bot_create__needs_bot_develop_in_the_environment(void **state)
{
    struct fixture *f = *state;
    struct store_bot out;
    struct app_actor dev = user("usr_dev");
    assert_int_equal(app_bot_create(&out, FIXTURE_AS(f, &dev), f->e1.id, "  Support bot "), 0);
    assert_string_equal(out.name, "Support bot");
    assert_string_equal(out.environment_id, f->e1.id);
    assert_string_equal(out.agency_id, f->a.id);
    assert_false(out.is_shared);
    assert_int_equal(audit_count(f, "bot.created", "bot", out.id), 1);
    expect_error(f, app_bot_create(&out, FIXTURE_AS(f, &dev), f->e2.id, "No"), USHER_EFORBIDDEN,
                 NULL);
    /* bot_manager gives bot.develop on the one bot, not in its environment. */
    struct app_actor botmgr = user("usr_botmgr");
    expect_error(f, app_bot_create(&out, FIXTURE_AS(f, &botmgr), f->e1.id, "No"), USHER_EFORBIDDEN,
                 NULL);
    struct app_actor agent = user("usr_agent");
    expect_error(f, app_bot_create(&out, FIXTURE_AS(f, &agent), f->e1.id, "No"), USHER_EFORBIDDEN,
                 NULL);
    struct app_actor owner = user("usr_owner");
    expect_error(f, app_bot_create(&out, FIXTURE_AS(f, &owner), f->e1.id, ""), USHER_EINVAL,
                 "name");
    assert_int_equal(app_bot_create(&out, FIXTURE_AS(f, &owner), f->e3.id, "Yes"), 0);
    struct app_actor outsider = user("usr_outsider");
    expect_error(f, app_bot_create(&out, FIXTURE_AS(f, &outsider), f->e1.id, "No"), USHER_ENOTFOUND,
                 NULL);
    expect_error(f, app_bot_create(&out, FIXTURE_AS(f, &owner), "env_unknown", "No"),
                 USHER_ENOTFOUND, NULL);
}

static void test_bot_list__bot_managers_see_just_their_bots(void **state)
{
    struct fixture *f = *state;
    struct app_page page = {.limit = 50};
    struct app_bot_page list;

    struct app_actor agent = user("usr_agent");
    assert_int_equal(app_bot_list(&list, FIXTURE_AS(f, &agent), f->e1.id, &page), 0);
    assert_int_equal(list.count, 2);
    assert_string_equal(list.items[0].id, f->b1.id);
    assert_true(list.items[0].is_shared);
    assert_string_equal(list.items[1].id, f->b2.id);
    assert_false(list.items[1].is_shared);

    struct app_actor botmgr = user("usr_botmgr");
    assert_int_equal(app_bot_list(&list, FIXTURE_AS(f, &botmgr), f->e1.id, &page), 0);
    assert_int_equal(list.count, 1);
    assert_string_equal(list.items[0].id, f->b1.id);
    expect_error(f, app_bot_list(&list, FIXTURE_AS(f, &botmgr), f->e2.id, &page), USHER_EFORBIDDEN,
                 NULL);

    struct app_actor nothing = user("usr_nothing");
    expect_error(f, app_bot_list(&list, FIXTURE_AS(f, &nothing), f->e1.id, &page), USHER_EFORBIDDEN,
                 NULL);
    struct app_actor noaccess = user("usr_noaccess");
    expect_error(f, app_bot_list(&list, FIXTURE_AS(f, &noaccess), f->e1.id, &page),
                 USHER_EFORBIDDEN, NULL);
    struct app_actor outsider = user("usr_outsider");
    expect_error(f, app_bot_list(&list, FIXTURE_AS(f, &outsider), f->e1.id, &page), USHER_ENOTFOUND,
                 NULL);

    struct app_page one = {.limit = 1};
    struct app_actor adm = admin();
    assert_int_equal(app_bot_list(&list, FIXTURE_AS(f, &adm), f->e1.id, &one), 0);
    assert_int_equal(list.count, 1);
    assert_non_null(list.next_cursor);
    assert_int_equal(store_cursor_decode(&one.after, &f->arena, list.next_cursor, &f->err), 0);
    assert_int_equal(app_bot_list(&list, FIXTURE_AS(f, &adm), f->e1.id, &one), 0);
    assert_int_equal(list.count, 1);
    assert_string_equal(list.items[0].id, f->b2.id);
    assert_null(list.next_cursor);
}

static void test_bot_get__needs_bot_read_on_the_bot(void **state)
{
    struct fixture *f = *state;
    struct store_bot out;
    struct app_actor botmgr = user("usr_botmgr");
    assert_int_equal(app_bot_get(&out, FIXTURE_AS(f, &botmgr), f->b1.id), 0);
    assert_true(out.is_shared);
    expect_error(f, app_bot_get(&out, FIXTURE_AS(f, &botmgr), f->b2.id), USHER_EFORBIDDEN, NULL);
    struct app_actor agent = user("usr_agent");
    assert_int_equal(app_bot_get(&out, FIXTURE_AS(f, &agent), f->b3.id), 0);
    struct app_actor outsider = user("usr_outsider");
    expect_error(f, app_bot_get(&out, FIXTURE_AS(f, &outsider), f->b1.id), USHER_ENOTFOUND, NULL);
    assert_int_equal(app_bot_get(&out, FIXTURE_AS(f, &outsider), f->bb.id), 0);
    expect_error(f, app_bot_get(&out, FIXTURE_AS(f, &agent), "bot_unknown"), USHER_ENOTFOUND, NULL);
}

static void test_grants_load__maps_rows_to_decision_input(void **state)
{
    struct fixture *f = *state;
    struct store_conn *c = NULL;
    struct policy_decide_grants g;
    assert_int_equal(store_conn_get(f->app.store, &c, &f->err), 0);
    assert_int_equal(app_access_grants_load(&g, c, &f->arena, f->a.id, "usr_noaccess", &f->err), 0);
    assert_non_null(g.agency);
    assert_int_equal(g.agency->roles, POLICY_BIT(POLICY_ROLE_OPERATOR));
    assert_int_equal(g.environment_count, 1);
    assert_string_equal(g.environments[0].scope_id, f->e1.id);
    assert_int_equal(g.environments[0].roles | g.environments[0].extra, 0);
    assert_int_equal(app_access_grants_load(&g, c, &f->arena, f->a.id, "usr_botmgr", &f->err), 0);
    assert_null(g.agency);
    assert_int_equal(g.bot_count, 1);
    assert_string_equal(g.bots[0].scope_id, f->b1.id);
    assert_string_equal(g.bots[0].environment_id, f->e1.id);
    assert_int_equal(app_access_grants_load(&g, c, &f->arena, f->b.id, "usr_botmgr", &f->err), 0);
    assert_null(g.agency);
    assert_int_equal(g.environment_count + g.bot_count, 0);
    store_conn_put(c);
}

static void test_page_parse__limits_and_cursors(void **state)
{
    struct fixture *f = *state;
    struct app_page page;
    assert_int_equal(app_page_parse(&page, &f->arena, NULL, NULL, &f->err), 0);
    assert_int_equal(page.limit, 50);
    assert_false(page.after.is_set);
    assert_int_equal(app_page_parse(&page, &f->arena, "1", NULL, &f->err), 0);
    assert_int_equal(page.limit, 1);
    assert_int_equal(app_page_parse(&page, &f->arena, "200", NULL, &f->err), 0);
    assert_int_equal(page.limit, 200);
    const char *bad[] = {"0", "201", "", "-1", "abc", "1.5", "0050", " 5", "99999999999999999999"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        expect_error(f, app_page_parse(&page, &f->arena, bad[i], NULL, &f->err), USHER_EINVAL,
                     "limit");
    expect_error(f, app_page_parse(&page, &f->arena, "10", "not-a-cursor!", &f->err), USHER_EINVAL,
                 "cursor");
}

int main(void)
{
    unit_env_clear();
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_agency_create__needs_a_platform_admin),
        T(test_agency_create__trims_and_audits),
        T(test_agency_create__validates_the_name),
        T(test_agency_get__foreign_and_unknown_agencies_are_not_found),
        T(test_agency_get__members_without_grants_see_their_agency),
        T(test_agency_list__admins_see_all_members_their_own),
        T(test_environment_create__needs_environments_create_at_agency_scope),
        T(test_environment_list__shows_where_the_caller_has_access),
        T(test_environment_list__filtered_pages_are_full_and_complete),
        T(test_environment_get__forbidden_inside_not_found_outside),
        T(test_bot_create__needs_bot_develop_in_the_environment),
        T(test_bot_list__bot_managers_see_just_their_bots),
        T(test_bot_get__needs_bot_read_on_the_bot),
        T(test_grants_load__maps_rows_to_decision_input),
        T(test_page_parse__limits_and_cursors),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
