/* What the caller may grant where: the roles and extra permissions of one scope, each with
 * whether the caller may give it there (rule 4 in docs/rules.md) and, when not, why in words.
 * The console's invite and edit dialogs offer exactly these, and say why the others are
 * missing; the answer comes from the same questions the grant itself is checked with
 * (app_access_grant_refusal, and app_access_grant_until for how long it may last), so the two
 * cannot disagree. */
#ifndef USHER_APP_GRANTABLE_H
#define USHER_APP_GRANTABLE_H

#include <stdbool.h>
#include <stdint.h>

#include "app/app.h"
#include "policy/catalogue.h"

/* One role at the scope: built-in (id = its name) or custom. */
struct app_grantable_role {
    const char *id;
    const char *name;
    bool is_built_in;
    bool is_grantable;
    const char *reason; /* why not, for people; NULL when grantable */
    int64_t until;      /* grantable: the latest end it may have (ms), 0 when it need not end */
};

/* One catalogue permission as an extra permission at the scope. */
struct app_grantable_permission {
    const char *name;
    const char *description;
    bool is_authority;
    bool is_grantable;
    const char *reason;
    int64_t until; /* as for roles */
};

/* The answer; everything is arena-owned or static. */
struct app_grantable {
    enum policy_scope scope;
    const char *scope_id;
    const char *needed; /* users.invite, users.manage or bot.delegate */
    /* When the caller's right to give at the scope (`needed` there) ends: the latest end a
     * grant there may have (ms), 0 when it does not end or the caller may not give there at
     * all. A role or permission carrying authority may end earlier: see its own until. */
    int64_t until;
    struct app_grantable_role *roles;
    size_t role_count;
    struct app_grantable_permission permissions[POLICY_PERM_COUNT];
};

/* What call->actor may grant in agency_id at the scope named by environment_id or bot_id (neither:
 * the agency), to invite (is_manage false: users.invite) or to change grants (users.manage);
 * bot scope always asks bot.delegate. Errors: USHER_ENOTFOUND (agency not visible),
 * USHER_EINVAL "unknown_scope" naming environment_id or bot_id (not a place of this agency,
 * or both given). The answer lives in call->arena. */
int app_grantable_list(struct app_grantable *out, const struct app_call *call,
                       const char *agency_id, const char *environment_id, const char *bot_id,
                       bool is_manage);

#endif
