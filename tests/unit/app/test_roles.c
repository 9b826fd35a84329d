/* The rules for custom roles over a real SQLite store and the decision index: names and
 * permissions, who may define roles (agency.manage, within the ceiling), 404 outside the
 * agency, deletion only when unused, and the index seeing every change at once. */
#include "../unit.h"

#include "../fixture.h"

#include "app/access.h"
#include "app/app.h"
#include "policy/catalogue.h"
#include "app/grants.h"
#include "app/roles.h"
#include "app/tenancy.h"
#include "authz/authz.h"
#include "base/crypto.h"
#include "base/log.h"
#include "config/config.h"
#include "store/store.h"

/* Agency A with environment E1; agency B. Users and their grants:
 *   owner     owner at A
 *   mgr       agent at A plus agency.manage as an extra permission
 *   org       organisation_manager at A (no agency.manage)
 *   envowner  owner on E1 only
 *   holder    member of A; tests give it grants holding custom roles
 *   outsider  owner at B */
struct fixture {
    char *dir;
    struct config cfg;
    struct app app;
    struct arena arena;
    struct usher_error err;
    struct store_agency a, b;
    struct store_environment e1;
};

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

/* Tells the decision index about a user whose rows a test wrote directly. */
static void refresh(struct fixture *f, const char *user_id)
{
    struct store_conn *c = NULL;
    assert_int_equal(store_conn_get(f->app.store, &c, &f->err), 0);
    app_grants_refresh(&f->app, c, user_id);
    store_conn_put(c);
}

static void grant_set(struct fixture *f, const char *agency_id, const char *user_id,
                      const char *environment_id, const char *roles, const char *extra)
{
    fixture_grant_set(f->app.store, agency_id, user_id, environment_id, roles, extra);
    refresh(f, user_id);
}

static void grants_clear(struct fixture *f, const char *user_id)
{
    struct store_value p[] = {store_text(user_id)};
    fixture_sql(f->app.store, "DELETE FROM grants WHERE user_id = $1", p, 1);
    refresh(f, user_id);
}

/* Asks the decision index. */
static bool allowed(struct fixture *f, const char *user_id, const char *permission,
                    enum policy_scope scope, const char *scope_id)
{
    struct authz_question q = {user_id, permission, scope, scope_id, NULL};
    struct authz_answer ans;
    authz_check(&ans, f->app.authz, &q, NULL);
    return ans.allowed;
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    f->dir = unit_tempdir_new();
    log_set_level(LOG_ERROR);
    assert_int_equal(crypto_setup(), 0);
    config_init(&f->cfg);
    free(f->cfg.data_dir);
    f->cfg.data_dir = strdup(f->dir);
    free(f->cfg.database_url);
    f->cfg.database_url = fixture_db_url(f->dir);
    f->cfg.hash_workers = 1;
    assert_int_equal(config_finish(&f->cfg, &f->err), 0);
    assert_int_equal(app_open(&f->app, &f->cfg, true, &f->err), 0);
    arena_init(&f->arena);

    static const char *const users[] = {"usr_admin",    "usr_owner",  "usr_mgr",     "usr_org",
                                        "usr_envowner", "usr_holder", "usr_outsider"};
    for (size_t i = 0; i < sizeof(users) / sizeof(users[0]); i++) {
        char email[64];
        snprintf(email, sizeof(email), "%s@example.com", users[i]);
        struct store_value p[] = {store_text(users[i]), store_text(email)};
        fixture_sql(f->app.store, "INSERT INTO users (id, email, created_at) VALUES ($1, $2, 1)", p,
                    2);
    }
    struct app_actor adm = admin();
    assert_int_equal(app_agency_create(&f->a, FIXTURE_AS(f, &adm), "A"), 0);
    assert_int_equal(app_agency_create(&f->b, FIXTURE_AS(f, &adm), "B"), 0);
    assert_int_equal(app_environment_create(&f->e1, FIXTURE_AS(f, &adm), f->a.id, "E1"), 0);
    grant_set(f, f->a.id, "usr_owner", NULL, "owner", "");
    grant_set(f, f->a.id, "usr_mgr", NULL, "agent", "agency.manage");
    grant_set(f, f->a.id, "usr_org", NULL, "organisation_manager", "");
    grant_set(f, f->a.id, "usr_envowner", f->e1.id, "owner", "");
    grant_set(f, f->b.id, "usr_outsider", NULL, "owner", "");
    struct store_value m[] = {store_text(f->a.id)};
    fixture_sql(
        f->app.store,
        "INSERT INTO memberships (agency_id, user_id, created_at) VALUES ($1, 'usr_holder', 1)", m,
        1);
    usher_error_clear(&f->err);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    app_close(&f->app);
    config_dispose(&f->cfg);
    arena_dispose(&f->arena);
    fixture_db_drop(f->dir);
    unit_tempdir_remove(f->dir);
    free(f);
    return 0;
}

