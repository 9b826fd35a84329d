/* The rules of the users overview and member management over a real SQLite store: who sees
 * whom and which of their grants, merging members with invited people, and who may change or
 * remove whom (ceiling, owners, the last owner, foreign agencies). */
#include "../unit.h"

#include "../fixture.h"

#include "app/app.h"
#include "app/members.h"
#include "app/tenancy.h"
#include "authz/authz.h"
#include "base/clock.h"
#include "config/config.h"
#include "store/store.h"

/* Agency A: environments E1 (bot B1) and E2. Agency B: environment EB. Users of A:
 *   usr_owner   Olive Owner, owner at A
 *   usr_org     Oscar Org, organisation_manager at A
 *   usr_em1     Emma Envman, environment_manager on E1
 *   usr_agent   Alan Agent, agent at A, analyst on E2 (overrides)
 *   usr_e2      Pat Producer, producer on E2
 *   usr_bm      Bea Botman, bot_manager on B1
 *   usr_e1only  Ian Only, agent on E1
 * usr_outsider owns B. Pending invitations of A: inv_p (Penny Pending, agent on E2) and inv_q
 * (Quinn Quest, analyst at A). */
struct fixture {
    char *dir;
    struct config cfg;
    struct app app;
    struct arena arena;
    struct usher_error err;
    struct store_agency a, b;
    struct store_environment e1, e2, eb;
    struct store_bot b1;
};

static struct app_actor as(const char *id)
{
    struct app_actor actor = {.user_id = id, .is_platform_admin = strcmp(id, "usr_admin") == 0};
    return actor;
}

/* Adds a pending invitation to agency A made now. */
static void invitation_add(struct fixture *f, struct fixture_invitation inv)
{
    inv.agency_id = f->a.id;
    inv.created_at = clock_now_ms();
    fixture_invitation_add(f->app.store, &inv);
}

static const char *const seeded[] = {"usr_owner", "usr_org", "usr_em1",    "usr_agent",
                                     "usr_e2",    "usr_bm",  "usr_e1only", "usr_outsider"};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    fixture_config_init(&f->cfg, &f->dir);
    fixture_app_open(&f->app, &f->cfg);
    arena_init(&f->arena);

    static const struct fixture_user admin = {
        .id = "usr_admin", .first_name = "Ada", .last_name = "Admin"};
    fixture_user_add_with(f->app.store, &admin);
    struct app_actor adm = as("usr_admin");
    assert_int_equal(app_agency_create(&f->a, FIXTURE_AS(f, &adm), "Agency A"), 0);
    assert_int_equal(app_agency_create(&f->b, FIXTURE_AS(f, &adm), "Agency B"), 0);
    assert_int_equal(app_environment_create(&f->e1, FIXTURE_AS(f, &adm), f->a.id, "E1"), 0);
    assert_int_equal(app_environment_create(&f->e2, FIXTURE_AS(f, &adm), f->a.id, "E2"), 0);
    assert_int_equal(app_environment_create(&f->eb, FIXTURE_AS(f, &adm), f->b.id, "EB"), 0);
    assert_int_equal(app_bot_create(&f->b1, FIXTURE_AS(f, &adm), f->e1.id, "B1"), 0);

    static const struct fixture_user people[] = {
        {.id = "usr_owner", .first_name = "Olive", .last_name = "Owner"},
        {.id = "usr_org", .first_name = "Oscar", .last_name = "Org"},
        {.id = "usr_em1", .first_name = "Emma", .last_name = "Envman"},
        {.id = "usr_agent", .first_name = "Alan", .last_name = "Agent"},
        {.id = "usr_e2", .first_name = "Pat", .last_name = "Producer"},
        {.id = "usr_bm", .first_name = "Bea", .last_name = "Botman"},
        {.id = "usr_e1only", .first_name = "Ian", .last_name = "Only"},
        {.id = "usr_outsider", .first_name = "Out", .last_name = "Sider"},
    };
    for (size_t i = 0; i < sizeof(people) / sizeof(people[0]); i++)
        fixture_user_add_with(f->app.store, &people[i]);
    fixture_grant_set(f->app.store, f->a.id, "usr_owner", NULL, "owner", NULL);
    fixture_grant_set(f->app.store, f->a.id, "usr_org", NULL, "organisation_manager", NULL);
    fixture_grant_set(f->app.store, f->a.id, "usr_em1", f->e1.id, "environment_manager", NULL);
    fixture_grant_set(f->app.store, f->a.id, "usr_agent", NULL, "agent", NULL);
    fixture_grant_set(f->app.store, f->a.id, "usr_agent", f->e2.id, "analyst", NULL);
    fixture_grant_set(f->app.store, f->a.id, "usr_e2", f->e2.id, "producer", NULL);
    fixture_grant_set(f->app.store, f->a.id, "usr_bm", f->b1.id, "bot_manager", NULL);
    fixture_grant_set(f->app.store, f->a.id, "usr_e1only", f->e1.id, "agent", NULL);
    fixture_grant_set(f->app.store, f->b.id, "usr_outsider", NULL, "owner", NULL);
    char grants[256];
    snprintf(grants, sizeof(grants), "[{\"environment_id\":\"%s\",\"roles\":[\"agent\"]}]",
             f->e2.id);
    invitation_add(f, (struct fixture_invitation){.id = "inv_p",
                                                  .email = "pending@example.com",
                                                  .first_name = "Penny",
                                                  .last_name = "Pending",
                                                  .grants = grants});
    invitation_add(f, (struct fixture_invitation){.id = "inv_q",
                                                  .email = "quest@example.com",
                                                  .first_name = "Quinn",
                                                  .last_name = "Quest",
                                                  .grants = "[{\"roles\":[\"analyst\"]}]"});

    /* Rows written behind the service's back reach the decision index like a change would. */
    struct store_conn *c = NULL;
    assert_int_equal(store_conn_get(f->app.store, &c, &f->err), 0);
    for (size_t i = 0; i < sizeof(seeded) / sizeof(seeded[0]); i++)
        app_grants_refresh(&f->app, c, seeded[i]);
    store_conn_put(c);
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

