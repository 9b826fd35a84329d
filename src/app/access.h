/* Who may do what to whom: every access question an operation asks, answered in one place.
 *
 * An operation loads the caller's standing in one agency once (app_access_load) and asks it:
 * may the caller use a permission at a scope (app_access_allows, app_access_require), may they
 * grant these grants there (rule 4 in docs/rules.md: app_access_may_grant), may they act on
 * this member (app_access_may_act_on) and may they view the studio as this member
 * (app_access_may_impersonate). No operation decides access by itself: the answers all come
 * from the pure decision function (src/policy/decide.c) over the grants loaded here.
 *
 * Permissions are of two kinds (POLICY_PERMS_AUTHORITY in src/policy/catalogue.h). A person
 * who may manage people at a scope grants any work permission there, and an authority
 * permission only where they hold it themselves; acting on a member needs every authority
 * permission the member holds at each scope concerned. Platform admins pass every question.
 * Nothing here allocates outside the caller's arena. */
#ifndef USHER_APP_ACCESS_H
#define USHER_APP_ACCESS_H

#include <stdbool.h>
#include <stdint.h>

#include "app/app.h"
#include "app/grants.h"
#include "policy/decide.h"
#include "store/store.h"

/* The caller's standing in one agency. Strings are borrowed or arena-owned. */
struct app_access {
    const struct app_actor *actor;
    const char *agency_id;
    bool is_admin; /* a platform admin: every permission everywhere */
    bool is_owner; /* holds the owner role at agency scope (platform admins count as owners) */
    struct policy_decide_grants grants; /* the caller's grants in the agency */
    struct app_role_set roles;          /* the agency's custom roles, read once with them */
    /* When each of those grants ends (ms; 0: never), in the same order: agency_until for
     * grants.agency, environment_until[i] for grants.environments[i], bot_until[i] for
     * grants.bots[i]. latest_until is the latest of them, 0 when none of them ends. */
    int64_t agency_until;
    int64_t *environment_until;
    int64_t *bot_until;
    int64_t latest_until;
};

/* Reads user_id's grants in agency_id into decision input (arena-owned). Custom roles count as
 * extra permissions at agency and environment scope; role and permission names the catalogue
 * does not know grant nothing. */
int app_access_grants_load(struct policy_decide_grants *out, struct store_conn *c, struct arena *a,
                           const char *agency_id, const char *user_id, struct usher_error *err);

/* Reads another person's grants in the caller's agency, with the custom roles already loaded
 * in acc (no second read of them). */
int app_access_member_grants(struct policy_decide_grants *out, const struct app_access *acc,
                             struct store_conn *c, struct arena *a, const char *user_id,
                             struct usher_error *err);

/* Loads the actor's standing in agency_id on c, with the agency's custom roles (acc->roles,
 * for callers that read grants or role references too). Platform admins pass without reading
 * grants; members get their grants loaded. Anyone else, and a "view as" session outside its agency,
 * learns only that the object they asked for does not exist: USHER_ENOTFOUND "<what> not
 * found". A member of a suspended agency gets USHER_EFORBIDDEN "agency_suspended" (platform
 * admins pass). Store errors pass through. */
int app_access_load(struct app_access *out, struct store_conn *c, struct arena *a,
                    const struct app_actor *actor, const char *agency_id, const char *what,
                    struct usher_error *err);

/* Everything the caller holds at target (every permission for platform admins). */
uint64_t app_access_held(const struct app_access *acc, const struct policy_decide_target *target);

/* Whether the caller may use permission at the scope (environment_id: a bot's environment). */
bool app_access_allows(const struct app_access *acc, enum policy_scope scope, const char *scope_id,
                       const char *environment_id, const char *permission);

/* Like app_access_allows, as an error: USHER_EFORBIDDEN "<permission> is required here". */
int app_access_require(const struct app_access *acc, enum policy_scope scope, const char *scope_id,
                       const char *environment_id, const char *permission, struct usher_error *err);

/* Whether the caller sees environment_id: they hold any permission there, or a grant on one of
 * its bots gives them something. */
bool app_access_sees_environment(const struct app_access *acc, const char *environment_id);

