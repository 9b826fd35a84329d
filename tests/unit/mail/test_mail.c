/* Unit tests of the mail module: message rendering, the outbox on a real SQLite store, the
 * file transport, link resolution at send time, back-off and giving up. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/crypto.h"
#include "mail/mail.h"
#include "store/store.h"

#include "../fixture.h"

struct fixture {
    char dir[64];
    char maildir[128];
    struct store *store;
    struct mail_transport *files;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    crypto_setup();
    snprintf(f->dir, sizeof(f->dir), "/tmp/usher-mail-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->maildir, sizeof(f->maildir), "%s/mail", f->dir);
    struct usher_error err = {0};
    char *url = fixture_db_url(f->dir);
    assert_int_equal(store_open(&f->store, url, f->dir, 2, &err), 0);
    free(url);
    assert_int_equal(store_migrate(f->store, NULL, &err), 0);
    assert_int_equal(mail_transport_file_new(&f->files, f->maildir, &err), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    mail_transport_free(f->files);
    store_free(f->store);
    fixture_db_drop(f->dir);
    char cmd[200];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
    assert_int_equal(system(cmd), 0);
    clock_set_offset_ms(0);
    free(f);
    return 0;
}

static void enqueue(struct fixture *f, const char *to, const char *kind, int64_t generation)
{
    struct usher_error err = {0};
    struct store_conn *c;
    struct arena a;
    arena_init(&a);
    assert_int_equal(store_conn_get(f->store, &c, &err), 0);
    assert_int_equal(store_begin(c, true, &err), 0);
    struct mail_outbox_item item = {
        .recipient = to,
        .subject = "You are invited to Acme",
        .text = "Open " MAIL_LINK_PLACEHOLDER " to accept.\n",
        .html = "<p><a href=\"" MAIL_LINK_PLACEHOLDER "\">Accept</a></p>",
        .link_kind = kind,
        .link_ref = kind ? "inv_1" : NULL,
        .link_generation = generation,
    };
    assert_int_equal(mail_outbox_enqueue(NULL, c, &a, &item, &err), 0);
    assert_int_equal(store_commit(c, &err), 0);
    store_conn_put(c);
    arena_dispose(&a);
}

static int count_files(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        n += strstr(e->d_name, ".eml") != NULL && !strstr(e->d_name, ".tmp");
    closedir(d);
    return n;
}

static char *read_first_file(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char path[512] = "";
    while ((e = readdir(d))) {
        if (strstr(e->d_name, ".eml")) {
            snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
            break;
        }
    }
    closedir(d);
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    char *buf = calloc(1, 65536);
    size_t n = fread(buf, 1, 65535, fp);
    buf[n] = '\0';
    fclose(fp);
    return buf;
}

/* Resolves generation 2 of "invitation" links; anything else is superseded. */
static int resolve(void *ctx, struct arena *a, const char *kind, const char *ref,
                   int64_t generation, const char **out_url, struct usher_error *err)
{
    (void)ctx;
    (void)err;
    if (strcmp(kind, "invitation") != 0 || generation != 2)
        return USHER_ENOTFOUND;
    *out_url = arena_printf(a, "http://127.0.0.1:1/invitations/accept#token=%s&x=1", ref);
    return 0;
}

static struct mail_sender *sender_for(struct fixture *f, struct mail_transport *t)
{
    struct mail_sender_options o = {
        .store = f->store,
        .transport = t,
        .from = "usher@example.test",
        .message_id_domain = "example.test",
        .resolve = resolve,
        .retry_base_ms = 1000,
        .retry_max_ms = 8000,
        .give_up_ms = 60000,
    };
    struct mail_sender *s;
    struct usher_error err = {0};
    assert_int_equal(mail_sender_new(&s, &o, &err), 0);
    return s;
}