static void expect_error(struct fixture *f, int rc, int code, const char *problem,
                         const char *field)
{
    assert_int_equal(rc, code);
    assert_int_equal(f->err.code, code);
    if (problem)
        assert_string_equal(f->err.problem, problem);
    assert_string_equal(f->err.field, field ? field : "");
    usher_error_clear(&f->err);
}

/* The ids of every page of the overview as the actor sees it, joined by spaces. */
static const char *list_all(struct fixture *f, const char *who, struct app_member_query q)
{
    struct app_actor actor = as(who);
    char *out = arena_strdup(&f->arena, "");
    for (int guard = 0; guard < 100; guard++) {
        struct app_member_page page;
        usher_error_clear(&f->err);
        int rc = app_member_list(&page, FIXTURE_AS(f, &actor), f->a.id, &q);
        if (rc)
            fail_msg("list as %s: %s", who, f->err.message);
        for (size_t i = 0; i < page.count; i++)
            out = arena_printf(&f->arena, "%s%s%s", out, *out ? " " : "", page.items[i].person.id);
        if (!page.next_cursor)
            return out;
        assert_int_equal(page.count, q.limit ? q.limit : STORE_PAGE_LIMIT_DEFAULT);
        q.cursor = page.next_cursor;
    }
    fail_msg("paging did not end");
    return NULL;
}

static const struct app_member *find(const struct app_member_page *page, const char *id)
{
    for (size_t i = 0; i < page->count; i++) {
        if (strcmp(page->items[i].person.id, id) == 0)
            return &page->items[i];
    }
    return NULL;
}

static bool check(struct fixture *f, const char *user_id, const char *permission,
                  const struct store_environment *env)
{
    struct authz_question q = {user_id, permission, POLICY_SCOPE_ENVIRONMENT, env->id, NULL};
    struct authz_answer ans;
    authz_check(&ans, f->app.authz, &q, &f->arena);
    return ans.allowed;
}

static bool check_bot(struct fixture *f, const char *user_id, const char *permission,
                      const struct store_bot *bot)
{
    struct authz_question q = {user_id, permission, POLICY_SCOPE_BOT, bot->id, NULL};
    struct authz_answer ans;
    authz_check(&ans, f->app.authz, &q, &f->arena);
    return ans.allowed;
}

#define EVERYONE_BY_NAME "usr_agent usr_bm usr_em1 usr_e1only usr_owner usr_org usr_e2 inv_p inv_q"

