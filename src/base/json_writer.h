/* Writing JSON text directly, for the few places that answer or log on every request and
 * cannot afford to build a jansson tree first. Strings are escaped as jansson's compact dumps
 * escape them.
 *
 * A writer starts on caller storage (usually on the stack) and moves to the heap when that is
 * too small, so it never truncates. */
#ifndef USHER_BASE_JSON_WRITER_H
#define USHER_BASE_JSON_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct json_writer {
    char *data; /* the text so far, not NUL-terminated */
    size_t len;
    size_t cap;
    bool is_heap; /* data was allocated by the writer */
};

/* Starts an empty text in storage of cap bytes (storage may be NULL when cap is 0). */
void json_writer_init(struct json_writer *w, char *storage, size_t cap);

/* Frees what the writer allocated; the caller's storage is left alone. */
void json_writer_dispose(struct json_writer *w);

/* Appends len bytes as they are (punctuation, keys known to need no escaping). */
void json_writer_raw(struct json_writer *w, const char *text, size_t len);

/* Appends a NUL-terminated literal as it is. */
void json_writer_lit(struct json_writer *w, const char *text);

/* Appends s as a JSON string, or null when s is NULL. Quotes, backslashes and control
 * characters are escaped as jansson escapes them; a byte that is not part of valid UTF-8 is
 * written as \u00XX so the line stays valid JSON. */
void json_writer_string(struct json_writer *w, const char *s);

/* Appends an integer. */
void json_writer_int(struct json_writer *w, int64_t v);

/* Appends units / 10^decimals as a number with exactly decimals digits after the point
 * (0 < decimals < 10): json_writer_decimal(w, 3469, 3) writes 3.469. */
void json_writer_decimal(struct json_writer *w, int64_t units, int decimals);

#endif
