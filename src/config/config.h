/* usher's settings: one table gives each its default, flag, environment variable, config-file
 * key and validation. Precedence: flag, then variable, then config file, then default. */
#ifndef USHER_CONFIG_CONFIG_H
#define USHER_CONFIG_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct ipnet_list;
struct usher_error;

struct config {
    char *listen;         /* host:port; port 0 picks a free port */
    char *metrics_listen; /* host:port of a listener for /metrics only; "" = on listen */
    char *data_dir;       /* SQLite file, server secret, mail files */
    char *database_url;   /* "" = SQLite in data_dir; sqlite:PATH; postgres://... */
    char *public_url;     /* base of every emailed link; "" = http:// + listen */
    char *smtp_url;       /* "" = write .eml files under data_dir/mail */
    char *smtp_from;
    char *admin_email;    /* bootstrap platform admin (variable only) */
    char *admin_password; /* bootstrap password (variable only; never logged) */
    char *log_level;
    char *cookie_secure;   /* auto | on | off */
    char *trusted_proxies; /* comma-separated addresses and CIDR ranges; "" = none */
    char *config_file;
    int64_t threads; /* HTTP worker threads; 0 = number of cores */
    int64_t max_connections;
    int64_t connection_timeout_seconds;
    int64_t max_connections_per_address; /* 0 = no limit */
    int64_t request_timeout_seconds;     /* to send a whole request */
    int64_t max_body_bytes;
    int64_t session_idle_seconds;
    int64_t session_absolute_seconds;
    int64_t hash_workers;         /* concurrent argon2id computations; 0 = number of cores */
    int64_t hash_queue;           /* requests allowed to wait for a hashing slot */
    int64_t db_pool;              /* store connections */
    int64_t audit_retention_days; /* 0 keeps audit entries forever */
    int64_t grant_lapse_interval_seconds; /* the lapse job's period (app/grant_lapse.h) */
    struct ipnet_list *proxies;           /* trusted_proxies parsed by config_finish; NULL = none */

    bool oidc_allow_insecure_loopback; /* http:// IdP URLs on loopback (tests, local IdPs) */
};

/* Fills cfg with defaults. */
void config_init(struct config *cfg);

/* Releases the strings and the proxy list held by cfg. */
void config_dispose(struct config *cfg);

/* Applies the config file (if named by --config or USHER_CONFIG), the environment and the
 * flags in argv (argv[0] is the command name, already consumed by the caller). Unknown flags,
 * bad values and unreadable files give USHER_EINVAL with a message. When help is not NULL,
 * "--help" sets *help and returns 0. */
int config_load(struct config *cfg, int argc, char **argv, bool *help, struct usher_error *err);

/* Checks cross-setting rules and fills derived values (public_url from listen, proxies from
 * trusted_proxies). A bad value gives USHER_EINVAL naming the setting. */
int config_finish(struct config *cfg, struct usher_error *err);

/* Prints the settings table (flag, variable, default, description) for --help. */
void config_print_help(FILE *out);

/* Returns the number of online cores (at least 1). */
int config_cores(void);

#endif
