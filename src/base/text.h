/* Text validation: UTF-8, trimming, and the one set of rules for every name, shortcode and
 * email address usher accepts.
 *
 * Whatever a person types that others will read (names of people, agencies, environments,
 * bots, tokens and custom roles; shortcodes; email addresses) is refused when it holds a
 * character that cannot be seen or that changes how the text around it is shown: Unicode
 * control characters (Cc, C0 and C1), format characters (Cf: zero-width characters, bidi
 * embeddings, overrides and isolates, the soft hyphen, U+FEFF, tag characters, ...), line and
 * paragraph separators (Zl, Zp) and noncharacters. The table of those code points lives in
 * text.c; every check below uses it, so a look-alike refused in one field is refused in all. */
#ifndef USHER_BASE_TEXT_H
#define USHER_BASE_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"

struct usher_error;

#define TEXT_NAME_MAX_CHARS                                                                        \
    200                       /* code points of a person's, agency's, environment's or bot's name */
#define TEXT_SHORTCODE_MAX 32 /* characters of a member's shortcode */
#define TEXT_EMAIL_MAX     254 /* bytes of an email address (RFC 5321) */

/* Number of code points in s[0..len) if it is valid UTF-8 without NUL, else -1. */
long text_utf8_count(const char *s, size_t len);

/* Copies s with leading and trailing ASCII white space removed. */
char *text_trim(struct arena *a, const char *s);

/* What text_codepoint_class says about one code point. */
enum text_class {
    TEXT_CLASS_OK,
    TEXT_CLASS_INVISIBLE,    /* Cc, Cf, Zl or Zp (and the whole tag block U+E0000..U+E007F) */
    TEXT_CLASS_NONCHARACTER, /* U+FDD0..U+FDEF and the last two code points of every plane */
};

/* The class of code point cp (any value; past U+10FFFF is TEXT_CLASS_OK, the UTF-8 decoder
 * never yields one). */
enum text_class text_codepoint_class(uint32_t cp);

/* Checks s[0..len): valid UTF-8 without NUL, and no code point text_codepoint_class refuses.
 * USHER_EINVAL naming field, with a message that gives the first refused code point, e.g.
 * "first_name must not contain invisible or control characters (U+200B)". */
int text_chars_check(const char *s, size_t len, const char *field, struct usher_error *err);

/* Validates a display name (people, agencies, environments, bots, tokens, custom roles):
 * trimmed of ASCII white space, 1..max_chars code points, text_chars_check. On success *out is
 * the trimmed copy in a; on failure *out is untouched and err holds a 400 naming field. */
int text_name_check(const char **out, struct arena *a, const char *in, const char *field,
                    size_t max_chars, struct usher_error *err);

/* A name that may be left out: NULL, empty or blank gives *out = "", anything else is
 * text_name_check with TEXT_NAME_MAX_CHARS (first and last names of people). */
int text_name_optional_check(const char **out, struct arena *a, const char *in, const char *field,
                             struct usher_error *err);

/* Validates a member's shortcode: trimmed, 1..TEXT_SHORTCODE_MAX characters, each an ASCII
 * letter, digit, '-' or '_' (text_chars_check first, so an invisible character is named as
 * such). *out is the trimmed copy. USHER_EINVAL naming field. */
int text_shortcode_check(const char **out, struct arena *a, const char *in, const char *field,
                         struct usher_error *err);

/* Validates and normalises one email address: trimmed, ASCII letters lower-cased, at most 254
 * bytes, exactly one '@' with a local part of 1..64 bytes (no leading, trailing or doubled
 * dot) and a dotted domain; no white space (Unicode spaces included), ASCII control
 * characters, commas, semicolons, brackets or quotes (so a list of addresses is refused), and
 * no code point text_codepoint_class refuses. Non-ASCII letters are kept in both parts.
 * USHER_EINVAL naming field. */
int text_email_normalize(const char **out, struct arena *a, const char *in, const char *field,
                         struct usher_error *err);

#endif
