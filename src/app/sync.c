/* The index sync thread: polls the change feed and applies it. A failed poll is logged and
 * retried on the next tick; the cursor only moves past rows that were applied. */
#include "app/sync.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#include "app/audit.h"
#include "authz/authz.h"
#include "base/clock.h"
#include "config/config.h"
#include "base/log.h"
#include "store/store.h"

#define SYNC_PRUNE_EVERY_MS (3600 * 1000)

struct app_sync {
    struct app *app;
    int64_t cursor;
    int64_t next_prune_ms;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool stop;
};

/* The audit retention runs on this thread too: once at start and hourly. */
static void prune(struct app *app)
{
    struct usher_error err = {0};
    int64_t deleted = 0;
    if (app_audit_prune(&deleted, app->store, app->cfg->audit_retention_days, &err) != 0)
        log_msg(LOG_WARN, "audit.prune_failed", "{s:s}", "error", err.message);
    else if (deleted > 0)
        log_msg(LOG_INFO, "audit.pruned", "{s:I}", "deleted", (json_int_t)deleted);
}

/* Applies what other processes changed since the cursor, draining a burst in several batches
 * before the thread sleeps. */
static int sync_drain(struct app_sync *s, struct usher_error *err)
{
    struct store_conn *c = NULL;
    int applied = 0;
    int rc = store_conn_get(s->app->store, &c, err);
    if (rc)
        goto done;
    do {
        rc = authz_index_sync(s->app->authz, c, &s->cursor, &applied, err);
    } while (rc == 0 && applied > 0);
done:
    store_conn_put(c);
    return rc;
}

static void *sync_main(void *arg)
{
    struct app_sync *s = arg;
    bool failing = false;
    pthread_mutex_lock(&s->lock);
    while (!s->stop) {
        pthread_mutex_unlock(&s->lock);
        struct usher_error err = {0};
        int rc = sync_drain(s, &err);
        if (rc != 0 && !failing)
            log_msg(LOG_WARN, "authz.sync_failed", "{s:s}", "error", err.message);
        failing = rc != 0;
        if (clock_now_ms() >= s->next_prune_ms) {
            s->next_prune_ms = clock_now_ms() + SYNC_PRUNE_EVERY_MS;
            prune(s->app);
        }
        pthread_mutex_lock(&s->lock);
        if (s->stop)
            break;
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += (long)APP_SYNC_INTERVAL_MS * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&s->cond, &s->lock, &until);
    }
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

int app_sync_start(struct app_sync **out, struct app *app, int64_t cursor, struct usher_error *err)
{
    struct app_sync *s = xcalloc(1, sizeof(*s));
    s->app = app;
    s->cursor = cursor;
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->cond, NULL);
    if (pthread_create(&s->thread, NULL, sync_main, s) != 0) {
        pthread_mutex_destroy(&s->lock);
        pthread_cond_destroy(&s->cond);
        free(s);
        return usher_error_set(err, USHER_EINTERNAL, NULL, NULL, "cannot start the index sync");
    }
    *out = s;
    return 0;
}

void app_sync_stop(struct app_sync *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->lock);
    s->stop = true;
    pthread_cond_signal(&s->cond);
    pthread_mutex_unlock(&s->lock);
    pthread_join(s->thread, NULL);
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->cond);
    free(s);
}