static void test_render__builds_multipart_with_crlf_and_soft_breaks(void **state)
{
    (void)state;
    struct arena a;
    arena_init(&a);
    char long_line[200];
    memset(long_line, 'x', 150);
    long_line[150] = '\0';
    struct mail_message m = {.id = "msg_1",
                             .from = "a@b.test",
                             .to = "c@d.test",
                             .subject = "Hello",
                             .text = long_line,
                             .html = "<b>=</b>",
                             .message_id = "<msg_1@b.test>",
                             .date_ms = 1700000000000};
    char *raw;
    size_t len;
    struct usher_error err = {0};
    assert_int_equal(mail_message_render(&raw, &len, &a, &m, &err), 0);
    assert_non_null(strstr(raw, "Message-ID: <msg_1@b.test>\r\n"));
    assert_non_null(strstr(raw, "multipart/alternative"));
    assert_non_null(strstr(raw, "=\r\n")); /* soft line break */
    assert_non_null(strstr(raw, "<b>=3D</b>"));
    for (char *p = strchr(raw, '\n'); p; p = strchr(p + 1, '\n'))
        assert_int_equal(p[-1], '\r');
    arena_dispose(&a);
}

static void test_render__refuses_header_injection(void **state)
{
    (void)state;
    struct arena a;
    arena_init(&a);
    struct mail_message m = {.id = "msg_1",
                             .from = "a@b.test",
                             .to = "c@d.test\r\nBcc: e@f.test",
                             .subject = "Hi",
                             .text = "",
                             .html = "",
                             .message_id = "<x@y>"};
    char *raw;
    size_t len;
    struct usher_error err = {0};
    assert_int_equal(mail_message_render(&raw, &len, &a, &m, &err), USHER_EINVAL);
    arena_dispose(&a);
}

static void test_render__encodes_non_ascii_subject(void **state)
{
    (void)state;
    struct arena a;
    arena_init(&a);
    struct mail_message m = {.id = "msg_1",
                             .from = "a@b.test",
                             .to = "c@d.test",
                             .subject = "Einladung für Müller",
                             .text = "",
                             .html = "",
                             .message_id = "<x@y>"};
    char *raw;
    size_t len;
    struct usher_error err = {0};
    assert_int_equal(mail_message_render(&raw, &len, &a, &m, &err), 0);
    assert_non_null(strstr(raw, "Subject: =?UTF-8?B?"));
    arena_dispose(&a);
}

static void test_outbox__delivers_with_link_derived_at_send_time(void **state)
{
    struct fixture *f = *state;
    enqueue(f, "ann@example.test", "invitation", 2);
    struct mail_sender *s = sender_for(f, f->files);
    int sent = 0;
    struct usher_error err = {0};
    assert_int_equal(mail_sender_run_once(s, &sent, &err), 0);
    assert_int_equal(sent, 1);
    char *raw = read_first_file(f->maildir);
    assert_non_null(strstr(raw, "To: ann@example.test"));
    /* The text part carries the URL quoted-printable encoded; the HTML part escapes '&'. */
    assert_non_null(strstr(raw, "#token=3Dinv_1&x=3D1"));
    assert_non_null(strstr(raw, "&amp;x=3D1"));
    assert_null(strstr(raw, MAIL_LINK_PLACEHOLDER));
    free(raw);
    /* Sent rows are not sent again. */
    assert_int_equal(mail_sender_run_once(s, &sent, &err), 0);
    assert_int_equal(sent, 0);
    assert_int_equal(count_files(f->maildir), 1);
    mail_sender_free(s);
}

static void test_outbox__drops_superseded_links(void **state)
{
    struct fixture *f = *state;
    enqueue(f, "ann@example.test", "invitation", 1);
    struct mail_sender *s = sender_for(f, f->files);
    int sent = 0;
    struct usher_error err = {0};
    assert_int_equal(mail_sender_run_once(s, &sent, &err), 0);
    assert_int_equal(sent, 0);
    assert_int_equal(count_files(f->maildir), 0);
    mail_sender_free(s);
}

struct failing_transport {
    struct mail_transport base;
    int failures_left;
    int attempts;
};

static int failing_send(struct mail_transport *t, const struct mail_message *m, const char *raw,
                        size_t raw_len, struct usher_error *err)
{
    (void)m;
    (void)raw;
    (void)raw_len;
    struct failing_transport *ft = (struct failing_transport *)t;
    ft->attempts++;
    if (ft->failures_left > 0) {
        ft->failures_left--;
        return usher_error_set(err, USHER_EUNAVAIL, NULL, NULL, "connection refused");
    }
    return 0;
}

