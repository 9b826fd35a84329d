/* Mail settings: the transport and the Message-ID domain; the text buffer emails are built in. */
#include "app/app_mail.h"

#include <stdio.h>
#include <string.h>

#include "config/config.h"

int app_mail_transport_new(struct mail_transport **out, const struct app *app,
                           struct usher_error *err)
{
    if (*app->cfg->smtp_url)
        return mail_transport_smtp_new(out, app->cfg->smtp_url, err);
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s/mail", app->cfg->data_dir);
    return mail_transport_file_new(out, dir, err);
}

const char *app_public_host(const struct app *app, struct arena *a)
{
    const char *url = app->public_url ? app->public_url : "";
    const char *host = strstr(url, "://");
    host = host ? host + 3 : url;
    size_t len = strcspn(host, ":/?#");
    if (host[0] == '[')
        len = strcspn(host, "]") + 1;
    return len ? arena_strndup(a, host, len) : "usher.invalid";
}

/* --- email bodies --- */

void app_mail_buf_add(struct app_mail_buf *b, const char *s)
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

void app_mail_buf_html(struct app_mail_buf *b, const char *s)
{
    char one[2] = {0, 0};
    for (; *s; s++) {
        switch (*s) {
        case '&':
            app_mail_buf_add(b, "&amp;");
            break;
        case '<':
            app_mail_buf_add(b, "&lt;");
            break;
        case '>':
            app_mail_buf_add(b, "&gt;");
            break;
        case '"':
            app_mail_buf_add(b, "&quot;");
            break;
        case '\'':
            app_mail_buf_add(b, "&#39;");
            break;
        default:
            one[0] = *s;
            app_mail_buf_add(b, one);
        }
    }
}
