/* `usher agency-create --name NAME`: creates an agency from the shell (as the service
 * provider would through the API) and prints its id. */
#include <stdio.h>

#include "app/tenancy.h"
#include "cli/cli.h"

static void agency_create_help(void)
{
    printf("Usage: usher agency-create --name NAME [options]\n\n"
           "Creates an agency and prints its id. The name is trimmed and must have 1 to 200\n"
           "characters. The database is migrated first if needed.\n\n"
           "  --name NAME                       the agency's name\n\n");
}

static int agency_create_run(int argc, char **argv)
{
    const char *name = NULL;
    const struct cli_flag flags[] = {{"--name", &name, true}, {NULL, NULL, false}};
    const struct cli_setup setup = {
        .cmd = "agency-create", .flags = flags, .help = agency_create_help, .migrate = true};
    struct cli_run run;
    if (cli_run_start(&run, &setup, argc, argv)) {
        struct arena arena;
        arena_init(&arena);
        struct app_actor actor = {.is_platform_admin = true, .source_ip = "cli"};
        struct app_call call = {&run.app, &arena, &actor, &run.err};
        struct store_agency agency;
        if (app_agency_create(&agency, &call, name))
            cli_run_fail(&run, &run.err);
        else
            printf("%s\n", agency.id);
        arena_dispose(&arena);
    }
    return cli_run_end(&run);
}

const struct cli_command cli_cmd_agency_create = {"agency-create", "create an agency",
                                                  agency_create_run};
