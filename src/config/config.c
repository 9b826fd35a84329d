/* The settings table and its three sources: config file (inih), environment, flags. */
#include "config/config.h"

#include <ini.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/arena.h"
#include "base/error.h"
#include "base/ipnet.h"
#include "base/log.h"

enum setting_type { SETTING_STRING, SETTING_INT, SETTING_BOOL };

struct setting {
    const char *name; /* config-file key */
    const char *flag; /* "--listen", or NULL when not settable by flag */
    const char *env;  /* "USHER_LISTEN", or NULL */
    enum setting_type type;
    size_t offset;
    const char *def;
    int64_t min, max;
    bool in_file; /* may appear in the config file */
    const char *help;
};

#define S_STR(n, f, e, field, d, file, h)                                                          \
    {                                                                                              \
        n, f, e, SETTING_STRING, offsetof(struct config, field), d, 0, 0, file, h                  \
    }
#define S_INT(n, f, e, field, d, lo, hi, h)                                                        \
    {                                                                                              \
        n, f, e, SETTING_INT, offsetof(struct config, field), d, lo, hi, true, h                   \
    }

/* A boolean: "1", "true" or "on", "0", "false" or "off"; the flag alone means on. */
#define S_BOOL(n, f, e, field, d, h)                                                               \
    {                                                                                              \
        n, f, e, SETTING_BOOL, offsetof(struct config, field), d, 0, 1, true, h                    \
    }

static const struct setting settings[] = {
    S_STR("listen", "--listen", "USHER_LISTEN", listen, "127.0.0.1:8080", true,
          "address and port to serve on; port 0 picks a free port"),
    S_STR("metrics_listen", "--metrics-listen", "USHER_METRICS_LISTEN", metrics_listen, "", true,
          "address and port to serve /metrics on; empty serves it on the main listener"),
    S_STR("data_dir", "--data-dir", "USHER_DATA_DIR", data_dir, "./data", true,
          "directory for the SQLite file, the server secret and mail files"),
    S_STR("database_url", "--database", "USHER_DATABASE_URL", database_url, "", true,
          "database: empty means SQLite in the data dir, sqlite:PATH another SQLite file, "
          "postgres://... a PostgreSQL database"),
    S_STR("public_url", "--public-url", "USHER_PUBLIC_URL", public_url, "", true,
          "base URL of every emailed link; default http:// + the listen address"),
    S_STR("smtp_url", "--smtp", "USHER_SMTP_URL", smtp_url, "", true,
          "smtp:// or smtps:// submission URL; empty writes .eml files under data_dir/mail"),
    S_STR("smtp_from", NULL, "USHER_SMTP_FROM", smtp_from, "usher@localhost", true,
          "sender address of emails"),
    S_STR("admin_email", NULL, "USHER_ADMIN_EMAIL", admin_email, "", false,
          "on a start with no platform admin yet, create this one"),
    S_STR("admin_password", NULL, "USHER_ADMIN_PASSWORD", admin_password, "", false,
          "password of that bootstrap admin"),
    S_STR("log_level", "--log-level", "USHER_LOG_LEVEL", log_level, "info", true,
          "lowest level logged: debug, info, warn, error"),
    S_STR("cookie_secure", NULL, "USHER_COOKIE_SECURE", cookie_secure, "auto", true,
          "Secure cookie attribute: auto (on unless plain HTTP off loopback), on, off"),
    S_STR("trusted_proxies", "--trusted-proxies", "USHER_TRUSTED_PROXIES", trusted_proxies, "",
          true,
          "comma-separated addresses and CIDR ranges of load balancers whose X-Forwarded-For "
          "names the client; empty trusts none"),
    S_STR("config", "--config", "USHER_CONFIG", config_file, "", false,
          "optional INI config file with the keys of this table"),
    S_INT("threads", "--threads", "USHER_THREADS", threads, "0", 0, 256,
          "HTTP worker threads; 0 means one per core"),
    S_INT("max_connections", NULL, "USHER_MAX_CONNECTIONS", max_connections, "1024", 1, 100000,
          "concurrent connections accepted"),
    S_INT("connection_timeout_seconds", NULL, "USHER_CONNECTION_TIMEOUT_SECONDS",
          connection_timeout_seconds, "30", 1, 3600, "idle connections are closed after this"),
    S_INT("max_connections_per_address", NULL, "USHER_MAX_CONNECTIONS_PER_ADDRESS",
          max_connections_per_address, "128", 0, 100000,
          "concurrent connections from one client address; 0 means no limit"),
    S_INT("request_timeout_seconds", NULL, "USHER_REQUEST_TIMEOUT_SECONDS", request_timeout_seconds,
          "30", 1, 3600, "a client must send a whole request within this"),
    S_INT("max_body_bytes", NULL, "USHER_MAX_BODY_BYTES", max_body_bytes, "1048576", 1024, 67108864,
          "largest request body accepted"),
    S_INT("session_idle_seconds", NULL, "USHER_SESSION_IDLE_SECONDS", session_idle_seconds, "7200",
          1, 2592000, "a session unused this long ends"),
    S_INT("session_absolute_seconds", NULL, "USHER_SESSION_ABSOLUTE_SECONDS",
          session_absolute_seconds, "86400", 1, 31536000, "a session ends this long after sign-in"),
    S_INT("hash_workers", NULL, "USHER_HASH_WORKERS", hash_workers, "0", 0, 64,
          "concurrent password hashes (19 MiB each); 0 means one per core"),
    S_INT("hash_queue", NULL, "USHER_HASH_QUEUE", hash_queue, "64", 0, 100000,
          "sign-ins that may wait for a hashing slot before 503"),
    S_INT("db_pool", NULL, "USHER_DB_POOL", db_pool, "0", 0, 256,
          "database connections; 0 means threads + 2"),
    S_INT("audit_retention_days", NULL, "USHER_AUDIT_RETENTION_DAYS", audit_retention_days, "0", 0,
          36500, "audit entries older than this are deleted; 0 keeps them forever"),
    S_INT("grant_lapse_interval_seconds", NULL, "USHER_GRANT_LAPSE_INTERVAL_SECONDS",
          grant_lapse_interval_seconds, "60", 1, 3600,
          "how often lapsed grants are removed and ending ones announced"),
    S_BOOL("oidc_allow_insecure_loopback", "--oidc-allow-insecure-loopback",
           "USHER_OIDC_ALLOW_INSECURE_LOOPBACK", oidc_allow_insecure_loopback, "0",
           "allow http:// OpenID Connect issuers and endpoints on loopback addresses (tests and "
           "local IdPs only)"),
};