/* Expects rc with the error slot's code, problem (when given) and field, then clears it. */
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

/* A JSON array from a JSON text; released by the caller. */
static json_t *list(const char *text)
{
    json_error_t e;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &e);
    if (!v)
        fail_msg("bad test JSON %s: %s", text, e.text);
    return v;
}

/* Runs app_role_create with draft {id, name, perms} (id NULL: made from the name). */
static int create(struct store_custom_role *out, struct fixture *f, const char *actor_id,
                  const char *agency_id, const char *id, const char *name, const char *perms)
{
    struct app_actor actor = strcmp(actor_id, "usr_admin") == 0 ? admin() : user(actor_id);
    json_t *p = perms ? list(perms) : NULL;
    struct app_role_draft draft = {id, name, p};
    usher_error_clear(&f->err);
    int rc = app_role_create(out, FIXTURE_AS(f, &actor), agency_id, &draft);
    json_decref(p);
    return rc;
}

static struct store_custom_role create_ok(struct fixture *f, const char *actor_id,
                                          const char *agency_id, const char *name,
                                          const char *perms)
{
    struct store_custom_role r;
    if (create(&r, f, actor_id, agency_id, NULL, name, perms))
        fail_msg("create %s: %s", name, f->err.message);
    return r;
}

static int64_t audit_count(struct fixture *f, const char *action, const char *role_id)
{
    char like[96];
    snprintf(like, sizeof(like), "%%\"%s\"%%", role_id);
    struct store_value p[] = {store_text(action), store_text(like)};
    return fixture_sql_int(
        f->app.store, "SELECT COUNT(*) FROM audit_log WHERE action = $1 AND details LIKE $2", p, 2);
}

static void test_role_name_check__refuses_built_in_names_and_their_words(void **state)
{
    struct fixture *f = *state;
    const char *out = NULL;
    assert_int_equal(app_role_name_check(&out, &f->arena, "  Night shift\t", "name", &f->err), 0);
    assert_string_equal(out, "Night shift");
    assert_int_equal(app_role_name_check(&out, &f->arena, "ownerish", "name", &f->err), 0);
    /* Display names may be in any script: grants never refer to a role by name. */
    assert_int_equal(app_role_name_check(&out, &f->arena, "\xD0\xBEwner", "name", &f->err), 0);
    assert_int_equal(app_role_name_check(&out, &f->arena, "crl_abc", "name", &f->err), 0);
    for (size_t i = 0; i < POLICY_ROLE_COUNT; i++) {
        const char *builtin = policy_catalogue_role_at(i)->name;
        expect_error(f, app_role_name_check(&out, &f->arena, builtin, "name", &f->err),
                     USHER_EINVAL, "invalid_input", "name");
        /* In capitals with spaces for underscores ("CONTENT MANAGER"), and with hyphens. */
        char words[64], hyphens[64];
        size_t k = 0;
        for (; builtin[k] && k + 1 < sizeof(words); k++) {
            words[k] = builtin[k] == '_' ? ' ' : (char)(builtin[k] - 'a' + 'A');
            hyphens[k] = builtin[k] == '_' ? '-' : builtin[k];
        }
        words[k] = hyphens[k] = '\0';
        expect_error(f, app_role_name_check(&out, &f->arena, words, "name", &f->err), USHER_EINVAL,
                     "invalid_input", "name");
        expect_error(f, app_role_name_check(&out, &f->arena, hyphens, "name", &f->err),
                     USHER_EINVAL, "invalid_input", "name");
    }
    assert_int_equal(app_role_name_check(&out, &f->arena, "Content manager", "name", &f->err),
                     USHER_EINVAL);
    assert_string_equal(f->err.message,
                        "name must not be the name of the built-in role content_manager");
    usher_error_clear(&f->err);
    char long_name[80];
    memset(long_name, 'x', 65);
    long_name[65] = '\0';
    expect_error(f, app_role_name_check(&out, &f->arena, long_name, "name", &f->err), USHER_EINVAL,
                 "invalid_input", "name");
    long_name[64] = '\0';
    assert_int_equal(app_role_name_check(&out, &f->arena, long_name, "name", &f->err), 0);
    const char *bad[] = {"",
                         "   ",
                         "a\x01"
                         "b",
                         "Night\xE2\x80\xA8shift",
                         "\xE2\x80\xAEtfihs",
                         "Night\xE2\x80\x8Bshift",
                         NULL};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        expect_error(f, app_role_name_check(&out, &f->arena, bad[i], "name", &f->err), USHER_EINVAL,
                     "invalid_input", "name");
}

