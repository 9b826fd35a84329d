/* The two transports: SMTP submission through libcurl, and .eml files in a directory. */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "mail/mail.h"

#define SMTP_CONNECT_TIMEOUT_S 10L
#define SMTP_TIMEOUT_S         60L

void mail_transport_free(struct mail_transport *t)
{
    if (t)
        t->free(t);
}

/* --- SMTP --- */

struct smtp_transport {
    struct mail_transport base;
    char *url;
};

struct upload {
    const char *data;
    size_t len, off;
};

static size_t upload_read(char *buf, size_t size, size_t nitems, void *userp)
{
    struct upload *u = userp;
    size_t room = size * nitems;
    size_t left = u->len - u->off;
    size_t n = left < room ? left : room;
    memcpy(buf, u->data + u->off, n);
    u->off += n;
    return n;
}

/* The envelope addresses in angle brackets, as curl sends them verbatim. */
static int smtp_send(struct mail_transport *t, const struct mail_message *m, const char *raw,
                     size_t raw_len, struct usher_error *err)
{
    struct smtp_transport *st = (struct smtp_transport *)t;
    CURL *curl = curl_easy_init();
    if (!curl)
        return usher_error_set(err, USHER_EUNAVAIL, NULL, NULL, "cannot start an SMTP client");
    char from[320], to[320];
    snprintf(from, sizeof(from), "<%s>", m->from);
    snprintf(to, sizeof(to), "<%s>", m->to);
    struct curl_slist *rcpt = curl_slist_append(NULL, to);
    struct upload up = {raw, raw_len, 0};
    char errbuf[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(curl, CURLOPT_URL, st->url);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    curl_easy_setopt(curl, CURLOPT_USE_SSL, (long)CURLUSESSL_TRY);
    curl_easy_setopt(curl, CURLOPT_MAIL_FROM, from);
    curl_easy_setopt(curl, CURLOPT_MAIL_RCPT, rcpt);
    curl_easy_setopt(curl, CURLOPT_READFUNCTION, upload_read);
    curl_easy_setopt(curl, CURLOPT_READDATA, &up);
    curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE, (curl_off_t)raw_len);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, SMTP_CONNECT_TIMEOUT_S);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, SMTP_TIMEOUT_S);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
    CURLcode rc = curl_easy_perform(curl);
    long response = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &response);
    curl_slist_free_all(rcpt);
    curl_easy_cleanup(curl);
    if (rc == CURLE_OK)
        return 0;
    /* A permanent rejection of the recipient (5xx) is still retried with back-off: a typo in
     * the server's configuration should not lose invitations. The error names no secret. */
    return usher_error_set(err, USHER_EUNAVAIL, NULL, NULL, "smtp delivery failed: %s (%ld)",
                           errbuf[0] ? errbuf : curl_easy_strerror(rc), response);
}

static void smtp_free(struct mail_transport *t)
{
    struct smtp_transport *st = (struct smtp_transport *)t;
    free(st->url);
    free(st);
}

int mail_transport_smtp_new(struct mail_transport **out, const char *url, struct usher_error *err)
{
    *out = NULL;
    if (strncmp(url, "smtp://", 7) != 0 && strncmp(url, "smtps://", 8) != 0)
        return usher_error_set(err, USHER_EINVAL, NULL, "smtp_url",
                               "smtp_url must start with smtp:// or smtps://");
    static int curl_ready;
    if (!curl_ready) {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
            return usher_error_set(err, USHER_EINTERNAL, NULL, NULL, "libcurl failed to start");
        curl_ready = 1;
    }
    struct smtp_transport *st = xcalloc(1, sizeof(*st));
    st->base.name = "smtp";
    st->base.send = smtp_send;
    st->base.free = smtp_free;
    st->url = xstrdup(url);
    *out = &st->base;
    return 0;
}

/* --- files --- */

struct file_transport {
    struct mail_transport base;
    char *dir;
};

static int file_send(struct mail_transport *t, const struct mail_message *m, const char *raw,
                     size_t raw_len, struct usher_error *err)
{
    struct file_transport *ft = (struct file_transport *)t;
    char path[4096], tmp[4200];
    snprintf(path, sizeof(path), "%s/%s.eml", ft->dir, m->id);
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return usher_error_set(err, USHER_EUNAVAIL, NULL, NULL, "cannot write %s: %s", tmp,
                               strerror(errno));
    size_t off = 0;
    while (off < raw_len) {
        ssize_t w = write(fd, raw + off, raw_len - off);
        if (w <= 0)
            break;
        off += (size_t)w;
    }
    int sync_rc = fsync(fd);
    close(fd);
    if (off != raw_len || sync_rc != 0 || rename(tmp, path) != 0) {
        unlink(tmp);
        return usher_error_set(err, USHER_EUNAVAIL, NULL, NULL, "cannot write %s", path);
    }
    /* The file holds the link; the log names the file, never the link itself. */
    log_msg(LOG_INFO, "mail.written", "{s:s, s:s}", "file", path, "message_id", m->message_id);
    return 0;
}

static void file_free(struct mail_transport *t)
{
    struct file_transport *ft = (struct file_transport *)t;
    free(ft->dir);
    free(ft);
}

int mail_transport_file_new(struct mail_transport **out, const char *dir, struct usher_error *err)
{
    *out = NULL;
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return usher_error_set(err, USHER_EINVAL, NULL, "data_dir", "cannot create %s: %s", dir,
                               strerror(errno));
    struct file_transport *ft = xcalloc(1, sizeof(*ft));
    ft->base.name = "file";
    ft->base.send = file_send;
    ft->base.free = file_free;
    ft->dir = xstrdup(dir);
    *out = &ft->base;
    return 0;
}
