/* Admin commands: one file cmd_<verb>.c each, listed in main.c. Each prints its own --help.
 * cli_run_start and cli_run_end hold the set-up they share: the command's own flags, the
 * settings, libsodium and the app. */
#ifndef USHER_CLI_CLI_H
#define USHER_CLI_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include "app/app.h"
#include "base/error.h"
#include "config/config.h"

struct cli_command {
    const char *name;    /* "serve", "migrate", "admin-create" */
    const char *summary; /* one line for `usher --help` */
    /* argv[0] is the command name. Returns the process exit status. */
    int (*run)(int argc, char **argv);
};

extern const struct cli_command cli_cmd_serve;
extern const struct cli_command cli_cmd_migrate;
extern const struct cli_command cli_cmd_version;
extern const struct cli_command cli_cmd_mail_test;
extern const struct cli_command cli_cmd_audit;
extern const struct cli_command cli_cmd_admin_create;
extern const struct cli_command cli_cmd_agency_create;
extern const struct cli_command cli_cmd_routes;
extern const struct cli_command cli_cmd_token_create;
extern const struct cli_command cli_cmd_backup;
extern const struct cli_command cli_cmd_migrate_data;

/* Reports an error on standard error as "usher <cmd>: message" and returns 1 (or 2 for usage
 * errors). */
int cli_fail(const char *cmd, const struct usher_error *err);

/* True when argv holds --help or -h. */
int cli_wants_help(int argc, char **argv);

/* One of a command's own flags, "--name VALUE" or "--name=VALUE". A list of them ends with
 * an entry whose name is NULL. */
struct cli_flag {
    const char *name;   /* "--name" */
    const char **value; /* receives the value, borrowed from argv; untouched when absent */
    bool is_required;   /* absent: a usage error naming the flag */
};

struct cli_run;

/* How a command starts. */
struct cli_setup {
    const char *cmd;              /* "agency-create": starts every message on standard error */
    const struct cli_flag *flags; /* the command's own flags, or NULL */
    void (*help)(void);           /* prints the usage; the settings table follows it */
    bool is_quiet;                /* log only warnings and errors */
    bool migrate;                 /* app_open applies pending migrations */
    /* Called (when not NULL) once the flags and settings are read, before the app opens: it
     * may check the command's flags and adjust run->cfg (the database to open). Returns 0, or
     * the exit status to stop with after printing why on standard error. */
    int (*prepare)(struct cli_run *run);
};

/* A started command: its settings, its app and the exit status it will return. */
struct cli_run {
    const char *cmd;
    struct config cfg;
    struct app app;
    struct usher_error err;
    int status;
};

/* Starts a command. With --help or -h anywhere in argv it prints s->help and the settings
 * table and stops (status 0). Otherwise it takes the command's own flags out of argv, applies
 * the settings (config file, environment, the remaining flags), checks that every required
 * flag was given, initialises libsodium and opens run->app. Returns true when the command
 * should go on and do its work; false when it should stop, with run->status set (0 after the
 * help, 2 after a usage error, 1 after another error, the error printed on standard error).
 * Call cli_run_end in both cases. */
bool cli_run_start(struct cli_run *run, const struct cli_setup *s, int argc, char **argv);

/* Prints err on standard error as cli_fail does, stores the exit status it gives (1, or 2
 * for USHER_EINVAL) in run->status and returns it. */
int cli_run_fail(struct cli_run *run, const struct usher_error *err);

/* Closes the app and releases the settings. Returns run->status, the command's exit
 * status. */
int cli_run_end(struct cli_run *run);

#endif