static void test_member_list__merges_members_and_invited_people_on_every_page(void **state)
{
    struct fixture *f = *state;
    assert_string_equal(list_all(f, "usr_owner", (struct app_member_query){0}), EVERYONE_BY_NAME);
    for (size_t limit = 1; limit <= 10; limit++)
        assert_string_equal(list_all(f, "usr_org", (struct app_member_query){.limit = limit}),
                            EVERYONE_BY_NAME);
    assert_string_equal(
        list_all(f, "usr_admin", (struct app_member_query){.sort = "-name", .limit = 4}),
        "inv_q inv_p usr_e2 usr_org usr_owner usr_e1only usr_em1 usr_bm usr_agent");
    /* The invitations were made last. */
    const char *by_created =
        list_all(f, "usr_owner", (struct app_member_query){.sort = "-created", .limit = 2});
    assert_int_equal(strncmp(by_created, "inv_q inv_p ", 12), 0);

    struct app_member_page page;
    struct app_actor owner = as("usr_owner");
    struct app_member_query q = {0};
    assert_int_equal(app_member_list(&page, FIXTURE_AS(f, &owner), f->a.id, &q), 0);
    const struct app_member *inv = find(&page, "inv_q");
    assert_non_null(inv);
    assert_true(inv->person.is_invited);
    assert_string_equal(inv->person.status, "invited");
    assert_string_equal(inv->person.first_name, "Quinn");
    assert_int_equal(inv->grant_count, 1);
    assert_int_equal(inv->grants[0].scope, POLICY_SCOPE_AGENCY);
    assert_int_equal(inv->environment_count, 2); /* the agency grant ripples to E1 and E2 */
    const struct app_member *agent = find(&page, "usr_agent");
    assert_string_equal(agent->person.status, "active");
    assert_int_equal(agent->grant_count, 2);
    assert_int_equal(agent->grants[0].scope, POLICY_SCOPE_AGENCY);
    assert_int_equal(agent->environment_count, 2);
    const struct app_member *bm = find(&page, "usr_bm");
    assert_int_equal(bm->grant_count, 1);
    assert_int_equal(bm->environment_count, 1);
    assert_string_equal(bm->environments[0]->id, f->e1.id);
}

