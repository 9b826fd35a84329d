/* Choosing the mail transport from the settings, naming the Message-ID domain, and the text
 * buffer the emails' bodies are built in. */
#ifndef USHER_APP_APP_MAIL_H
#define USHER_APP_APP_MAIL_H

#include "app/app.h"
#include "base/arena.h"
#include "mail/mail.h"

/* SMTP when smtp_url is set, otherwise .eml files under data_dir/mail. The caller frees the
 * transport with mail_transport_free. */
int app_mail_transport_new(struct mail_transport **out, const struct app *app,
                           struct usher_error *err);

/* The host of the public URL (without scheme, port or path), for Message-ID right-hand sides. */
const char *app_public_host(const struct app *app, struct arena *a);

/* The mail link resolver: derives the current URL of a link reference at send time
 * (invitations), or USHER_ENOTFOUND when the link is superseded. ctx is the struct app. */
int app_mail_link_resolve(void *ctx, struct arena *a, const char *kind, const char *ref,
                          int64_t generation, const char **out_url, struct usher_error *err);

/* Text grown in an arena, for building email bodies: start from {arena} (the rest zero);
 * data is NUL-terminated once anything was added, and lives as long as the arena. */
struct app_mail_buf {
    struct arena *a;
    char *data;
    size_t len, cap;
};

/* Appends s. */
void app_mail_buf_add(struct app_mail_buf *b, const char *s);

/* Appends s escaped for HTML text and attribute values (& < > " '). */
void app_mail_buf_html(struct app_mail_buf *b, const char *s);

#endif
