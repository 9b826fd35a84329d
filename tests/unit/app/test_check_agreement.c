/* SECURITY 19: the check API and the routes use the same decision. 10,000 random questions
 * about random users (random agency, environment and bot grants, explicit "no access"
 * overrides, custom roles of their own and other agencies, unknown names, disabled accounts and
 * platform admins) are answered by the in-memory index (authz_check, what /check uses) and by
 * the store path (app_access_grants_load + policy_decide_check, what the routes use); every answer
 * must agree. Then random changes are made and refreshed, and the two must agree again. A failure
 * prints the sample, its seed and the user's grant rows. USHER_AGREEMENT_SEED replays a run. */
#include "../unit.h"

#include "../fixture.h"

#include <inttypes.h>

#include "app/access.h"
#include "app/app.h"
#include "policy/catalogue.h"
#include "policy/decide.h"
#include "app/grants.h"
#include "app/tenancy.h"
#include "authz/authz.h"
#include "base/clock.h"
#include "config/config.h"
#include "store/store.h"
#include "store/store_tenancy.h"
#include "store/store_user.h"

#define AGENCIES      3
#define ENVS_PER      3
#define BOTS_PER_ENV  2
#define ROLES_PER     3
#define USERS         160
#define SAMPLES       10000
#define AFTER_CHANGES 3000

struct fixture {
    char *dir;
    struct config cfg;
    struct app app;
    struct arena arena;
    struct usher_error err;
    uint64_t rng;
    uint64_t seed;
};

/* xorshift64*: fast, reproducible from the seed. */
static uint64_t rnd(struct fixture *f)
{
    f->rng ^= f->rng >> 12;
    f->rng ^= f->rng << 25;
    f->rng ^= f->rng >> 27;
    return f->rng * UINT64_C(2685821657736338717);
}

static size_t rnd_below(struct fixture *f, size_t n)
{
    return (size_t)(rnd(f) % n);
}

/* True with probability percent / 100. */
static bool chance(struct fixture *f, unsigned percent)
{
    return rnd_below(f, 100) < percent;
}

static const char *agency_id(size_t a)
{
    static char ids[AGENCIES][16];
    snprintf(ids[a], sizeof(ids[a]), "agy_%zu", a);
    return ids[a];
}

static const char *env_id(size_t a, size_t e)
{
    static char ids[AGENCIES][ENVS_PER][16];
    snprintf(ids[a][e], sizeof(ids[a][e]), "env_%zu_%zu", a, e);
    return ids[a][e];
}

static const char *bot_id(size_t a, size_t e, size_t b)
{
    static char ids[AGENCIES][ENVS_PER][BOTS_PER_ENV][20];
    snprintf(ids[a][e][b], sizeof(ids[a][e][b]), "bot_%zu_%zu_%zu", a, e, b);
    return ids[a][e][b];
}

static const char *role_id(size_t a, size_t r)
{
    static char ids[AGENCIES][ROLES_PER][16];
    snprintf(ids[a][r], sizeof(ids[a][r]), "crl_%zu_%zu", a, r);
    return ids[a][r];
}

static const char *user_id(size_t u)
{
    static char ids[USERS][16];
    snprintf(ids[u], sizeof(ids[u]), "usr_%03zu", u);
    return ids[u];
}

/* A random comma-separated list of catalogue permissions, sometimes with an unknown name. */
static char *random_permissions(struct fixture *f, unsigned percent)
{
    char buf[1024];
    size_t len = 0;
    buf[0] = '\0';
    for (size_t p = 0; p < POLICY_PERM_COUNT; p++) {
        if (chance(f, percent))
            len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%s", len ? "," : "",
                                    policy_catalogue_permission_at(p)->name);
    }
    if (chance(f, 5))
        len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%sinbox.fly", len ? "," : "");
    return arena_strdup(&f->arena, buf);
}

/* A random stored role list: built-in roles (allowed at the scope or not), custom role ids of
 * this agency, of another agency, of no agency, and names nobody knows. */
static char *random_roles(struct fixture *f, size_t agency)
{
    char buf[1024];
    size_t len = 0;
    buf[0] = '\0';
    for (size_t r = 0; r < POLICY_ROLE_COUNT; r++) {
        if (chance(f, 12))
            len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%s", len ? "," : "",
                                    policy_catalogue_role_at(r)->name);
    }
    for (size_t r = 0; r < ROLES_PER; r++) {
        if (chance(f, 12))
            len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%s", len ? "," : "",
                                    role_id(agency, r));
    }
    if (chance(f, 5))
        len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%s", len ? "," : "",
                                role_id((agency + 1) % AGENCIES, 0));
    if (chance(f, 4))
        len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%scrl_gone", len ? "," : "");
    if (chance(f, 4))
        len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%swizard", len ? "," : "");
    return arena_strdup(&f->arena, buf);
}

