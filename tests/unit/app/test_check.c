/* The decision API's rules over a real SQLite store and the decision index: parsing questions
 * and batches (errors name the field), who may ask what, agency-token limits, explanations,
 * effective permissions with their source, and notification recipients (rule 3 in docs/rules.md).
 */
#include "../unit.h"

#include "../fixture.h"

#include "app/app.h"
#include "policy/catalogue.h"
#include "app/check.h"
#include "app/tenancy.h"
#include "authz/authz.h"
#include "config/config.h"
#include "store/store.h"

/* Agency A: E1 (bots B1, B2) and E2 (bot B3). Agency B: EB. Users:
 *   admin       platform admin
 *   agent       agent at A (agency level: not a notification recipient)
 *   envagent    agent on E1
 *   envop       operator and content_manager on E1
 *   disabled    operator on E1, account disabled
 *   dev         developer on E1
 *   mixed       operator at A, "no access" on E1
 *   reader      environment_manager on E2 only
 *   botmgr      bot_manager on B1
 *   custom      a custom role on E1 holding inbox.notify (not agent or operator)
 *   bee         owner at B */
struct fixture {
    char *dir;
    struct config cfg;
    struct app app;
    struct arena arena;
    struct usher_error err;
};

#define A  "agy_a"
#define B  "agy_b"
#define E1 "env_1"
#define E2 "env_2"
#define EB "env_b"
#define B1 "bot_1"
#define B2 "bot_2"
#define B3 "bot_3"

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    fixture_config_init(&f->cfg, &f->dir);
    fixture_app_open(&f->app, &f->cfg);
    arena_init(&f->arena);
    struct store *s = f->app.store;
    fixture_agency_add(s, A, "A");
    fixture_agency_add(s, B, "B");
    fixture_environment_add(s, E1, A, "E1");
    fixture_environment_add(s, E2, A, "E2");
    fixture_environment_add(s, EB, B, "EB");
    fixture_bot_add(s, B1, E1, "B1");
    fixture_bot_add(s, B2, E1, "B2");
    fixture_bot_add(s, B3, E2, "B3");
    fixture_sql(s,
                "INSERT INTO custom_roles (id, agency_id, name, permissions, created_at) VALUES "
                "('crl_notified', 'agy_a', 'notified', 'inbox.notify,cms.read', 1)",
                NULL, 0);
    static const char *const users[] = {"usr_agent",  "usr_envagent", "usr_envop",
                                        "usr_dev",    "usr_mixed",    "usr_reader",
                                        "usr_botmgr", "usr_custom",   "usr_bee"};
    for (size_t i = 0; i < sizeof(users) / sizeof(users[0]); i++) {
        struct fixture_user u = {.id = users[i],
                                 .first_name = "First",
                                 .last_name = "Last",
                                 .created_at = (int64_t)(10 + i)};
        fixture_user_add_with(s, &u);
    }
    struct fixture_user admin = {
        .id = "usr_admin", .first_name = "First", .last_name = "Last", .is_platform_admin = true};
    fixture_user_add_with(s, &admin);
    struct fixture_user disabled = {.id = "usr_disabled",
                                    .first_name = "First",
                                    .last_name = "Last",
                                    .status = "disabled",
                                    .created_at = 5};
    fixture_user_add_with(s, &disabled);
    fixture_grant_set(s, A, "usr_agent", NULL, "agent", NULL);
    fixture_grant_set(s, A, "usr_envagent", E1, "agent", NULL);
    fixture_grant_set(s, A, "usr_envop", E1, "content_manager,operator", NULL);
    fixture_grant_set(s, A, "usr_disabled", E1, "operator", NULL);
    fixture_grant_set(s, A, "usr_dev", E1, "developer", NULL);
    fixture_grant_set(s, A, "usr_mixed", NULL, "operator", NULL);
    fixture_grant_set(s, A, "usr_mixed", E1, "", NULL);
    fixture_grant_set(s, A, "usr_reader", E2, "environment_manager", NULL);
    fixture_grant_set(s, A, "usr_botmgr", B1, "bot_manager", NULL);
    fixture_grant_set(s, A, "usr_custom", E1, "crl_notified", NULL);
    fixture_grant_set(s, B, "usr_bee", NULL, "owner", NULL);
    assert_int_equal(authz_index_load(f->app.authz, f->app.store, &f->err), 0);
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

