/* Fuzzes the custom role input: the name (app_role_name_check) and the permission list
 * (app_role_permissions_parse) of a body {"name": ..., "permissions": [...]}. Properties: an
 * accepted name is neither a built-in role nor shaped like a role id; an accepted list gives a
 * non-empty mask of catalogue permissions whose stored form parses back to the same mask. */
#include <strings.h>
#include <stdlib.h>
#include <string.h>

#include "policy/catalogue.h"
#include "app/roles.h"
#include "base/json.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *body = NULL;
    struct usher_error err = {0};
    if (json_body_parse(&body, (const char *)data, size, &err) != 0)
        return 0;
    struct arena a;
    arena_init(&a);
    const char *name = NULL;
    json_t *jname = json_object_get(body, "name");
    if (json_is_string(jname)) {
        if (app_role_name_check(&name, &a, json_string_value(jname), "name", &err) == 0) {
            FUZZ_CHECK(strncasecmp(name, "crl_", 4) != 0);
            FUZZ_CHECK(policy_catalogue_role_index(name) < 0);
        } else {
            FUZZ_CHECK(err.code == USHER_EINVAL && strcmp(err.field, "name") == 0);
        }
    }
    usher_error_clear(&err);
    uint64_t mask = 0;
    json_t *list = json_object_get(body, "permissions");
    if (app_role_permissions_parse(&mask, &a, list, "permissions", &err) == 0) {
        FUZZ_CHECK(mask != 0);
        char *csv = app_role_permissions_csv(&a, mask);
        size_t unknown = 0;
        FUZZ_CHECK(policy_catalogue_permissions_parse(csv, &unknown) == mask && unknown == 0);
    } else {
        FUZZ_CHECK(err.code == USHER_EINVAL && strncmp(err.field, "permissions", 11) == 0);
    }
    arena_dispose(&a);
    json_decref(body);
    return 0;
}
