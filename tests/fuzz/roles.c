/* Fuzzes the custom role input: the id (app_role_id_check, or app_role_id_derive from the
 * name), the display name (app_role_name_check) and the permission list
 * (app_role_permissions_parse) of a body {"id": ..., "name": ..., "permissions": [...]}.
 * Properties: an accepted id, given or made, is a lowercase ASCII identifier that is not a
 * built-in role, so no look-alike of a role id gets through; an accepted name holds no
 * invisible character and does not read as a built-in role; an accepted list gives a non-empty
 * mask of catalogue permissions whose stored form parses back to the same mask. */
#include <stdlib.h>
#include <string.h>

#include "policy/catalogue.h"
#include "app/roles.h"
#include "base/json.h"
#include "base/text.h"
#include "fuzz.h"

static void id_accepted(const char *id)
{
    size_t len = strlen(id);
    FUZZ_CHECK(policy_catalogue_custom_id_valid(id, len));
    FUZZ_CHECK(policy_catalogue_role_index(id) < 0);
    for (size_t i = 0; i < len; i++)
        FUZZ_CHECK((id[i] >= 'a' && id[i] <= 'z') || (id[i] >= '0' && id[i] <= '9') ||
                   id[i] == '_');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *body = NULL;
    struct usher_error err = {0};
    if (json_body_parse(&body, (const char *)data, size, &err) != 0)
        return 0;
    struct arena a;
    arena_init(&a);
    json_t *jid = json_object_get(body, "id");
    if (json_is_string(jid)) {
        if (app_role_id_check(json_string_value(jid), "id", &err) == 0)
            id_accepted(json_string_value(jid));
        else
            FUZZ_CHECK(err.code == USHER_EINVAL && strcmp(err.field, "id") == 0);
    }
    usher_error_clear(&err);
    const char *name = NULL;
    json_t *jname = json_object_get(body, "name");
    if (json_is_string(jname)) {
        if (app_role_name_check(&name, &a, json_string_value(jname), "name", &err) == 0) {
            FUZZ_CHECK(policy_catalogue_role_index(name) < 0);
            FUZZ_CHECK(text_chars_check(name, strlen(name), "name", &err) == 0);
            const char *made = NULL;
            if (app_role_id_derive(&made, &a, name, &err) == 0)
                id_accepted(made);
            else
                FUZZ_CHECK(err.code == USHER_EINVAL && strcmp(err.field, "id") == 0);
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