static void grant_insert(struct fixture *f, size_t a, size_t u, const char *environment_id,
                         const char *bot, const char *scope, bool is_empty)
{
    char id[64];
    snprintf(id, sizeof(id), "grt_%s_%s", user_id(u), scope);
    const char *roles = is_empty ? "" : random_roles(f, a);
    const char *extra = is_empty ? "" : random_permissions(f, 4);
    struct store_value p[] = {store_text(id),         store_text(agency_id(a)),
                              store_text(user_id(u)), store_text(environment_id),
                              store_text(bot),        store_text(scope),
                              store_text(roles),      store_text(extra)};
    fixture_sql(
        f->app.store,
        "INSERT INTO grants (id, agency_id, user_id, environment_id, bot_id, scope_id, roles, "
        "extra_permissions, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 1)",
        p, 8);
}

/* Gives user u random grants in every agency (membership with probability 1/2). */
static void user_grants_random(struct fixture *f, size_t u)
{
    for (size_t a = 0; a < AGENCIES; a++) {
        if (!chance(f, 50))
            continue;
        fixture_member_add(f->app.store, agency_id(a), user_id(u));
        if (chance(f, 60))
            grant_insert(f, a, u, NULL, NULL, agency_id(a), false);
        for (size_t e = 0; e < ENVS_PER; e++) {
            /* A quarter of the environment grants are the explicit "no access". */
            if (chance(f, 30))
                grant_insert(f, a, u, env_id(a, e), NULL, env_id(a, e), chance(f, 25));
            for (size_t b = 0; b < BOTS_PER_ENV; b++) {
                if (chance(f, 15))
                    grant_insert(f, a, u, chance(f, 50) ? env_id(a, e) : NULL, bot_id(a, e, b),
                                 bot_id(a, e, b), chance(f, 10));
            }
        }
    }
}

