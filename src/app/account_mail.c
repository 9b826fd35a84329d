/* The "your password was changed" email: when (UTC), from which address and browser, that
 * every other session was signed out, and what to do if the change was not the person's own.
 * Names and the user agent come from people, so the HTML part escapes them. */
#include <string.h>

#include "app/account_int.h"
#include "app/app_mail.h"
#include "base/clock.h"
#include "mail/mail.h"
#include "store/store_user.h"

static void both_add(struct app_mail_buf *text, struct app_mail_buf *html, const char *s)
{
    app_mail_buf_add(text, s);
    app_mail_buf_html(html, s);
}

int app_account_password_mail_queue(struct store_conn *c, struct arena *a,
                                    const struct store_user *user,
                                    const struct app_account_mail_when *when,
                                    struct usher_error *err)
{
    struct app_mail_buf text = {a, NULL, 0, 0}, html = {a, NULL, 0, 0};
    const char *at = clock_format_ms(a, when->at);
    const char *from = when->source_ip && *when->source_ip ? when->source_ip : "an unknown address";
    app_mail_buf_add(&text, "Hello");
    app_mail_buf_add(&html, "<!DOCTYPE html><html><body><p>Hello");
    if (user->first_name && *user->first_name) {
        app_mail_buf_add(&text, " ");
        app_mail_buf_add(&html, " ");
        both_add(&text, &html, user->first_name);
    }
    app_mail_buf_add(&text, ",\n\nThe password of your account ");
    app_mail_buf_add(&html, ",</p><p>The password of your account <strong>");
    both_add(&text, &html, user->email);
    app_mail_buf_add(&text, " was changed at ");
    app_mail_buf_add(&html, "</strong> was changed at ");
    both_add(&text, &html, at);
    app_mail_buf_add(&text, " (UTC) from the address ");
    app_mail_buf_add(&html, " (UTC) from the address <strong>");
    both_add(&text, &html, from);
    app_mail_buf_add(&html, "</strong>");
    if (when->user_agent && *when->user_agent) {
        app_mail_buf_add(&text, " (");
        app_mail_buf_add(&html, " (");
        both_add(&text, &html, when->user_agent);
        app_mail_buf_add(&text, ")");
        app_mail_buf_add(&html, ")");
    }
    both_add(&text, &html, ". Every other session of the account was signed out.");
    app_mail_buf_add(&text,
                     "\n\nIf this was you, there is nothing to do.\n\n"
                     "If it was not you, someone else knows your password: contact your platform "
                     "administrator at once so they can disable the account and end its sessions, "
                     "and do not use that password anywhere else.\n");
    app_mail_buf_add(&html,
                     "</p><p>If this was you, there is nothing to do.</p><p><strong>If it was not "
                     "you</strong>, someone else knows your password: contact your platform "
                     "administrator at once so they can disable the account and end its sessions, "
                     "and do not use that password anywhere else.</p></body></html>");
    struct mail_outbox_item item = {
        .recipient = user->email,
        .subject = "Your password was changed",
        .text = text.data,
        .html = html.data,
    };
    return mail_outbox_enqueue(NULL, c, a, &item, err);
}
