/* The rules for agencies, environments and bots (docs/rules.md, "The model").
 *
 * Only platform admins create agencies. A user sees the agencies they are a member of; any
 * other agency, and everything inside it, is USHER_ENOTFOUND (404, never 403). Inside a
 * visible agency, missing permissions give USHER_EFORBIDDEN. Every change writes its audit row
 * in the same transaction. The operations take the call context of app/app.h: "the actor" below
 * is call->actor, and results live in call->arena. */
#ifndef USHER_APP_TENANCY_H
#define USHER_APP_TENANCY_H

#include <stdbool.h>
#include <stddef.h>

#include "app/app.h"
#include "policy/decide.h"
#include "store/store_tenancy.h"

/* Which page of a list to return. */
struct app_page {
    size_t limit; /* 1 .. STORE_PAGE_LIMIT_MAX */
    struct store_cursor after;
};

/* Parses the limit and cursor query values (each may be NULL): limit is a decimal integer
 * 1..200 (default 50), else USHER_EINVAL naming "limit"; a bad cursor gives USHER_EINVAL
 * naming "cursor". */
int app_page_parse(struct app_page *out, struct arena *a, const char *limit, const char *cursor,
                   struct usher_error *err);

struct app_agency_page {
    struct store_agency *items;
    size_t count;
    const char *next_cursor; /* NULL on the last page */
};

struct app_environment_page {
    struct store_environment *items;
    size_t count;
    const char *next_cursor;
};

struct app_bot_page {
    struct store_bot *items;
    size_t count;
    const char *next_cursor;
};

/* Creates an agency named name (validated and trimmed: 400 naming "name"). Only a platform
 * admin (or a command-line operator, whose actor has no user id) may: others get
 * USHER_EFORBIDDEN. Audited as agency.created. */
int app_agency_create(struct store_agency *out, const struct app_call *call, const char *name);

/* Reads an agency the actor may see; USHER_ENOTFOUND otherwise. */
int app_agency_get(struct store_agency *out, const struct app_call *call, const char *agency_id);

/* Lists the agencies the actor may see: all for platform admins, else those they are a
 * member of. */
int app_agency_list(struct app_agency_page *out, const struct app_call *call,
                    const struct app_page *page);

/* Creates an environment in an agency. Needs a platform admin or environments.create at
 * agency scope (USHER_EFORBIDDEN); an agency the actor cannot see is USHER_ENOTFOUND.
 * Audited as environment.created. */
int app_environment_create(struct store_environment *out, const struct app_call *call,
                           const char *agency_id, const char *name);

/* Reads an environment. Platform admins see every one; members see those where they hold
 * any effective permission or a grant on one of its bots, and get USHER_EFORBIDDEN for the
 * others; everybody else gets USHER_ENOTFOUND. */
int app_environment_get(struct store_environment *out, const struct app_call *call,
                        const char *environment_id);

/* Lists an agency's environments the actor may see (as app_environment_get). */
int app_environment_list(struct app_environment_page *out, const struct app_call *call,
                         const char *agency_id, const struct app_page *page);

/* Creates a bot in an environment. Needs a platform admin or bot.develop effective in that
 * environment (USHER_EFORBIDDEN); an environment the actor cannot see is USHER_ENOTFOUND.
 * Audited as bot.created. */
int app_bot_create(struct store_bot *out, const struct app_call *call, const char *environment_id,
                   const char *name);

/* Reads a bot: platform admins, or bot.read effective on the bot; other members of its agency
 * get USHER_EFORBIDDEN, everybody else USHER_ENOTFOUND. */
int app_bot_get(struct store_bot *out, const struct app_call *call, const char *bot_id);

/* Lists an environment's bots: all of them for platform admins and holders of bot.read in
 * the environment; only the bots where they hold bot.read for those whose access comes from
 * bot grants; USHER_EFORBIDDEN for other members of the agency. */
int app_bot_list(struct app_bot_page *out, const struct app_call *call, const char *environment_id,
                 const struct app_page *page);

/* --- places that change and go (src/app/places.c) --- */