#define SETTINGS_COUNT (sizeof(settings) / sizeof(settings[0]))

int config_cores(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

static int setting_apply(struct config *cfg, const struct setting *s, const char *value,
                         const char *source, struct usher_error *err)
{
    char *base = (char *)cfg;
    if (s->type == SETTING_STRING) {
        char **slot = (char **)(base + s->offset);
        free(*slot);
        *slot = xstrdup(value);
        return 0;
    }
    if (s->type == SETTING_BOOL) {
        bool *slot = (bool *)(base + s->offset);
        if (strcmp(value, "1") == 0 || strcmp(value, "true") == 0 || strcmp(value, "on") == 0)
            *slot = true;
        else if (strcmp(value, "0") == 0 || strcmp(value, "false") == 0 ||
                 strcmp(value, "off") == 0)
            *slot = false;
        else
            return usher_error_set(err, USHER_EINVAL, NULL, s->name,
                                   "%s from %s must be 1 or 0 (true/false, on/off)", s->name,
                                   source);
        return 0;
    }
    char *end = NULL;
    long long v = strtoll(value, &end, 10);
    if (!*value || *end || v < s->min || v > s->max)
        return usher_error_set(err, USHER_EINVAL, NULL, s->name,
                               "%s from %s must be an integer between %lld and %lld", s->name,
                               source, (long long)s->min, (long long)s->max);
    *(int64_t *)(base + s->offset) = v;
    return 0;
}

void config_init(struct config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    for (size_t i = 0; i < SETTINGS_COUNT; i++)
        setting_apply(cfg, &settings[i], settings[i].def, "default", NULL);
}

void config_dispose(struct config *cfg)
{
    for (size_t i = 0; i < SETTINGS_COUNT; i++) {
        if (settings[i].type == SETTING_STRING) {
            char **slot = (char **)((char *)cfg + settings[i].offset);
            free(*slot);
            *slot = NULL;
        }
    }
    ipnet_list_free(cfg->proxies);
    cfg->proxies = NULL;
}

struct ini_ctx {
    struct config *cfg;
    struct usher_error *err;
    int rc;
};

static int config_ini_entry(void *user, const char *section, const char *name, const char *value)
{
    struct ini_ctx *ctx = user;
    if (section && *section && strcmp(section, "usher") != 0) {
        ctx->rc = usher_error_set(ctx->err, USHER_EINVAL, NULL, section,
                                  "unknown config section [%s]", section);
        return 0;
    }
    if (!name || !*name) {
        ctx->rc = usher_error_set(ctx->err, USHER_EINVAL, NULL, "config",
                                  "config file has a line with an empty key");
        return 0;
    }
    for (size_t i = 0; i < SETTINGS_COUNT; i++) {
        if (strcmp(settings[i].name, name) == 0 && settings[i].in_file) {
            int rc = setting_apply(ctx->cfg, &settings[i], value, "config file", ctx->err);
            if (rc) {
                ctx->rc = rc;
                return 0;
            }
            return 1;
        }
    }
    ctx->rc = usher_error_set(ctx->err, USHER_EINVAL, NULL, name, "unknown config key %s", name);
    return 0;
}

static const struct setting *setting_by_flag(const char *arg, size_t len)
{
    for (size_t i = 0; i < SETTINGS_COUNT; i++) {
        const char *f = settings[i].flag;
        if (f && strlen(f) == len && strncmp(f, arg, len) == 0)
            return &settings[i];
    }
    return NULL;
}

int config_load(struct config *cfg, int argc, char **argv, bool *help, struct usher_error *err)
{
    /* The config file is named by flag or variable; find it before anything else. */
    const char *file = getenv("USHER_CONFIG");
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
            file = argv[i + 1];
        else if (strncmp(argv[i], "--config=", 9) == 0)
            file = argv[i] + 9;
    }
    if (file && *file) {
        struct ini_ctx ctx = {cfg, err, 0};
        int rc = ini_parse(file, config_ini_entry, &ctx);
        if (ctx.rc)
            return ctx.rc;
        if (rc < 0)
            return usher_error_set(err, USHER_EINVAL, NULL, "config", "cannot read %s", file);
        if (rc > 0)
            return usher_error_set(err, USHER_EINVAL, NULL, "config", "%s: syntax error on line %d",
                                   file, rc);
    }
    for (size_t i = 0; i < SETTINGS_COUNT; i++) {
        const char *v = settings[i].env ? getenv(settings[i].env) : NULL;
        if (v) {
            int rc = setting_apply(cfg, &settings[i], v, settings[i].env, err);
            if (rc)
                return rc;
        }
    }
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (help && (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0)) {
            *help = true;
            return 0;
        }
        const char *eq = strchr(arg, '=');
        size_t name_len = eq ? (size_t)(eq - arg) : strlen(arg);
        const struct setting *s = setting_by_flag(arg, name_len);
        if (!s)
            return usher_error_set(err, USHER_EINVAL, NULL, arg, "unknown option %s", arg);
        const char *value = eq ? eq + 1 : NULL;
        if (!value && s->type == SETTING_BOOL)
            value = "1";
        if (!value) {
            if (i + 1 >= argc)
                return usher_error_set(err, USHER_EINVAL, NULL, s->flag, "%s needs a value",
                                       s->flag);
            value = argv[++i];
        }
        int rc = setting_apply(cfg, s, value, s->flag, err);
        if (rc)
            return rc;
    }
    return 0;
}

