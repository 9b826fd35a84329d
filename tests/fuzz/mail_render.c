/* Fuzzes the email renderer (mail_message_render) with every field taken from the input:
 * from NUL to NUL subject NUL message-id NUL text NUL html. Properties: a header value with a
 * line break is refused; otherwise the message has exactly the fixed header lines, every line
 * ends in CRLF with no bare CR or LF anywhere, body lines stay within 76 characters, and no
 * body line can close the multipart boundary early. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "mail/mail.h"

static void message_check(const char *raw, size_t len, const char *subject)
{
    FUZZ_CHECK(strlen(raw) == len);
    for (size_t i = 0; i < len; i++) {
        if (raw[i] == '\n')
            FUZZ_CHECK(i > 0 && raw[i - 1] == '\r');
        if (raw[i] == '\r')
            FUZZ_CHECK(i + 1 < len && raw[i + 1] == '\n');
    }
    const char *body = strstr(raw, "\r\n\r\n");
    FUZZ_CHECK(body != NULL);
    /* Header lines: From, To, Subject (plus folded encoded words), Date, Message-ID,
     * MIME-Version, Auto-Submitted, Content-Type. */
    int fields = 0;
    for (const char *line = raw; line < body + 2;) {
        const char *eol = strstr(line, "\r\n");
        if (line[0] != ' ')
            fields++;
        else
            FUZZ_CHECK(strncmp(line, " =?UTF-8?B?", 11) == 0);
        line = eol + 2;
    }
    FUZZ_CHECK(fields == 8);
    static const char ct[] = "\r\nContent-Type: multipart/alternative; boundary=\"";
    const char *boundary = strstr(raw, ct);
    FUZZ_CHECK(boundary != NULL && boundary < body);
    boundary += strlen(ct);
    const char *bend = strchr(boundary, '"');
    size_t blen = (size_t)(bend - boundary);
    size_t closings = 0;
    for (const char *line = body + 4; *line;) {
        const char *eol = strstr(line, "\r\n");
        FUZZ_CHECK(eol != NULL);
        size_t llen = (size_t)(eol - line);
        if (llen >= 2 + blen && strncmp(line, "--", 2) == 0 &&
            strncmp(line + 2, boundary, blen) == 0)
            closings += llen == blen + 4;
        else if (strncmp(line, "Content-", 8) != 0)
            FUZZ_CHECK(llen <= 76);
        line = eol + 2;
    }
    FUZZ_CHECK(closings == 1);
    (void)subject;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *f[6];
    fuzz_fields_split(f, 6, data, size);
    struct mail_message m = {
        .id = "msg_fuzz",
        .from = f[0],
        .to = f[1],
        .subject = f[2],
        .message_id = f[3],
        .text = f[4],
        .html = f[5],
        .date_ms = 1700000000000,
    };
    struct arena a;
    arena_init(&a);
    char *raw = NULL;
    size_t len = 0;
    struct usher_error err = {0};
    bool breaks = strpbrk(f[0], "\r\n") || strpbrk(f[1], "\r\n") || strpbrk(f[2], "\r\n") ||
                  strpbrk(f[3], "\r\n");
    int rc = mail_message_render(&raw, &len, &a, &m, &err);
    FUZZ_CHECK((rc != 0) == breaks);
    if (rc == 0)
        message_check(raw, len, f[2]);
    arena_dispose(&a);
    fuzz_fields_free(f, 6);
    return 0;
}
