/* Strict JSON input: parse a request body into an object, refuse unknown fields, and read
 * typed values with errors that name the field. Values come back borrowed from the json_t,
 * which the caller keeps alive (usually until the request's arena is released). */
#ifndef USHER_BASE_JSON_H
#define USHER_BASE_JSON_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct arena;
struct usher_error;

#define JSON_STRING_MAX 4096 /* default cap on any string value */
#define JSON_DEPTH_MAX  16

/* Parses body as one JSON object (duplicate keys refused, depth capped). An empty body is
 * refused. *out is a new reference. */
int json_body_parse(json_t **out, const char *body, size_t len, struct usher_error *err);

/* Refuses any key of obj not in allowed (a NULL-terminated list). prefix names the enclosing
 * path for the error ("grants[0]"), or NULL. */
int json_fields_check(json_t *obj, const char *const *allowed, const char *prefix,
                      struct usher_error *err);

/* Reads a string member. Missing and null: *out = NULL, and an error when required. Any other
 * type, or more than max_len bytes: 400 naming the field. */
int json_member_string(const char **out, json_t *obj, const char *key, bool required,
                       size_t max_len, struct usher_error *err);

/* Reads a boolean member; missing or null leaves *out unchanged unless required. */
int json_member_bool(bool *out, json_t *obj, const char *key, bool required,
                     struct usher_error *err);

/* Reads an integer member within [min, max]; missing or null leaves *out unchanged and sets
 * *present to false (present may be NULL). */
int json_member_int(int64_t *out, bool *present, json_t *obj, const char *key, bool required,
                    int64_t min, int64_t max, struct usher_error *err);

/* An instant in milliseconds since the epoch as a new JSON string in UTC with milliseconds
 * ("2024-05-01T09:30:00.000Z", formatted in a), or JSON null when ms is 0 or negative (the
 * instant is not set). Returns a new reference. */
json_t *json_time_ms(struct arena *a, int64_t ms);

/* Serialises a value compactly into a malloc'ed string (caller frees). */
char *json_dump_compact(const json_t *value);

#endif