static json_t *parse_json(const char *text)
{
    json_error_t jerr;
    json_t *v = json_loads(text, JSON_ALLOW_NUL, &jerr);
    if (!v)
        fail_msg("bad test JSON %s: %s", text, jerr.text);
    return v;
}

/* Parses one question; returns rc with the error slot filled. */
static int parse_one(struct fixture *f, struct app_check_question *q, const char *text)
{
    json_t *v = parse_json(text);
    int rc = app_check_question_parse(q, v, NULL, &f->arena, &f->err);
    json_decref(v);
    return rc;
}

static void test_question_parse__reads_each_scope_kind(void **state)
{
    struct fixture *f = *state;
    struct app_check_question q;
    /* The strings are borrowed from the JSON, so each is checked before it is released. */
    json_t *v = parse_json("{\"user_id\":\"u\",\"permission\":\"bot.read\",\"bot_id\":\"b\"}");
    assert_int_equal(app_check_question_parse(&q, v, NULL, &f->arena, &f->err), 0);
    assert_string_equal(q.user_id, "u");
    assert_string_equal(q.permission, "bot.read");
    assert_int_equal(q.scope, POLICY_SCOPE_BOT);
    assert_string_equal(q.scope_id, "b");
    json_decref(v);
    v = parse_json("{\"user_id\":\"u\",\"permission\":\"p\",\"environment_id\":\"e\","
                   "\"agency_id\":null}");
    assert_int_equal(app_check_question_parse(&q, v, NULL, &f->arena, &f->err), 0);
    assert_int_equal(q.scope, POLICY_SCOPE_ENVIRONMENT);
    assert_string_equal(q.scope_id, "e");
    json_decref(v);
    v = parse_json("{\"agency_id\":\"a\",\"permission\":\"no.such\",\"user_id\":\"u\"}");
    assert_int_equal(app_check_question_parse(&q, v, NULL, &f->arena, &f->err), 0);
    assert_int_equal(q.scope, POLICY_SCOPE_AGENCY);
    assert_string_equal(q.scope_id, "a");
    json_decref(v);
}

