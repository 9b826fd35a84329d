/* The service context shared by every request, and the actor of a change.
 *
 * src/app holds the rules (accounts, agencies, grants, decisions). It knows nothing of HTTP
 * or SQL text: it talks to the store's record functions and returns USHER_E* codes with the
 * detail in a struct usher_error. */
#ifndef USHER_APP_APP_H
#define USHER_APP_APP_H

#include <stdbool.h>
#include <stdint.h>

#include "base/crypto.h"

struct arena;
struct config;
struct store;
struct app_hash_pool;
struct app_throttle;
struct authz_index;
struct app_token_cache;
struct mail_transport;
struct mail_sender;
struct app_oidc_cache;

struct app {
    const struct config *cfg;
    struct store *store;
    unsigned char secret[CRYPTO_SECRET_BYTES]; /* server secret: token hashes, CSRF tokens */
    char *public_url;                          /* without trailing slash */
    bool cookie_secure;                        /* Secure attribute and __Host- prefix */
    const char *cookie_name;                   /* "__Host-usher_session" or "usher_session" */
    const char *device_cookie_name;            /* "__Host-usher_device" or "usher_device" */
    struct app_hash_pool *hash_pool;           /* bounded argon2id workers */
    struct app_throttle *throttle;             /* sign-in failure counters */
    struct authz_index *authz;                 /* in-memory decision index */
    struct app_token_cache *token_cache;       /* API tokens resolved recently */
    struct mail_transport *mail_transport;     /* SMTP or .eml files */
    struct mail_sender *mail;                  /* outbox sender (started by serve) */
    struct app_oidc_cache *oidc;               /* OpenID Connect providers, per connection */
};

/* Who makes a change, for rules and for the audit row. Strings are borrowed. */
struct app_actor {
    const char *user_id; /* NULL for an anonymous caller or a CLI operator */
    bool is_platform_admin;
    const char *impersonator_id; /* set while impersonating */
    const char *agency_limit;    /* while impersonating: the only agency the actor may see */
    const char *source_ip;
    const char *user_agent;
    const char *request_id;
    /* A person's own session: how it was made ("password" or "oidc"), and through which
     * connection; session_method is NULL for anything else (CLI, API token, "view as").
     * session_started_at is when that session was made (Unix ms), 0 for anything else. */
    const char *session_method;
    const char *session_connection_id;
    int64_t session_started_at;
};

struct usher_error;

/* What one call into the rules works with: the service, the caller's arena (results live in
 * it), who acts, and the error slot (first error wins). Built by the caller (api_call in the
 * API layer, the CLI commands, tests); borrowed, never freed by app. An operation taking one
 * acts for call->actor, allocates what it returns in call->arena and, when it fails, returns
 * the USHER_E* code with the detail in call->err. */
struct app_call {
    struct app *app;
    struct arena *arena;
    const struct app_actor *actor;
    struct usher_error *err;
};

struct store_conn;

/* Checks out a store connection for call and begins a transaction on it (write or read).
 * *out is the connection to give back with store_conn_put (NULL when none was checked out; a
 * connection whose BEGIN failed is given back here). Store errors in call->err. */
int app_call_begin(struct store_conn **out, const struct app_call *call, bool write);

/* Compares the server secret with the check value the database keeps (table secret_check),
 * writing it on first use: every process on one database must hold the same secret.
 * USHER_EINVAL (problem secret_mismatch, naming data_dir) when they differ. app_open runs it
 * after migrating; a command that migrates by itself runs it after. */
int app_secret_check(struct app *app, struct usher_error *err);

/* Prepares app from cfg (already finished): creates the data dir, opens the store, applies
 * migrations when migrate is true, loads or creates the server secret, derives the public URL
 * and cookie settings, starts the hashing pool and throttle, loads the decision index (when
 * migrate is true: the schema is then current) and prepares the mail sender without starting
 * its thread. */
int app_open(struct app *app, const struct config *cfg, bool migrate, struct usher_error *err);

/* Releases everything app_open made; accepts a zeroed app. */
void app_close(struct app *app);

/* Sets the public URL (without trailing slash) once the listen port is known. */
void app_public_url_set(struct app *app, const char *url);

#endif
