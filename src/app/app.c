/* Opening and closing the service context. */
#include "app/app.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "app/password.h"
#include "app/throttle.h"
#include "app/tokens.h"
#include "app/app_mail.h"
#include "app/audit.h"
#include "app/oidc.h"
#include "authz/authz.h"
#include "base/clock.h"
#include "base/crypto.h"
#include "base/log.h"
#include "config/config.h"
#include "store/store.h"
#include "store/store_secret.h"

static int mkdir_p(const char *path, struct usher_error *err)
{
    char buf[4096];
    if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
        return usher_error_set(err, USHER_EINVAL, NULL, "data_dir", "data_dir is too long");
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0700) != 0 && errno != EEXIST)
            return usher_error_set(err, USHER_EINVAL, NULL, "data_dir", "cannot create %s: %s", buf,
                                   strerror(errno));
        *p = '/';
    }
    if (mkdir(buf, 0700) != 0 && errno != EEXIST)
        return usher_error_set(err, USHER_EINVAL, NULL, "data_dir", "cannot create %s: %s", buf,
                               strerror(errno));
    return 0;
}

void app_public_url_set(struct app *app, const char *url)
{
    /* Serving threads may be reading the URL: an unchanged one is left in place. */
    size_t want = strlen(url);
    while (want > 0 && url[want - 1] == '/')
        want--;
    if (app->public_url && strlen(app->public_url) == want &&
        strncmp(app->public_url, url, want) == 0)
        return;
    free(app->public_url);
    app->public_url = xstrdup(url);
    size_t len = strlen(app->public_url);
    while (len > 0 && app->public_url[len - 1] == '/')
        app->public_url[--len] = '\0';
}

/* Browsers treat loopback as a secure context, so the __Host- cookie works there over plain
 * HTTP; elsewhere plain HTTP cannot carry a Secure cookie. */
static bool url_is_loopback(const char *url)
{
    const char *host = strstr(url, "://");
    host = host ? host + 3 : url;
    return strncmp(host, "127.", 4) == 0 || strncmp(host, "localhost", 9) == 0 ||
           strncmp(host, "[::1]", 5) == 0;
}

static void app_cookie_settings(struct app *app)
{
    const char *mode = app->cfg->cookie_secure;
    if (strcmp(mode, "on") == 0)
        app->cookie_secure = true;
    else if (strcmp(mode, "off") == 0)
        app->cookie_secure = false;
    else
        app->cookie_secure =
            strncmp(app->public_url, "https://", 8) == 0 || url_is_loopback(app->public_url);
    app->cookie_name = app->cookie_secure ? "__Host-usher_session" : "usher_session";
    app->device_cookie_name = app->cookie_secure ? "__Host-usher_device" : "usher_device";
}

int app_secret_check(struct app *app, struct usher_error *err)
{
    static const char text[] = "usher server secret check 1";
    char mac[CRYPTO_HASH_HEX + 1];
    crypto_hmac_hex(mac, app->secret, sizeof(app->secret), text, sizeof(text) - 1);
    struct store_conn *c = NULL;
    struct arena a;
    arena_init(&a);
    const char *kept = NULL;
    bool found = false;
    int rc = store_conn_get(app->store, &c, err);
    if (rc)
        goto done;
    rc = store_begin(c, true, err);
    if (rc)
        goto done;
    rc = store_secret_check_get(&kept, &found, c, &a, err);
    if (rc)
        goto done;
    if (!found) {
        rc = store_secret_check_put(c, &a, mac, clock_now_ms(), err);
        if (rc)
            goto done;
    } else if (!kept || !crypto_str_equal(kept, mac)) {
        rc = usher_error_set(err, USHER_EINVAL, "secret_mismatch", "data_dir",
                             "the server secret in %s/secret is not the one this database was "
                             "first used with: every process on one database needs a copy of "
                             "the same secret file (docs/operations.md)",
                             app->cfg->data_dir);
        goto done;
    }
    rc = store_commit(c, err);
done:
    store_conn_put(c);
    arena_dispose(&a);
    return rc;
}

int app_open(struct app *app, const struct config *cfg, bool migrate, struct usher_error *err)
{
    memset(app, 0, sizeof(*app));
    app->cfg = cfg;
    int rc = mkdir_p(cfg->data_dir, err);
    if (rc)
        return rc;
    rc = store_open(&app->store, cfg->database_url, cfg->data_dir, (int)cfg->db_pool, err);
    if (rc)
        return rc;
    /* The secret first: migration 0007 signs the audit heads with a key derived from it. */
    char path[4096];
    snprintf(path, sizeof(path), "%s/secret", cfg->data_dir);
    rc = crypto_secret_load(app->secret, path, err);
    if (rc)
        return rc;
    app_audit_key_set(app->secret, sizeof(app->secret));
    if (migrate) {
        rc = store_migrate_hooked(app->store, NULL, &app_audit_migrate_hook, err);
        if (rc)
            return rc;
        rc = app_secret_check(app, err);
        if (rc)
            return rc;
        app_audit_reformat_at_start(app->store);
    }
    if (*cfg->public_url) {
        app_public_url_set(app, cfg->public_url);
    } else {
        char url[300];
        snprintf(url, sizeof(url), "http://%s", cfg->listen);
        app_public_url_set(app, url);
    }
    app_cookie_settings(app);
    rc = app_hash_pool_new(&app->hash_pool, (int)cfg->hash_workers, (int)cfg->hash_queue, err);
    if (rc)
        return rc;
    app->throttle = app_throttle_new(NULL, app->store, app->secret);
    app->token_cache = app_token_cache_new(app->secret, sizeof(app->secret));
    app->authz = authz_index_new();
    app->oidc = app_oidc_cache_new();
    if (migrate) {
        rc = authz_index_load(app->authz, app->store, err);
        if (rc)
            return rc;
    }
    rc = app_mail_transport_new(&app->mail_transport, app, err);
    if (rc)
        return rc;
    struct arena a;
    arena_init(&a);
    struct mail_sender_options mo = {
        .store = app->store,
        .transport = app->mail_transport,
        .from = cfg->smtp_from,
        .message_id_domain = app_public_host(app, &a),
        .resolve = app_mail_link_resolve,
        .resolve_ctx = app,
    };
    rc = mail_sender_new(&app->mail, &mo, err);
    arena_dispose(&a);
    return rc;
}

void app_close(struct app *app)
{
    mail_sender_free(app->mail);
    app->mail = NULL;
    mail_transport_free(app->mail_transport);
    app->mail_transport = NULL;
    authz_index_free(app->authz);
    app->authz = NULL;
    app_oidc_cache_free(app->oidc);
    app->oidc = NULL;
    app_token_cache_free(app->token_cache);
    app->token_cache = NULL;
    app_hash_pool_free(app->hash_pool);
    app->hash_pool = NULL;
    app_throttle_free(app->throttle);
    app->throttle = NULL;
    store_free(app->store);
    app->store = NULL;
    free(app->public_url);
    app->public_url = NULL;
}

int app_call_begin(struct store_conn **out, const struct app_call *call, bool write)
{
    *out = NULL;
    struct store_conn *c = NULL;
    int rc = store_conn_get(call->app->store, &c, call->err);
    if (rc)
        return rc;
    rc = store_begin(c, write, call->err);
    if (rc) {
        store_conn_put(c);
        return rc;
    }
    *out = c;
    return 0;
}
