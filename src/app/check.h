/* Decisions for the studio's services and for people (docs/rules.md, The rules that decide
 * access): "may this user do this here?" one at a time or in batches, a user's effective roles
 * and permissions at a scope, and the recipients of incoming-chat notifications (rule 3 in
 * docs/rules.md).
 *
 * Checks and effective permissions are answered from the in-memory decision index
 * (app->authz), never from SQL, and deny by default: an unknown user, scope or permission, a
 * disabled user or a missing index all answer "not allowed". Who may ask what:
 * - platform admins and platform API tokens: anything;
 * - agency API tokens: scopes of their own agency (others are answered as unknown);
 * - a signed-in user: about themselves only.
 *
 * Who asks is a struct app_check_caller, since an API token is nobody's session. The questions
 * that read the store (app_check_effective, app_check_recipients) also take the call context
 * of app/app.h for the service, the arena their answers live in and the error slot; they do
 * not read call->actor. app_check_answer, on the path of every POST /check, takes only what it
 * needs and never fails. */
#ifndef USHER_APP_CHECK_H
#define USHER_APP_CHECK_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "app/app.h"
#include "policy/decide.h"
#include "app/tenancy.h"
#include "store/store.h"
#include "store/store_recipient.h"

#define APP_CHECK_BATCH_MAX 1000 /* questions in one batch */
#define APP_CHECK_ID_MAX    128  /* longest user or scope id accepted */
#define APP_CHECK_NAME_MAX  128  /* longest permission name accepted */

/* Who asks. Strings are borrowed. */
struct app_check_caller {
    const char *user_id; /* the signed-in user; NULL for an API token */
    bool is_platform_admin;
    bool is_service;             /* an API token */
    const char *token_agency_id; /* agency tokens: their agency; NULL for platform tokens */
    const char *agency_limit;    /* a "view as" session: the one agency it sees */
};

/* One question. Strings are borrowed from the parsed body. */
struct app_check_question {
    const char *user_id;
    const char *permission;
    enum policy_scope scope;
    const char *scope_id;
};

/* Picks the one scope among three optional ids. None, or more than one: USHER_EINVAL naming
 * the field (prefixed with prefix and a dot when prefix is not NULL). */
int app_check_scope_pick(enum policy_scope *out_scope, const char **out_id, const char *agency_id,
                         const char *environment_id, const char *bot_id, const char *prefix,
                         struct usher_error *err);

/* Parses one question object {user_id, permission, environment_id | bot_id | agency_id}.
 * Fields are named with prefix ("checks[3]") when it is not NULL. Errors (USHER_EINVAL naming
 * the field): not an object, unknown fields, user_id or permission missing, not a string,
 * empty or too long, no scope or two scopes. An unknown permission is not an error: it is
 * denied. */
int app_check_question_parse(struct app_check_question *out, json_t *obj, const char *prefix,
                             struct arena *a, struct usher_error *err);

/* Parses a batch body's "checks" member: an array of 1..APP_CHECK_BATCH_MAX question objects.
 * *out is an arena array. Errors as app_check_question_parse, naming "checks" or
 * "checks[i].field". */
int app_check_batch_parse(struct app_check_question **out, size_t *count, json_t *checks,
                          struct arena *a, struct usher_error *err);

/* Whether caller may ask q at all: a signed-in user who is not a platform admin may only ask
 * about themselves (USHER_EFORBIDDEN naming field, e.g. "user_id" or "checks[2].user_id").
 * API tokens and platform admins may ask about anyone. */
int app_check_may_ask(const struct app_check_caller *caller, const struct app_check_question *q,
                      const char *field, struct usher_error *err);

/* An answer. source is "agency", "environment", "bot", "platform_admin" or "none" (static). */
struct app_check_answer {
    bool allowed;
    const char *source;
    const char *roles[POLICY_ROLE_COUNT]; /* effective built-in roles at the scope (static names) */
    size_t role_count;
    const char *reason; /* why a known scope is denied whatever the grants: "agency_suspended";
                           NULL otherwise (static) */
};

/* Answers q from the decision index for caller (who must have passed app_check_may_ask). An
 * agency token asking about a scope outside its agency gets "not allowed" with no roles, as for
 * an unknown scope. Never fails: anything unknown is denied. a holds scratch copies. */
void app_check_answer(struct app_check_answer *out, struct app *app,
                      const struct app_check_caller *caller, const struct app_check_question *q,
                      struct arena *a);

/* A user's effective standing at a scope. */
struct app_effective {
    uint64_t roles;       /* built-in roles in force (POLICY_BIT(POLICY_ROLE_*)) */
    uint64_t permissions; /* every permission in force, custom roles included */
    const char *source;   /* "agency", "environment", "bot", "platform_admin" or "none" */
    bool is_inherited;    /* what is in force comes (at least partly) from a wider scope */
    int64_t expires_at;   /* the earliest end of a grant in force there (ms); 0: none ends */
};

/* The effective roles and permissions of user_id at a scope, from the decision index.
 * Callers: the user themself, platform admins, platform tokens, agency tokens of the scope's
 * agency, and members holding users.read at that scope (USHER_EFORBIDDEN for other members of
 * the agency). An unknown user or scope, a scope in an agency the caller cannot see, or a
 * target user who is not a member of that agency (for tokens and members): USHER_ENOTFOUND. */
int app_check_effective(struct app_effective *out, const struct app_call *call,
                        const struct app_check_caller *caller, const char *user_id,
                        enum policy_scope scope, const char *scope_id);

/* One page of notification recipients. */
struct app_recipient_page {
    struct store_recipient *items;
    size_t count;
    const char *next_cursor; /* NULL on the last page */
};

/* The recipients of incoming-chat notifications for environment_id (rule 3): the active users
 * whose own grant on that environment holds agent or operator, by account creation. Callers:
 * platform admins, platform tokens, agency tokens of the environment's agency and members
 * holding users.read on the environment (USHER_EFORBIDDEN for other members). An unknown
 * environment or one the caller cannot see: USHER_ENOTFOUND. */
int app_check_recipients(struct app_recipient_page *out, const struct app_call *call,
                         const struct app_check_caller *caller, const char *environment_id,
                         const struct app_page *page);

#endif
