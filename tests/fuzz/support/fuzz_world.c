/* What fuzz.h declares: checks, input splitting, and the seeded service of the stateful
 * targets (a temporary data directory with a migrated SQLite store and fixed rows). */
#include "fuzz.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app/account.h"
#include "app/audit.h"
#include "app/invitation.h"
#include "authz/authz.h"
#include "base/clock.h"
#include "base/crypto.h"
#include "base/log.h"
#include "store/store.h"
#include "store/store_session.h"

void fuzz_check_fail(const char *expr, const char *file, int line)
{
    fprintf(stderr, "fuzz: property failed: %s (%s:%d)\n", expr, file, line);
    abort();
}

char *fuzz_strndup(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        abort();
    if (size)
        memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

void fuzz_fields_split(char **out, size_t max, const uint8_t *data, size_t size)
{
    size_t at = 0;
    for (size_t i = 0; i < max; i++) {
        if (at > size) {
            out[i] = fuzz_strndup(NULL, 0);
            continue;
        }
        const uint8_t *nul = at < size ? memchr(data + at, 0, size - at) : NULL;
        size_t end = nul ? (size_t)(nul - data) : size;
        /* The last field takes the rest, NUL bytes and all. */
        if (i == max - 1)
            end = size;
        out[i] = fuzz_strndup(data + at, end - at);
        at = end + 1;
    }
}

void fuzz_fields_free(char **fields, size_t count)
{
    for (size_t i = 0; i < count; i++)
        free(fields[i]);
}

static struct fuzz_world *world;

static int unlink_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void world_free(void)
{
    if (!world)
        return;
    app_close(&world->app);
    config_dispose(&world->cfg);
    nftw(world->dir, unlink_one, 16, FTW_DEPTH | FTW_PHYS);
    free(world->dir);
    free(world);
    world = NULL;
}

static void sql(struct store_conn *c, struct arena *a, const char *text,
                const struct store_value *p, size_t n)
{
    struct usher_error err = {0};
    if (store_exec(c, a, text, p, n, NULL, NULL, &err) != 0) {
        fprintf(stderr, "fuzz world: %s: %s\n", text, err.message);
        abort();
    }
}

static void user_add(struct store_conn *c, struct arena *a, const char *id, const char *email,
                     bool admin)
{
    struct store_value p[] = {store_text(id), store_text(email), store_int(admin ? 1 : 0)};
    sql(c, a,
        "INSERT INTO users (id, email, first_name, last_name, is_platform_admin, created_at) "
        "VALUES ($1, $2, 'Fuzz', 'Person', $3, 1)",
        p, 3);
}

static void grant_add(struct store_conn *c, struct arena *a, const char *id, const char *user,
                      const char *env, const char *roles)
{
    struct store_value p[] = {store_text(id),
                              store_text(FUZZ_ID_AGENCY),
                              store_text(user),
                              store_text(env),
                              store_text(env ? env : FUZZ_ID_AGENCY),
                              store_text(roles)};
    sql(c, a,
        "INSERT INTO memberships (agency_id, user_id, created_at) VALUES ($2, $3, 1) "
        "ON CONFLICT DO NOTHING",
        p, 3);
    sql(c, a,
        "INSERT INTO grants (id, agency_id, user_id, environment_id, scope_id, roles, created_at) "
        "VALUES ($1, $2, $3, $4, $5, $6, 1)",
        p, 6);
}

/* A session for user_id whose token is "fuzz-session-<name>" padded to 43 characters. */
static void session_add(struct store_conn *c, struct arena *a, const char *user_id,
                        const char *name, char *out_token, size_t token_size, char *out_csrf)
{
    snprintf(out_token, token_size, "fuzz-session-%s-%0*d", name, (int)(29 - strlen(name)), 0);
    char hash[CRYPTO_HASH_HEX + 1];
    crypto_hmac_hex(hash, world->app.secret, sizeof(world->app.secret), out_token,
                    strlen(out_token));
    app_account_csrf_token(out_csrf, &world->app, hash);
    int64_t now = clock_now_ms();
    struct store_session s = {.token_hash = hash,
                              .user_id = user_id,
                              .created_at = now,
                              .last_seen_at = now,
                              .expires_at = now + 365LL * 24 * 3600 * 1000};
    struct usher_error err = {0};
    if (store_session_insert(c, a, &s, &err) != 0) {
        fprintf(stderr, "fuzz world: session: %s\n", err.message);
        abort();
    }
}

static void world_seed(void)
{
    struct app *app = &world->app;
    /* A fixed secret: the same session, CSRF and invitation tokens in every run. */
    memset(app->secret, 0x5a, sizeof(app->secret));
    app_audit_key_set(app->secret, sizeof(app->secret));
    struct arena a;
    arena_init(&a);
    struct store_conn *c = NULL;
    struct usher_error err = {0};
    if (store_conn_get(app->store, &c, &err) != 0)
        abort();
    user_add(c, &a, FUZZ_ID_ADMIN, "admin@fuzz.test", true);
    user_add(c, &a, FUZZ_ID_OWNER, "owner@fuzz.test", false);
    user_add(c, &a, FUZZ_ID_AGENT, "agent@fuzz.test", false);
    sql(c, &a,
        "INSERT INTO agencies (id, name, created_at) VALUES "
        "('" FUZZ_ID_AGENCY "', 'Agency A', 1), ('" FUZZ_ID_OTHER "', 'Agency B', 2)",
        NULL, 0);
    sql(c, &a,
        "INSERT INTO environments (id, agency_id, name, created_at) VALUES "
        "('" FUZZ_ID_ENV "', '" FUZZ_ID_AGENCY "', 'A1', 1), "
        "('" FUZZ_ID_ENV2 "', '" FUZZ_ID_AGENCY "', 'A2', 2), "
        "('" FUZZ_ID_ENVB "', '" FUZZ_ID_OTHER "', 'B1', 3)",
        NULL, 0);
    sql(c, &a,
        "INSERT INTO bots (id, agency_id, environment_id, name, created_at) VALUES "
        "('" FUZZ_ID_BOT "', '" FUZZ_ID_AGENCY "', '" FUZZ_ID_ENV "', 'Bot A1', 1)",
        NULL, 0);
    sql(c, &a,
        "INSERT INTO custom_roles (id, agency_id, name, permissions, created_at) VALUES "
        "('" FUZZ_ID_ROLE "', '" FUZZ_ID_AGENCY "', 'Reviewer', 'bot.read', 1)",
        NULL, 0);
    grant_add(c, &a, "grt_fuzzOwner", FUZZ_ID_OWNER, NULL, "owner");
    grant_add(c, &a, "grt_fuzzAgent", FUZZ_ID_AGENT, FUZZ_ID_ENV, "agent");

    char token[CRYPTO_TOKEN_CHARS + 1];
    char hash[CRYPTO_HASH_HEX + 1];
    app_invitation_token(token, app, FUZZ_ID_INVITE, "fuzznonce");
    app_invitation_token_hash(hash, app, token);
    snprintf(world->invite_token, sizeof(world->invite_token), "%s", token);
    int64_t now = clock_now_ms();
    struct store_value p[] = {store_text(hash), store_int(now),
                              store_int(now + 365LL * 24 * 3600 * 1000)};
    sql(c, &a,
        "INSERT INTO invitations (id, agency_id, email, grants, token_nonce, token_hash, "
        "created_by, created_at, expires_in_seconds, expires_at) VALUES ('" FUZZ_ID_INVITE
        "', '" FUZZ_ID_AGENCY "', 'new@fuzz.test', '[{\"roles\":[\"agent\"]}]', 'fuzznonce', "
        "$1, '" FUZZ_ID_OWNER "', $2, 604800, $3)",
        p, 3);
    session_add(c, &a, FUZZ_ID_ADMIN, "admin", world->admin_token, sizeof(world->admin_token),
                world->admin_csrf);
    session_add(c, &a, FUZZ_ID_OWNER, "owner", world->owner_token, sizeof(world->owner_token),
                world->owner_csrf);
    session_add(c, &a, FUZZ_ID_AGENT, "agent", world->agent_token, sizeof(world->agent_token),
                world->agent_csrf);
    store_conn_put(c);
    arena_dispose(&a);
    if (authz_index_load(app->authz, app->store, &err) != 0) {
        fprintf(stderr, "fuzz world: index: %s\n", err.message);
        abort();
    }
}

static void world_new(void)
{
    world = calloc(1, sizeof(*world));
    if (!world)
        abort();
    const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : getenv("TMPDIR");
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s/usher-fuzz-XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(dir))
        abort();
    world->dir = strdup(dir);
    log_set_level(LOG_ERROR);
    /* Logs would drown the fuzzer's own output; errors still reach standard error. */
    if (crypto_setup() != 0)
        abort();
    config_init(&world->cfg);
    free(world->cfg.data_dir);
    world->cfg.data_dir = strdup(world->dir);
    free(world->cfg.listen);
    world->cfg.listen = strdup("127.0.0.1:0");
    world->cfg.hash_workers = 1;
    world->cfg.threads = 2;
    struct usher_error err = {0};
    if (config_finish(&world->cfg, &err) != 0 ||
        app_open(&world->app, &world->cfg, true, &err) != 0) {
        fprintf(stderr, "fuzz world: %s\n", err.message);
        abort();
    }
    world_seed();
}

struct fuzz_world *fuzz_world_get(void)
{
    if (!world) {
        world_new();
        atexit(world_free);
    }
    return world;
}

struct fuzz_world *fuzz_world_reset(void)
{
    world_free();
    world_new();
    return world;
}
