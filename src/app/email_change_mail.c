/* The emails of an email change: the link to the new address, the notice to the old address
 * that a change was asked for (the new address partly hidden), and the notice to the old
 * address that it happened. Names come from people, so the HTML parts escape them. */
#include <string.h>

#include "app/app_mail.h"
#include "app/email_change.h"
#include "app/email_change_int.h"
#include "base/clock.h"
#include "mail/mail.h"
#include "store/store_link.h"
#include "store/store_user.h"

/* The text and HTML parts of one email, grown side by side. */
struct mail_pair {
    struct app_mail_buf text, html;
};

static void pair_init(struct mail_pair *m, struct arena *a)
{
    m->text = (struct app_mail_buf){a, NULL, 0, 0};
    m->html = (struct app_mail_buf){a, NULL, 0, 0};
}

/* Adds fixed markup-free wording to both parts. */
static void pair_add(struct mail_pair *m, const char *s)
{
    app_mail_buf_add(&m->text, s);
    app_mail_buf_add(&m->html, s);
}

/* Adds a value from people or the request: as is to the text, escaped to the HTML. */
static void pair_value(struct mail_pair *m, const char *s)
{
    app_mail_buf_add(&m->text, s);
    app_mail_buf_html(&m->html, s);
}

/* A value shown in bold in the HTML part. */
static void pair_strong(struct mail_pair *m, const char *s)
{
    app_mail_buf_add(&m->html, "<strong>");
    pair_value(m, s);
    app_mail_buf_add(&m->html, "</strong>");
}

/* A paragraph break: a blank line in the text, a new <p> in the HTML. */
static void pair_break(struct mail_pair *m)
{
    app_mail_buf_add(&m->text, "\n\n");
    app_mail_buf_add(&m->html, "</p><p>");
}

/* "Hello <first name>," (just "Hello," when first_name is NULL or empty). */
static void pair_hello(struct mail_pair *m, const char *first_name)
{
    app_mail_buf_add(&m->html, "<!DOCTYPE html><html><body><p>");
    pair_add(m, "Hello");
    if (first_name && *first_name) {
        pair_add(m, " ");
        pair_value(m, first_name);
    }
    pair_add(m, ",");
    pair_break(m);
}

static void pair_end(struct mail_pair *m)
{
    app_mail_buf_add(&m->text, "\n");
    app_mail_buf_add(&m->html, "</p></body></html>");
}

/* " at <when> (UTC) from the address <ip>" */
static void pair_when(struct mail_pair *m, struct arena *a,
                      const struct app_email_change_when *when)
{
    pair_add(m, " at ");
    pair_value(m, clock_format_ms(a, when->at));
    pair_add(m, " (UTC) from the address ");
    pair_strong(m, when->source_ip && *when->source_ip ? when->source_ip : "an unknown address");
}

static int pair_queue(struct store_conn *c, struct arena *a, struct mail_pair *m, const char *to,
                      const char *subject, const struct store_link *link, struct usher_error *err)
{
    struct mail_outbox_item item = {
        .recipient = to,
        .subject = subject,
        .text = m->text.data,
        .html = m->html.data,
        .link_kind = link ? "email_change" : NULL,
        .link_ref = link ? link->id : NULL,
        .link_generation = link ? 1 : 0,
    };
    return mail_outbox_enqueue(NULL, c, a, &item, err);
}

int app_email_change_link_mail_queue(struct store_conn *c, struct arena *a,
                                     const struct store_link *e, struct usher_error *err)
{
    struct mail_pair m;
    pair_init(&m, a);
    /* The new address may be mistyped: its email tells nothing about the account. */
    pair_hello(&m, NULL);
    pair_add(&m, "Someone asked to make this address, ");
    pair_strong(&m, e->email);
    pair_add(&m, ", the email address of their usher account. Open this link to confirm it:");
    pair_break(&m);
    app_mail_buf_add(&m.text, MAIL_LINK_PLACEHOLDER);
    app_mail_buf_add(&m.html, "<a href=\"" MAIL_LINK_PLACEHOLDER "\">Confirm the new address</a>");
    pair_break(&m);
    pair_add(&m, "The link works once and expires in 24 hours, at ");
    pair_value(&m, clock_format_ms(a, e->expires_at));
    pair_add(&m, " (UTC). Confirming signs out every session of the account; sign in again with "
                 "this address afterwards.");
    pair_break(&m);
    pair_add(&m, "If you did not ask for this, ignore this email: nothing changes.");
    pair_end(&m);
    return pair_queue(c, a, &m, e->email, "Confirm your new email address", e, err);
}

int app_email_change_asked_mail_queue(struct store_conn *c, struct arena *a,
                                      const struct store_user *user, const struct store_link *e,
                                      const struct app_email_change_when *when,
                                      struct usher_error *err)
{
    struct mail_pair m;
    pair_init(&m, a);
    pair_hello(&m, user->first_name);
    pair_add(&m, "A change of the email address of your account ");
    pair_strong(&m, user->email);
    pair_add(&m, " to ");
    pair_strong(&m, app_email_mask(a, e->email));
    pair_add(&m, " was requested");
    pair_when(&m, a, when);
    pair_add(&m, ". The address changes only if the link sent to the new address is opened "
                 "within 24 hours.");
    pair_break(&m);
    pair_add(&m, "If this was you, there is nothing to do.");
    pair_break(&m);
    app_mail_buf_add(&m.html, "<strong>");
    pair_add(&m, "If it was not you");
    app_mail_buf_add(&m.html, "</strong>");
    pair_add(&m, ", someone else knows your password: change your password at once (that "
                 "cancels the change and signs out every other session) and tell your platform "
                 "administrator.");
    pair_end(&m);
    return pair_queue(c, a, &m, user->email, "A change of your email address was requested", NULL,
                      err);
}

int app_email_change_done_mail_queue(struct store_conn *c, struct arena *a,
                                     const struct store_user *user, const char *new_email,
                                     const struct app_email_change_when *when,
                                     struct usher_error *err)
{
    struct mail_pair m;
    pair_init(&m, a);
    pair_hello(&m, user->first_name);
    pair_add(&m, "The email address of your account was changed from ");
    pair_strong(&m, user->email);
    pair_add(&m, " to ");
    pair_strong(&m, app_email_mask(a, new_email));
    pair_when(&m, a, when);
    pair_add(&m, ". Every session of the account was signed out, and signing in now takes the "
                 "new address. This address gets no more email about the account.");
    pair_break(&m);
    app_mail_buf_add(&m.html, "<strong>");
    pair_add(&m, "If this was not you");
    app_mail_buf_add(&m.html, "</strong>");
    pair_add(&m, ", contact your platform administrator at once so they can disable the account "
                 "and give it back to you.");
    pair_end(&m);
    return pair_queue(c, a, &m, user->email, "Your email address was changed", NULL, err);
}
