/* Text validation: UTF-8, trimming, display names and email addresses. */
#ifndef USHER_BASE_TEXT_H
#define USHER_BASE_TEXT_H

#include <stdbool.h>
#include <stddef.h>

#include "base/arena.h"

struct usher_error;

#define TEXT_NAME_MAX_CHARS 200
#define TEXT_EMAIL_MAX      254

/* Number of code points in s[0..len) if it is valid UTF-8 without NUL, else -1. */
long text_utf8_count(const char *s, size_t len);

/* Copies s with leading and trailing ASCII white space removed. */
char *text_trim(struct arena *a, const char *s);

/* Validates a display name (agency, environment, bot, role): trimmed, 1..max_chars code points,
 * valid UTF-8 without control characters (C0, DEL or C1). On success *out is the trimmed copy. On
 * failure sets a 400 naming field. */
int text_name_check(const char **out, struct arena *a, const char *in, const char *field,
                    size_t max_chars, struct usher_error *err);

/* Validates and normalises one email address: trimmed, lower-cased, at most 254 bytes, exactly
 * one '@' with a local part of 1..64 bytes (no leading, trailing or doubled dot) and a dotted
 * domain, no white space, control characters,
 * commas, semicolons or angle brackets (so a list of addresses is refused). */
int text_email_normalize(const char **out, struct arena *a, const char *in, const char *field,
                         struct usher_error *err);

#endif
