/* Admin commands: one file cmd_<verb>.c each, listed in main.c. Each prints its own --help. */
#ifndef USHER_CLI_CLI_H
#define USHER_CLI_CLI_H

#include <stdio.h>

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

/* Reports an error on standard error as "usher <cmd>: message" and returns 1 (or 2 for usage
 * errors). */
struct usher_error;
int cli_fail(const char *cmd, const struct usher_error *err);

/* True when argv holds --help or -h. */
int cli_wants_help(int argc, char **argv);

#endif
