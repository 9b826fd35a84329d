/* The decision function: may this user do this here? (rules 1, 2 and 5 in docs/rules.md)
 *
 * Pure: no SQL, no HTTP, no allocation. The caller hands over the user's grants in one agency
 * (already read from the store, as role and permission masks) and a target it has resolved
 * (the environment or bot exists in that agency; for a bot, its environment). Platform admins
 * are the caller's business: they may do everything and never reach this function. */
#ifndef USHER_POLICY_DECIDE_H
#define USHER_POLICY_DECIDE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy/catalogue.h"

/* One grant. Strings are borrowed. */
struct policy_decide_grant {
    const char *scope_id;       /* the agency, environment or bot id */
    const char *environment_id; /* bot grants: the bot's environment; NULL otherwise */
    uint64_t roles;             /* POLICY_BIT(POLICY_ROLE_*) */
    uint64_t extra;             /* extra permissions, POLICY_BIT(POLICY_PERM_*) */
};

/* A user's grants in one agency. At most one grant per scope id. */
struct policy_decide_grants {
    const struct policy_decide_grant *agency; /* NULL when the user has no agency grant */
    const struct policy_decide_grant *environments;
    size_t environment_count;
    const struct policy_decide_grant *bots;
    size_t bot_count;
};

/* Where an answer comes from. */
enum policy_decide_source {
    POLICY_DECIDE_NONE,
    POLICY_DECIDE_AGENCY,
    POLICY_DECIDE_ENVIRONMENT,
    POLICY_DECIDE_BOT,
};

/* What is asked about. For POLICY_SCOPE_AGENCY, scope_id is the agency id (it must equal the
 * agency grant's). For POLICY_SCOPE_ENVIRONMENT, the environment id. For POLICY_SCOPE_BOT, the bot
 * id and environment_id the bot's environment as the store knows it. A NULL or empty id means the
 * caller could not resolve the target, and everything is denied there. */
struct policy_decide_target {
    enum policy_scope scope;
    const char *scope_id;
    const char *environment_id;
};

/* The effective roles and permissions of a user at a target. */
struct policy_decide_effective {
    uint64_t roles;       /* every role in force at the target */
    uint64_t permissions; /* every permission in force at the target */
    enum policy_decide_source
        base;                  /* agency or environment grant in force there, NONE if neither */
    uint64_t base_permissions; /* the part that ripples down from that grant */
    bool has_bot_grant;        /* bot targets: the user holds a grant on the bot itself */
    uint64_t bot_permissions;  /* bot targets: the part the bot grant adds */
};

/* The answer to one question. */
struct policy_decide_result {
    bool allowed;
    enum policy_decide_source source;     /* the most specific grant holding the permission; NONE
                                          when denied */
    const char *roles[POLICY_ROLE_COUNT]; /* effective role names at the target (static strings),
                                          in catalogue order */
    size_t role_count;
};

/* Computes what a user holds at target:
 * - agency: the agency grant;
 * - environment E: the grant on E if there is one (it replaces the agency grant, raising or
 *   lowering it; an empty one means no access), else the agency grant;
 * - bot B: the effective permissions of B's environment plus the grant on B.
 * Roles a grant holds that may not be granted at its scope are ignored, as are bits outside
 * the catalogue. An unresolved target yields nothing. */
void policy_decide_effective(struct policy_decide_effective *out,
                             const struct policy_decide_grants *g,
                             const struct policy_decide_target *target);

/* Answers whether the user may use permission at target. Unknown permission, unresolved
 * target, or nothing granted: denied with source NONE. */
void policy_decide_check(struct policy_decide_result *out, const struct policy_decide_grants *g,
                         const struct policy_decide_target *target, const char *permission);

/* "agency", "environment", "bot" or "none". */
const char *policy_decide_source_name(enum policy_decide_source source);

#endif