static void world_build(struct fixture *f)
{
    for (size_t a = 0; a < AGENCIES; a++) {
        fixture_agency_add(f->app.store, agency_id(a), agency_id(a));
        for (size_t r = 0; r < ROLES_PER; r++) {
            struct store_value pr[] = {store_text(role_id(a, r)), store_text(agency_id(a)),
                                       store_text(random_permissions(f, 20))};
            fixture_sql(f->app.store,
                        "INSERT INTO custom_roles (id, agency_id, name, permissions, created_at) "
                        "VALUES ($1, $2, $1, $3, 1)",
                        pr, 3);
        }
        for (size_t e = 0; e < ENVS_PER; e++) {
            fixture_environment_add(f->app.store, env_id(a, e), agency_id(a), env_id(a, e));
            for (size_t b = 0; b < BOTS_PER_ENV; b++) {
                fixture_bot_add(f->app.store, bot_id(a, e, b), env_id(a, e), bot_id(a, e, b));
            }
        }
    }
    for (size_t u = 0; u < USERS; u++) {
        struct fixture_user user = {.id = user_id(u)};
        user.status = chance(f, 8) ? "disabled" : "active";
        user.is_platform_admin = chance(f, 4);
        fixture_user_add_with(f->app.store, &user);
        user_grants_random(f, u);
    }
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    fixture_config_init(&f->cfg, &f->dir);
    fixture_app_open(&f->app, &f->cfg);
    arena_init(&f->arena);
    const char *seed = getenv("USHER_AGREEMENT_SEED");
    f->seed = UINT64_C(0x9E3779B97F4A7C15);
    if (seed && *seed)
        f->seed = strtoull(seed, NULL, 0);
    if (f->seed == 0)
        f->seed = 1;
    f->rng = f->seed;
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

/* One random question. */
struct sample {
    const char *user_id;
    const char *permission;
    enum policy_scope scope;
    const char *scope_id;
};

static void sample_random(struct fixture *f, struct sample *s)
{
    s->user_id = chance(f, 2) ? "usr_nobody" : user_id(rnd_below(f, USERS));
    static const char *const odd_permissions[] = {"inbox.fly", "", "Inbox.Reply", "crm.*"};
    s->permission = chance(f, 5)
                        ? odd_permissions[rnd_below(f, 4)]
                        : policy_catalogue_permission_at(rnd_below(f, POLICY_PERM_COUNT))->name;
    s->scope = (enum policy_scope)rnd_below(f, POLICY_SCOPE_COUNT);
    size_t a = rnd_below(f, AGENCIES), e = rnd_below(f, ENVS_PER), b = rnd_below(f, BOTS_PER_ENV);
    unsigned roll = (unsigned)rnd_below(f, 100);
    if (roll < 5) {
        s->scope_id = "nowhere_0";
        return;
    }
    /* One in ten asks about an id of another kind (an environment id as an agency, ...). */
    enum policy_scope kind =
        roll < 15 ? (enum policy_scope)((s->scope + 1) % POLICY_SCOPE_COUNT) : s->scope;
    s->scope_id = kind == POLICY_SCOPE_AGENCY        ? agency_id(a)
                  : kind == POLICY_SCOPE_ENVIRONMENT ? env_id(a, e)
                                                     : bot_id(a, e, b);
}

/* The store path, as the routes decide: resolve the user and the scope from the store, let a
 * platform admin through, else load the grants and ask the decision function. */
struct store_answer {
    bool allowed;
    bool is_platform_admin;
    struct policy_decide_result result;
};

static int store_path(struct store_answer *out, struct store_conn *c, struct arena *a,
                      const struct sample *s, struct usher_error *err)
{
    memset(out, 0, sizeof(*out));
    struct store_user user;
    int rc = store_user_get(&user, c, a, s->user_id, err);
    if (rc == USHER_ENOTFOUND)
        return 0;
    if (rc)
        return rc;
    if (strcmp(user.status, STORE_USER_ACTIVE) != 0)
        return 0;
    const char *agency = NULL, *environment = NULL;
    if (s->scope == POLICY_SCOPE_AGENCY) {
        struct store_agency ag;
        rc = store_agency_get(&ag, c, a, s->scope_id, err);
        agency = rc == 0 ? ag.id : NULL;
    } else if (s->scope == POLICY_SCOPE_ENVIRONMENT) {
        struct store_environment env;
        rc = store_environment_get(&env, c, a, s->scope_id, err);
        agency = rc == 0 ? env.agency_id : NULL;
    } else {
        struct store_bot bot;
        rc = store_bot_get(&bot, c, a, s->scope_id, clock_now_ms(), err);
        agency = rc == 0 ? bot.agency_id : NULL;
        environment = rc == 0 ? bot.environment_id : NULL;
    }
    if (rc == USHER_ENOTFOUND)
        return 0;
    if (rc)
        return rc;
    if (!policy_catalogue_permission_exists(s->permission))
        return 0;
    if (user.is_platform_admin) {
        out->allowed = true;
        out->is_platform_admin = true;
        return 0;
    }
    struct policy_decide_grants grants;
    rc = app_access_grants_load(&grants, c, a, agency, s->user_id, err);
    if (rc)
        return rc;
    struct policy_decide_target target = {s->scope, s->scope_id, environment};
    policy_decide_check(&out->result, &grants, &target, s->permission);
    out->allowed = out->result.allowed;
    return 0;
}

static bool answers_agree(const struct authz_answer *ix, const struct store_answer *st)
{
    if (ix->allowed != st->allowed || ix->is_platform_admin != st->is_platform_admin)
        return false;
    if (st->is_platform_admin)
        return true;
    if (ix->source != st->result.source || ix->role_count != st->result.role_count)
        return false;
    for (size_t i = 0; i < ix->role_count; i++) {
        if (strcmp(ix->roles[i], st->result.roles[i]) != 0)
            return false;
    }
    return true;
}

static void roles_print(char *buf, size_t cap, const char *const *roles, size_t count)
{
    size_t len = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < count && len < cap; i++)
        len += (size_t)snprintf(buf + len, cap - len, "%s%s", i ? "+" : "", roles[i]);
}

