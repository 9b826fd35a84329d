/* The in-memory decision index: users (status, platform admin), their grants, the agency of
 * every environment and bot, and custom roles, loaded from the store at start and updated in
 * this process right after a change commits. /check and route enforcement ask it through
 * policy_decide_check, so a check never touches SQL and a change is visible to the very next one.
 *
 * Every id is held once and grants are packed in 16 bytes (docs/internals/authz.md). Readers
 * take a shared lock and never wait for each other; a writer replaces one user's grants (or
 * one environment, bot or role) under the exclusive lock, and a load builds the new content
 * beside the old and swaps it in. */
#ifndef USHER_AUTHZ_AUTHZ_H
#define USHER_AUTHZ_AUTHZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy/decide.h"
#include "base/arena.h"
#include "base/error.h"

struct store;
struct store_conn;
struct authz_index;

/* An empty index. */
struct authz_index *authz_index_new(void);

/* Frees the index; accepts NULL. */
void authz_index_free(struct authz_index *ix);

/* Loads everything from the store, replacing the content, in one read transaction that also
 * reads the change feed's position (authz_index_cursor). */
int authz_index_load(struct authz_index *ix, struct store *store, struct usher_error *err);

/* Sets until when (clock_mono_ns) the index answers: past it, authz_check denies everything
 * and authz_effective finds nothing, because the index may have missed changes made elsewhere.
 * The sync that follows the change feed keeps pushing it forward while it hears from the
 * database; 0 stops answers at once; INT64_MAX (the default) never expires. */
void authz_index_current_until(struct authz_index *ix, int64_t mono_ns);

/* Whether the index answers now (see authz_index_current_until). */
bool authz_index_is_current(struct authz_index *ix);

/* The change feed's position when the content was last loaded (0 before any load): sync from
 * there and nothing committed since is missed. */
int64_t authz_index_cursor(struct authz_index *ix);

/* Applies the changes recorded after *cursor (audit rows: every change writes one in its own
 * transaction) to the index, and advances *cursor. This is how changes made by other
 * processes on the same database (admin commands, other instances) reach this index; changes
 * made here are applied at once after their commit as well. *out_applied (may be NULL) gets
 * how many rows were read. */
int authz_index_sync(struct authz_index *ix, struct store_conn *c, int64_t *cursor,
                     int *out_applied, struct usher_error *err);

/* The newest change in the store now. */
int authz_index_sync_cursor(int64_t *out, struct store *store, struct usher_error *err);

/* Re-reads one user (status, admin flag, every grant) from conn; a user no longer in the
 * store is removed. Call after the change that touched the user has committed. */
int authz_index_refresh_user(struct authz_index *ix, struct store_conn *c, const char *user_id,
                             struct usher_error *err);

/* Re-reads one place (scope_type "agency", "environment" or "bot": an agency's presence, status
 * and two-step policy, an environment's agency, a bot's environment and agency) from conn, as
 * the change feed does; a place no longer in the store is marked gone with everything under it
 * and its holders re-read. Like authz_index_refresh_user, a read that overlapped another install
 * reads again. Call after the change that touched the place has committed. */
int authz_index_refresh_place(struct authz_index *ix, struct store_conn *c, const char *scope_type,
                              const char *id, struct usher_error *err);

/* Re-reads an agency's custom roles from conn and installs them in place of those held, as
 * authz_index_refresh_place. */
int authz_index_refresh_roles(struct authz_index *ix, struct store_conn *c, const char *agency_id,
                              struct usher_error *err);

/* Drops a user from the index: every check for them is denied until the next refresh. */
void authz_index_forget_user(struct authz_index *ix, const char *user_id);

/* Sets whether an agency requires a second factor of its members (after the change committed). */
void authz_index_put_agency_policy(struct authz_index *ix, const char *agency_id,
                                   bool require_second_factor);

/* Sets whether an agency is suspended (after the change committed): while it is, every check
 * about its places is denied, platform admins included, and authz_effective finds nothing. */
void authz_index_put_agency_status(struct authz_index *ix, const char *agency_id, bool suspended);

