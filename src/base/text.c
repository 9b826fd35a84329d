/* Validation of names, shortcodes and email addresses shared by every resource, with the one
 * table of code points that no such text may hold. */
#include "base/text.h"

#include <ctype.h>
#include <string.h>

#include "base/error.h"

/* Decodes the code point at s[*i] (at most len - *i bytes) into *cp and moves *i past it.
 * False for anything that is not UTF-8: NUL, a stray or truncated sequence, an overlong form,
 * a surrogate, or a value past U+10FFFF. */
static bool utf8_next(const char *s, size_t len, size_t *i, uint32_t *cp)
{
    const unsigned char *p = (const unsigned char *)s + *i;
    size_t left = len - *i;
    unsigned char c = p[0];
    size_t n;
    uint32_t v;
    if (c == 0)
        return false;
    if (c < 0x80) {
        n = 1;
        v = c;
    } else if ((c & 0xE0) == 0xC0) {
        n = 2;
        v = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
        n = 3;
        v = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
        n = 4;
        v = c & 0x07;
    } else {
        return false;
    }
    if (n > left)
        return false;
    for (size_t k = 1; k < n; k++) {
        if ((p[k] & 0xC0) != 0x80)
            return false;
        v = (v << 6) | (p[k] & 0x3F);
    }
    /* Overlong forms, surrogates and values past U+10FFFF are not UTF-8. */
    if ((n == 2 && v < 0x80) || (n == 3 && v < 0x800) || (n == 4 && v < 0x10000) ||
        (v >= 0xD800 && v <= 0xDFFF) || v > 0x10FFFF)
        return false;
    *cp = v;
    *i += n;
    return true;
}