/* Whether value is host:port with a port of 0..65535 (the host is checked when binding). */
static bool address_is_host_port(const char *value)
{
    const char *colon = strrchr(value, ':');
    if (!colon || colon[1] == '\0' || strlen(colon + 1) > 5)
        return false;
    for (const char *p = colon + 1; *p; p++) {
        if (*p < '0' || *p > '9')
            return false;
    }
    return strtol(colon + 1, NULL, 10) <= 65535;
}

int config_finish(struct config *cfg, struct usher_error *err)
{
    if (!*cfg->listen || !strrchr(cfg->listen, ':'))
        return usher_error_set(err, USHER_EINVAL, NULL, "listen",
                               "listen must be host:port, got \"%s\"", cfg->listen);
    if (*cfg->metrics_listen && !address_is_host_port(cfg->metrics_listen))
        return usher_error_set(err, USHER_EINVAL, NULL, "metrics_listen",
                               "metrics_listen must be host:port with a port of 0..65535, got "
                               "\"%s\"",
                               cfg->metrics_listen);
    /* Port 0 picks a free port for each, so only a fixed port can clash. */
    if (*cfg->metrics_listen && strcmp(cfg->metrics_listen, cfg->listen) == 0 &&
        strtol(strrchr(cfg->listen, ':') + 1, NULL, 10) != 0)
        return usher_error_set(err, USHER_EINVAL, NULL, "metrics_listen",
                               "metrics_listen must differ from listen");
    if (!*cfg->data_dir)
        return usher_error_set(err, USHER_EINVAL, NULL, "data_dir", "data_dir must not be empty");
    enum log_level level;
    if (log_level_parse(&level, cfg->log_level) != 0)
        return usher_error_set(err, USHER_EINVAL, NULL, "log_level",
                               "log_level must be debug, info, warn or error");
    if (strcmp(cfg->cookie_secure, "auto") != 0 && strcmp(cfg->cookie_secure, "on") != 0 &&
        strcmp(cfg->cookie_secure, "off") != 0)
        return usher_error_set(err, USHER_EINVAL, NULL, "cookie_secure",
                               "cookie_secure must be auto, on or off");
    if (*cfg->public_url && strncmp(cfg->public_url, "http://", 7) != 0 &&
        strncmp(cfg->public_url, "https://", 8) != 0)
        return usher_error_set(err, USHER_EINVAL, NULL, "public_url",
                               "public_url must start with http:// or https://");
    if (*cfg->smtp_url && strncmp(cfg->smtp_url, "smtp://", 7) != 0 &&
        strncmp(cfg->smtp_url, "smtps://", 8) != 0)
        return usher_error_set(err, USHER_EINVAL, NULL, "smtp_url",
                               "smtp_url must start with smtp:// or smtps://");
    if (*cfg->database_url && strncmp(cfg->database_url, "sqlite:", 7) != 0 &&
        strncmp(cfg->database_url, "postgres://", 11) != 0 &&
        strncmp(cfg->database_url, "postgresql://", 13) != 0)
        return usher_error_set(err, USHER_EINVAL, NULL, "database_url",
                               "database_url must be sqlite:PATH or postgres://...");
    if (cfg->session_idle_seconds > cfg->session_absolute_seconds)
        return usher_error_set(err, USHER_EINVAL, NULL, "session_idle_seconds",
                               "session_idle_seconds must not exceed session_absolute_seconds");
    ipnet_list_free(cfg->proxies);
    int rc = ipnet_list_new(&cfg->proxies, cfg->trusted_proxies, "trusted_proxies", err);
    if (rc)
        return rc;
    if (cfg->threads == 0)
        cfg->threads = config_cores();
    if (cfg->hash_workers == 0)
        cfg->hash_workers = config_cores();
    if (cfg->db_pool == 0)
        cfg->db_pool = cfg->threads + 2;
    return 0;
}

void config_print_help(FILE *out)
{
    fprintf(out, "Settings (flag, then variable, then config file, then default):\n");
    for (size_t i = 0; i < SETTINGS_COUNT; i++) {
        const struct setting *s = &settings[i];
        fprintf(out, "  %-20s %-34s default \"%s\"\n", s->flag ? s->flag : "", s->env ? s->env : "",
                s->def);
        fprintf(out, "  %-20s %s\n", "", s->help);
    }
}