/* Marks a deleted place gone with everything under it (after the deletion committed): an
 * agency with its environments, bots and custom roles, an environment with its bots, or a bot;
 * every question about them is denied from now on. *out_users gets the users whose grants in
 * the index name any of them (ids copied into a), and the count is returned: the caller
 * re-reads each (authz_index_refresh_user) so that their grants end as a fresh load would
 * give them. A place the index never knew changes nothing and finds nobody. */
size_t authz_index_place_gone(const char ***out_users, struct authz_index *ix,
                              enum policy_scope kind, const char *place_id, struct arena *a);

enum authz_agency_state {
    AUTHZ_AGENCY_UNKNOWN, /* not in the index (never created, or deleted) */
    AUTHZ_AGENCY_ACTIVE,
    AUTHZ_AGENCY_SUSPENDED,
};

/* The state of an agency as the index knows it (for refusing a suspended agency's API tokens
 * without SQL). */
enum authz_agency_state authz_agency_state(struct authz_index *ix, const char *agency_id);

/* Whether user_id has a second factor on (false when unknown). */
bool authz_user_second_factor(struct authz_index *ix, const char *user_id);

/* Whether user_id holds a grant in an agency that requires a second factor and has none on.
 * Platform admins are judged as anyone else. */
bool authz_second_factor_required(struct authz_index *ix, const char *user_id);

/* Records an agency, an environment or a bot (after its creation or rename committed). An
 * environment or bot given a NULL agency_id is marked gone (after its deletion committed);
 * a bot whose environment or agency is gone, or an environment whose agency is gone, is
 * denied as unknown. */
void authz_index_put_agency(struct authz_index *ix, const char *agency_id);
void authz_index_put_environment(struct authz_index *ix, const char *environment_id,
                                 const char *agency_id);
void authz_index_put_bot(struct authz_index *ix, const char *bot_id, const char *environment_id,
                         const char *agency_id);

/* Records a custom role's permissions (replacing), or forgets it (permissions ignored when
 * is_deleted). Grants holding the role pick up the change on the next check. */
void authz_index_put_custom_role(struct authz_index *ix, const char *role_id, const char *agency_id,
                                 uint64_t permissions, bool is_deleted);

/* A question for the index. Exactly one scope kind. */
struct authz_question {
    const char *user_id;
    const char *permission;
    enum policy_scope scope;
    const char *scope_id;
    const char *limit_agency_id; /* when set, scopes outside this agency are unknown */
};

/* The answer, with where it comes from (explain). */
struct authz_answer {
    bool allowed;
    bool is_platform_admin; /* allowed because the user is a platform admin */
    enum policy_decide_source source;
    const char *roles[POLICY_ROLE_COUNT + 16]; /* effective role names (built-in and custom ids) */
    size_t role_count;
    const char *agency_id; /* the agency the scope belongs to, NULL when unknown */
    bool agency_suspended; /* denied because that agency is suspended */
};

/* Answers q. Deny by default: unknown or disabled user, unknown scope, unknown permission.
 * Role names in *out are copied into a (may be NULL when the caller needs no names). */
void authz_check(struct authz_answer *out, struct authz_index *ix, const struct authz_question *q,
                 struct arena *a);

/* The effective roles and permissions of a user at a scope (for /users/{id}/effective and for
 * route enforcement). Returns false when the user or scope is unknown. */
bool authz_effective(struct policy_decide_effective *out, bool *out_is_admin,
                     struct authz_index *ix, const char *user_id, enum policy_scope scope,
                     const char *scope_id, const char **out_agency_id, struct arena *a);

/* The earliest expires_at (ms) among the user's grants that bear on the scope and still count,
 * that is when what authz_effective answers there changes by itself at the latest; 0 when none
 * of them ends (or the user or scope is unknown). */
int64_t authz_effective_until(struct authz_index *ix, const char *user_id, enum policy_scope scope,
                              const char *scope_id);

/* The agency of a scope, copied into a; NULL when unknown. */
const char *authz_scope_agency(struct authz_index *ix, enum policy_scope scope,
                               const char *scope_id, struct arena *a);

/* Counts for metrics and docs: what is present, and the bytes the index holds for it (its
 * tables, strings and grants, without the allocator's own overhead). */
struct authz_stats {
    size_t users, grants, agencies, environments, bots, custom_roles;
    size_t bytes;
};
void authz_index_stats(struct authz_stats *out, struct authz_index *ix);

#endif