static void test_member_list__filters(void **state)
{
    struct fixture *f = *state;
    assert_string_equal(list_all(f, "usr_owner", (struct app_member_query){.role = "agent"}),
                        "usr_agent usr_e1only inv_p");
    assert_string_equal(list_all(f, "usr_owner", (struct app_member_query){.role = "analyst"}),
                        "usr_agent inv_q");
    assert_string_equal(
        list_all(f, "usr_owner", (struct app_member_query){.environment_id = f->e2.id}),
        "usr_agent usr_owner usr_org usr_e2 inv_p inv_q");
    assert_string_equal(
        list_all(f, "usr_owner", (struct app_member_query){.environment_id = f->e1.id, .limit = 2}),
        "usr_agent usr_bm usr_em1 usr_e1only usr_owner usr_org inv_q");
    assert_string_equal(list_all(f, "usr_owner", (struct app_member_query){.q = " PEN "}), "inv_p");
    assert_string_equal(list_all(f, "usr_owner", (struct app_member_query){.q = "alan a"}),
                        "usr_agent");

    struct app_actor owner = as("usr_owner");
    struct app_member_page page;
    struct app_member_query bad[] = {
        {.role = "wizard"}, {.environment_id = f->eb.id}, {.shortcode = "a b"},
        {.sort = "email"},  {.cursor = "nonsense"},
    };
    const char *fields[] = {"role", "environment_id", "shortcode", "sort", "cursor"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        expect_error(f, app_member_list(&page, FIXTURE_AS(f, &owner), f->a.id, &bad[i]),
                     USHER_EINVAL, NULL, fields[i]);
    /* A cursor of one order does not resume another. */
    struct app_member_query first = {.limit = 2};
    assert_int_equal(app_member_list(&page, FIXTURE_AS(f, &owner), f->a.id, &first), 0);
    struct app_member_query other = {.limit = 2, .sort = "created", .cursor = page.next_cursor};
    expect_error(f, app_member_list(&page, FIXTURE_AS(f, &owner), f->a.id, &other), USHER_EINVAL,
                 NULL, "cursor");
}

static void test_member_list__an_environment_manager_sees_only_their_environment(void **state)
{
    struct fixture *f = *state;
    /* Everyone with access to E1: not usr_e2 nor inv_p (E2 only). */
    assert_string_equal(list_all(f, "usr_em1", (struct app_member_query){.limit = 3}),
                        "usr_agent usr_bm usr_em1 usr_e1only usr_owner usr_org inv_q");
    struct app_actor em1 = as("usr_em1");
    struct app_member_page page;
    struct app_member_query q = {0};
    assert_int_equal(app_member_list(&page, FIXTURE_AS(f, &em1), f->a.id, &q), 0);
    const struct app_member *agent = find(&page, "usr_agent");
    /* The agent's grant on E2 and E2 itself stay hidden. */
    assert_int_equal(agent->grant_count, 1);
    assert_int_equal(agent->grants[0].scope, POLICY_SCOPE_AGENCY);
    assert_int_equal(agent->environment_count, 1);
    assert_string_equal(agent->environments[0]->id, f->e1.id);

    struct app_member_query e2 = {.environment_id = f->e2.id};
    expect_error(f, app_member_list(&page, FIXTURE_AS(f, &em1), f->a.id, &e2), USHER_EFORBIDDEN,
                 NULL, NULL);
    struct app_actor agent_actor = as("usr_agent");
    expect_error(f, app_member_list(&page, FIXTURE_AS(f, &agent_actor), f->a.id, &q),
                 USHER_EFORBIDDEN, NULL, NULL);
    struct app_actor outsider = as("usr_outsider");
    expect_error(f, app_member_list(&page, FIXTURE_AS(f, &outsider), f->a.id, &q), USHER_ENOTFOUND,
                 NULL, NULL);
    expect_error(f, app_member_list(&page, FIXTURE_AS(f, &em1), "agy_unknown", &q), USHER_ENOTFOUND,
                 NULL, NULL);
}

static const struct app_member_environment *env_of(const struct app_member_detail *d,
                                                   const struct store_environment *env)
{
    for (size_t i = 0; i < d->environment_count; i++) {
        if (strcmp(d->environments[i].environment->id, env->id) == 0)
            return &d->environments[i];
    }
    return NULL;
}

static void test_member_get__shows_inherited_and_overridden_access(void **state)
{
    struct fixture *f = *state;
    struct app_actor owner = as("usr_owner");
    struct app_member_detail d;
    assert_int_equal(app_member_get(&d, FIXTURE_AS(f, &owner), f->a.id, "usr_agent"), 0);
    const struct app_member_environment *e1 = env_of(&d, &f->e1), *e2 = env_of(&d, &f->e2);
    assert_int_equal(e1->access, APP_MEMBER_INHERITED);
    assert_true(e1->roles & POLICY_BIT(POLICY_ROLE_AGENT));
    assert_true(e1->permissions & POLICY_BIT(POLICY_PERM_INBOX_REPLY));
    assert_int_equal(e2->access, APP_MEMBER_OVERRIDDEN);
    assert_int_equal(e2->roles, POLICY_BIT(POLICY_ROLE_ANALYST));
    assert_false(e2->permissions & POLICY_BIT(POLICY_PERM_INBOX_REPLY));

    assert_int_equal(app_member_get(&d, FIXTURE_AS(f, &owner), f->a.id, "usr_e2"), 0);
    assert_int_equal(env_of(&d, &f->e1)->access, APP_MEMBER_NONE);
    assert_false(env_of(&d, &f->e1)->is_removed);
    /* A grant on E2 with no agency grant behind it replaces nothing: granted there. */
    assert_int_equal(env_of(&d, &f->e2)->access, APP_MEMBER_GRANTED);

    /* Out of sight, another agency's member, an unknown id: not found. */
    struct app_actor em1 = as("usr_em1");
    expect_error(f, app_member_get(&d, FIXTURE_AS(f, &em1), f->a.id, "usr_e2"), USHER_ENOTFOUND,
                 NULL, NULL);
    expect_error(f, app_member_get(&d, FIXTURE_AS(f, &owner), f->a.id, "usr_outsider"),
                 USHER_ENOTFOUND, NULL, NULL);
    expect_error(f, app_member_get(&d, FIXTURE_AS(f, &owner), f->a.id, "usr_none"), USHER_ENOTFOUND,
                 NULL, NULL);
    struct app_actor outsider = as("usr_outsider");
    expect_error(f, app_member_get(&d, FIXTURE_AS(f, &outsider), f->a.id, "usr_agent"),
                 USHER_ENOTFOUND, NULL, NULL);
    /* The environment manager sees the agent in E1 only. */
    assert_int_equal(app_member_get(&d, FIXTURE_AS(f, &em1), f->a.id, "usr_agent"), 0);
    assert_int_equal(d.environment_count, 1);
    assert_null(env_of(&d, &f->e2));
}

static void test_member_update__names_and_shortcode(void **state)
{
    struct fixture *f = *state;
    struct app_actor org = as("usr_org");
    struct app_actor agent = as("usr_agent");
    struct app_member_detail d;
    /* Names belong to the person: a manager sets the shortcode, not the names. */
    struct app_member_patch p = {true, "  Alan  ", true, "", true, "AL-1"};
    expect_error(f, app_member_update(&d, FIXTURE_AS(f, &org), f->a.id, "usr_agent", &p),
                 USHER_EFORBIDDEN, "names_belong_to_person", NULL);
    struct app_member_patch names = {true, "  Alan  ", true, "", false, NULL};
    assert_int_equal(app_member_update(&d, FIXTURE_AS(f, &agent), f->a.id, "usr_agent", &names), 0);
    struct app_member_patch code = {.has_shortcode = true, .shortcode = "AL-1"};
    assert_int_equal(app_member_update(&d, FIXTURE_AS(f, &org), f->a.id, "usr_agent", &code), 0);
    p = code; /* one row for the names, one for the shortcode */
    assert_string_equal(d.member.person.first_name, "Alan");
    assert_string_equal(d.member.person.last_name, "");
    assert_string_equal(d.member.person.shortcode, "AL-1");
    struct store_value audit[] = {store_text("usr_agent")};
    assert_int_equal(
        fixture_sql_int(f->app.store,
                        "SELECT count(*) FROM audit_log WHERE action = 'member.updated' "
                        "AND subject_user_id = $1",
                        audit, 1),
        2);
    /* The same values again change nothing and record nothing. */
    assert_int_equal(app_member_update(&d, FIXTURE_AS(f, &org), f->a.id, "usr_agent", &p), 0);
    assert_int_equal(
        fixture_sql_int(f->app.store,
                        "SELECT count(*) FROM audit_log WHERE action = 'member.updated' "
                        "AND subject_user_id = $1",
                        audit, 1),
        2);
    /* Unique per agency. */
    struct app_member_patch taken = {.has_shortcode = true, .shortcode = "AL-1"};
    expect_error(f, app_member_update(&d, FIXTURE_AS(f, &org), f->a.id, "usr_e2", &taken),
                 USHER_ECONFLICT, "shortcode_taken", "shortcode");
    /* A pending invitation keeps its shortcode for its invitee. */
    fixture_sql(f->app.store, "UPDATE invitations SET shortcode = 'PEN' WHERE id = 'inv_p'", NULL,
                0);
    struct app_member_patch pen = {.has_shortcode = true, .shortcode = "PEN"};
    expect_error(f, app_member_update(&d, FIXTURE_AS(f, &org), f->a.id, "usr_agent", &pen),
                 USHER_ECONFLICT, "shortcode_taken", "shortcode");
    struct app_member_patch cleared = {.has_shortcode = true, .shortcode = NULL};
    assert_int_equal(app_member_update(&d, FIXTURE_AS(f, &org), f->a.id, "usr_agent", &cleared), 0);
    assert_null(d.member.person.shortcode);
    assert_int_equal(app_member_update(&d, FIXTURE_AS(f, &org), f->a.id, "usr_e2", &taken), 0);

    char long_name[260];
    memset(long_name, 'x', 201);
    long_name[201] = '\0';
    struct app_member_patch bad[] = {
        {.has_shortcode = true, .shortcode = ""},
        {.has_shortcode = true, .shortcode = "has space"},
        {.has_shortcode = true, .shortcode = "x23456789012345678901234567890123"},
        {.has_first_name = true, .first_name = long_name},
        {.has_last_name = true, .last_name = "tab\tinside"},
    };
    const char *fields[] = {"shortcode", "shortcode", "shortcode", "first_name", "last_name"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        expect_error(f, app_member_update(&d, FIXTURE_AS(f, &agent), f->a.id, "usr_agent", &bad[i]),
                     USHER_EINVAL, NULL, fields[i]);
    /* A platform admin may correct a person's names. */
    struct app_actor adm = as("usr_admin");
    struct app_member_patch fix = {.has_first_name = true, .first_name = "Alan B"};
    assert_int_equal(app_member_update(&d, FIXTURE_AS(f, &adm), f->a.id, "usr_agent", &fix), 0);
    assert_string_equal(d.member.person.first_name, "Alan B");
}

static void test_member_update__needs_users_manage_where_the_member_is(void **state)
{
    struct fixture *f = *state;
    struct app_actor em1 = as("usr_em1");
    struct app_member_detail d;
    struct app_member_patch p = {.has_shortcode = true, .shortcode = "RN-1"};
    /* The agent's grants are at agency scope (and on E2): out of the E1 manager's reach. */
    expect_error(f, app_member_update(&d, FIXTURE_AS(f, &em1), f->a.id, "usr_agent", &p),
                 USHER_EFORBIDDEN, NULL, NULL);
    assert_int_equal(app_member_update(&d, FIXTURE_AS(f, &em1), f->a.id, "usr_e1only", &p), 0);
    assert_string_equal(d.member.person.shortcode, "RN-1");
    /* Only owners change owners. */
    struct app_actor org = as("usr_org");
    expect_error(f, app_member_update(&d, FIXTURE_AS(f, &org), f->a.id, "usr_owner", &p),
                 USHER_EFORBIDDEN, NULL, NULL);
    struct app_actor outsider = as("usr_outsider");
    expect_error(f, app_member_update(&d, FIXTURE_AS(f, &outsider), f->a.id, "usr_agent", &p),
                 USHER_ENOTFOUND, NULL, NULL);
}

static json_t *grants_json(const char *text)
{
    json_t *v = json_loads(text, 0, NULL);
    assert_non_null(v);
    return v;
}

static void test_member_grants_replace__writes_and_reaches_the_index(void **state)
{
    struct fixture *f = *state;
    struct app_actor owner = as("usr_owner");
    struct app_member_detail d;
    assert_true(check(f, "usr_agent", "inbox.reply", &f->e1));
    char text[256];
    snprintf(text, sizeof(text), "[{\"environment_id\":\"%s\",\"roles\":[\"producer\"]}]",
             f->e2.id);
    json_t *g = grants_json(text);
    assert_int_equal(
        app_member_grants_replace(&d, NULL, FIXTURE_AS(f, &owner), f->a.id, "usr_agent", g), 0);
    json_decref(g);
    assert_int_equal(d.member.grant_count, 1);
    assert_int_equal(env_of(&d, &f->e1)->access, APP_MEMBER_NONE);
    /* Only an environment grant is left: nothing to override. */
    assert_int_equal(env_of(&d, &f->e2)->access, APP_MEMBER_GRANTED);
    /* The very next check sees it. */
    assert_false(check(f, "usr_agent", "inbox.reply", &f->e1));
    assert_true(check(f, "usr_agent", "cms.write", &f->e2));
    struct store_value audit[] = {store_text("usr_agent")};
    assert_int_equal(fixture_sql_int(f->app.store,
                                     "SELECT count(*) FROM audit_log WHERE action = "
                                     "'member.grants_replaced' AND subject_user_id = $1",
                                     audit, 1),
                     1);

    json_t *empty = grants_json("[]");
    expect_error(
        f, app_member_grants_replace(&d, NULL, FIXTURE_AS(f, &owner), f->a.id, "usr_agent", empty),
        USHER_EINVAL, NULL, "grants");
    json_decref(empty);
    expect_error(
        f, app_member_grants_replace(&d, NULL, FIXTURE_AS(f, &owner), f->a.id, "usr_agent", NULL),
        USHER_EINVAL, NULL, "grants");
}

static void test_member_grants_replace__keeps_to_the_ceiling(void **state)
{
    struct fixture *f = *state;
    struct app_actor em1 = as("usr_em1");
    struct app_member_detail d;
    /* An environment manager cannot act at agency scope ... */
    json_t *org = grants_json("[{\"roles\":[\"organisation_manager\"]}]");
    expect_error(
        f, app_member_grants_replace(&d, NULL, FIXTURE_AS(f, &em1), f->a.id, "usr_e1only", org),
        USHER_EFORBIDDEN, "grant_ceiling", "grants[0]");
    json_decref(org);
    /* ... nor give on E1 an authority they do not hold there ... */
    char text[256];
    snprintf(text, sizeof(text),
             "[{\"environment_id\":\"%s\",\"roles\":[\"operator\"],"
             "\"extra_permissions\":[\"environments.create\"]}]",
             f->e1.id);
    json_t *op = grants_json(text);
    expect_error(
        f, app_member_grants_replace(&d, NULL, FIXTURE_AS(f, &em1), f->a.id, "usr_e1only", op),
        USHER_EFORBIDDEN, "grant_ceiling", "grants[0]");
    json_decref(op);
    /* ... while work they do not do themselves comes with managing people there ... */
    snprintf(text, sizeof(text),
             "[{\"environment_id\":\"%s\",\"roles\":[\"producer\",\"developer\"]}]", f->e1.id);
    json_t *work = grants_json(text);
    assert_int_equal(
        app_member_grants_replace(&d, NULL, FIXTURE_AS(f, &em1), f->a.id, "usr_e1only", work), 0);
    json_decref(work);
    assert_true(check(f, "usr_e1only", "cms.write", &f->e1));
    /* ... and nobody changes their own grants. */
    snprintf(text, sizeof(text),
             "[{\"environment_id\":\"%s\",\"roles\":[\"environment_manager\",\"operator\"]}]",
             f->e1.id);
    json_t *self = grants_json(text);
    expect_error(f,
                 app_member_grants_replace(&d, NULL, FIXTURE_AS(f, &em1), f->a.id, "usr_em1", self),
                 USHER_EFORBIDDEN, "own_grants", NULL);
    json_decref(self);
    /* ... nor strip grants at scopes they do not manage. */
    snprintf(text, sizeof(text),
             "[{\"environment_id\":\"%s\",\"roles\":[\"environment_manager\"]}]", f->e1.id);
    json_t *em = grants_json(text);
    expect_error(f,
                 app_member_grants_replace(&d, NULL, FIXTURE_AS(f, &em1), f->a.id, "usr_agent", em),
                 USHER_EFORBIDDEN, NULL, NULL);
    /* Within E1 it works. */
    assert_int_equal(
        app_member_grants_replace(&d, NULL, FIXTURE_AS(f, &em1), f->a.id, "usr_e1only", em), 0);
    json_decref(em);
    assert_true(check(f, "usr_e1only", "users.manage", &f->e1));
    /* Bad input names the field. */
    json_t *bad = grants_json("[{\"roles\":[\"wizard\"]}]");
    expect_error(
        f, app_member_grants_replace(&d, NULL, FIXTURE_AS(f, &em1), f->a.id, "usr_e1only", bad),
        USHER_EINVAL, "unknown_role", "grants[0].roles[0]");
    json_decref(bad);
}

static void test_member_grants_replace__protects_owners(void **state)
{
    struct fixture *f = *state;
    struct app_member_detail d;
    json_t *agent = grants_json("[{\"roles\":[\"agent\"]}]");
    struct app_actor org = as("usr_org");
    expect_error(
        f, app_member_grants_replace(&d, NULL, FIXTURE_AS(f, &org), f->a.id, "usr_owner", agent),
        USHER_EFORBIDDEN, NULL, NULL);
    struct app_actor owner = as("usr_owner");
    struct app_actor adm = as("usr_admin");
    expect_error(
        f, app_member_grants_replace(&d, NULL, FIXTURE_AS(f, &owner), f->a.id, "usr_owner", agent),
        USHER_EFORBIDDEN, "own_grants", NULL);
    expect_error(
        f, app_member_grants_replace(&d, NULL, FIXTURE_AS(f, &adm), f->a.id, "usr_owner", agent),
        USHER_ECONFLICT, "last_owner", NULL);
    /* Only an owner makes an owner; with a second owner, the first may be stepped down. */
    json_t *own = grants_json("[{\"roles\":[\"owner\"]}]");
    struct app_actor e1only = as("usr_em1");
    expect_error(
        f, app_member_grants_replace(&d, NULL, FIXTURE_AS(f, &org), f->a.id, "usr_e1only", own),
        USHER_EFORBIDDEN, "grant_ceiling", "grants[0]");
    (void)e1only;
    assert_int_equal(
        app_member_grants_replace(&d, NULL, FIXTURE_AS(f, &owner), f->a.id, "usr_org", own), 0);
    struct app_actor org_now_owner = as("usr_org");
    assert_int_equal(app_member_grants_replace(&d, NULL, FIXTURE_AS(f, &org_now_owner), f->a.id,
                                               "usr_owner", agent),
                     0);
    json_decref(own);
    json_decref(agent);
}

static void test_member_environment_remove__stops_the_ripple(void **state)
{
    struct fixture *f = *state;
    struct app_actor em1 = as("usr_em1");
    struct app_actor owner = as("usr_owner");
    struct app_member_detail d;
    /* The agent's agency grant ripples into E1 until removed from it. */
    struct app_actor producer = as("usr_e2");
    expect_error(f, app_member_environment_remove(FIXTURE_AS(f, &producer), f->e1.id, "usr_agent"),
                 USHER_EFORBIDDEN, NULL, NULL);
    assert_int_equal(app_member_environment_remove(FIXTURE_AS(f, &em1), f->e1.id, "usr_agent"), 0);
    assert_false(check(f, "usr_agent", "inbox.reply", &f->e1));
    assert_true(check(f, "usr_agent", "analytics.read", &f->e2));
    assert_int_equal(app_member_get(&d, FIXTURE_AS(f, &owner), f->a.id, "usr_agent"), 0);
    assert_int_equal(env_of(&d, &f->e1)->access, APP_MEMBER_NONE);
    assert_true(env_of(&d, &f->e1)->is_removed);
    /* Bot grants in the environment go too; a second removal changes nothing. */
    assert_true(check_bot(f, "usr_bm", "bot.develop", &f->b1));
    assert_int_equal(app_member_environment_remove(FIXTURE_AS(f, &em1), f->e1.id, "usr_bm"), 0);
    assert_int_equal(app_member_environment_remove(FIXTURE_AS(f, &em1), f->e1.id, "usr_bm"), 0);
    struct store_value p[] = {store_text("usr_bm")};
    assert_false(check_bot(f, "usr_bm", "bot.develop", &f->b1));
    assert_int_equal(
        fixture_sql_int(f->app.store,
                        "SELECT count(*) FROM grants WHERE user_id = $1 AND bot_id IS NOT NULL", p,
                        1),
        0);
    assert_int_equal(
        fixture_sql_int(f->app.store,
                        "SELECT count(*) FROM audit_log WHERE subject_user_id = $1 AND "
                        "action = 'member.removed_from_environment'",
                        p, 1),
        1);
    /* The agent, no longer in E1, is out of the E1 manager's sight. */
    expect_error(f, app_member_environment_remove(FIXTURE_AS(f, &em1), f->e2.id, "usr_agent"),
                 USHER_ENOTFOUND, NULL, NULL);
    /* Out of reach: E2 for the E1 manager, owners for non-owners, other agencies. */
    expect_error(f, app_member_environment_remove(FIXTURE_AS(f, &em1), f->e2.id, "usr_e1only"),
                 USHER_EFORBIDDEN, NULL, NULL);
    expect_error(f, app_member_environment_remove(FIXTURE_AS(f, &em1), f->e1.id, "usr_owner"),
                 USHER_EFORBIDDEN, NULL, NULL);
    struct app_actor outsider = as("usr_outsider");
    expect_error(f, app_member_environment_remove(FIXTURE_AS(f, &outsider), f->e1.id, "usr_e1only"),
                 USHER_ENOTFOUND, NULL, NULL);
    expect_error(f, app_member_environment_remove(FIXTURE_AS(f, &owner), f->eb.id, "usr_outsider"),
                 USHER_ENOTFOUND, NULL, NULL);
    expect_error(f, app_member_environment_remove(FIXTURE_AS(f, &owner), f->e1.id, "usr_outsider"),
                 USHER_ENOTFOUND, NULL, NULL);
    assert_true(check(f, "usr_e1only", "inbox.reply", &f->e1));
}

static void test_member_remove__rules(void **state)
{
    struct fixture *f = *state;
    struct app_actor owner = as("usr_owner");
    struct app_actor org = as("usr_org");
    struct app_member_detail d;
    /* Nobody removes the last owner, not even the owner; non-owners never remove owners. */
    expect_error(f, app_member_remove(FIXTURE_AS(f, &owner), f->a.id, "usr_owner"), USHER_ECONFLICT,
                 "last_owner", NULL);
    expect_error(f, app_member_remove(FIXTURE_AS(f, &org), f->a.id, "usr_owner"), USHER_EFORBIDDEN,
                 NULL, NULL);
    struct app_actor adm = as("usr_admin");
    expect_error(f, app_member_remove(FIXTURE_AS(f, &adm), f->a.id, "usr_owner"), USHER_ECONFLICT,
                 "last_owner", NULL);
    /* Another agency's member or an outsider's attempt: not found, nothing changes. */
    expect_error(f, app_member_remove(FIXTURE_AS(f, &owner), f->a.id, "usr_outsider"),
                 USHER_ENOTFOUND, NULL, NULL);
    struct app_actor outsider = as("usr_outsider");
    expect_error(f, app_member_remove(FIXTURE_AS(f, &outsider), f->a.id, "usr_agent"),
                 USHER_ENOTFOUND, NULL, NULL);
    struct app_actor em1 = as("usr_em1");
    expect_error(f, app_member_remove(FIXTURE_AS(f, &em1), f->a.id, "usr_agent"), USHER_EFORBIDDEN,
                 NULL, NULL);
    assert_true(check(f, "usr_agent", "inbox.reply", &f->e1));

    /* An invitation to the removed person is revoked with the membership. */
    invitation_add(f, (struct fixture_invitation){.id = "inv_agent",
                                                  .email = "agent@example.com",
                                                  .first_name = "Alan",
                                                  .last_name = "Agent",
                                                  .grants = "[{\"roles\":[\"agent\"]}]"});
    assert_int_equal(app_member_remove(FIXTURE_AS(f, &org), f->a.id, "usr_agent"), 0);
    assert_false(check(f, "usr_agent", "inbox.reply", &f->e1));
    expect_error(f, app_member_get(&d, FIXTURE_AS(f, &owner), f->a.id, "usr_agent"),
                 USHER_ENOTFOUND, NULL, NULL);
    struct store_value p[] = {store_text("inv_agent")};
    assert_int_equal(
        fixture_sql_int(f->app.store,
                        "SELECT count(*) FROM invitations WHERE id = $1 AND status = 'revoked'", p,
                        1),
        1);
    struct store_value s[] = {store_text("usr_agent")};
    assert_int_equal(
        fixture_sql_int(f->app.store, "SELECT count(*) FROM grants WHERE user_id = $1", s, 1), 0);
    assert_int_equal(
        fixture_sql_int(f->app.store,
                        "SELECT count(*) FROM audit_log WHERE subject_user_id = $1 AND "
                        "action = 'member.removed'",
                        s, 1),
        1);

    /* Anyone may leave. */
    struct app_actor e2 = as("usr_e2");
    assert_int_equal(app_member_remove(FIXTURE_AS(f, &e2), f->a.id, "usr_e2"), 0);
    struct app_member_page page;
    struct app_member_query q = {0};
    expect_error(f, app_member_list(&page, FIXTURE_AS(f, &e2), f->a.id, &q), USHER_ENOTFOUND, NULL,
                 NULL);
    assert_string_equal(list_all(f, "usr_owner", (struct app_member_query){0}),
                        "usr_bm usr_em1 usr_e1only usr_owner usr_org inv_p inv_q");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_member_list__merges_members_and_invited_people_on_every_page, setup, teardown),
        cmocka_unit_test_setup_teardown(test_member_list__filters, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_member_list__an_environment_manager_sees_only_their_environment, setup, teardown),
        cmocka_unit_test_setup_teardown(test_member_get__shows_inherited_and_overridden_access,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_member_update__names_and_shortcode, setup, teardown),
        cmocka_unit_test_setup_teardown(test_member_update__needs_users_manage_where_the_member_is,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_member_grants_replace__writes_and_reaches_the_index,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_member_grants_replace__keeps_to_the_ceiling, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_member_grants_replace__protects_owners, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_member_environment_remove__stops_the_ripple, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_member_remove__rules, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