/* Whether a bot grant in environment_id lets the caller read at least one of its bots. */
bool app_access_reads_bot_in(const struct app_access *acc, const char *environment_id);

/* app_access_load and app_access_require in one call, for an operation that asks one
 * question: may the actor use permission at the scope (a bot's environment is looked up)?
 * USHER_ENOTFOUND "<what> not found" outside the agency, USHER_EFORBIDDEN inside it. */
int app_access_demand(struct store_conn *c, struct arena *a, const struct app_actor *actor,
                      const char *agency_id, enum policy_scope scope, const char *scope_id,
                      const char *permission, const char *what, struct usher_error *err);

/* Why the caller may not give grant g (rule 4, as for app_access_may_grant), in words for
 * people (static or arena-owned), or NULL when they may. */
const char *app_access_grant_refusal(const struct app_access *acc, struct arena *a,
                                     const struct app_grant *g, const char *needed);

/* Rule 4 in time: the latest end (ms) grant g may have when the caller gives it, or 0 when it
 * may last without end (platform admins; a caller whose grants that let them give it do not
 * end). It is the latest end of the caller's own grants such that those lasting at least that
 * long still let them give g (app_access_grant_refusal asked of them). Meaningful for a grant
 * app_access_grant_refusal lets pass; GET /agencies/{id}/grantable answers it as `until`, and
 * app_access_may_grant refuses an end past it, so the two agree. Nothing is allocated outside
 * a. */
int64_t app_access_grant_until(const struct app_access *acc, struct arena *a,
                               const struct app_grant *g, const char *needed);

/* Rule 4: may the caller give these grants? For each grant at scope S the caller needs
 * `needed` at S (users.invite to invite, users.manage to change grants; bot grants need
 * bot.delegate on the bot instead) and every authority permission the grant gives; only an
 * owner grants the owner role. The ceiling holds in time too: a grant must end no later than
 * app_access_grant_until says (a manager whose access ends on Friday gives nobody, a second
 * address of their own included, access beyond Friday); the refusal names that end. field names the
 * list in errors ("grants" gives "grants[1]"). USHER_EFORBIDDEN "grant_ceiling" naming the grant
 * and saying what is missing. */
int app_access_may_grant(const struct app_access *acc, struct arena *a,
                         const struct app_grant *grants, size_t count, const char *needed,
                         const char *field, struct usher_error *err);

/* Authority over a member: may the caller change, remove or otherwise act on member_id, whose
 * grants in the agency are member, at each of the targets concerned? At each target the caller
 * needs users.manage and every authority permission the member holds there; with no target,
 * users.manage at agency scope. An owner is acted on only by an owner. Acting on oneself is
 * the caller's business (leaving is allowed, changing one's own grants is not: see
 * app_access_not_self). USHER_EFORBIDDEN saying why. */
int app_access_may_act_on(const struct app_access *acc, const char *member_id,
                          const struct policy_decide_grants *member,
                          const struct policy_decide_target *targets, size_t count,
                          struct usher_error *err);

/* The scopes concerned when acting on a member, as targets (arena-owned): every scope their
 * grants sit on; or, with environment_id (a removal from it), that environment (whether or not
 * they hold a grant of their own there) and their bots in it. */
void app_access_member_targets(struct policy_decide_target **out, size_t *count, struct arena *a,
                               const char *agency_id, const struct policy_decide_grants *member,
                               const char *environment_id);

/* Nobody changes their own grants: USHER_EFORBIDDEN "own_grants" when member_id is the
 * caller. */
int app_access_not_self(const struct app_access *acc, const char *member_id,
                        struct usher_error *err);

/* May the caller view the studio as target_id (impersonation)? The target must hold something
 * somewhere in the agency or the caller must manage people at agency scope; wherever the target
 * holds anything (targets: every scope of the agency) the caller needs users.manage and every
 * authority permission the target holds there. Never toward oneself or a platform admin
 * (target_is_admin); an owner only by an owner. USHER_EFORBIDDEN "impersonation_forbidden". */
int app_access_may_impersonate(const struct app_access *acc, const char *target_id,
                               bool target_is_admin, const struct policy_decide_grants *theirs,
                               const struct policy_decide_target *targets, size_t count,
                               struct usher_error *err);

#endif