static void test_question_parse__names_the_bad_field(void **state)
{
    struct fixture *f = *state;
    struct app_check_question q;
    const struct {
        const char *body;
        const char *field;
    } cases[] = {
        {"{\"permission\":\"p\",\"agency_id\":\"a\"}", "user_id"},
        {"{\"user_id\":null,\"permission\":\"p\",\"agency_id\":\"a\"}", "user_id"},
        {"{\"user_id\":\"\",\"permission\":\"p\",\"agency_id\":\"a\"}", "user_id"},
        {"{\"user_id\":7,\"permission\":\"p\",\"agency_id\":\"a\"}", "user_id"},
        {"{\"user_id\":[\"u\"],\"permission\":\"p\",\"agency_id\":\"a\"}", "user_id"},
        {"{\"user_id\":\"u\",\"agency_id\":\"a\"}", "permission"},
        {"{\"user_id\":\"u\",\"permission\":true,\"agency_id\":\"a\"}", "permission"},
        {"{\"user_id\":\"u\",\"permission\":\"p\"}", "environment_id"},
        {"{\"user_id\":\"u\",\"permission\":\"p\",\"environment_id\":\"e\",\"bot_id\":\"b\"}",
         "bot_id"},
        {"{\"user_id\":\"u\",\"permission\":\"p\",\"environment_id\":\"e\",\"agency_id\":\"a\"}",
         "agency_id"},
        {"{\"user_id\":\"u\",\"permission\":\"p\",\"bot_id\":\"b\",\"agency_id\":\"a\"}",
         "agency_id"},
        {"{\"user_id\":\"u\",\"permission\":\"p\",\"bot_id\":{}}", "bot_id"},
        {"{\"user_id\":\"u\",\"permission\":\"p\",\"agency_id\":\"a\",\"role\":\"owner\"}", "role"},
        {"{\"user_id\":\"u\",\"permission\":\"p\",\"agency_id\":\"a\",\"is_admin\":true}",
         "is_admin"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int rc = parse_one(f, &q, cases[i].body);
        if (rc != USHER_EINVAL || strcmp(f->err.field, cases[i].field) != 0)
            fail_msg("%s: expected a 400 naming %s, got %d naming \"%s\"", cases[i].body,
                     cases[i].field, rc, f->err.field);
        usher_error_clear(&f->err);
    }
    /* Ids and names are capped. */
    char *long_id = arena_alloc(&f->arena, APP_CHECK_ID_MAX + 2);
    memset(long_id, 'u', APP_CHECK_ID_MAX + 1);
    long_id[APP_CHECK_ID_MAX + 1] = '\0';
    char *body = arena_printf(&f->arena,
                              "{\"user_id\":\"%s\",\"permission\":\"p\",\"agency_id\":"
                              "\"a\"}",
                              long_id);
    expect_error(f, parse_one(f, &q, body), USHER_EINVAL, "user_id");
    long_id[APP_CHECK_ID_MAX] = '\0';
    body = arena_printf(&f->arena, "{\"user_id\":\"%s\",\"permission\":\"p\",\"agency_id\":\"a\"}",
                        long_id);
    assert_int_equal(parse_one(f, &q, body), 0);
    expect_error(f,
                 parse_one(f, &q,
                           "{\"user_id\":\"u\\u0000v\",\"permission\":\"p\","
                           "\"agency_id\":\"a\"}"),
                 USHER_EINVAL, "user_id");
}

/* Parses a batch body's checks member; returns rc. */
static int parse_batch(struct fixture *f, const char *text, size_t *count)
{
    json_t *v = parse_json(text);
    struct app_check_question *qs;
    int rc = app_check_batch_parse(&qs, count, json_object_get(v, "checks"), &f->arena, &f->err);
    json_decref(v);
    return rc;
}

static char *batch_of(struct arena *a, size_t n)
{
    size_t cap = 32 + n * 64;
    char *out = arena_alloc(a, cap);
    size_t len = (size_t)snprintf(out, cap, "{\"checks\":[");
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(out + len, cap - len,
                                "%s{\"user_id\":\"u%zu\",\"permission\":\"p\",\"bot_id\":\"b\"}",
                                i ? "," : "", i);
    snprintf(out + len, cap - len, "]}");
    return out;
}

static void test_batch_parse__takes_1_to_1000_and_names_the_item(void **state)
{
    struct fixture *f = *state;
    size_t count = 0;
    assert_int_equal(parse_batch(f, batch_of(&f->arena, 1), &count), 0);
    assert_int_equal(count, 1);
    assert_int_equal(parse_batch(f, batch_of(&f->arena, APP_CHECK_BATCH_MAX), &count), 0);
    assert_int_equal(count, APP_CHECK_BATCH_MAX);
    expect_error(f, parse_batch(f, batch_of(&f->arena, APP_CHECK_BATCH_MAX + 1), &count),
                 USHER_EINVAL, "checks");
    expect_error(f, parse_batch(f, "{\"checks\":[]}", &count), USHER_EINVAL, "checks");
    expect_error(f, parse_batch(f, "{}", &count), USHER_EINVAL, "checks");
    expect_error(f, parse_batch(f, "{\"checks\":{}}", &count), USHER_EINVAL, "checks");
    expect_error(f, parse_batch(f, "{\"checks\":\"all\"}", &count), USHER_EINVAL, "checks");
    expect_error(f,
                 parse_batch(f,
                             "{\"checks\":[{\"user_id\":\"u\",\"permission\":\"p\","
                             "\"agency_id\":\"a\"}, 5]}",
                             &count),
                 USHER_EINVAL, "checks[1]");
    expect_error(f,
                 parse_batch(f,
                             "{\"checks\":[{\"user_id\":\"u\",\"permission\":\"p\","
                             "\"agency_id\":\"a\"},{\"user_id\":\"u\",\"agency_id\":\"a\"}]}",
                             &count),
                 USHER_EINVAL, "checks[1].permission");
    expect_error(f,
                 parse_batch(f,
                             "{\"checks\":[{\"user_id\":\"u\",\"permission\":\"p\","
                             "\"agency_id\":\"a\",\"extra\":1}]}",
                             &count),
                 USHER_EINVAL, "checks[0].extra");
    expect_error(f,
                 parse_batch(f,
                             "{\"checks\":[{\"user_id\":\"u\",\"permission\":\"p\"},"
                             "{\"user_id\":\"u\",\"permission\":\"p\",\"bot_id\":\"b\"}]}",
                             &count),
                 USHER_EINVAL, "checks[0].environment_id");
}

static void test_may_ask__users_ask_only_about_themselves(void **state)
{
    struct fixture *f = *state;
    struct app_check_question q = {"usr_agent", "inbox.reply", POLICY_SCOPE_AGENCY, A};
    struct app_check_caller self = {.user_id = "usr_agent"};
    struct app_check_caller other = {.user_id = "usr_dev"};
    struct app_check_caller admin = {.user_id = "usr_admin", .is_platform_admin = true};
    struct app_check_caller token = {.is_service = true, .token_agency_id = B};
    assert_int_equal(app_check_may_ask(&self, &q, "user_id", &f->err), 0);
    assert_int_equal(app_check_may_ask(&admin, &q, "user_id", &f->err), 0);
    assert_int_equal(app_check_may_ask(&token, &q, "user_id", &f->err), 0);
    expect_error(f, app_check_may_ask(&other, &q, "checks[4].user_id", &f->err), USHER_EFORBIDDEN,
                 "checks[4].user_id");
    struct app_check_caller nobody = {0};
    expect_error(f, app_check_may_ask(&nobody, &q, "user_id", &f->err), USHER_EFORBIDDEN,
                 "user_id");
}

static struct app_check_answer ask(struct fixture *f, const struct app_check_caller *caller,
                                   const char *user, const char *perm, enum policy_scope scope,
                                   const char *id)
{
    struct app_check_question q = {user, perm, scope, id};
    struct app_check_answer ans;
    app_check_answer(&ans, &f->app, caller, &q, &f->arena);
    return ans;
}

static void test_answer__agency_tokens_see_only_their_agency(void **state)
{
    struct fixture *f = *state;
    struct app_check_caller token_a = {.is_service = true, .token_agency_id = A};
    struct app_check_caller token_b = {.is_service = true, .token_agency_id = B};
    struct app_check_caller platform = {.is_service = true};
    struct app_check_answer ans =
        ask(f, &token_a, "usr_agent", "inbox.reply", POLICY_SCOPE_ENVIRONMENT, E2);
    assert_true(ans.allowed);
    assert_string_equal(ans.source, "agency");
    ans = ask(f, &token_b, "usr_agent", "inbox.reply", POLICY_SCOPE_ENVIRONMENT, E2);
    assert_false(ans.allowed);
    assert_string_equal(ans.source, "none");
    assert_int_equal(ans.role_count, 0);
    /* As unknown: no roles leak, even for an unknown permission. */
    ans = ask(f, &token_b, "usr_agent", "inbox.fly", POLICY_SCOPE_AGENCY, A);
    assert_false(ans.allowed);
    assert_int_equal(ans.role_count, 0);
    ans = ask(f, &token_b, "usr_admin", "inbox.reply", POLICY_SCOPE_AGENCY, A);
    assert_false(ans.allowed);
    ans = ask(f, &platform, "usr_agent", "inbox.reply", POLICY_SCOPE_BOT, B3);
    assert_true(ans.allowed);
    ans = ask(f, &platform, "usr_bee", "agency.manage", POLICY_SCOPE_AGENCY, B);
    assert_true(ans.allowed);
    ans = ask(f, &token_b, "usr_bee", "agency.manage", POLICY_SCOPE_AGENCY, B);
    assert_true(ans.allowed);
}

static void test_answer__explains_source_and_roles(void **state)
{
    struct fixture *f = *state;
    struct app_check_caller platform = {.is_service = true};
    struct app_check_answer ans =
        ask(f, &platform, "usr_admin", "agency.manage", POLICY_SCOPE_AGENCY, B);
    assert_true(ans.allowed);
    assert_string_equal(ans.source, "platform_admin");
    ans = ask(f, &platform, "usr_admin", "agency.manage", POLICY_SCOPE_AGENCY, "agy_nope");
    assert_false(ans.allowed);
    ans = ask(f, &platform, "usr_botmgr", "bot.develop", POLICY_SCOPE_BOT, B1);
    assert_true(ans.allowed);
    assert_string_equal(ans.source, "bot");
    assert_int_equal(ans.role_count, 1);
    assert_string_equal(ans.roles[0], "bot_manager");
    ans = ask(f, &platform, "usr_envop", "cms.write", POLICY_SCOPE_BOT, B2);
    assert_true(ans.allowed);
    assert_string_equal(ans.source, "environment");
    assert_int_equal(ans.role_count, 2);
    assert_string_equal(ans.roles[0], "operator");
    assert_string_equal(ans.roles[1], "content_manager");
    ans = ask(f, &platform, "usr_mixed", "inbox.reply", POLICY_SCOPE_ENVIRONMENT, E1);
    assert_false(ans.allowed);
    assert_string_equal(ans.source, "none");
    assert_int_equal(ans.role_count, 0);
    /* Denied, but the roles in force are still shown. */
    ans = ask(f, &platform, "usr_agent", "cms.read", POLICY_SCOPE_AGENCY, A);
    assert_false(ans.allowed);
    assert_int_equal(ans.role_count, 1);
    assert_string_equal(ans.roles[0], "agent");
    ans = ask(f, &platform, "usr_agent", "inbox.fly", POLICY_SCOPE_AGENCY, A);
    assert_false(ans.allowed);
    assert_int_equal(ans.role_count, 1);
    assert_string_equal(ans.roles[0], "agent");
    /* Disabled users and unknown users hold nothing. */
    ans = ask(f, &platform, "usr_disabled", "inbox.reply", POLICY_SCOPE_ENVIRONMENT, E1);
    assert_false(ans.allowed);
    assert_int_equal(ans.role_count, 0);
    ans = ask(f, &platform, "usr_nobody", "inbox.reply", POLICY_SCOPE_ENVIRONMENT, E1);
    assert_false(ans.allowed);
}

static int effective(struct fixture *f, struct app_effective *out,
                     const struct app_check_caller *caller, const char *user,
                     enum policy_scope scope, const char *id)
{
    return app_check_effective(out, FIXTURE_AS(f, NULL), caller, user, scope, id);
}

static void test_effective__tells_where_access_comes_from(void **state)
{
    struct fixture *f = *state;
    struct app_check_caller admin = {.user_id = "usr_admin", .is_platform_admin = true};
    struct app_effective eff;
    assert_int_equal(effective(f, &eff, &admin, "usr_agent", POLICY_SCOPE_ENVIRONMENT, E1), 0);
    assert_int_equal(eff.roles, POLICY_BIT(POLICY_ROLE_AGENT));
    assert_int_equal(eff.permissions, policy_catalogue_role_at(POLICY_ROLE_AGENT)->permissions);
    assert_string_equal(eff.source, "agency");
    assert_true(eff.is_inherited);
    assert_int_equal(effective(f, &eff, &admin, "usr_agent", POLICY_SCOPE_AGENCY, A), 0);
    assert_string_equal(eff.source, "agency");
    assert_false(eff.is_inherited);
    /* The "no access" override. */
    assert_int_equal(effective(f, &eff, &admin, "usr_mixed", POLICY_SCOPE_ENVIRONMENT, E1), 0);
    assert_int_equal(eff.roles, 0);
    assert_int_equal(eff.permissions, 0);
    assert_string_equal(eff.source, "environment");
    assert_false(eff.is_inherited);
    assert_int_equal(effective(f, &eff, &admin, "usr_mixed", POLICY_SCOPE_ENVIRONMENT, E2), 0);
    assert_int_equal(eff.roles, POLICY_BIT(POLICY_ROLE_OPERATOR));
    assert_true(eff.is_inherited);
    assert_int_equal(effective(f, &eff, &admin, "usr_botmgr", POLICY_SCOPE_BOT, B1), 0);
    assert_int_equal(eff.roles, POLICY_BIT(POLICY_ROLE_BOT_MANAGER));
    assert_string_equal(eff.source, "bot");
    assert_false(eff.is_inherited);
    assert_int_equal(effective(f, &eff, &admin, "usr_botmgr", POLICY_SCOPE_BOT, B2), 0);
    assert_string_equal(eff.source, "none");
    assert_int_equal(eff.permissions, 0);
    assert_int_equal(effective(f, &eff, &admin, "usr_agent", POLICY_SCOPE_BOT, B1), 0);
    assert_string_equal(eff.source, "agency");
    assert_true(eff.is_inherited);
    /* Custom roles count in permissions. */
    assert_int_equal(effective(f, &eff, &admin, "usr_custom", POLICY_SCOPE_ENVIRONMENT, E1), 0);
    assert_int_equal(eff.roles, 0);
    assert_int_equal(eff.permissions,
                     POLICY_BIT(POLICY_PERM_INBOX_NOTIFY) | POLICY_BIT(POLICY_PERM_CMS_READ));
    assert_int_equal(effective(f, &eff, &admin, "usr_admin", POLICY_SCOPE_ENVIRONMENT, EB), 0);
    assert_string_equal(eff.source, "platform_admin");
    assert_int_equal(eff.permissions, POLICY_PERMS_ALL);
    assert_int_equal(effective(f, &eff, &admin, "usr_disabled", POLICY_SCOPE_ENVIRONMENT, E1), 0);
    assert_int_equal(eff.permissions, 0);
    assert_string_equal(eff.source, "none");
    expect_error(f, effective(f, &eff, &admin, "usr_nobody", POLICY_SCOPE_AGENCY, A),
                 USHER_ENOTFOUND, NULL);
    expect_error(f, effective(f, &eff, &admin, "usr_agent", POLICY_SCOPE_ENVIRONMENT, "env_nope"),
                 USHER_ENOTFOUND, NULL);
    expect_error(f, effective(f, &eff, &admin, "usr_agent", POLICY_SCOPE_AGENCY, E1),
                 USHER_ENOTFOUND, NULL);
}

static void test_effective__only_for_those_who_may_see_it(void **state)
{
    struct fixture *f = *state;
    struct app_effective eff;
    struct app_check_caller self = {.user_id = "usr_agent"};
    struct app_check_caller reader = {.user_id = "usr_reader"};
    struct app_check_caller bee = {.user_id = "usr_bee"};
    struct app_check_caller token_a = {.is_service = true, .token_agency_id = A};
    struct app_check_caller token_b = {.is_service = true, .token_agency_id = B};
    struct app_check_caller platform = {.is_service = true};
    assert_int_equal(effective(f, &eff, &self, "usr_agent", POLICY_SCOPE_ENVIRONMENT, E1), 0);
    expect_error(f, effective(f, &eff, &self, "usr_agent", POLICY_SCOPE_ENVIRONMENT, EB),
                 USHER_ENOTFOUND, NULL);
    expect_error(f, effective(f, &eff, &self, "usr_dev", POLICY_SCOPE_ENVIRONMENT, E1),
                 USHER_EFORBIDDEN, NULL);
    /* users.read on E2 only. */
    assert_int_equal(effective(f, &eff, &reader, "usr_agent", POLICY_SCOPE_ENVIRONMENT, E2), 0);
    assert_string_equal(eff.source, "agency");
    expect_error(f, effective(f, &eff, &reader, "usr_agent", POLICY_SCOPE_ENVIRONMENT, E1),
                 USHER_EFORBIDDEN, NULL);
    expect_error(f, effective(f, &eff, &reader, "usr_agent", POLICY_SCOPE_AGENCY, A),
                 USHER_EFORBIDDEN, NULL);
    expect_error(f, effective(f, &eff, &bee, "usr_agent", POLICY_SCOPE_AGENCY, A), USHER_ENOTFOUND,
                 NULL);
    assert_int_equal(effective(f, &eff, &token_a, "usr_agent", POLICY_SCOPE_BOT, B3), 0);
    expect_error(f, effective(f, &eff, &token_b, "usr_agent", POLICY_SCOPE_BOT, B3),
                 USHER_ENOTFOUND, NULL);
    /* A user who is not a member of the scope's agency is not found there. */
    expect_error(f, effective(f, &eff, &token_a, "usr_bee", POLICY_SCOPE_AGENCY, A),
                 USHER_ENOTFOUND, NULL);
    expect_error(f, effective(f, &eff, &reader, "usr_bee", POLICY_SCOPE_ENVIRONMENT, E2),
                 USHER_ENOTFOUND, NULL);
    assert_int_equal(effective(f, &eff, &platform, "usr_bee", POLICY_SCOPE_AGENCY, A), 0);
    assert_string_equal(eff.source, "none");
}

static int recipients(struct fixture *f, struct app_recipient_page *out,
                      const struct app_check_caller *caller, const char *env, const char *limit,
                      const char *cursor)
{
    struct app_page page;
    assert_int_equal(app_page_parse(&page, &f->arena, limit, cursor, &f->err), 0);
    return app_check_recipients(out, FIXTURE_AS(f, NULL), caller, env, &page);
}

static void test_recipients__are_active_agents_and_operators_of_the_environment(void **state)
{
    struct fixture *f = *state;
    struct app_check_caller admin = {.user_id = "usr_admin", .is_platform_admin = true};
    struct app_recipient_page page;
    assert_int_equal(recipients(f, &page, &admin, E1, NULL, NULL), 0);
    assert_int_equal(page.count, 2);
    assert_string_equal(page.items[0].id, "usr_envagent");
    assert_string_equal(page.items[0].email, "envagent@example.com");
    assert_string_equal(page.items[0].first_name, "First");
    assert_string_equal(page.items[1].id, "usr_envop");
    assert_null(page.next_cursor);
    /* One per page. */
    assert_int_equal(recipients(f, &page, &admin, E1, "1", NULL), 0);
    assert_int_equal(page.count, 1);
    assert_string_equal(page.items[0].id, "usr_envagent");
    assert_non_null(page.next_cursor);
    assert_int_equal(recipients(f, &page, &admin, E1, "1", page.next_cursor), 0);
    assert_int_equal(page.count, 1);
    assert_string_equal(page.items[0].id, "usr_envop");
    /* Agency-level agents are not recipients anywhere. */
    assert_int_equal(recipients(f, &page, &admin, E2, NULL, NULL), 0);
    assert_int_equal(page.count, 0);
}

static void test_recipients__only_for_those_who_may_read_users_there(void **state)
{
    struct fixture *f = *state;
    struct app_recipient_page page;
    struct app_check_caller reader = {.user_id = "usr_reader"};
    struct app_check_caller bee = {.user_id = "usr_bee"};
    struct app_check_caller token_a = {.is_service = true, .token_agency_id = A};
    struct app_check_caller token_b = {.is_service = true, .token_agency_id = B};
    struct app_check_caller platform = {.is_service = true};
    assert_int_equal(recipients(f, &page, &reader, E2, NULL, NULL), 0);
    expect_error(f, recipients(f, &page, &reader, E1, NULL, NULL), USHER_EFORBIDDEN, NULL);
    expect_error(f, recipients(f, &page, &bee, E1, NULL, NULL), USHER_ENOTFOUND, NULL);
    assert_int_equal(recipients(f, &page, &token_a, E1, NULL, NULL), 0);
    assert_int_equal(page.count, 2);
    expect_error(f, recipients(f, &page, &token_b, E1, NULL, NULL), USHER_ENOTFOUND, NULL);
    assert_int_equal(recipients(f, &page, &platform, E1, NULL, NULL), 0);
    assert_int_equal(page.count, 2);
    expect_error(f, recipients(f, &page, &platform, "env_nope", NULL, NULL), USHER_ENOTFOUND, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_question_parse__reads_each_scope_kind, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_question_parse__names_the_bad_field, setup, teardown),
        cmocka_unit_test_setup_teardown(test_batch_parse__takes_1_to_1000_and_names_the_item, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_may_ask__users_ask_only_about_themselves, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_answer__agency_tokens_see_only_their_agency, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_answer__explains_source_and_roles, setup, teardown),
        cmocka_unit_test_setup_teardown(test_effective__tells_where_access_comes_from, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_effective__only_for_those_who_may_see_it, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_recipients__are_active_agents_and_operators_of_the_environment, setup, teardown),
        cmocka_unit_test_setup_teardown(test_recipients__only_for_those_who_may_read_users_there,
                                        setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