static void test_role_id_check__takes_lowercase_ascii_identifiers_only(void **state)
{
    struct fixture *f = *state;
    const char *good[] = {"night_shift", "ab", "a1", "crl_abc", "x_2024_q1", "a__b_"};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        assert_int_equal(app_role_id_check(good[i], "id", &f->err), 0);
    char forty[41];
    memset(forty, 'a', 40);
    forty[40] = '\0';
    assert_int_equal(app_role_id_check(forty, "id", &f->err), 0);
    char forty_one[42];
    memset(forty_one, 'a', 41);
    forty_one[41] = '\0';
    expect_error(f, app_role_id_check(forty_one, "id", &f->err), USHER_EINVAL, "invalid_input",
                 "id");
    const char *bad[] = {
        "",
        "a",
        "Night_shift",
        "night shift",
        "night-shift",
        "1st_line",
        "_night",
        "\xD0\xBEwner",      /* Cyrillic o, then "wner": looks like owner */
        "owner\xE2\x80\x8B", /* owner and a zero width space */
        "nigh\xC5\xA3",      /* t with cedilla */
        NULL,
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        expect_error(f, app_role_id_check(bad[i], "id", &f->err), USHER_EINVAL, "invalid_input",
                     "id");
    for (size_t i = 0; i < POLICY_ROLE_COUNT; i++) {
        expect_error(f, app_role_id_check(policy_catalogue_role_at(i)->name, "id", &f->err),
                     USHER_EINVAL, "invalid_input", "id");
    }
    assert_int_equal(app_role_id_check("owner\xE2\x80\x8B", "id", &f->err), USHER_EINVAL);
    assert_string_equal(f->err.message, "id must not contain invisible or control characters "
                                        "(U+200B)");
    usher_error_clear(&f->err);
}

static void test_role_id_derive__makes_an_identifier_from_plain_names(void **state)
{
    struct fixture *f = *state;
    static const struct {
        const char *name, *id;
    } cases[] = {
        {"Night shift", "night_shift"},
        {"  Night   shift  ", "night_shift"},
        {"Night-shift (weekend)", "night_shift_weekend"},
        {"Tier 2 support", "tier_2_support"},
        {"Q1_2024", "q1_2024"},
        {"crl_abc", "crl_abc"},
        {"An extremely long role name that goes past forty",
         "an_extremely_long_role_name_that_goes_pa"},
        {"An extremely long role name that goes p -- xyz",
         "an_extremely_long_role_name_that_goes_p"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *id = NULL;
        assert_int_equal(app_role_id_derive(&id, &f->arena, cases[i].name, &f->err), 0);
        assert_string_equal(id, cases[i].id);
        assert_int_equal(app_role_id_check(id, "id", &f->err), 0);
    }
    /* Nothing valid comes out: the caller must choose the id. */
    const char *none[] = {"",
                          "!!!",
                          "x",
                          "24h support",
                          "Owner!",
                          "Caf\xC3\xA9 staff",
                          "\xD0\x9D\xD0\xBE\xD1\x87\xD1\x8C",
                          "\xD0\xBEwner"};
    for (size_t i = 0; i < sizeof(none) / sizeof(none[0]); i++) {
        const char *id = "unchanged";
        expect_error(f, app_role_id_derive(&id, &f->arena, none[i], &f->err), USHER_EINVAL,
                     "invalid_input", "id");
        assert_string_equal(id, "unchanged");
    }
}

static void test_role_permissions_parse__names_the_bad_item(void **state)
{
    struct fixture *f = *state;
    uint64_t mask = 0;
    json_t *ok = list("[\"bot.read\", \"inbox.reply\", \"bot.read\"]");
    assert_int_equal(app_role_permissions_parse(&mask, &f->arena, ok, "permissions", &f->err), 0);
    assert_int_equal(mask, POLICY_BIT(POLICY_PERM_BOT_READ) | POLICY_BIT(POLICY_PERM_INBOX_REPLY));
    assert_string_equal(app_role_permissions_csv(&f->arena, mask), "inbox.reply,bot.read");
    assert_string_equal(app_role_permissions_csv(&f->arena, 0), "");
    json_decref(ok);

    static const struct {
        const char *json;
        const char *problem;
        const char *field;
    } cases[] = {
        {"[]", "invalid_input", "permissions"},
        {"\"bot.read\"", "invalid_input", "permissions"},
        {"{\"bot.read\": true}", "invalid_input", "permissions"},
        {"null", "invalid_input", "permissions"},
        {"[\"bot.read\", 3]", "invalid_input", "permissions[1]"},
        {"[\"bot.read\", null]", "invalid_input", "permissions[1]"},
        {"[\"bot.reads\"]", "unknown_permission", "permissions[0]"},
        {"[\"cms.read\", \"owner\"]", "unknown_permission", "permissions[1]"},
        {"[\"\"]", "unknown_permission", "permissions[0]"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *v = list(cases[i].json);
        expect_error(f, app_role_permissions_parse(&mask, &f->arena, v, "permissions", &f->err),
                     USHER_EINVAL, cases[i].problem, cases[i].field);
        json_decref(v);
    }
    expect_error(f, app_role_permissions_parse(&mask, &f->arena, NULL, "permissions", &f->err),
                 USHER_EINVAL, "invalid_input", "permissions");
    json_t *many = json_array();
    for (int i = 0; i < 65; i++)
        json_array_append_new(many, json_string("bot.read"));
    expect_error(f, app_role_permissions_parse(&mask, &f->arena, many, "permissions", &f->err),
                 USHER_EINVAL, "invalid_input", "permissions");
    json_decref(many);
}

static void test_role_create__defines_audits_and_reaches_the_index(void **state)
{
    struct fixture *f = *state;
    struct store_custom_role r =
        create_ok(f, "usr_owner", f->a.id, " Night shift ", "[\"crm.read\", \"inbox.reply\"]");
    assert_string_equal(r.id, "night_shift");
    assert_string_equal(r.agency_id, f->a.id);
    assert_string_equal(r.name, "Night shift");
    assert_string_equal(r.permissions, "inbox.reply,crm.read");
    assert_int_equal(audit_count(f, "role.created", r.id), 1);

    struct app_role_set set;
    struct app_actor holder = user("usr_holder");
    assert_int_equal(app_role_list(&set, FIXTURE_AS(f, &holder), f->a.id), 0);
    assert_int_equal(set.count, 1);
    assert_string_equal(set.items[0].id, r.id);
    assert_int_equal(set.permissions[0],
                     POLICY_BIT(POLICY_PERM_INBOX_REPLY) | POLICY_BIT(POLICY_PERM_CRM_READ));

    /* A grant naming the new role gives its permissions, at agency and environment scope. */
    assert_false(allowed(f, "usr_holder", "crm.read", POLICY_SCOPE_AGENCY, f->a.id));
    grant_set(f, f->a.id, "usr_holder", NULL, r.id, "");
    assert_true(allowed(f, "usr_holder", "crm.read", POLICY_SCOPE_AGENCY, f->a.id));
    assert_true(allowed(f, "usr_holder", "inbox.reply", POLICY_SCOPE_ENVIRONMENT, f->e1.id));
    assert_false(allowed(f, "usr_holder", "crm.write", POLICY_SCOPE_AGENCY, f->a.id));

    /* Platform admins define roles in any agency; the same id in another agency is another
     * role, which gives the holder nothing in A. */
    struct store_custom_role b =
        create_ok(f, "usr_admin", f->b.id, "Night shift", "[\"cms.read\", \"crm.write\"]");
    assert_string_equal(b.agency_id, f->b.id);
    assert_string_equal(b.id, "night_shift");
    assert_false(allowed(f, "usr_holder", "crm.write", POLICY_SCOPE_AGENCY, f->a.id));
    assert_false(allowed(f, "usr_holder", "cms.read", POLICY_SCOPE_AGENCY, f->a.id));
}

static void test_role_create__takes_a_chosen_id(void **state)
{
    struct fixture *f = *state;
    struct store_custom_role r, out;
    assert_int_equal(create(&r, f, "usr_owner", f->a.id, "nights", "Nachtschicht \xE2\x80\x93 Team",
                            "[\"cms.read\"]"),
                     0);
    assert_string_equal(r.id, "nights");
    assert_string_equal(r.name, "Nachtschicht \xE2\x80\x93 Team");
    /* A name that makes no id needs one chosen. */
    expect_error(f, create(&out, f, "usr_owner", f->a.id, NULL, "Caf\xC3\xA9", "[\"cms.read\"]"),
                 USHER_EINVAL, "invalid_input", "id");
    assert_int_equal(create(&out, f, "usr_owner", f->a.id, "cafe", "Caf\xC3\xA9", "[\"cms.read\"]"),
                     0);
    /* Ids are checked as given, never folded, and are unique in the agency. */
    const char *bad[] = {"Nights", "owner", "\xD0\xBEwner", "o", "night shift", ""};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        expect_error(f, create(&out, f, "usr_owner", f->a.id, bad[i], "Other", "[\"cms.read\"]"),
                     USHER_EINVAL, "invalid_input", "id");
    expect_error(f, create(&out, f, "usr_owner", f->a.id, "nights", "Other", "[\"cms.read\"]"),
                 USHER_ECONFLICT, "conflict", "id");
    /* Made from the name, the id may collide too. */
    create_ok(f, "usr_owner", f->a.id, "Other", "[\"cms.read\"]");
    expect_error(f, create(&out, f, "usr_owner", f->a.id, NULL, "other!", "[\"cms.read\"]"),
                 USHER_ECONFLICT, "conflict", "id");
    struct store_value a[] = {store_text(f->a.id)};
    assert_int_equal(fixture_sql_int(f->app.store,
                                     "SELECT COUNT(*) FROM custom_roles WHERE agency_id = $1", a,
                                     1),
                     3);
}

static void test_role_create__needs_agency_manage_within_the_ceiling(void **state)
{
    struct fixture *f = *state;
    struct store_custom_role r;
    const char *p = "[\"inbox.reply\", \"crm.read\"]";
    expect_error(f, create(&r, f, "usr_org", f->a.id, NULL, "Xy", p), USHER_EFORBIDDEN, "forbidden",
                 NULL);
    expect_error(f, create(&r, f, "usr_envowner", f->a.id, NULL, "Xy", p), USHER_EFORBIDDEN,
                 "forbidden", NULL);
    expect_error(f, create(&r, f, "usr_holder", f->a.id, NULL, "Xy", p), USHER_EFORBIDDEN,
                 "forbidden", NULL);
    expect_error(f, create(&r, f, "usr_mgr", f->a.id, NULL, "Xy", p), USHER_EFORBIDDEN,
                 "grant_ceiling", "permissions[1]");
    expect_error(f, create(&r, f, "usr_outsider", f->a.id, NULL, "Xy", p), USHER_ENOTFOUND,
                 "not_found", NULL);
    struct app_actor anonymous = {0};
    json_t *perms = list(p);
    struct app_role_draft draft = {NULL, "Xy", perms};
    expect_error(f, app_role_create(&r, FIXTURE_AS(f, &anonymous), f->a.id, &draft),
                 USHER_ENOTFOUND, "not_found", NULL);
    json_decref(perms);
    expect_error(f, create(&r, f, "usr_admin", "agy_nope", NULL, "Xy", p), USHER_ENOTFOUND,
                 "not_found", NULL);
    struct store_value a[] = {store_text(f->a.id)};
    assert_int_equal(fixture_sql_int(f->app.store,
                                     "SELECT COUNT(*) FROM custom_roles WHERE agency_id = $1", a,
                                     1),
                     0);
    /* Within what the manager holds at agency scope. */
    struct store_custom_role ok =
        create_ok(f, "usr_mgr", f->a.id, "Agent-like", "[\"inbox.notify\", \"agency.manage\"]");
    assert_string_equal(ok.permissions, "inbox.notify,agency.manage");
}

static void test_role_create__refuses_duplicates_and_past_the_limit(void **state)
{
    struct fixture *f = *state;
    create_ok(f, "usr_owner", f->a.id, "Weekend", "[\"cms.read\"]");
    struct store_custom_role r;
    const char *p = "[\"cms.read\"]";
    /* The same name, ignoring ASCII case, is taken even under another id. */
    expect_error(f, create(&r, f, "usr_owner", f->a.id, "weekend_2", "WEEKEND ", p),
                 USHER_ECONFLICT, "conflict", "name");
    expect_error(f, create(&r, f, "usr_owner", f->a.id, "boss", "Owner", p), USHER_EINVAL,
                 "invalid_input", "name");
    expect_error(f, create(&r, f, "usr_owner", f->a.id, "boss", NULL, p), USHER_EINVAL,
                 "invalid_input", "name");
    expect_error(f, create(&r, f, "usr_owner", f->a.id, NULL, "Yz", NULL), USHER_EINVAL,
                 "invalid_input", "permissions");

    /* Fill the agency up to the limit in one transaction, then one more is refused. */
    struct store_conn *c = NULL;
    assert_int_equal(store_conn_get(f->app.store, &c, &f->err), 0);
    assert_int_equal(store_begin(c, true, &f->err), 0);
    for (int i = 1; i < APP_ROLES_PER_AGENCY; i++) {
        char id[32], name[32];
        snprintf(id, sizeof(id), "fill_%d", i);
        snprintf(name, sizeof(name), "Fill %d", i);
        struct store_value v[] = {store_text(id), store_text(f->a.id), store_text(name)};
        assert_int_equal(store_exec(c, &f->arena,
                                    "INSERT INTO custom_roles (id, agency_id, name, permissions, "
                                    "created_at) VALUES ($1, $2, $3, 'cms.read', 1)",
                                    v, 3, NULL, NULL, &f->err),
                         0);
    }
    assert_int_equal(store_commit(c, &f->err), 0);
    store_conn_put(c);
    expect_error(f, create(&r, f, "usr_owner", f->a.id, NULL, "One more", p), USHER_ECONFLICT,
                 "role_limit", NULL);
}

static void test_role_update__renames_and_changes_at_once(void **state)
{
    struct fixture *f = *state;
    struct store_custom_role r =
        create_ok(f, "usr_owner", f->a.id, "Creators", "[\"environments.create\"]");
    create_ok(f, "usr_owner", f->a.id, "Taken", "[\"cms.read\"]");
    grant_set(f, f->a.id, "usr_holder", f->e1.id, r.id, "");
    assert_false(allowed(f, "usr_holder", "bot.read", POLICY_SCOPE_ENVIRONMENT, f->e1.id));

    struct app_actor owner = user("usr_owner");
    struct store_custom_role out;
    struct app_role_change rename = {.name = "Builders"};
    assert_int_equal(app_role_update(&out, FIXTURE_AS(f, &owner), f->a.id, r.id, &rename), 0);
    assert_string_equal(out.id, r.id);
    assert_string_equal(out.name, "Builders");
    assert_string_equal(out.permissions, "environments.create");
    assert_int_equal(audit_count(f, "role.updated", r.id), 1);

    /* The holder's grant still names the id, and a change of permissions reaches the index
     * without touching the holder. */
    json_t *perms = list("[\"bot.read\"]");
    struct app_role_change change = {.permissions = perms};
    assert_int_equal(app_role_update(&out, FIXTURE_AS(f, &owner), f->a.id, r.id, &change), 0);
    assert_string_equal(out.name, "Builders");
    assert_string_equal(out.permissions, "bot.read");
    assert_true(allowed(f, "usr_holder", "bot.read", POLICY_SCOPE_ENVIRONMENT, f->e1.id));
    assert_false(
        allowed(f, "usr_holder", "environments.create", POLICY_SCOPE_ENVIRONMENT, f->e1.id));
    assert_int_equal(audit_count(f, "role.updated", r.id), 2);

    /* The store's view (route enforcement) agrees. */
    struct store_conn *c = NULL;
    struct policy_decide_grants g;
    assert_int_equal(store_conn_get(f->app.store, &c, &f->err), 0);
    assert_int_equal(app_access_grants_load(&g, c, &f->arena, f->a.id, "usr_holder", &f->err), 0);
    store_conn_put(c);
    assert_int_equal(g.environment_count, 1);
    assert_int_equal(g.environments[0].extra, POLICY_BIT(POLICY_PERM_BOT_READ));

    /* The same values again change nothing and write nothing. */
    struct app_role_change same = {.name = "Builders", .permissions = perms};
    assert_int_equal(app_role_update(&out, FIXTURE_AS(f, &owner), f->a.id, r.id, &same), 0);
    assert_int_equal(audit_count(f, "role.updated", r.id), 2);
    json_decref(perms);

    struct app_role_change none = {0};
    expect_error(f, app_role_update(&out, FIXTURE_AS(f, &owner), f->a.id, r.id, &none),
                 USHER_EINVAL, "invalid_input", NULL);
    struct app_role_change taken = {.name = "Taken"}, shouted = {.name = "TAKEN"};
    expect_error(f, app_role_update(&out, FIXTURE_AS(f, &owner), f->a.id, r.id, &taken),
                 USHER_ECONFLICT, "conflict", "name");
    expect_error(f, app_role_update(&out, FIXTURE_AS(f, &owner), f->a.id, r.id, &shouted),
                 USHER_ECONFLICT, "conflict", "name");
    /* A role may change the case of its own name. */
    struct app_role_change recased = {.name = "BUILDERS"};
    assert_int_equal(app_role_update(&out, FIXTURE_AS(f, &owner), f->a.id, r.id, &recased), 0);
    assert_string_equal(out.name, "BUILDERS");
    assert_string_equal(out.id, "creators");
}

static void test_role_update__ceiling_counts_added_permissions_only(void **state)
{
    struct fixture *f = *state;
    struct store_custom_role r =
        create_ok(f, "usr_owner", f->a.id, "Wide", "[\"inbox.reply\", \"crm.write\"]");
    struct app_actor mgr = user("usr_mgr"), org = user("usr_org");
    struct store_custom_role out;
    json_t *more = list("[\"crm.write\", \"inbox.reply\", \"cms.read\"]");
    json_t *less = list("[\"inbox.reply\"]");
    struct app_role_change add = {.permissions = more}, remove = {.permissions = less};
    expect_error(f, app_role_update(&out, FIXTURE_AS(f, &mgr), f->a.id, r.id, &add),
                 USHER_EFORBIDDEN, "grant_ceiling", "permissions[2]");
    expect_error(f, app_role_update(&out, FIXTURE_AS(f, &org), f->a.id, r.id, &remove),
                 USHER_EFORBIDDEN, "forbidden", NULL);
    assert_int_equal(app_role_update(&out, FIXTURE_AS(f, &mgr), f->a.id, r.id, &remove), 0);
    assert_string_equal(out.permissions, "inbox.reply");
    json_decref(more);
    json_decref(less);
}

static void test_role_update__other_agencies_roles_are_not_found(void **state)
{
    struct fixture *f = *state;
    struct store_custom_role theirs =
        create_ok(f, "usr_outsider", f->b.id, "Theirs", "[\"cms.read\"]");
    struct store_custom_role ours = create_ok(f, "usr_owner", f->a.id, "Ours", "[\"cms.read\"]");
    struct app_actor owner = user("usr_owner"), outsider = user("usr_outsider");
    struct store_custom_role out;
    struct app_role_change rename = {.name = "Stolen"};
    expect_error(f, app_role_update(&out, FIXTURE_AS(f, &owner), f->a.id, theirs.id, &rename),
                 USHER_ENOTFOUND, "not_found", NULL);
    expect_error(f, app_role_update(&out, FIXTURE_AS(f, &outsider), f->a.id, ours.id, &rename),
                 USHER_ENOTFOUND, "not_found", NULL);
    expect_error(f, app_role_update(&out, FIXTURE_AS(f, &outsider), f->b.id, ours.id, &rename),
                 USHER_ENOTFOUND, "not_found", NULL);
    expect_error(f, app_role_delete(FIXTURE_AS(f, &owner), f->a.id, theirs.id), USHER_ENOTFOUND,
                 "not_found", NULL);
    expect_error(f, app_role_delete(FIXTURE_AS(f, &outsider), f->a.id, ours.id), USHER_ENOTFOUND,
                 "not_found", NULL);
    struct app_role_set set;
    expect_error(f, app_role_list(&set, FIXTURE_AS(f, &outsider), f->a.id), USHER_ENOTFOUND,
                 "not_found", NULL);
}

static void test_role_delete__only_when_unused(void **state)
{
    struct fixture *f = *state;
    struct store_custom_role r = create_ok(f, "usr_owner", f->a.id, "Held", "[\"cms.read\"]");
    struct app_actor owner = user("usr_owner"), org = user("usr_org");
    struct authz_stats before, after;
    authz_index_stats(&before, f->app.authz);

    grant_set(f, f->a.id, "usr_holder", f->e1.id, r.id, "");
    expect_error(f, app_role_delete(FIXTURE_AS(f, &owner), f->a.id, r.id), USHER_ECONFLICT,
                 "role_in_use", NULL);
    expect_error(f, app_role_delete(FIXTURE_AS(f, &org), f->a.id, r.id), USHER_EFORBIDDEN,
                 "forbidden", NULL);
    grants_clear(f, "usr_holder");

    assert_int_equal(app_role_delete(FIXTURE_AS(f, &owner), f->a.id, r.id), 0);
    assert_int_equal(audit_count(f, "role.deleted", r.id), 1);
    authz_index_stats(&after, f->app.authz);
    assert_int_equal(after.custom_roles, before.custom_roles - 1);
    expect_error(f, app_role_delete(FIXTURE_AS(f, &owner), f->a.id, r.id), USHER_ENOTFOUND,
                 "not_found", NULL);

    /* A stale grant naming the deleted id grants nothing. */
    grant_set(f, f->a.id, "usr_holder", NULL, r.id, "");
    assert_false(allowed(f, "usr_holder", "cms.read", POLICY_SCOPE_AGENCY, f->a.id));
}

int main(void)
{
    unit_env_clear();
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_role_name_check__refuses_built_in_names_and_their_words),
        T(test_role_id_check__takes_lowercase_ascii_identifiers_only),
        T(test_role_id_derive__makes_an_identifier_from_plain_names),
        T(test_role_permissions_parse__names_the_bad_item),
        T(test_role_create__defines_audits_and_reaches_the_index),
        T(test_role_create__takes_a_chosen_id),
        T(test_role_create__needs_agency_manage_within_the_ceiling),
        T(test_role_create__refuses_duplicates_and_past_the_limit),
        T(test_role_update__renames_and_changes_at_once),
        T(test_role_update__ceiling_counts_added_permissions_only),
        T(test_role_update__other_agencies_roles_are_not_found),
        T(test_role_delete__only_when_unused),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
