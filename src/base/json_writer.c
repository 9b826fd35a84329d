/* A growable JSON text writer whose output matches jansson's compact dumps. */
#include "base/json_writer.h"

#include <stdlib.h>
#include <string.h>

#include "base/arena.h"

void json_writer_init(struct json_writer *w, char *storage, size_t cap)
{
    w->data = storage;
    w->len = 0;
    w->cap = storage ? cap : 0;
    w->is_heap = false;
}

void json_writer_dispose(struct json_writer *w)
{
    if (w->is_heap)
        free(w->data);
    json_writer_init(w, NULL, 0);
}

static void reserve(struct json_writer *w, size_t more)
{
    if (w->cap - w->len >= more)
        return;
    size_t cap = w->cap ? w->cap * 2 : 256;
    while (cap - w->len < more)
        cap *= 2;
    if (w->is_heap) {
        w->data = xrealloc(w->data, cap);
    } else {
        char *heap = xmalloc(cap);
        if (w->len)
            memcpy(heap, w->data, w->len);
        w->data = heap;
        w->is_heap = true;
    }
    w->cap = cap;
}

void json_writer_raw(struct json_writer *w, const char *text, size_t len)
{
    reserve(w, len);
    memcpy(w->data + w->len, text, len);
    w->len += len;
}

void json_writer_lit(struct json_writer *w, const char *text)
{
    json_writer_raw(w, text, strlen(text));
}

/* The length of the valid UTF-8 sequence at s (1 to 4), or 0 when it is not one. */
static size_t utf8_sequence(const unsigned char *s)
{
    unsigned char c = s[0];
    size_t n;
    uint32_t cp;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
        cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    /* Overlong forms, surrogates and code points past U+10FFFF are not UTF-8. */
    if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return n;
}

/* Bytes written as they are inside a string: 0x20 to 0x7F but the quote and the backslash, as a
 * bitmap of the first 128 byte values. */
static const uint64_t plain_bytes[2] = {0xFFFFFFFB00000000ULL, 0xFFFFFFFFEFFFFFFFULL};

static bool is_plain(unsigned char c)
{
    return c < 128 && ((plain_bytes[c >> 6] >> (c & 63)) & 1);
}

void json_writer_string(struct json_writer *w, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    if (!s) {
        json_writer_raw(w, "null", 4);
        return;
    }
    const unsigned char *p = (const unsigned char *)s;
    reserve(w, 2);
    w->data[w->len++] = '"';
    while (*p) {
        /* Copy the longest run that needs no escaping in one go. */
        const unsigned char *run = p;
        while (is_plain(*p))
            p++;
        if (p > run)
            json_writer_raw(w, (const char *)run, (size_t)(p - run));
        if (!*p)
            break;
        char esc[6] = {'\\', 0, 0, 0, 0, 0};
        size_t esc_len = 2;
        switch (*p) {
        case '"':
            esc[1] = '"';
            break;
        case '\\':
            esc[1] = '\\';
            break;
        case '\b':
            esc[1] = 'b';
            break;
        case '\f':
            esc[1] = 'f';
            break;
        case '\n':
            esc[1] = 'n';
            break;
        case '\r':
            esc[1] = 'r';
            break;
        case '\t':
            esc[1] = 't';
            break;
        default:
            if (*p >= 0x80) {
                size_t n = utf8_sequence(p);
                if (n > 0) {
                    json_writer_raw(w, (const char *)p, n);
                    p += n;
                    continue;
                }
            }
            esc[1] = 'u';
            esc[2] = '0';
            esc[3] = '0';
            esc[4] = hex[*p >> 4];
            esc[5] = hex[*p & 15];
            esc_len = 6;
            break;
        }
        json_writer_raw(w, esc, esc_len);
        p++;
    }
    json_writer_raw(w, "\"", 1);
}

void json_writer_int(struct json_writer *w, int64_t v)
{
    char buf[24];
    size_t i = sizeof(buf);
    /* Digits of the magnitude as unsigned, so INT64_MIN is written too. */
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    do {
        buf[--i] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        buf[--i] = '-';
    json_writer_raw(w, buf + i, sizeof(buf) - i);
}

void json_writer_decimal(struct json_writer *w, int64_t units, int decimals)
{
    int64_t scale = 1;
    for (int i = 0; i < decimals; i++)
        scale *= 10;
    uint64_t magnitude = units < 0 ? 0 - (uint64_t)units : (uint64_t)units;
    if (units < 0)
        json_writer_raw(w, "-", 1);
    json_writer_int(w, (int64_t)(magnitude / (uint64_t)scale));
    char frac[10];
    uint64_t rest = magnitude % (uint64_t)scale;
    for (int i = decimals - 1; i >= 0; i--) {
        frac[i] = (char)('0' + rest % 10);
        rest /= 10;
    }
    json_writer_raw(w, ".", 1);
    json_writer_raw(w, frac, (size_t)decimals);
}
