/* Fuzzes the strict request-body reader: json_body_parse, json_fields_check and the typed
 * member readers every handler uses. Properties: an accepted body is one object within the
 * depth cap that survives a compact dump and reparse unchanged, and the member readers either
 * give a value of the asked type within its bounds or an error naming the field. */
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "fuzz.h"

static const char *const allowed[] = {"name", "email", "grants", "roles", "token", NULL};

static void members_read(json_t *obj)
{
    const char *key;
    json_t *value;
    json_object_foreach(obj, key, value)
    {
        struct usher_error err = {0};
        const char *s = NULL;
        if (json_member_string(&s, obj, key, true, 64, &err) == 0) {
            FUZZ_CHECK(s == NULL || strlen(s) <= 64);
            FUZZ_CHECK(s != NULL || json_is_null(value));
        } else {
            /* The field is named, unless its name is the empty string. */
            FUZZ_CHECK(err.code == USHER_EINVAL && (err.field[0] != '\0' || key[0] == '\0'));
        }
        usher_error_clear(&err);
        bool b = false;
        if (json_member_bool(&b, obj, key, false, &err) != 0)
            FUZZ_CHECK(!json_is_boolean(value));
        usher_error_clear(&err);
        int64_t n = 0;
        bool present = false;
        if (json_member_int(&n, &present, obj, key, false, -5, 1000, &err) == 0 && present)
            FUZZ_CHECK(n >= -5 && n <= 1000);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct usher_error err = {0};
    json_t *obj = NULL;
    if (json_body_parse(&obj, (const char *)data, size, &err) != 0) {
        FUZZ_CHECK(obj == NULL && err.code == USHER_EINVAL);
        return 0;
    }
    FUZZ_CHECK(json_is_object(obj));
    struct usher_error ferr = {0};
    int rc = json_fields_check(obj, allowed, "grants[0]", &ferr);
    FUZZ_CHECK(rc == 0 ||
               (ferr.code == USHER_EINVAL && strncmp(ferr.field, "grants[0].", 10) == 0));
    members_read(obj);
    char *text = json_dump_compact(obj);
    FUZZ_CHECK(text != NULL);
    json_t *again = NULL;
    struct usher_error err2 = {0};
    FUZZ_CHECK(json_body_parse(&again, text, strlen(text), &err2) == 0);
    FUZZ_CHECK(json_equal(obj, again));
    json_decref(again);
    free(text);
    json_decref(obj);
    return 0;
}
