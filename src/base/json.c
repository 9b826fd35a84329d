/* Strict request-body parsing on top of jansson. */
#include "base/json.h"

#include <stdio.h>
#include <string.h>

#include "base/clock.h"
#include "base/error.h"

static int json_depth_ok(const json_t *v, int depth)
{
    if (depth > JSON_DEPTH_MAX)
        return 0;
    if (json_is_object(v)) {
        const char *k;
        json_t *child;
        json_object_foreach((json_t *)v, k, child)
        {
            if (!json_depth_ok(child, depth + 1))
                return 0;
        }
    } else if (json_is_array(v)) {
        size_t i;
        json_t *child;
        json_array_foreach(v, i, child)
        {
            if (!json_depth_ok(child, depth + 1))
                return 0;
        }
    }
    return 1;
}

int json_body_parse(json_t **out, const char *body, size_t len, struct usher_error *err)
{
    *out = NULL;
    if (!body || len == 0)
        return usher_error_set(err, USHER_EINVAL, NULL, NULL, "request body must be a JSON object");
    json_error_t jerr;
    /* Scalars are decoded too, so that `1` or `"x"` is told it is not an object rather than
     * that it is malformed. */
    json_t *v = json_loadb(body, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
    if (!v)
        return usher_error_set(err, USHER_EINVAL, NULL, NULL, "malformed JSON at line %d column %d",
                               jerr.line, jerr.column);
    if (!json_is_object(v)) {
        json_decref(v);
        return usher_error_set(err, USHER_EINVAL, NULL, NULL, "request body must be a JSON object");
    }
    if (!json_depth_ok(v, 0)) {
        json_decref(v);
        return usher_error_set(err, USHER_EINVAL, NULL, NULL, "request body is nested too deeply");
    }
    *out = v;
    return 0;
}

int json_fields_check(json_t *obj, const char *const *allowed, const char *prefix,
                      struct usher_error *err)
{
    const char *key;
    json_t *value;
    json_object_foreach(obj, key, value)
    {
        bool known = false;
        for (const char *const *a = allowed; *a; a++) {
            if (strcmp(*a, key) == 0) {
                known = true;
                break;
            }
        }
        if (!known) {
            char field[USHER_ERROR_FIELD_MAX];
            if (prefix)
                snprintf(field, sizeof(field), "%s.%.60s", prefix, key);
            else
                snprintf(field, sizeof(field), "%.80s", key);
            return usher_error_set(err, USHER_EINVAL, NULL, field, "unknown field %s", field);
        }
    }
    return 0;
}

int json_member_string(const char **out, json_t *obj, const char *key, bool required,
                       size_t max_len, struct usher_error *err)
{
    *out = NULL;
    json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v)) {
        if (required)
            return usher_error_set(err, USHER_EINVAL, NULL, key, "%s is required", key);
        return 0;
    }
    if (!json_is_string(v))
        return usher_error_set(err, USHER_EINVAL, NULL, key, "%s must be a string", key);
    size_t len = json_string_length(v);
    if (len > max_len)
        return usher_error_set(err, USHER_EINVAL, NULL, key, "%s must be at most %zu bytes", key,
                               max_len);
    if (memchr(json_string_value(v), '\0', len))
        return usher_error_set(err, USHER_EINVAL, NULL, key, "%s must not contain NUL", key);
    *out = json_string_value(v);
    return 0;
}

int json_member_bool(bool *out, json_t *obj, const char *key, bool required,
                     struct usher_error *err)
{
    json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v)) {
        if (required)
            return usher_error_set(err, USHER_EINVAL, NULL, key, "%s is required", key);
        return 0;
    }
    if (!json_is_boolean(v))
        return usher_error_set(err, USHER_EINVAL, NULL, key, "%s must be a boolean", key);
    *out = json_is_true(v);
    return 0;
}

int json_member_int(int64_t *out, bool *present, json_t *obj, const char *key, bool required,
                    int64_t min, int64_t max, struct usher_error *err)
{
    if (present)
        *present = false;
    json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v)) {
        if (required)
            return usher_error_set(err, USHER_EINVAL, NULL, key, "%s is required", key);
        return 0;
    }
    if (!json_is_integer(v))
        return usher_error_set(err, USHER_EINVAL, NULL, key, "%s must be an integer", key);
    json_int_t i = json_integer_value(v);
    if (i < min || i > max)
        return usher_error_set(err, USHER_EINVAL, NULL, key, "%s must be between %lld and %lld",
                               key, (long long)min, (long long)max);
    *out = i;
    if (present)
        *present = true;
    return 0;
}

json_t *json_time_ms(struct arena *a, int64_t ms)
{
    const char *text = clock_format_ms(a, ms);
    return text ? json_string(text) : json_null();
}

char *json_dump_compact(const json_t *value)
{
    return json_dumps(value, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
}
