/* Fuzzes the text checks: UTF-8 counting, trimming, display names, shortcodes and email
 * addresses. Properties: an accepted email is trimmed, lower case, at most 254 bytes, with
 * exactly one '@', no white space, control characters, comma, semicolon or angle bracket, no
 * code point text_codepoint_class refuses, and normalising it again gives it back; an accepted
 * name is valid UTF-8 within its length, holds no refused code point (controls, format
 * characters, separators, noncharacters) and is already trimmed; an accepted shortcode is 1 to
 * TEXT_SHORTCODE_MAX ASCII letters, digits, '-' or '_'. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "base/text.h"
#include "fuzz.h"

/* Every code point of s (valid UTF-8) is one text may hold. */
static void no_refused_code_point(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        uint32_t cp;
        size_t n = *p < 0x80 ? 1 : *p < 0xE0 ? 2 : *p < 0xF0 ? 3 : 4;
        cp = n == 1 ? *p : n == 2 ? *p & 0x1F : n == 3 ? *p & 0x0F : *p & 0x07;
        for (size_t k = 1; k < n; k++)
            cp = (cp << 6) | (p[k] & 0x3F);
        FUZZ_CHECK(text_codepoint_class(cp) == TEXT_CLASS_OK);
        p += n;
    }
}

static void email_check(struct arena *a, const char *in)
{
    struct usher_error err = {0};
    const char *out = NULL;
    if (text_email_normalize(&out, a, in, "email", &err) != 0) {
        FUZZ_CHECK(err.code == USHER_EINVAL && strcmp(err.field, "email") == 0);
        return;
    }
    size_t len = strlen(out);
    FUZZ_CHECK(len >= 3 && len <= TEXT_EMAIL_MAX);
    const char *at = strchr(out, '@');
    FUZZ_CHECK(at && strchr(at + 1, '@') == NULL && at != out && at[1] != '\0');
    FUZZ_CHECK((size_t)(at - out) <= 64);
    FUZZ_CHECK(strchr(at + 1, '.') != NULL && out[len - 1] != '.');
    for (const char *p = out; *p; p++) {
        unsigned char c = (unsigned char)*p;
        FUZZ_CHECK(c > 0x20 && c != 0x7f && c != ',' && c != ';' && c != '<' && c != '>');
        FUZZ_CHECK(!(c >= 'A' && c <= 'Z'));
    }
    FUZZ_CHECK(text_utf8_count(out, len) > 0);
    no_refused_code_point(out);
    const char *again = NULL;
    FUZZ_CHECK(text_email_normalize(&again, a, out, "email", &err) == 0);
    FUZZ_CHECK(strcmp(again, out) == 0);
}

static void name_check(struct arena *a, const char *in)
{
    struct usher_error err = {0};
    const char *out = NULL;
    if (text_name_check(&out, a, in, "name", 20, &err) != 0) {
        FUZZ_CHECK(err.code == USHER_EINVAL && strcmp(err.field, "name") == 0);
        return;
    }
    size_t len = strlen(out);
    long chars = text_utf8_count(out, len);
    FUZZ_CHECK(chars >= 1 && chars <= 20);
    FUZZ_CHECK(!isspace((unsigned char)out[0]) && !isspace((unsigned char)out[len - 1]));
    for (const char *p = out; *p; p++)
        FUZZ_CHECK((unsigned char)*p >= 0x20 && *p != 0x7f);
    no_refused_code_point(out);
    const char *again = NULL;
    FUZZ_CHECK(text_name_check(&again, a, out, "name", 20, &err) == 0 && strcmp(again, out) == 0);
}

static void shortcode_check(struct arena *a, const char *in)
{
    struct usher_error err = {0};
    const char *out = NULL;
    if (text_shortcode_check(&out, a, in, "shortcode", &err) != 0) {
        FUZZ_CHECK(err.code == USHER_EINVAL && strcmp(err.field, "shortcode") == 0);
        return;
    }
    size_t len = strlen(out);
    FUZZ_CHECK(len >= 1 && len <= TEXT_SHORTCODE_MAX);
    for (const char *p = out; *p; p++)
        FUZZ_CHECK((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                   (*p >= '0' && *p <= '9') || *p == '-' || *p == '_');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Counting sees the raw bytes, NULs included. */
    long n = text_utf8_count((const char *)data, size);
    FUZZ_CHECK(n >= -1 && n <= (long)size);
    if (n >= 0)
        FUZZ_CHECK(memchr(data, 0, size) == NULL);
    char *s = fuzz_strndup(data, size);
    struct arena a;
    arena_init(&a);
    char *trimmed = text_trim(&a, s);
    FUZZ_CHECK(strlen(trimmed) <= strlen(s));
    email_check(&a, s);
    name_check(&a, s);
    shortcode_check(&a, s);
    arena_dispose(&a);
    free(s);
    return 0;
}
