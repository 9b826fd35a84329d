/* The background thread that keeps the decision index in step with changes made by other
 * processes on the same database (admin commands, other instances). It reads the change feed
 * every APP_SYNC_INTERVAL_MS, and at once when the database notifies a commit (PostgreSQL).
 *
 * With notices, the index answers only while the sync hears from the database: when the
 * listening connection is lost, checks are denied (and /readyz answers 503) until it is back
 * and the feed has been read to its end, and they stop too when no read of the feed has
 * succeeded for APP_SYNC_CURRENT_MS (a database gone silent). Without notices (SQLite, one
 * file on one machine) the index always answers. */
#ifndef USHER_APP_SYNC_H
#define USHER_APP_SYNC_H

#include <stdint.h>

#include "app/app.h"

#define APP_SYNC_INTERVAL_MS  50   /* the feed is read at least this often */
#define APP_SYNC_CURRENT_MS   5000 /* answers stop this long after the last read that worked */
#define APP_SYNC_RETRY_MAX_MS 1000 /* longest wait between attempts to listen again */

struct app_sync;

/* Starts syncing app->authz from the change after cursor. With notices, the listener is
 * opened and the feed read to its end before this returns, so a start with an unreachable
 * database fails (USHER_EUNAVAIL) rather than serving an index that cannot follow changes. */
int app_sync_start(struct app_sync **out, struct app *app, int64_t cursor, struct usher_error *err);

/* Stops the thread and frees it; accepts NULL. */
void app_sync_stop(struct app_sync *s);

#endif