/* Whether PATCH /agencies/{id} suspends or resumes the agency. */
enum app_agency_status_change {
    APP_AGENCY_STATUS_KEEP,
    APP_AGENCY_STATUS_ACTIVE,
    APP_AGENCY_STATUS_SUSPENDED,
};

/* Whether PATCH /agencies/{id} changes the agency's second-factor requirement. */
enum app_agency_second_factor_change {
    APP_AGENCY_SECOND_FACTOR_KEEP,
    APP_AGENCY_SECOND_FACTOR_ON,
    APP_AGENCY_SECOND_FACTOR_OFF,
};

/* What PATCH /agencies/{id} changes. */
struct app_agency_change {
    const char *name; /* NULL keeps the name */
    enum app_agency_status_change status;
    enum app_agency_second_factor_change second_factor;
};

/* Applies change to an agency in one transaction: all of it or, on any refusal or failure,
 * none of it. A name is validated as at creation. Renaming and the second-factor setting need
 * agency.manage at agency scope; suspending and resuming, a platform admin (USHER_EFORBIDDEN);
 * an agency the actor cannot see is USHER_ENOTFOUND. Changes nothing that is already so.
 * Audited as agency.renamed (old and new names), agency.suspended / agency.resumed and
 * agency.updated (require_second_factor), in the same transaction; the decision index and API
 * tokens follow at once. *out is the agency after the change. */
int app_agency_update(struct store_agency *out, const struct app_call *call, const char *agency_id,
                      const struct app_agency_change *change);

/* Deletes a suspended agency and everything under it in one transaction. Platform admins only
 * (USHER_EFORBIDDEN; USHER_ENOTFOUND for an agency the actor cannot see); an active agency is
 * USHER_ECONFLICT "agency_not_suspended"; confirm must be the agency's exact name, else
 * USHER_EINVAL "confirm_mismatch". The agency's audit chain stays as it is; the deletion is
 * recorded as agency.deleted on the platform chain. */
int app_agency_delete(const struct app_call *call, const char *agency_id, const char *confirm);

/* Renames an environment (validated as at creation). Needs environments.create at agency
 * scope (what creating it takes) or environment.manage on the environment; USHER_EFORBIDDEN,
 * or USHER_ENOTFOUND outside the actor's agencies. Audited as environment.renamed. */
int app_environment_rename(struct store_environment *out, const struct app_call *call,
                           const char *environment_id, const char *name);

/* Renames a bot. Needs bot.develop in its environment (what creating it takes). Audited as
 * bot.renamed. */
int app_bot_rename(struct store_bot *out, const struct app_call *call, const char *bot_id,
                   const char *name);

/* What deleting an environment or a bot takes with it. */
struct app_place_removal {
    int64_t grants_removed;      /* grants on the place (and, for an environment, its bots) */
    int64_t invitations_revoked; /* pending invitations with a grant on any of them */
    int64_t people_affected;     /* distinct people who lose a grant */
    int64_t memberships_ended;   /* of those, people left with no grant in the agency */
};

/* Deletes an environment with its bots, or a bot, in one transaction: the grants on them go,
 * pending invitations naming them are revoked (kept, for history), and people left with no
 * grant in the agency stop being members (as when their last grant is taken away). With
 * is_preview, only counts and changes nothing. Needs what creating it takes (environments.create
 * at agency scope; bot.develop in the bot's environment): USHER_EFORBIDDEN, or USHER_ENOTFOUND
 * outside the actor's agencies. Audited as environment.deleted / bot.deleted with the counts;
 * the decision index denies the place as soon as this returns. */
int app_environment_delete(struct app_place_removal *out, const struct app_call *call,
                           const char *environment_id, bool is_preview);
int app_bot_delete(struct app_place_removal *out, const struct app_call *call, const char *bot_id,
                   bool is_preview);

/* Succeeds when the actor may see agency_id (platform admin or member), else
 * USHER_ENOTFOUND. */
int app_agency_check_visible(const struct app_call *call, const char *agency_id);

#endif
