/* The claims of a sender that died mid-send (a crash): a starting sender releases those of
 * dead processes on this host at once and leaves the others to their lease, and a claim whose
 * lease ended is taken again whoever held it. Two senders on one database share the rows
 * without sending any twice. */
#include "../unit.h"

#include "../fixture.h"

#include <dirent.h>
#include <pthread.h>
#include <sys/wait.h>

#include "base/clock.h"
#include "base/crypto.h"
#include "base/log.h"
#include "mail/mail.h"
#include "store/store.h"

struct fixture {
    char *dir;
    char maildir[4200];
    struct store *store;
    struct mail_transport *files;
    struct arena arena;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    f->dir = unit_tempdir_new();
    log_set_level(LOG_ERROR);
    assert_int_equal(crypto_setup(), 0);
    snprintf(f->maildir, sizeof(f->maildir), "%s/mail", f->dir);
    struct usher_error err = {0};
    char *url = fixture_db_url(f->dir);
    assert_int_equal(store_open(&f->store, url, f->dir, 2, &err), 0);
    free(url);
    assert_int_equal(store_migrate(f->store, NULL, &err), 0);
    assert_int_equal(mail_transport_file_new(&f->files, f->maildir, &err), 0);
    arena_init(&f->arena);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    mail_transport_free(f->files);
    store_free(f->store);
    arena_dispose(&f->arena);
    fixture_db_drop(f->dir);
    unit_tempdir_remove(f->dir);
    free(f);
    return 0;
}

/* A row queued for to and claimed by worker until now + lease_ms, as a sender does mid-send. */
static void claimed_row_until(struct fixture *f, const char *to, const char *worker,
                              int64_t lease_ms)
{
    struct usher_error err = {0};
    struct store_conn *c = NULL;
    assert_int_equal(store_conn_get(f->store, &c, &err), 0);
    assert_int_equal(store_begin(c, true, &err), 0);
    struct mail_outbox_item item = {.recipient = to, .subject = "Hello", .text = "t", .html = "h"};
    const char *id = NULL;
    assert_int_equal(mail_outbox_enqueue(&id, c, &f->arena, &item, &err), 0);
    int64_t now = clock_now_ms();
    struct store_value p[] = {store_text(id), store_text(worker), store_int(now + lease_ms)};
    assert_int_equal(store_exec(c, &f->arena,
                                "UPDATE mail_outbox SET claimed_by = $2, claimed_until = $3 "
                                "WHERE id = $1",
                                p, 3, NULL, NULL, &err),
                     0);
    assert_int_equal(store_commit(c, &err), 0);
    store_conn_put(c);
}

/* A row queued for to and claimed by worker for ten minutes. */
static void claimed_row(struct fixture *f, const char *to, const char *worker)
{
    claimed_row_until(f, to, worker, 600000);
}

static int eml_count(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        n += strstr(e->d_name, ".eml") != NULL && !strstr(e->d_name, ".tmp");
    closedir(d);
    return n;
}

/* The pid of a process that has exited (and been reaped), so no process has it now. */
static long dead_pid(void)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(0);
    waitpid(pid, NULL, 0);
    return (long)pid;
}