static void test_outbox__retries_with_back_off_until_delivered(void **state)
{
    struct fixture *f = *state;
    struct failing_transport ft = {{"failing", failing_send, NULL}, 2, 0};
    enqueue(f, "bob@example.test", NULL, 0);
    struct mail_sender *s = sender_for(f, &ft.base);
    int sent = 0;
    struct usher_error err = {0};
    assert_int_equal(mail_sender_run_once(s, &sent, &err), 0);
    assert_int_equal(sent, 0);
    assert_int_equal(ft.attempts, 1);
    /* Not due again before the back-off has passed. */
    assert_int_equal(mail_sender_run_once(s, &sent, &err), 0);
    assert_int_equal(ft.attempts, 1);
    clock_set_offset_ms(1500);
    assert_int_equal(mail_sender_run_once(s, &sent, &err), 0);
    assert_int_equal(ft.attempts, 2);
    assert_int_equal(sent, 0);
    clock_set_offset_ms(1500 + 2500); /* second back-off is 2 s */
    assert_int_equal(mail_sender_run_once(s, &sent, &err), 0);
    assert_int_equal(ft.attempts, 3);
    assert_int_equal(sent, 1);
    mail_sender_free(s);
}

static void test_outbox__gives_up_after_the_limit(void **state)
{
    struct fixture *f = *state;
    struct failing_transport ft = {{"failing", failing_send, NULL}, 1000, 0};
    enqueue(f, "bob@example.test", NULL, 0);
    struct mail_sender *s = sender_for(f, &ft.base);
    int sent = 0;
    struct usher_error err = {0};
    clock_set_offset_ms(61000);
    assert_int_equal(mail_sender_run_once(s, &sent, &err), 0);
    assert_int_equal(ft.attempts, 1);
    clock_set_offset_ms(10000000);
    assert_int_equal(mail_sender_run_once(s, &sent, &err), 0);
    assert_int_equal(ft.attempts, 1);
    mail_sender_free(s);
}

static void test_outbox__uncommitted_mail_is_never_sent(void **state)
{
    struct fixture *f = *state;
    struct usher_error err = {0};
    struct store_conn *c;
    struct arena a;
    arena_init(&a);
    assert_int_equal(store_conn_get(f->store, &c, &err), 0);
    assert_int_equal(store_begin(c, true, &err), 0);
    struct mail_outbox_item item = {
        .recipient = "x@example.test", .subject = "s", .text = "t", .html = "h"};
    assert_int_equal(mail_outbox_enqueue(NULL, c, &a, &item, &err), 0);
    store_rollback(c);
    store_conn_put(c);
    arena_dispose(&a);
    struct mail_sender *s = sender_for(f, f->files);
    int sent = 0;
    assert_int_equal(mail_sender_run_once(s, &sent, &err), 0);
    assert_int_equal(sent, 0);
    mail_sender_free(s);
}

static void test_sender_thread__delivers_after_wake(void **state)
{
    struct fixture *f = *state;
    struct mail_sender *s = sender_for(f, f->files);
    struct usher_error err = {0};
    assert_int_equal(mail_sender_start(s, &err), 0);
    enqueue(f, "cy@example.test", NULL, 0);
    mail_sender_wake(s);
    for (int i = 0; i < 200 && count_files(f->maildir) == 0; i++)
        usleep(10000);
    assert_int_equal(count_files(f->maildir), 1);
    mail_sender_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_render__builds_multipart_with_crlf_and_soft_breaks),
        cmocka_unit_test(test_render__refuses_header_injection),
        cmocka_unit_test(test_render__encodes_non_ascii_subject),
        cmocka_unit_test_setup_teardown(test_outbox__delivers_with_link_derived_at_send_time, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_outbox__drops_superseded_links, setup, teardown),
        cmocka_unit_test_setup_teardown(test_outbox__retries_with_back_off_until_delivered, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_outbox__gives_up_after_the_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_outbox__uncommitted_mail_is_never_sent, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_sender_thread__delivers_after_wake, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
