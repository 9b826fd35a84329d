/* usher's entry point: dispatches to one admin command per verb. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

static const struct cli_command *const commands[] = {
    /* clang-format off */
    &cli_cmd_serve,
    &cli_cmd_migrate,
    &cli_cmd_migrate_data,
    &cli_cmd_backup,
    &cli_cmd_admin_create,
    &cli_cmd_agency_create,
    &cli_cmd_token_create,
    &cli_cmd_mail_test,
    &cli_cmd_audit,
    &cli_cmd_routes,
    &cli_cmd_version,
    NULL,
    /* clang-format on */
};

static void usage(FILE *out)
{
    fprintf(out, "usher: access management for a chatbot studio\n\n"
                 "Usage: usher <command> [options]\n\nCommands:\n");
    for (const struct cli_command *const *c = commands; *c; c++)
        fprintf(out, "  %-22s %s\n", (*c)->name, (*c)->summary);
    fprintf(out, "\nRun `usher <command> --help` for a command's options.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *name = argv[1];
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0 || strcmp(name, "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(name, "--version") == 0)
        name = "version";
    for (const struct cli_command *const *c = commands; *c; c++) {
        if (strcmp((*c)->name, name) == 0)
            return (*c)->run(argc - 1, argv + 1);
    }
    fprintf(stderr, "usher: unknown command \"%s\"\n\n", name);
    usage(stderr);
    return 2;
}