static void test_outbox_claims__a_dead_local_sender_lets_go_at_start(void **state)
{
    struct fixture *f = *state;
    char host[64] = "";
    gethostname(host, sizeof(host) - 1);
    char dead[160], elsewhere[160], alive[160];
    snprintf(dead, sizeof(dead), "wrk_dead@%.40s:%ld", host, dead_pid());
    snprintf(elsewhere, sizeof(elsewhere), "wrk_remote@another-host.invalid:%ld", dead_pid());
    /* Our parent runs: a sender claiming under its pid is alive. */
    snprintf(alive, sizeof(alive), "wrk_alive@%.40s:%ld", host, (long)getppid());
    claimed_row(f, "dead@example.test", dead);
    claimed_row(f, "remote@example.test", elsewhere);
    claimed_row(f, "alive@example.test", alive);
    /* A sender on another host that died a while ago: its lease has run out. */
    claimed_row_until(f, "expired@example.test", elsewhere, -1000);

    struct mail_sender_options o = {
        .store = f->store, .transport = f->files, .from = "usher@example.test", .poll_ms = 50};
    struct mail_sender *s = NULL;
    struct usher_error err = {0};
    assert_int_equal(mail_sender_new(&s, &o, &err), 0);
    assert_int_equal(mail_sender_start(s, &err), 0);
    for (int i = 0; i < 300 && eml_count(f->maildir) < 2; i++)
        usleep(10000);
    usleep(200000);
    mail_sender_free(s);
    /* The dead local sender's message and the expired claim went out; the others wait for
     * their lease. */
    assert_int_equal(eml_count(f->maildir), 2);
    struct store_conn *c = NULL;
    struct store_rows rows;
    assert_int_equal(store_conn_get(f->store, &c, &err), 0);
    assert_int_equal(store_exec(c, &f->arena,
                                "SELECT recipient FROM mail_outbox WHERE sent_at IS NOT NULL "
                                "ORDER BY recipient",
                                NULL, 0, &rows, NULL, &err),
                     0);
    store_conn_put(c);
    assert_int_equal(rows.count, 2);
    assert_string_equal(store_cell(&rows, 0, 0)->s, "dead@example.test");
    assert_string_equal(store_cell(&rows, 1, 0)->s, "expired@example.test");
}

struct drain {
    struct mail_sender *sender;
    int sent;
};

static void *drain_run(void *arg)
{
    struct drain *d = arg;
    for (int round = 0; round < 50; round++) {
        int sent = 0;
        struct usher_error err = {0};
        assert_int_equal(mail_sender_run_once(d->sender, &sent, &err), 0);
        d->sent += sent;
    }
    return NULL;
}

static void test_outbox_claims__two_senders_on_one_database_send_each_row_once(void **state)
{
    struct fixture *f = *state;
    struct usher_error err = {0};
    struct store_conn *c = NULL;
    assert_int_equal(store_conn_get(f->store, &c, &err), 0);
    assert_int_equal(store_begin(c, true, &err), 0);
    for (int i = 0; i < 60; i++) {
        char to[64];
        snprintf(to, sizeof(to), "r%d@example.test", i);
        struct mail_outbox_item item = {.recipient = to, .subject = "Hi", .text = "t", .html = "h"};
        assert_int_equal(mail_outbox_enqueue(NULL, c, &f->arena, &item, &err), 0);
    }
    assert_int_equal(store_commit(c, &err), 0);
    store_conn_put(c);
    /* Two senders of their own (two instances) draining the outbox at the same time. */
    struct mail_sender_options o = {
        .store = f->store, .transport = f->files, .from = "usher@example.test"};
    struct drain d[2] = {0};
    pthread_t threads[2];
    for (int i = 0; i < 2; i++) {
        assert_int_equal(mail_sender_new(&d[i].sender, &o, &err), 0);
        pthread_create(&threads[i], NULL, drain_run, &d[i]);
    }
    for (int i = 0; i < 2; i++) {
        pthread_join(threads[i], NULL);
        mail_sender_free(d[i].sender);
    }
    /* Every row went out exactly once: one file per row, sixty sends in all. */
    assert_int_equal(d[0].sent + d[1].sent, 60);
    assert_int_equal(eml_count(f->maildir), 60);
    assert_int_equal(fixture_sql_int(f->store,
                                     "SELECT COUNT(*) FROM mail_outbox WHERE sent_at IS NULL "
                                     "OR attempts <> 1",
                                     NULL, 0),
                     0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_outbox_claims__a_dead_local_sender_lets_go_at_start,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_outbox_claims__two_senders_on_one_database_send_each_row_once, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
