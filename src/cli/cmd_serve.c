/* `usher serve`: opens the store, applies migrations, bootstraps the platform admin, serves
 * HTTP until SIGTERM or SIGINT, then drains in-flight requests and exits 0. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "api/api.h"
#include "api/auth.h"
#include "app/account.h"
#include "app/app.h"
#include "app/password.h"
#include "app/sync.h"
#include "authz/authz.h"
#include "base/crypto.h"
#include "base/log.h"
#include "cli/cli.h"
#include "config/config.h"
#include "http/http.h"
#include "http/metrics.h"
#include "http/static.h"
#include "mail/mail.h"
#include "store/store.h"

#define SERVE_DRAIN_MS 10000

/* The metrics listener answers a scraper or two: a thread and a few connections are enough. */
#define METRICS_THREADS         1
#define METRICS_MAX_CONNECTIONS 16
#define METRICS_MAX_BODY_BYTES  1024

static void serve_help(void)
{
    printf("Usage: usher serve [options]\n\n"
           "Serves the HTTP API and the web console on the listen address until SIGTERM or "
           "SIGINT.\nWith --metrics-listen, /metrics is served on that address only.\n\n");
    config_print_help(stdout);
}

/* The hashing pool's figures go to the metrics. */
static void serve_hash_observed(void *ctx, double wait_seconds, double hash_seconds)
{
    (void)ctx;
    metrics_hash_observe(wait_seconds, hash_seconds);
}

/* Starts the listener for /metrics (and /healthz) alone, when cfg->metrics_listen is set, and
 * logs the address it bound. *out stays NULL when it is not set. */
static int metrics_listener_start(struct http_server **out, struct app *app,
                                  const struct config *cfg, struct usher_error *err)
{
    *out = NULL;
    if (!*cfg->metrics_listen)
        return 0;
    struct http_server_options opts = {
        .listen = cfg->metrics_listen,
        .threads = METRICS_THREADS,
        .max_connections = METRICS_MAX_CONNECTIONS,
        .connection_timeout_seconds = (int)cfg->connection_timeout_seconds,
        .max_connections_per_address = 0,
        .trusted_proxies = cfg->proxies,
        .request_timeout_seconds = (int)cfg->request_timeout_seconds,
        .max_body_bytes = METRICS_MAX_BODY_BYTES,
        .app = app,
        .tables = api_metrics_listener_tables,
    };
    int rc = http_server_start(out, &opts, err);
    if (rc)
        return rc;
    log_msg(LOG_INFO, "serve.metrics_listening", "{s:s, s:i}", "listen", cfg->metrics_listen,
            "port", http_server_port(*out));
    return 0;
}

/* Applies the changes made since the index was loaded (the bootstrap admin) before serving;
 * from then on the sync thread follows the feed from *cursor. */
static int index_catch_up(struct app *app, int64_t *cursor, struct usher_error *err)
{
    struct store_conn *c = NULL;
    int applied = 0;
    int rc = store_conn_get(app->store, &c, err);
    while (rc == 0) {
        rc = authz_index_sync(app->authz, c, cursor, &applied, err);
        if (applied == 0)
            break;
    }
    store_conn_put(c);
    return rc;
}

