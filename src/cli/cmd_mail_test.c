/* `usher mail-test --to ADDRESS`: queues a test message in the outbox and delivers it at once
 * through the configured transport (SMTP, or an .eml file), to check the mail settings. */
#include <stdio.h>

#include "app/app_mail.h"
#include "base/text.h"
#include "cli/cli.h"
#include "mail/mail.h"
#include "store/store.h"

static int mail_test_send(struct app *app, const char *to, struct usher_error *err)
{
    struct arena a;
    arena_init(&a);
    struct mail_transport *t = NULL;
    struct mail_sender *s = NULL;
    struct store_conn *c = NULL;
    const char *addr = NULL;
    int rc = text_email_normalize(&addr, &a, to, "to", err);
    if (rc)
        goto done;
    rc = app_mail_transport_new(&t, app, err);
    if (rc)
        goto done;
    rc = store_conn_get(app->store, &c, err);
    if (rc)
        goto done;
    struct mail_outbox_item item = {
        .recipient = addr,
        .subject = "usher test message",
        .text = "This message checks usher's mail settings. No action is needed.\n",
        .html = "<p>This message checks usher's mail settings. No action is needed.</p>",
    };
    rc = store_begin(c, true, err);
    if (rc == 0)
        rc = mail_outbox_enqueue(NULL, c, &a, &item, err);
    if (rc == 0)
        rc = store_commit(c, err);
    store_conn_put(c);
    if (rc)
        goto done;
    struct mail_sender_options o = {
        .store = app->store,
        .transport = t,
        .from = app->cfg->smtp_from,
        .message_id_domain = app_public_host(app, &a),
    };
    rc = mail_sender_new(&s, &o, err);
    int sent = 0;
    if (rc == 0)
        rc = mail_sender_run_once(s, &sent, err);
    if (rc == 0 && sent == 0)
        rc = usher_error_set(err, USHER_EUNAVAIL, NULL, NULL,
                             "delivery failed; the message stays queued and will be retried "
                             "by the running service (see the log for the reason)");
done:
    mail_sender_free(s);
    mail_transport_free(t);
    arena_dispose(&a);
    return rc;
}

static void mail_test_help(void)
{
    printf("Usage: usher mail-test --to ADDRESS [options]\n\n"
           "Queues a test message and delivers it at once with the configured mail\n"
           "settings (USHER_SMTP_URL, USHER_SMTP_FROM), to check them.\n\n");
}

static int mail_test_run(int argc, char **argv)
{
    const char *to = NULL;
    const struct cli_flag flags[] = {{"--to", &to, true}, {NULL, NULL, false}};
    const struct cli_setup setup = {
        .cmd = "mail-test", .flags = flags, .help = mail_test_help, .migrate = true};
    struct cli_run run;
    if (cli_run_start(&run, &setup, argc, argv)) {
        if (mail_test_send(&run.app, to, &run.err))
            cli_run_fail(&run, &run.err);
        else
            printf("test message delivered to %s\n", to);
    }
    return cli_run_end(&run);
}

const struct cli_command cli_cmd_mail_test = {
    "mail-test", "send a test email with the mail settings", mail_test_run};
