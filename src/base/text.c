/* Validation of names and email addresses shared by every resource. */
#include "base/text.h"

#include <ctype.h>
#include <string.h>

#include "base/error.h"

long text_utf8_count(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    long count = 0;
    while (i < len) {
        unsigned char c = p[i];
        size_t n;
        unsigned int cp;
        if (c == 0)
            return -1;
        if (c < 0x80) {
            n = 1;
            cp = c;
        } else if ((c & 0xE0) == 0xC0) {
            n = 2;
            cp = c & 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            n = 3;
            cp = c & 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
            n = 4;
            cp = c & 0x07;
        } else {
            return -1;
        }
        if (i + n > len)
            return -1;
        for (size_t k = 1; k < n; k++) {
            if ((p[i + k] & 0xC0) != 0x80)
                return -1;
            cp = (cp << 6) | (p[i + k] & 0x3F);
        }
        /* Overlong forms, surrogates and values past U+10FFFF are not UTF-8. */
        if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
            (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
            return -1;
        i += n;
        count++;
    }
    return count;
}

char *text_trim(struct arena *a, const char *s)
{
    size_t len = strlen(s);
    size_t start = 0;
    while (start < len && isspace((unsigned char)s[start]))
        start++;
    while (len > start && isspace((unsigned char)s[len - 1]))
        len--;
    return arena_strndup(a, s + start, len - start);
}

int text_name_check(const char **out, struct arena *a, const char *in, const char *field,
                    size_t max_chars, struct usher_error *err)
{
    char *t = text_trim(a, in);
    size_t len = strlen(t);
    long chars = text_utf8_count(t, len);
    if (chars < 0)
        return usher_error_set(err, USHER_EINVAL, NULL, field, "%s is not valid UTF-8", field);
    if (chars == 0)
        return usher_error_set(err, USHER_EINVAL, NULL, field, "%s must not be empty", field);
    if ((size_t)chars > max_chars)
        return usher_error_set(err, USHER_EINVAL, NULL, field, "%s must be at most %zu characters",
                               field, max_chars);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)t[i];
        /* C0 controls, DEL, and the C1 controls U+0080..U+009F (encoded C2 80..C2 9F). */
        bool is_c1 = c == 0xC2 && i + 1 < len && (unsigned char)t[i + 1] <= 0x9F;
        if (c < 0x20 || c == 0x7F || is_c1)
            return usher_error_set(err, USHER_EINVAL, NULL, field,
                                   "%s must not contain control characters", field);
    }
    *out = t;
    return 0;
}

int text_email_normalize(const char **out, struct arena *a, const char *in, const char *field,
                         struct usher_error *err)
{
    char *t = text_trim(a, in);
    size_t len = strlen(t);
    if (len == 0)
        return usher_error_set(err, USHER_EINVAL, NULL, field, "%s must not be empty", field);
    if (len > TEXT_EMAIL_MAX || text_utf8_count(t, len) < 0)
        return usher_error_set(err, USHER_EINVAL, NULL, field, "%s is not a valid address", field);
    const char *at = NULL;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)t[i];
        if (c <= 0x20 || c == 0x7F || c == ',' || c == ';' || c == '<' || c == '>' || c == '(' ||
            c == ')' || c == '"' || c == '\\' || c == '[' || c == ']' || c == ':')
            return usher_error_set(err, USHER_EINVAL, NULL, field, "%s must be exactly one address",
                                   field);
        if (c == '@') {
            if (at)
                return usher_error_set(err, USHER_EINVAL, NULL, field,
                                       "%s must be exactly one address", field);
            at = t + i;
        }
        if (c < 0x80)
            t[i] = (char)tolower(c);
    }
    if (!at || at == t || at[1] == '\0')
        return usher_error_set(err, USHER_EINVAL, NULL, field, "%s is not a valid address", field);
    const char *domain = at + 1;
    const char *dot = strchr(domain, '.');
    size_t dlen = strlen(domain);
    size_t local_len = (size_t)(at - t);
    if (!dot || domain[0] == '.' || domain[dlen - 1] == '.' || strstr(domain, "..") ||
        local_len > 64)
        return usher_error_set(err, USHER_EINVAL, NULL, field, "%s is not a valid address", field);
    /* RFC 5321 dot-string: no leading, trailing or doubled dot in the local part. */
    if (t[0] == '.' || at[-1] == '.' || memmem(t, local_len, "..", 2))
        return usher_error_set(err, USHER_EINVAL, NULL, field, "%s is not a valid address", field);
    *out = t;
    return 0;
}