static int serve_run(int argc, char **argv)
{
    struct config cfg;
    struct usher_error err = {0};
    struct app app = {0};
    struct http_server *server = NULL;
    struct http_server *metrics_server = NULL;
    struct app_sync *sync = NULL;
    bool help = false;
    int status = 0;
    config_init(&cfg);
    if (config_load(&cfg, argc, argv, &help, &err) || (!help && (config_finish(&cfg, &err)))) {
        status = cli_fail("serve", &err);
        goto done;
    }
    if (help) {
        serve_help();
        goto done;
    }
    enum log_level level;
    if (log_level_parse(&level, cfg.log_level) != 0) {
        fprintf(stderr, "usher serve: log_level must be debug, info, warn or error\n");
        status = 2;
        goto done;
    }
    log_set_level(level);
    if (crypto_setup() != 0) {
        fprintf(stderr, "usher serve: libsodium failed to initialise\n");
        status = 1;
        goto done;
    }

    /* Signals are taken by sigwait below; the server's threads inherit the blocked mask. */
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &signals, NULL);
    signal(SIGPIPE, SIG_IGN);

    if (app_open(&app, &cfg, true, &err)) {
        log_msg(LOG_ERROR, "serve.start_failed", "{s:s}", "message", err.message);
        status = cli_fail("serve", &err);
        goto done;
    }
    app_hash_pool_observe(app.hash_pool, serve_hash_observed, NULL);
    if (app_account_bootstrap(&app, &err)) {
        log_msg(LOG_ERROR, "serve.start_failed", "{s:s}", "message", err.message);
        status = cli_fail("serve", &err);
        goto done;
    }
    /* app_open loaded the index; the bootstrap may have added the platform admin since. Apply
     * that from the change feed, then follow the feed for what other processes change. */
    int64_t cursor = authz_index_cursor(app.authz);
    if (index_catch_up(&app, &cursor, &err) || app_sync_start(&sync, &app, cursor, &err)) {
        log_msg(LOG_ERROR, "serve.start_failed", "{s:s}", "message", err.message);
        status = cli_fail("serve", &err);
        goto done;
    }
    int64_t purged = 0;
    if (app_account_sessions_purge(&purged, &app, &err) == 0 && purged > 0)
        log_msg(LOG_INFO, "serve.sessions_purged", "{s:I}", "count", (json_int_t)purged);
    usher_error_clear(&err);
    struct http_server_options opts = {
        .listen = cfg.listen,
        .threads = (int)cfg.threads,
        .max_connections = (int)cfg.max_connections,
        .connection_timeout_seconds = (int)cfg.connection_timeout_seconds,
        .max_connections_per_address = (int)cfg.max_connections_per_address,
        .trusted_proxies = cfg.proxies,
        .request_timeout_seconds = (int)cfg.request_timeout_seconds,
        .max_body_bytes = (size_t)cfg.max_body_bytes,
        .app = &app,
        .tables = api_route_tables_main(*cfg.metrics_listen != '\0'),
        .authenticate = api_auth_authenticate,
        .fallback = http_static_serve,
    };
    if (metrics_listener_start(&metrics_server, &app, &cfg, &err) ||
        http_server_start(&server, &opts, &err)) {
        log_msg(LOG_ERROR, "serve.start_failed", "{s:s}", "message", err.message);
        status = cli_fail("serve", &err);
        goto done;
    }
    int port = http_server_port(server);
    if (!*cfg.public_url) {
        char url[300];
        const char *colon = strrchr(cfg.listen, ':');
        snprintf(url, sizeof(url), "http://%.*s:%d", (int)(colon - cfg.listen), cfg.listen, port);
        app_public_url_set(&app, url);
    }
    /* The sender derives links from the public URL: it starts once the URL is final. */
    if (mail_sender_start(app.mail, &err)) {
        log_msg(LOG_ERROR, "serve.start_failed", "{s:s}", "message", err.message);
        status = cli_fail("serve", &err);
        goto done;
    }
    log_msg(LOG_INFO, "serve.listening", "{s:s, s:i, s:s, s:i, s:s}", "listen", cfg.listen, "port",
            port, "public_url", app.public_url, "threads", (int)cfg.threads, "database",
            *cfg.database_url ? "configured" : "sqlite");

    int sig = 0;
    sigwait(&signals, &sig);
    log_msg(LOG_INFO, "serve.stopping", "{s:s}", "signal", sig == SIGTERM ? "SIGTERM" : "SIGINT");
    http_server_stop(server, SERVE_DRAIN_MS);
    server = NULL;
    http_server_stop(metrics_server, 0);
    metrics_server = NULL;
    log_msg(LOG_INFO, "serve.stopped", NULL);
done:
    http_server_stop(server, 0);
    http_server_stop(metrics_server, 0);
    app_sync_stop(sync);
    app_close(&app);
    config_dispose(&cfg);
    return status;
}

const struct cli_command cli_cmd_serve = {"serve", "serve the HTTP API and the web console",
                                          serve_run};
