/* The background thread that keeps the decision index in step with changes made by other
 * processes on the same database (admin commands, other instances): it reads the change feed
 * every APP_SYNC_INTERVAL_MS. */
#ifndef USHER_APP_SYNC_H
#define USHER_APP_SYNC_H

#include <stdint.h>

#include "app/app.h"

#define APP_SYNC_INTERVAL_MS 50

struct app_sync;

/* Starts syncing app->authz from the change after cursor. */
int app_sync_start(struct app_sync **out, struct app *app, int64_t cursor, struct usher_error *err);

/* Stops the thread and frees it; accepts NULL. */
void app_sync_stop(struct app_sync *s);

#endif
