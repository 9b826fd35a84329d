/* The "your password was changed" email: when (UTC), from which address and browser, that
 * every other session was signed out, and what to do if the change was not the person's own.
 * Names and the user agent come from people, so the HTML part escapes them. */
#include <string.h>

#include "app/account_int.h"
#include "base/clock.h"
#include "mail/mail.h"
#include "store/store_user.h"

struct mail_buf {
    struct arena *a;
    char *data;
    size_t len, cap;
};

static void buf_add(struct mail_buf *b, const char *s)
{
    size_t n = strlen(s);
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 1024;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *grown = arena_alloc(b->a, cap);
        if (b->len)
            memcpy(grown, b->data, b->len);
        b->data = grown;
        b->cap = cap;
    }
    memcpy(b->data + b->len, s, n + 1);
    b->len += n;
}

static void buf_html(struct mail_buf *b, const char *s)
{
    char one[2] = {0, 0};
    for (; *s; s++) {
        switch (*s) {
        case '&':
            buf_add(b, "&amp;");
            break;
        case '<':
            buf_add(b, "&lt;");
            break;
        case '>':
            buf_add(b, "&gt;");
            break;
        case '"':
            buf_add(b, "&quot;");
            break;
        case '\'':
            buf_add(b, "&#39;");
            break;
        default:
            one[0] = *s;
            buf_add(b, one);
        }
    }
}

/* Adds s to the text part as is and to the HTML part escaped. */
static void both_add(struct mail_buf *text, struct mail_buf *html, const char *s)
{
    buf_add(text, s);
    buf_html(html, s);
}

int app_account_password_mail_queue(struct store_conn *c, struct arena *a,
                                    const struct store_user *user,
                                    const struct app_account_mail_when *when,
                                    struct usher_error *err)
{
    struct mail_buf text = {a, NULL, 0, 0}, html = {a, NULL, 0, 0};
    const char *at = clock_format_ms(a, when->at);
    const char *from = when->source_ip && *when->source_ip ? when->source_ip : "an unknown address";
    buf_add(&text, "Hello");
    buf_add(&html, "<!DOCTYPE html><html><body><p>Hello");
    if (user->first_name && *user->first_name) {
        buf_add(&text, " ");
        buf_add(&html, " ");
        both_add(&text, &html, user->first_name);
    }
    buf_add(&text, ",\n\nThe password of your account ");
    buf_add(&html, ",</p><p>The password of your account <strong>");
    both_add(&text, &html, user->email);
    buf_add(&text, " was changed at ");
    buf_add(&html, "</strong> was changed at ");
    both_add(&text, &html, at);
    buf_add(&text, " (UTC) from the address ");
    buf_add(&html, " (UTC) from the address <strong>");
    both_add(&text, &html, from);
    buf_add(&html, "</strong>");
    if (when->user_agent && *when->user_agent) {
        buf_add(&text, " (");
        buf_add(&html, " (");
        both_add(&text, &html, when->user_agent);
        buf_add(&text, ")");
        buf_add(&html, ")");
    }
    both_add(&text, &html, ". Every other session of the account was signed out.");
    buf_add(&text, "\n\nIf this was you, there is nothing to do.\n\n"
                   "If it was not you, someone else knows your password: contact your platform "
                   "administrator at once so they can disable the account and end its sessions, "
                   "and do not use that password anywhere else.\n");
    buf_add(&html, "</p><p>If this was you, there is nothing to do.</p><p><strong>If it was not "
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
