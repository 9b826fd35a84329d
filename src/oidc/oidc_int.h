/* What the files of the oidc module share: bounded JSON parsing, base64url decoding and
 * member readers. */
#ifndef USHER_OIDC_OIDC_INT_H
#define USHER_OIDC_OIDC_INT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "base/arena.h"

/* Parses len bytes of text as one JSON object, duplicate keys refused; NULL when it is not
 * one. Returns a new reference. */
json_t *oidc_json_object(const char *text, size_t len);

/* Decodes base64url without padding into a NUL-terminated buffer in a; *out_len gets the
 * byte count. NULL when text is not strict base64url. */
unsigned char *oidc_b64url_decode(struct arena *a, const char *text, size_t len, size_t *out_len);

/* Reads member key of obj as a string of 1..max bytes without NUL. Returns 1 when found,
 * 0 when absent or null, -1 when of another type, empty or too long. */
int oidc_json_string(const char **out, const json_t *obj, const char *key, size_t max);

#endif
