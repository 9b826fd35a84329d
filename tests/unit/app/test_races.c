/* Races over the real service (SQLite store, decision index, mail sender thread), run under
 * ASan here and under ThreadSanitizer by scripts/test.sh: many threads accepting one
 * invitation, checks answered while a member's grants change, and the sender delivering while
 * changes queue mail. */
#include "../unit.h"

#include "../fixture.h"

#include <dirent.h>
#include <pthread.h>
#include <stdatomic.h>

#include "app/app.h"
#include "policy/catalogue.h"
#include "app/invitation.h"
#include "app/members.h"
#include "app/tenancy.h"
#include "authz/authz.h"
#include "base/json.h"
#include "config/config.h"
#include "mail/mail.h"
#include "store/store.h"

/* Agency A with environment E1. usr_owner is its owner; usr_joiner (joiner@example.com) is
 * invited; usr_subject is an agent on E1 whose grants the writer changes. */
struct fixture {
    char *dir;
    struct config cfg;
    struct app app;
    struct arena arena;
    struct usher_error err;
    struct store_agency a;
    struct store_environment e1;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    fixture_config_init(&f->cfg, &f->dir);
    f->cfg.threads = 8;
    fixture_app_open(&f->app, &f->cfg);
    arena_init(&f->arena);
    fixture_user_add_with(f->app.store,
                          &(struct fixture_user){.id = "usr_admin", .is_platform_admin = true});
    struct app_actor adm = {.user_id = "usr_admin", .is_platform_admin = true};
    assert_int_equal(app_agency_create(&f->a, FIXTURE_AS(f, &adm), "Agency A"), 0);
    assert_int_equal(app_environment_create(&f->e1, FIXTURE_AS(f, &adm), f->a.id, "E1"), 0);
    fixture_user_add(f->app.store, "usr_owner");
    fixture_user_add(f->app.store, "usr_joiner");
    fixture_user_add(f->app.store, "usr_subject");
    fixture_grant_set(f->app.store, f->a.id, "usr_owner", NULL, "owner", NULL);
    fixture_grant_set(f->app.store, f->a.id, "usr_subject", f->e1.id, "agent", NULL);
    struct store_conn *c = NULL;
    assert_int_equal(store_conn_get(f->app.store, &c, &f->err), 0);
    app_grants_refresh(&f->app, c, "usr_owner");
    app_grants_refresh(&f->app, c, "usr_subject");
    store_conn_put(c);
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

/* --- concurrent accepts ---------------------------------------------------------------------- */

enum { ACCEPTERS = 8 };

struct accepter {
    struct fixture *f;
    const char *token;
    atomic_int *ready;
    int rc;
    char problem[USHER_ERROR_CODE_MAX];
};

static void *accept_run(void *arg)
{
    struct accepter *w = arg;
    struct arena a;
    arena_init(&a);
    struct app_actor actor = {.user_id = "usr_joiner"};
    /* Start together, so the accepts overlap. */
    atomic_fetch_add(w->ready, 1);
    while (atomic_load(w->ready) < ACCEPTERS)
        ;
    struct app_invitation_accepted out;
    struct usher_error err = {0};
    w->rc = app_invitation_accept(&out, FIXTURE_CALL(&w->f->app, &a, &actor, &err), w->token, NULL,
                                  NULL, NULL, NULL);
    snprintf(w->problem, sizeof(w->problem), "%s", err.problem);
    if (w->rc == 0)
        app_invitation_view_dispose(&out.view);
    arena_dispose(&a);
    return NULL;
}

static void test_races__concurrent_accepts_admit_exactly_one(void **state)
{
    struct fixture *f = *state;
    struct app_actor owner = {.user_id = "usr_owner"};
    struct app_invitation_new in = {
        .email = "joiner@example.com",
        .grants = json_pack("[{s:s, s:[s]}]", "environment_id", f->e1.id, "roles", "agent"),
        .expires_in_seconds = APP_INVITATION_EXPIRY_DEFAULT_S,
    };
    struct app_invitation_view v;
    int64_t retry = 0;
    int rc = app_invitation_create(&v, &retry, FIXTURE_AS(f, &owner), f->a.id, &in, "users.invite");
    json_decref(in.grants);
    if (rc)
        fail_msg("create: %s", f->err.message);
    const char *token = strstr(v.url, "#token=") + 7;
    app_invitation_view_dispose(&v);

    atomic_int ready = 0;
    struct accepter w[ACCEPTERS];
    pthread_t t[ACCEPTERS];
    for (int i = 0; i < ACCEPTERS; i++) {
        w[i] = (struct accepter){.f = f, .token = token, .ready = &ready};
        assert_int_equal(pthread_create(&t[i], NULL, accept_run, &w[i]), 0);
    }
    int won = 0;
    for (int i = 0; i < ACCEPTERS; i++) {
        pthread_join(t[i], NULL);
        if (w[i].rc == 0)
            won++;
        else
            assert_string_equal(w[i].problem, "invitation_not_pending");
    }
    assert_int_equal(won, 1);
    struct store_value p[] = {store_text(f->a.id)};
    assert_int_equal(fixture_sql_int(f->app.store,
                                     "SELECT COUNT(*) FROM memberships WHERE agency_id = $1 AND "
                                     "user_id = 'usr_joiner'",
                                     p, 1),
                     1);
    assert_int_equal(fixture_sql_int(f->app.store,
                                     "SELECT COUNT(*) FROM audit_log WHERE agency_id = $1 AND "
                                     "action = 'invitation.accepted'",
                                     p, 1),
                     1);
    struct authz_question q = {"usr_joiner", "bot.read", POLICY_SCOPE_ENVIRONMENT, f->e1.id, NULL};
    struct authz_answer ans;
    authz_check(&ans, f->app.authz, &q, &f->arena);
    assert_true(ans.allowed);
}

/* --- checks during grant changes ---------------------------------------------------------- */

struct reader {
    struct fixture *f;
    atomic_bool *stop;
    uint64_t agent, analyst;
    long reads, torn;
};

static void *reader_run(void *arg)
{
    struct reader *r = arg;
    while (!atomic_load(r->stop)) {
        struct arena a;
        arena_init(&a);
        struct policy_decide_effective eff;
        bool admin = false;
        const char *agency = NULL;
        bool known = authz_effective(&eff, &admin, r->f->app.authz, "usr_subject",
                                     POLICY_SCOPE_ENVIRONMENT, r->f->e1.id, &agency, &a);
        /* Whole grants only: exactly the old role or exactly the new one, never both or none. */
        if (!known || (eff.roles != r->agent && eff.roles != r->analyst))
            r->torn++;
        r->reads++;
        arena_dispose(&a);
    }
    return NULL;
}

static void test_races__checks_see_whole_grant_changes(void **state)
{
    struct fixture *f = *state;
    enum { READERS = 3, CHANGES = 30 };
    atomic_bool stop = false;
    uint64_t agent = 1ULL << policy_catalogue_role_index("agent");
    uint64_t analyst = 1ULL << policy_catalogue_role_index("analyst");
    struct reader r[READERS];
    pthread_t t[READERS];
    for (int i = 0; i < READERS; i++) {
        r[i] = (struct reader){.f = f, .stop = &stop, .agent = agent, .analyst = analyst};
        assert_int_equal(pthread_create(&t[i], NULL, reader_run, &r[i]), 0);
    }
    struct app_actor owner = {.user_id = "usr_owner"};
    for (int i = 0; i < CHANGES; i++) {
        char text[256];
        snprintf(text, sizeof(text), "[{\"environment_id\":\"%s\",\"roles\":[\"%s\"]}]", f->e1.id,
                 i % 2 ? "agent" : "analyst");
        json_t *grants = json_loads(text, 0, NULL);
        struct app_member_detail out;
        struct arena a;
        arena_init(&a);
        struct usher_error err = {0};
        int rc = app_member_grants_replace(&out, NULL, FIXTURE_CALL(&f->app, &a, &owner, &err),
                                           f->a.id, "usr_subject", grants);
        json_decref(grants);
        arena_dispose(&a);
        if (rc)
            fail_msg("grants replace %d: %s", i, err.message);
    }
    atomic_store(&stop, true);
    long reads = 0;
    for (int i = 0; i < READERS; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(r[i].torn, 0);
        reads += r[i].reads;
    }
    assert_true(reads > 0);
    /* The last change (i = 29, odd: agent) is what the index holds. */
    struct authz_question q = {"usr_subject", "bot.read", POLICY_SCOPE_ENVIRONMENT, f->e1.id, NULL};
    struct authz_answer ans;
    authz_check(&ans, f->app.authz, &q, &f->arena);
    struct policy_decide_effective eff;
    bool admin = false;
    const char *agency = NULL;
    assert_true(authz_effective(&eff, &admin, f->app.authz, "usr_subject", POLICY_SCOPE_ENVIRONMENT,
                                f->e1.id, &agency, &f->arena));
    assert_int_equal(eff.roles, agent);
}

/* --- the sender thread while changes queue mail -------------------------------------------- */

enum { QUEUERS = 4, PER_QUEUER = 10 };

struct queuer {
    struct fixture *f;
    int index;
    int failures;
};

static void *queue_run(void *arg)
{
    struct queuer *q = arg;
    for (int i = 0; i < PER_QUEUER; i++) {
        struct arena a;
        arena_init(&a);
        struct usher_error err = {0};
        struct store_conn *c = NULL;
        char to[64];
        snprintf(to, sizeof(to), "r%d-%d@example.com", q->index, i);
        struct mail_outbox_item item = {
            .recipient = to, .subject = "Race", .text = "text", .html = "<p>html</p>"};
        int rc = store_conn_get(q->f->app.store, &c, &err);
        if (rc == 0)
            rc = store_begin(c, true, &err);
        if (rc == 0)
            rc = mail_outbox_enqueue(NULL, c, &a, &item, &err);
        if (rc == 0)
            rc = store_commit(c, &err);
        store_conn_put(c);
        if (rc == 0)
            mail_sender_wake(q->f->app.mail);
        else
            q->failures++;
        arena_dispose(&a);
    }
    return NULL;
}

static int eml_count(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        n += strstr(e->d_name, ".eml") != NULL;
    closedir(d);
    return n;
}

static void test_races__sender_delivers_while_changes_queue_mail(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(mail_sender_start(f->app.mail, &f->err), 0);
    struct queuer q[QUEUERS];
    pthread_t t[QUEUERS];
    for (int i = 0; i < QUEUERS; i++) {
        q[i] = (struct queuer){.f = f, .index = i};
        assert_int_equal(pthread_create(&t[i], NULL, queue_run, &q[i]), 0);
    }
    for (int i = 0; i < QUEUERS; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(q[i].failures, 0);
    }
    char maildir[4200];
    snprintf(maildir, sizeof(maildir), "%s/mail", f->dir);
    /* A message's file appears before its row is marked sent: wait for both. */
    for (int i = 0;
         i < 1000 &&
         (eml_count(maildir) < QUEUERS * PER_QUEUER ||
          fixture_sql_int(f->app.store, "SELECT COUNT(*) FROM mail_outbox WHERE sent_at IS NULL",
                          NULL, 0) > 0);
         i++)
        usleep(10000);
    assert_int_equal(eml_count(maildir), QUEUERS * PER_QUEUER);
    /* A row is marked sent just after its file is written. */
    static const char unsent[] = "SELECT COUNT(*) FROM mail_outbox WHERE sent_at IS NULL";
    for (int i = 0; i < 500 && fixture_sql_int(f->app.store, unsent, NULL, 0) > 0; i++)
        usleep(10000);
    assert_int_equal(fixture_sql_int(f->app.store, unsent, NULL, 0), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_races__concurrent_accepts_admit_exactly_one, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_races__checks_see_whole_grant_changes, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_races__sender_delivers_while_changes_queue_mail, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
