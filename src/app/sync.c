/* The index sync thread: follows the change feed, woken by the database's change notices
 * where there are some and by a timer always, and keeps the index answering only while it
 * knows it has seen every change. A failed read is logged and retried; the cursor only moves
 * past rows that were applied. */
#include "app/sync.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#include "app/audit.h"
#include "app/email_change.h"
#include "app/grant_lapse.h"
#include "app/tokens.h"
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
    int64_t next_lapse_ms;
    struct store_listener *listener; /* NULL without notices, or while lost */
    bool notifies;                   /* the database sends change notices */
    int retry_ms;                    /* wait before the next attempt to listen again */
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool stop;
};

/* The audit retention and the purge of old email-change and password-reset rows run on this
 * thread too: once at start and hourly. */
static void prune(struct app *app)
{
    struct usher_error err = {0};
    int64_t deleted = 0;
    if (app_audit_prune(&deleted, app->store, app->cfg->audit_retention_days, &err) != 0)
        log_msg(LOG_WARN, "audit.prune_failed", "{s:s}", "error", err.message);
    else if (deleted > 0)
        log_msg(LOG_INFO, "audit.pruned", "{s:I}", "deleted", (json_int_t)deleted);
    usher_error_clear(&err);
    deleted = 0;
    if (app_account_links_purge(&deleted, app, &err) != 0)
        log_msg(LOG_WARN, "account.links_purge_failed", "{s:s}", "error", err.message);
    else if (deleted > 0)
        log_msg(LOG_INFO, "account.links_purged", "{s:I}", "deleted", (json_int_t)deleted);
}

/* Removes lapsed grants and announces ending ones (app/grant_lapse.h). */
static void lapse(struct app *app)
{
    struct usher_error err = {0};
    struct app_grant_lapse_result r;
    if (app_grant_lapse_run(&r, app, clock_now_ms(), &err) != 0)
        log_msg(LOG_WARN, "grants.lapse_failed", "{s:s}", "error", err.message);
    if (r.lapsed > 0 || r.noticed > 0)
        log_msg(LOG_INFO, "grants.lapse_run", "{s:I, s:I}", "lapsed", (json_int_t)r.lapsed,
                "noticed", (json_int_t)r.noticed);
}

/* Applies what other processes changed since the cursor, draining a burst in several batches.
 * After changes, API tokens are read again on their next use (a revocation may be among
 * them). With notices and a listener, a drain that reached the end of the feed keeps the
 * index answering for APP_SYNC_CURRENT_MS more. */
static int sync_drain(struct app_sync *s, struct usher_error *err)
{
    struct store_conn *c = NULL;
    int applied = 0;
    int total = 0;
    int rc = store_conn_get(s->app->store, &c, err);
    if (rc)
        goto done;
    do {
        rc = authz_index_sync(s->app->authz, c, &s->cursor, &applied, err);
        total += applied;
    } while (rc == 0 && applied > 0);
done:
    store_conn_put(c);
    if (total > 0)
        app_token_cache_clear(s->app->token_cache);
    if (rc == 0 && s->listener)
        authz_index_current_until(s->app->authz,
                                  clock_mono_ns() + (int64_t)APP_SYNC_CURRENT_MS * 1000000);
    return rc;
}

/* Opens the listener. Notices sent before it listens are not heard, so the caller reads the
 * feed after this and only then lets the index answer. */
static int listen_open(struct app_sync *s, struct usher_error *err)
{
    int rc = store_listener_open(&s->listener, s->app->store, err);
    if (rc)
        s->listener = NULL;
    return rc;
}

/* Stops answers at once: notices may have been missed. */
static void listen_lost(struct app_sync *s)
{
    authz_index_current_until(s->app->authz, 0);
    store_listener_close(s->listener);
    s->listener = NULL;
    log_msg(LOG_WARN, "authz.sync_listen_lost", "{s:s}", "effect",
            "checks are denied until the change feed is read again");
}

/* Sleeps up to ms on the condition variable, waking early when stopped. Holds s->lock. */
static void wait_locked(struct app_sync *s, int ms)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += ms / 1000;
    until.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(&s->cond, &s->lock, &until);
}

/* Waits for the next reason to read the feed: a notice or the interval. Holds s->lock and
 * returns holding it. */
static void wait_next(struct app_sync *s)
{
    if (!s->listener) {
        wait_locked(s, APP_SYNC_INTERVAL_MS);
        return;
    }
    pthread_mutex_unlock(&s->lock);
    struct usher_error err = {0};
    bool changed = false;
    int rc = store_listener_wait(s->listener, APP_SYNC_INTERVAL_MS, &changed, &err);
    if (rc)
        listen_lost(s);
    pthread_mutex_lock(&s->lock);
}

/* With notices and no listener: tries to listen again, backing off up to
 * APP_SYNC_RETRY_MAX_MS. Returns true when listening. Holds s->lock. */
static bool listen_again(struct app_sync *s)
{
    pthread_mutex_unlock(&s->lock);
    struct usher_error err = {0};
    int rc = listen_open(s, &err);
    pthread_mutex_lock(&s->lock);
    if (rc == 0) {
        log_msg(LOG_INFO, "authz.sync_listening", NULL);
        s->retry_ms = APP_SYNC_INTERVAL_MS;
        return true;
    }
    wait_locked(s, s->retry_ms);
    s->retry_ms = s->retry_ms * 2 > APP_SYNC_RETRY_MAX_MS ? APP_SYNC_RETRY_MAX_MS : s->retry_ms * 2;
    return false;
}

static void *sync_main(void *arg)
{
    struct app_sync *s = arg;
    bool failing = false;
    pthread_mutex_lock(&s->lock);
    while (!s->stop) {
        if (s->notifies && !s->listener && !listen_again(s))
            continue;
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
        if (clock_now_ms() >= s->next_lapse_ms) {
            s->next_lapse_ms =
                clock_now_ms() + s->app->cfg->grant_lapse_interval_seconds * (int64_t)1000;
            lapse(s->app);
        }
        pthread_mutex_lock(&s->lock);
        if (s->stop)
            break;
        wait_next(s);
    }
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

static void sync_free(struct app_sync *s)
{
    store_listener_close(s->listener);
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->cond);
    free(s);
}

int app_sync_start(struct app_sync **out, struct app *app, int64_t cursor, struct usher_error *err)
{
    struct app_sync *s = xcalloc(1, sizeof(*s));
    s->app = app;
    s->cursor = cursor;
    s->notifies = store_notifies(app->store);
    s->retry_ms = APP_SYNC_INTERVAL_MS;
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->cond, NULL);
    int rc = 0;
    if (s->notifies) {
        authz_index_current_until(app->authz, 0);
        rc = listen_open(s, err);
        if (rc)
            goto done;
        rc = sync_drain(s, err);
        if (rc)
            goto done;
    }
    if (pthread_create(&s->thread, NULL, sync_main, s) != 0)
        rc = usher_error_set(err, USHER_EINTERNAL, NULL, NULL, "cannot start the index sync");
done:
    if (rc) {
        sync_free(s);
        return rc;
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
    sync_free(s);
}