long text_utf8_count(const char *s, size_t len)
{
    size_t i = 0;
    long count = 0;
    uint32_t cp;
    while (i < len) {
        if (!utf8_next(s, len, &i, &cp))
            return -1;
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

/* Every code point of general category Cc, Cf, Zl or Zp, as closed ranges in code point order,
 * from Unicode 15.1's extracted/DerivedGeneralCategory.txt. There is no ICU here: when a new
 * Unicode version adds a format character, add its range (the file lists each category's
 * ranges with a total to check against: Cc 65, Cf 170, Zl 1, Zp 1). The tag block is refused
 * whole, its unassigned code points with U+E0001 and U+E0020..U+E007F. */
static const struct {
    uint32_t first, last;
} invisible[] = {
    {0x0000, 0x001F},   /* Cc: C0 controls (tab, line feed, escape, ...) */
    {0x007F, 0x009F},   /* Cc: DEL and the C1 controls (U+0085 NEXT LINE, ...) */
    {0x00AD, 0x00AD},   /* Cf: soft hyphen */
    {0x0600, 0x0605},   /* Cf: Arabic number sign .. Arabic number mark above */
    {0x061C, 0x061C},   /* Cf: Arabic letter mark */
    {0x06DD, 0x06DD},   /* Cf: Arabic end of ayah */
    {0x070F, 0x070F},   /* Cf: Syriac abbreviation mark */
    {0x0890, 0x0891},   /* Cf: Arabic pound mark above, piastre mark above */
    {0x08E2, 0x08E2},   /* Cf: Arabic disputed end of ayah */
    {0x180E, 0x180E},   /* Cf: Mongolian vowel separator */
    {0x200B, 0x200F},   /* Cf: zero width space, non-joiner, joiner; LRM, RLM */
    {0x2028, 0x2028},   /* Zl: line separator */
    {0x2029, 0x2029},   /* Zp: paragraph separator */
    {0x202A, 0x202E},   /* Cf: bidi embeddings and overrides, LRE .. RLO */
    {0x2060, 0x2064},   /* Cf: word joiner, invisible times, separator, plus, ... */
    {0x2066, 0x206F},   /* Cf: bidi isolates LRI .. PDI, deprecated format characters */
    {0xFEFF, 0xFEFF},   /* Cf: zero width no-break space (byte order mark) */
    {0xFFF9, 0xFFFB},   /* Cf: interlinear annotation anchor, separator, terminator */
    {0x110BD, 0x110BD}, /* Cf: Kaithi number sign */
    {0x110CD, 0x110CD}, /* Cf: Kaithi number sign above */
    {0x13430, 0x1343F}, /* Cf: Egyptian hieroglyph format controls */
    {0x1BCA0, 0x1BCA3}, /* Cf: shorthand format letter overlap .. up step */
    {0x1D173, 0x1D17A}, /* Cf: musical symbol begin beam .. end phrase */
    {0xE0000, 0xE007F}, /* Cf: language tag and tag characters (the whole tag block) */
};

enum text_class text_codepoint_class(uint32_t cp)
{
    if (cp >= 0x20 && cp < 0x7F)
        return TEXT_CLASS_OK; /* printable ASCII, the common case */
    for (size_t i = 0; i < sizeof(invisible) / sizeof(invisible[0]); i++) {
        if (cp < invisible[i].first)
            break;
        if (cp <= invisible[i].last)
            return TEXT_CLASS_INVISIBLE;
    }
    /* Noncharacters: U+FDD0..U+FDEF, and U+nFFFE and U+nFFFF in every plane. */
    if ((cp >= 0xFDD0 && cp <= 0xFDEF) || ((cp & 0xFFFE) == 0xFFFE && cp <= 0x10FFFF))
        return TEXT_CLASS_NONCHARACTER;
    return TEXT_CLASS_OK;
}

/* 0 for a code point text may hold; else a 400 naming field that says which one is refused. */
static int codepoint_check(uint32_t cp, const char *field, struct usher_error *err)
{
    switch (text_codepoint_class(cp)) {
    case TEXT_CLASS_INVISIBLE:
        return usher_error_set(err, USHER_EINVAL, NULL, field,
                               "%s must not contain invisible or control characters (U+%04X)",
                               field, (unsigned)cp);
    case TEXT_CLASS_NONCHARACTER:
        return usher_error_set(err, USHER_EINVAL, NULL, field,
                               "%s must not contain Unicode noncharacters (U+%04X)", field,
                               (unsigned)cp);
    default:
        return 0;
    }
}

int text_chars_check(const char *s, size_t len, const char *field, struct usher_error *err)
{
    size_t i = 0;
    uint32_t cp;
    while (i < len) {
        if (!utf8_next(s, len, &i, &cp))
            return usher_error_set(err, USHER_EINVAL, NULL, field, "%s is not valid UTF-8", field);
        int rc = codepoint_check(cp, field, err);
        if (rc)
            return rc;
    }
    return 0;
}

int text_name_check(const char **out, struct arena *a, const char *in, const char *field,
                    size_t max_chars, struct usher_error *err)
{
    char *t = text_trim(a, in);
    size_t len = strlen(t);
    int rc = text_chars_check(t, len, field, err);
    if (rc)
        return rc;
    long chars = text_utf8_count(t, len);
    if (chars == 0)
        return usher_error_set(err, USHER_EINVAL, NULL, field, "%s must not be empty", field);
    if ((size_t)chars > max_chars)
        return usher_error_set(err, USHER_EINVAL, NULL, field, "%s must be at most %zu characters",
                               field, max_chars);
    *out = t;
    return 0;
}

int text_name_optional_check(const char **out, struct arena *a, const char *in, const char *field,
                             struct usher_error *err)
{
    const char *trimmed = text_trim(a, in ? in : "");
    if (!*trimmed) {
        *out = "";
        return 0;
    }
    return text_name_check(out, a, trimmed, field, TEXT_NAME_MAX_CHARS, err);
}

int text_shortcode_check(const char **out, struct arena *a, const char *in, const char *field,
                         struct usher_error *err)
{
    char *t = text_trim(a, in ? in : "");
    size_t len = strlen(t);
    int rc = text_chars_check(t, len, field, err);
    if (rc)
        return rc;
    bool ok = len >= 1 && len <= TEXT_SHORTCODE_MAX;
    for (size_t i = 0; ok && i < len; i++) {
        char ch = t[i];
        ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
             ch == '-' || ch == '_';
    }
    if (!ok)
        return usher_error_set(err, USHER_EINVAL, NULL, field,
                               "%s must be 1 to %d ASCII letters, digits, '-' or '_'", field,
                               TEXT_SHORTCODE_MAX);
    *out = t;
    return 0;
}

/* Unicode white space (Zs) past ASCII: no address holds a space, however it is encoded. */
static bool is_unicode_space(uint32_t cp)
{
    return cp == 0x00A0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x202F ||
           cp == 0x205F || cp == 0x3000;
}

/* The address's code points past ASCII: the invisible and the spaces are refused. ASCII is
 * left to the address rules, which refuse its controls and spaces as a list separator. */
static int email_chars_check(const char *t, size_t len, const char *field, struct usher_error *err)
{
    size_t i = 0;
    uint32_t cp;
    while (i < len) {
        if (!utf8_next(t, len, &i, &cp))
            return usher_error_set(err, USHER_EINVAL, NULL, field, "%s is not a valid address",
                                   field);
        if (cp < 0x80)
            continue;
        if (is_unicode_space(cp))
            return usher_error_set(err, USHER_EINVAL, NULL, field,
                                   "%s must not contain spaces (U+%04X)", field, (unsigned)cp);
        int rc = codepoint_check(cp, field, err);
        if (rc)
            return rc;
    }
    return 0;
}

int text_email_normalize(const char **out, struct arena *a, const char *in, const char *field,
                         struct usher_error *err)
{
    char *t = text_trim(a, in);
    size_t len = strlen(t);
    if (len == 0)
        return usher_error_set(err, USHER_EINVAL, NULL, field, "%s must not be empty", field);
    if (len > TEXT_EMAIL_MAX)
        return usher_error_set(err, USHER_EINVAL, NULL, field, "%s is not a valid address", field);
    int rc = email_chars_check(t, len, field, err);
    if (rc)
        return rc;
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
