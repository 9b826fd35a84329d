/* Rendering an RFC 5322 message: headers (RFC 2047 encoded subject), a multipart/alternative
 * body with quoted-printable text and HTML parts, CRLF line ends throughout. */
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "mail/mail.h"

struct out_buf {
    struct arena *a;
    char *data;
    size_t len, cap;
};

static void out_reserve(struct out_buf *b, size_t more)
{
    if (b->len + more + 1 <= b->cap)
        return;
    size_t cap = b->cap ? b->cap * 2 : 4096;
    while (cap < b->len + more + 1)
        cap *= 2;
    char *grown = arena_alloc(b->a, cap);
    if (b->len)
        memcpy(grown, b->data, b->len);
    b->data = grown;
    b->cap = cap;
}

static void out_add(struct out_buf *b, const char *s, size_t len)
{
    out_reserve(b, len);
    memcpy(b->data + b->len, s, len);
    b->len += len;
    b->data[b->len] = '\0';
}

static void out_str(struct out_buf *b, const char *s)
{
    out_add(b, s, strlen(s));
}

/* Quoted-printable (RFC 2045 §6.7): soft breaks keep lines under 76 characters; input line
 * ends become CRLF. */
static void out_qp(struct out_buf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t col = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '\r')
            continue;
        if (*p == '\n') {
            out_add(b, "\r\n", 2);
            col = 0;
            continue;
        }
        bool next_is_eol = p[1] == '\0' || p[1] == '\n' || p[1] == '\r';
        bool plain =
            (*p >= 33 && *p <= 126 && *p != '=') || ((*p == ' ' || *p == '\t') && !next_is_eol);
        size_t width = plain ? 1 : 3;
        if (col + width > 75) {
            out_add(b, "=\r\n", 3);
            col = 0;
        }
        if (plain) {
            out_add(b, (const char *)p, 1);
        } else {
            char enc[3] = {'=', hex[*p >> 4], hex[*p & 15]};
            out_add(b, enc, 3);
        }
        col += width;
    }
    out_add(b, "\r\n", 2);
}

static bool header_safe(const char *v)
{
    return v && !strpbrk(v, "\r\n");
}

static bool is_ascii(const char *s)
{
    for (; *s; s++) {
        if ((unsigned char)*s >= 0x80)
            return false;
    }
    return true;
}

/* An RFC 2047 encoded-word for non-ASCII subjects, base64 in chunks that keep words short. */
static void out_subject(struct out_buf *b, const char *subject)
{
    out_str(b, "Subject: ");
    if (is_ascii(subject)) {
        out_str(b, subject);
        out_add(b, "\r\n", 2);
        return;
    }
    size_t len = strlen(subject), i = 0;
    while (i < len) {
        size_t chunk = len - i > 45 ? 45 : len - i;
        /* Never split a UTF-8 sequence across encoded words; a run of continuation bytes
         * longer than a chunk (not UTF-8 at all) is cut where it falls. */
        size_t whole = chunk;
        while (whole > 0 && i + whole < len && ((unsigned char)subject[i + whole] & 0xC0) == 0x80)
            whole--;
        if (whole > 0)
            chunk = whole;
        char enc[80];
        sodium_bin2base64(enc, sizeof(enc), (const unsigned char *)subject + i, chunk,
                          sodium_base64_VARIANT_ORIGINAL);
        if (i > 0)
            out_str(b, "\r\n ");
        out_str(b, "=?UTF-8?B?");
        out_str(b, enc);
        out_str(b, "?=");
        i += chunk;
    }
    out_add(b, "\r\n", 2);
}

int mail_message_render(char **out, size_t *out_len, struct arena *a, const struct mail_message *m,
                        struct usher_error *err)
{
    if (!header_safe(m->from) || !header_safe(m->to) || !header_safe(m->subject) ||
        !header_safe(m->message_id))
        return usher_error_set(err, USHER_EINVAL, NULL, NULL,
                               "mail header holds a line break or is missing");
    struct out_buf b = {a, NULL, 0, 0};
    char date[64];
    time_t secs = (time_t)(m->date_ms / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
    unsigned char rnd[12];
    randombytes_buf(rnd, sizeof(rnd));
    char boundary[40] = "=_usher_";
    sodium_bin2hex(boundary + 8, sizeof(boundary) - 8, rnd, sizeof(rnd));

    out_str(&b, "From: ");
    out_str(&b, m->from);
    out_str(&b, "\r\nTo: ");
    out_str(&b, m->to);
    out_str(&b, "\r\n");
    out_subject(&b, m->subject);
    out_str(&b, "Date: ");
    out_str(&b, date);
    out_str(&b, "\r\nMessage-ID: ");
    out_str(&b, m->message_id);
    out_str(&b, "\r\nMIME-Version: 1.0\r\nAuto-Submitted: auto-generated\r\n"
                "Content-Type: multipart/alternative; boundary=\"");
    out_str(&b, boundary);
    out_str(&b, "\"\r\n\r\n--");
    out_str(&b, boundary);
    out_str(&b, "\r\nContent-Type: text/plain; charset=utf-8\r\n"
                "Content-Transfer-Encoding: quoted-printable\r\n\r\n");
    out_qp(&b, m->text);
    out_str(&b, "--");
    out_str(&b, boundary);
    out_str(&b, "\r\nContent-Type: text/html; charset=utf-8\r\n"
                "Content-Transfer-Encoding: quoted-printable\r\n\r\n");
    out_qp(&b, m->html);
    out_str(&b, "--");
    out_str(&b, boundary);
    out_str(&b, "--\r\n");
    *out = b.data;
    *out_len = b.len;
    return 0;
}
