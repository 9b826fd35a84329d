/* The notice that a grant ends in three days: one email to the person holding it, one to the
 * person who set it. Names come from people, so the HTML part escapes them. */
#include <string.h>

#include "app/app_mail.h"
#include "app/grant_lapse.h"
#include "base/clock.h"
#include "mail/mail.h"
#include "store/store_user.h"

static void both_add(struct app_mail_buf *text, struct app_mail_buf *html, const char *s)
{
    app_mail_buf_add(text, s);
    app_mail_buf_html(html, s);
}

/* "First Last <email>", or the email alone when the person has no name. */
static void person_add(struct app_mail_buf *text, struct app_mail_buf *html,
                       const struct store_user *u)
{
    bool named = false;
    if (u->first_name && *u->first_name) {
        both_add(text, html, u->first_name);
        named = true;
    }
    if (u->last_name && *u->last_name) {
        if (named)
            both_add(text, html, " ");
        both_add(text, html, u->last_name);
        named = true;
    }
    both_add(text, html, named ? " (" : "");
    both_add(text, html, u->email);
    both_add(text, html, named ? ")" : "");
}

/* One email: "Hello NAME," then the sentences the caller adds between start and end. */
static void greeting(struct app_mail_buf *text, struct app_mail_buf *html,
                     const struct store_user *to)
{
    app_mail_buf_add(text, "Hello");
    app_mail_buf_add(html, "<!DOCTYPE html><html><body><p>Hello");
    if (to->first_name && *to->first_name) {
        both_add(text, html, " ");
        both_add(text, html, to->first_name);
    }
    app_mail_buf_add(text, ",\n\n");
    app_mail_buf_add(html, ",</p><p>");
}

/* "SCOPE in AGENCY ends on DATE (UTC)." */
static void what_ends(struct app_mail_buf *text, struct app_mail_buf *html, const char *scope_name,
                      const char *agency_name, const char *until)
{
    both_add(text, html, scope_name);
    both_add(text, html, " in the agency ");
    both_add(text, html, agency_name);
    both_add(text, html, " ends on ");
    both_add(text, html, until);
    both_add(text, html, " (UTC).");
}

static int queue(struct store_conn *c, struct arena *a, const char *to, const char *subject,
                 struct app_mail_buf *text, struct app_mail_buf *html, struct usher_error *err)
{
    app_mail_buf_add(text, "\n");
    app_mail_buf_add(html, "</p></body></html>");
    struct mail_outbox_item item = {
        .recipient = to,
        .subject = subject,
        .text = text->data,
        .html = html->data,
    };
    return mail_outbox_enqueue(NULL, c, a, &item, err);
}

int app_grant_lapse_mail_queue(struct store_conn *c, struct arena *a,
                               const struct store_grant_due *g, const char *agency_name,
                               const char *scope_name, const struct store_user *holder,
                               const struct store_user *granter, struct usher_error *err)
{
    const char *until = clock_format_ms(a, g->expires_at);
    struct app_mail_buf text = {a, NULL, 0, 0}, html = {a, NULL, 0, 0};
    greeting(&text, &html, holder);
    both_add(&text, &html, "Your access to ");
    what_ends(&text, &html, scope_name, agency_name, until);
    app_mail_buf_add(&text, "\n\nFrom then on it no longer counts. If you still need it, ask ");
    app_mail_buf_add(&html, "</p><p>From then on it no longer counts. If you still need it, ask ");
    if (granter) {
        person_add(&text, &html, granter);
        both_add(&text, &html, ", who gave it, or ");
    }
    both_add(&text, &html, "a manager of the agency to extend it before then.");
    int rc = queue(c, a, holder->email, "Your access ends in three days", &text, &html, err);
    if (rc || !granter)
        return rc;
    struct app_mail_buf text2 = {a, NULL, 0, 0}, html2 = {a, NULL, 0, 0};
    greeting(&text2, &html2, granter);
    both_add(&text2, &html2, "The access you gave ");
    person_add(&text2, &html2, holder);
    both_add(&text2, &html2, " to ");
    what_ends(&text2, &html2, scope_name, agency_name, until);
    app_mail_buf_add(&text2, "\n\nIf they still need it, edit their access before then; "
                             "otherwise there is nothing to do.");
    app_mail_buf_add(&html2, "</p><p>If they still need it, edit their access before then; "
                             "otherwise there is nothing to do.");
    return queue(c, a, granter->email, "Access you gave ends in three days", &text2, &html2, err);
}
