/* A strict, allocation-free reader for the small bodies sent on every request: objects whose
 * members are all plain strings, such as {"user_id":"usr_1","permission":"crm.read"}.
 *
 * It accepts a subset of what json_body_parse accepts: keys and values made of printable ASCII
 * with no backslash, separated by JSON whitespace. Anything else (numbers, null, nesting,
 * escapes, other bytes, a syntax error) makes it answer false, and the caller falls back to the
 * full parser, which either reads the body the same way or gives the error. It never decides
 * that a body is invalid by itself. */
#ifndef USHER_BASE_JSON_FLAT_H
#define USHER_BASE_JSON_FLAT_H

#include <stdbool.h>
#include <stddef.h>

/* One member; key and value point into the scanned text and are not NUL-terminated. */
struct json_flat_member {
    const char *key;
    size_t key_len;
    const char *value;
    size_t value_len;
};

/* The position of the first byte at or after pos that is not JSON whitespace. */
size_t json_flat_space(const char *text, size_t len, size_t pos);

/* Reads the object starting at text[*pos] (after any whitespace) into out, at most max members.
 * On success *count is the number of members, *pos points just past the closing brace and the
 * result is true. False when the object is not flat or has more than max members; *pos is then
 * unspecified. Duplicate keys are not detected here. */
bool json_flat_object(struct json_flat_member *out, size_t max, size_t *count, const char *text,
                      size_t len, size_t *pos);

/* Reads "key": at text[*pos] (after any whitespace): true when the next member's key is
 * exactly key, with *pos just past the colon. */
bool json_flat_key(const char *key, const char *text, size_t len, size_t *pos);

/* Reads the one byte c at text[*pos] (after any whitespace). */
bool json_flat_char(char c, const char *text, size_t len, size_t *pos);

#endif
