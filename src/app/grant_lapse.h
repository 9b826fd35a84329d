/* The end of end-dated grants (docs/rules.md, Grants that end). Decisions stop counting a
 * grant at its expires_at by themselves (the decision index compares the clock); this job,
 * run by the sync thread every grant_lapse_interval_seconds, tidies up after them:
 * - a lapsed grant is removed with a grant.lapsed audit entry (and the membership with it when
 *   it was the person's last grant in the agency), so lists stop showing it;
 * - three days before a grant ends, one email goes to its holder and one to the person who set
 *   it (when known, active and someone else), exactly once per grant.
 * Each grant is handled in its own transaction with a conditional write, so several instances
 * running the job at once remove, audit and announce each grant once. */
#ifndef USHER_APP_GRANT_LAPSE_H
#define USHER_APP_GRANT_LAPSE_H

#include <stddef.h>
#include <stdint.h>

#include "app/app.h"
#include "store/store_grant_lapse.h"

#define APP_GRANT_NOTICE_MS (3LL * 24 * 3600 * 1000) /* the notice goes this long before */

/* What one run did. */
struct app_grant_lapse_result {
    size_t lapsed;  /* grants removed */
    size_t noticed; /* grants announced (each with one or two emails) */
};

/* Handles every grant due at now: removes the lapsed ones and announces those ending within
 * APP_GRANT_NOTICE_MS. Stops at the first store error (the next run carries on). */
int app_grant_lapse_run(struct app_grant_lapse_result *out, struct app *app, int64_t now,
                        struct usher_error *err);

/* Queues the notice about grant g (ending at g->expires_at) on c, in the caller's transaction:
 * one email to holder, and one to granter unless NULL. scope_name names the grant's scope
 * ("the whole agency" for an agency grant). */
struct store_user;
int app_grant_lapse_mail_queue(struct store_conn *c, struct arena *a,
                               const struct store_grant_due *g, const char *agency_name,
                               const char *scope_name, const struct store_user *holder,
                               const struct store_user *granter, struct usher_error *err);

#endif
