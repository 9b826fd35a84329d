/* Per-bot delegation (docs/rules.md, Invitations): a bot's owner invites bot managers by email; a
 * bot with at least one accepted manager is shared. Needs bot.delegate on the bot. Each
 * operation takes the call context of app/app.h (call->actor is the one delegating). */
#ifndef USHER_APP_DELEGATION_H
#define USHER_APP_DELEGATION_H

#include "app/invitation.h"
#include "store/store_member.h"

/* Invites in->email to manage bot_id: an invitation with one bot grant (bot_manager), created
 * with the bot.delegate authority; in->grants is ignored. expires_at (RFC 3339, or NULL: no
 * end) is when that grant ends; the grant ceiling holds it to the inviter's own right to
 * delegate the bot. Errors as app_invitation_create, those about the grant naming
 * "expires_at" (403 "grant_ceiling" past the inviter's right); an unknown or foreign bot is
 * USHER_ENOTFOUND. */
int app_bot_manager_invite(struct app_invitation_view *out, int64_t *out_retry_after,
                           const struct app_call *call, const char *bot_id,
                           const struct app_invitation_new *in, const char *expires_at);

/* The bot's managers and its pending manager invitations. */
int app_bot_managers_list(struct store_bot_manager **out_managers, size_t *manager_count,
                          struct app_invitation_view **out_pending, size_t *pending_count,
                          const struct app_call *call, const char *bot_id);

/* Takes the bot_manager role on bot_id away from user_id (the grant on the bot goes; a user
 * left without grants in the agency stops being a member). Needs bot.delegate on the bot and,
 * toward someone else, authority over them on the bot (app_access_may_act_on: every authority
 * permission they hold there; an owner only by an owner): USHER_EFORBIDDEN. USHER_ENOTFOUND
 * when the user is not a manager of the bot. */
int app_bot_manager_remove(const struct app_call *call, const char *bot_id, const char *user_id);

#endif
