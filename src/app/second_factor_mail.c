/* The emails about a second factor: turned on, turned off, reset by an administrator. Each
 * says when (UTC), from which address and browser, and what to do if it was not the person.
 * Names and the user agent come from people, so the HTML part escapes them. */
#include <string.h>

#include "app/app_mail.h"
#include "app/second_factor_int.h"
#include "base/clock.h"
#include "mail/mail.h"
#include "store/store_user.h"

static void both_add(struct app_mail_buf *text, struct app_mail_buf *html, const char *s)
{
    app_mail_buf_add(text, s);
    app_mail_buf_html(html, s);
}

/* The wording of each kind. */
struct wording {
    const char *subject;
    const char *what;   /* "… was turned on" after "two-step verification of your account X" */
    const char *by;     /* who made it, or "" */
    const char *advice; /* what to do if it was not them */
};

static const struct wording wordings[] = {
    [APP_SECOND_FACTOR_MAIL_ENABLED] =
        {"Two-step verification turned on", " was turned on", "",
         "If it was not you, someone else knows your password and can now sign in with their "
         "own authenticator: contact your platform administrator at once so they can disable "
         "the account, end its sessions and reset its two-step verification."},
    [APP_SECOND_FACTOR_MAIL_DISABLED] =
        {"Two-step verification turned off", " was turned off", "",
         "If it was not you, someone else can sign in to your account: contact your platform "
         "administrator at once so they can disable the account and end its sessions, and do "
         "not use that password anywhere else."},
    [APP_SECOND_FACTOR_MAIL_RESET] =
        {"Two-step verification reset by an administrator",
         " was reset by a platform administrator",
         " (your authenticator and recovery codes "
         "no longer work)",
         "You can sign in with your password alone and turn two-step verification on again. If "
         "you did not ask an administrator for this, contact your platform administrator at "
         "once."},
};

int app_second_factor_mail_queue(struct store_conn *c, struct arena *a,
                                 const struct store_user *user,
                                 const struct app_second_factor_mail *m, struct usher_error *err)
{
    const struct wording *w = &wordings[m->kind];
    struct app_mail_buf text = {a, NULL, 0, 0}, html = {a, NULL, 0, 0};
    const char *at = clock_format_ms(a, m->at);
    const char *from = m->source_ip && *m->source_ip ? m->source_ip : "an unknown address";
    app_mail_buf_add(&text, "Hello");
    app_mail_buf_add(&html, "<!DOCTYPE html><html><body><p>Hello");
    if (user->first_name && *user->first_name) {
        app_mail_buf_add(&text, " ");
        app_mail_buf_add(&html, " ");
        both_add(&text, &html, user->first_name);
    }
    app_mail_buf_add(&text, ",\n\nTwo-step verification of your account ");
    app_mail_buf_add(&html, ",</p><p>Two-step verification of your account <strong>");
    both_add(&text, &html, user->email);
    app_mail_buf_add(&html, "</strong>");
    both_add(&text, &html, w->what);
    both_add(&text, &html, w->by);
    both_add(&text, &html, " at ");
    both_add(&text, &html, at);
    app_mail_buf_add(&text, " (UTC) from the address ");
    app_mail_buf_add(&html, " (UTC) from the address <strong>");
    both_add(&text, &html, from);
    app_mail_buf_add(&html, "</strong>");
    if (m->user_agent && *m->user_agent) {
        both_add(&text, &html, " (");
        both_add(&text, &html, m->user_agent);
        both_add(&text, &html, ")");
    }
    both_add(&text, &html, ".");
    app_mail_buf_add(&text, "\n\nIf this was you, there is nothing to do.\n\n");
    app_mail_buf_add(&html, "</p><p>If this was you, there is nothing to do.</p><p>");
    both_add(&text, &html, w->advice);
    app_mail_buf_add(&text, "\n");
    app_mail_buf_add(&html, "</p></body></html>");
    struct mail_outbox_item item = {
        .recipient = user->email,
        .subject = w->subject,
        .text = text.data,
        .html = html.data,
    };
    return mail_outbox_enqueue(NULL, c, a, &item, err);
}
