/* Fuzzes the decision API's input: one question (app_check_question_parse), a batch
 * (app_check_batch_parse) and who may ask it (app_check_may_ask). The input is a JSON body.
 * Properties: a parsed question has a user, a permission and exactly one scope with an id
 * within the caps; a refusal names a field; a person who is not an admin may only ask about
 * themselves. */
#include <stdlib.h>
#include <string.h>

#include "app/check.h"
#include "base/json.h"
#include "fuzz.h"

static void question_ok(const struct app_check_question *q)
{
    FUZZ_CHECK(q->user_id && *q->user_id && strlen(q->user_id) <= APP_CHECK_ID_MAX);
    FUZZ_CHECK(q->permission && *q->permission && strlen(q->permission) <= APP_CHECK_NAME_MAX);
    FUZZ_CHECK(q->scope_id && *q->scope_id && strlen(q->scope_id) <= APP_CHECK_ID_MAX);
    FUZZ_CHECK(q->scope == POLICY_SCOPE_AGENCY || q->scope == POLICY_SCOPE_ENVIRONMENT ||
               q->scope == POLICY_SCOPE_BOT);
    struct app_check_caller self = {.user_id = "usr_me"};
    struct usher_error err = {0};
    int rc = app_check_may_ask(&self, q, "user_id", &err);
    FUZZ_CHECK((rc == 0) == (strcmp(q->user_id, "usr_me") == 0));
    struct app_check_caller admin = {.user_id = "usr_admin", .is_platform_admin = true};
    FUZZ_CHECK(app_check_may_ask(&admin, q, "user_id", &err) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *body = NULL;
    struct usher_error err = {0};
    if (json_body_parse(&body, (const char *)data, size, &err) != 0)
        return 0;
    struct arena a;
    arena_init(&a);
    struct app_check_question q;
    if (app_check_question_parse(&q, body, NULL, &a, &err) == 0)
        question_ok(&q);
    else
        FUZZ_CHECK(err.code == USHER_EINVAL && (err.field[0] || json_object_get(body, "")));
    usher_error_clear(&err);
    json_t *checks = json_object_get(body, "checks");
    struct app_check_question *qs = NULL;
    size_t count = 0;
    if (checks && app_check_batch_parse(&qs, &count, checks, &a, &err) == 0) {
        FUZZ_CHECK(count >= 1 && count <= APP_CHECK_BATCH_MAX);
        for (size_t i = 0; i < count; i++)
            question_ok(&qs[i]);
    } else if (checks) {
        FUZZ_CHECK(err.code == USHER_EINVAL && strncmp(err.field, "checks", 6) == 0);
    }
    arena_dispose(&a);
    json_decref(body);
    return 0;
}
