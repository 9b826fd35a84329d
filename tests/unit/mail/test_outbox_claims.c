/* The claims of a sender that died mid-send (a crash): a starting sender releases those of
 * dead processes on this host at once and leaves the others to their lease. */
#include "../unit.h"

#include "../fixture.h"

#include <dirent.h>
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

/* A row queued for to and claimed by worker for ten minutes, as a sender does mid-send. */
static void claimed_row(struct fixture *f, const char *to, const char *worker)
{
    struct usher_error err = {0};
    struct store_conn *c = NULL;
    assert_int_equal(store_conn_get(f->store, &c, &err), 0);
    assert_int_equal(store_begin(c, true, &err), 0);
    struct mail_outbox_item item = {.recipient = to, .subject = "Hello", .text = "t", .html = "h"};
    const char *id = NULL;
    assert_int_equal(mail_outbox_enqueue(&id, c, &f->arena, &item, &err), 0);
    int64_t now = clock_now_ms();
    struct store_value p[] = {store_text(id), store_text(worker), store_int(now + 600000)};
    assert_int_equal(store_exec(c, &f->arena,
                                "UPDATE mail_outbox SET claimed_by = $2, claimed_until = $3 "
                                "WHERE id = $1",
                                p, 3, NULL, NULL, &err),
                     0);
    assert_int_equal(store_commit(c, &err), 0);
    store_conn_put(c);
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

    struct mail_sender_options o = {
        .store = f->store, .transport = f->files, .from = "usher@example.test", .poll_ms = 50};
    struct mail_sender *s = NULL;
    struct usher_error err = {0};
    assert_int_equal(mail_sender_new(&s, &o, &err), 0);
    assert_int_equal(mail_sender_start(s, &err), 0);
    for (int i = 0; i < 300 && eml_count(f->maildir) < 1; i++)
        usleep(10000);
    usleep(200000);
    mail_sender_free(s);
    /* Only the dead local sender's message went out; the others wait for their lease. */
    assert_int_equal(eml_count(f->maildir), 1);
    struct store_conn *c = NULL;
    struct store_rows rows;
    assert_int_equal(store_conn_get(f->store, &c, &err), 0);
    assert_int_equal(store_exec(c, &f->arena,
                                "SELECT recipient FROM mail_outbox WHERE sent_at IS NOT NULL", NULL,
                                0, &rows, NULL, &err),
                     0);
    store_conn_put(c);
    assert_int_equal(rows.count, 1);
    assert_string_equal(store_cell(&rows, 0, 0)->s, "dead@example.test");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_outbox_claims__a_dead_local_sender_lets_go_at_start,
                                        setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
