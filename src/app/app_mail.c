/* Mail settings: the transport and the Message-ID domain. */
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