/* Prints the sample, both answers and the user's stored grants, then fails. */
static void disagreement(struct fixture *f, struct store_conn *c, size_t n, const char *phase,
                         const struct sample *s, const struct authz_answer *ix,
                         const struct store_answer *st)
{
    char ix_roles[512], st_roles[512];
    roles_print(ix_roles, sizeof(ix_roles), ix->roles, ix->role_count);
    roles_print(st_roles, sizeof(st_roles), st->result.roles, st->result.role_count);
    fprintf(stderr,
            "%s sample %zu (seed 0x%016" PRIx64 "): user=%s permission=\"%s\" scope=%s:%s\n"
            "  index: allowed=%d admin=%d source=%s roles=%s\n"
            "  store: allowed=%d admin=%d source=%s roles=%s\n",
            phase, n, f->seed, s->user_id, s->permission, policy_catalogue_scope_name(s->scope),
            s->scope_id, ix->allowed, ix->is_platform_admin, policy_decide_source_name(ix->source),
            ix_roles, st->allowed, st->is_platform_admin,
            policy_decide_source_name(st->result.source), st_roles);
    struct store_value p[] = {store_text(s->user_id)};
    struct store_rows rows;
    struct usher_error err = {0};
    if (store_exec(c, &f->arena,
                   "SELECT scope_id, COALESCE(environment_id, '-'), COALESCE(bot_id, '-'), roles, "
                   "extra_permissions FROM grants WHERE user_id = $1 ORDER BY scope_id",
                   p, 1, &rows, NULL, &err) == 0) {
        for (size_t r = 0; r < rows.count; r++)
            fprintf(stderr, "  grant %s env=%s bot=%s roles=[%s] extra=[%s]\n",
                    store_cell(&rows, r, 0)->s, store_cell(&rows, r, 1)->s,
                    store_cell(&rows, r, 2)->s, store_cell(&rows, r, 3)->s,
                    store_cell(&rows, r, 4)->s);
    }
    fail_msg("the decision index and the store path disagree (%s sample %zu)", phase, n);
}

/* Asks count random questions both ways; returns how many were allowed. */
static size_t compare(struct fixture *f, size_t count, const char *phase)
{
    struct store_conn *c = NULL;
    assert_int_equal(store_conn_get(f->app.store, &c, &f->err), 0);
    size_t allowed = 0;
    for (size_t n = 0; n < count; n++) {
        struct sample s;
        sample_random(f, &s);
        struct arena a;
        arena_init(&a);
        struct authz_question q = {s.user_id, s.permission, s.scope, s.scope_id, NULL};
        struct authz_answer ix;
        authz_check(&ix, f->app.authz, &q, &a);
        struct store_answer st;
        struct usher_error err = {0};
        if (store_path(&st, c, &a, &s, &err) != 0)
            fail_msg("store path failed at %s sample %zu: %s", phase, n, err.message);
        if (!answers_agree(&ix, &st))
            disagreement(f, c, n, phase, &s, &ix, &st);
        allowed += ix.allowed;
        arena_dispose(&a);
    }
    store_conn_put(c);
    return allowed;
}

/* Random changes after start, each followed by the refresh the application makes. */
static void change_randomly(struct fixture *f)
{
    struct store_conn *c = NULL;
    for (size_t k = 0; k < USERS / 3; k++) {
        size_t u = rnd_below(f, USERS);
        struct store_value p[] = {store_text(user_id(u))};
        unsigned what = (unsigned)rnd_below(f, 4);
        if (what == 0) {
            fixture_sql(f->app.store, "DELETE FROM grants WHERE user_id = $1", p, 1);
            user_grants_random(f, u);
        } else if (what == 1) {
            fixture_sql(f->app.store,
                        "UPDATE users SET status = CASE status WHEN 'active' THEN 'disabled' "
                        "ELSE 'active' END WHERE id = $1",
                        p, 1);
        } else if (what == 2) {
            fixture_sql(f->app.store,
                        "UPDATE grants SET roles = '', extra_permissions = '' WHERE user_id = $1",
                        p, 1);
        } else {
            fixture_sql(f->app.store, "DELETE FROM memberships WHERE user_id = $1", p, 1);
            fixture_sql(f->app.store, "DELETE FROM grants WHERE user_id = $1", p, 1);
        }
        assert_int_equal(store_conn_get(f->app.store, &c, &f->err), 0);
        app_grants_refresh(&f->app, c, user_id(u));
        store_conn_put(c);
    }
}

static void test_check__index_and_store_path_agree_on_random_samples(void **state)
{
    struct fixture *f = *state;
    world_build(f);
    assert_int_equal(authz_index_load(f->app.authz, f->app.store, &f->err), 0);
    size_t allowed = compare(f, SAMPLES, "initial");
    /* The samples must exercise both answers, or the agreement proves little. */
    fprintf(stderr, "agreement: %d samples, %zu allowed (seed 0x%016" PRIx64 ")\n", SAMPLES,
            allowed, f->seed);
    assert_true(allowed > SAMPLES / 50);
    assert_true(allowed < SAMPLES - SAMPLES / 50);
    change_randomly(f);
    allowed = compare(f, AFTER_CHANGES, "after changes");
    assert_true(allowed > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_check__index_and_store_path_agree_on_random_samples,
                                        setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
