/* `usher token-create --name NAME [--agency ID]`: creates an API token from the shell (a
 * platform token, or one of an agency) and prints its secret, the only time it is shown. */
#include <sodium.h>
#include <stdio.h>

#include "app/tokens.h"
#include "cli/cli.h"

static void token_create_help(void)
{
    printf("Usage: usher token-create --name NAME [--agency ID] [options]\n\n"
           "Creates an API token for the check API and prints its secret on standard output.\n"
           "The secret is shown this once: usher keeps only a keyed hash of it. Without\n"
           "--agency the token is a platform token, which may ask about every agency; with\n"
           "--agency it may ask only about that agency's scopes. The name is trimmed and must\n"
           "have 1 to 200 characters. The database is migrated first if needed.\n\n"
           "  --name NAME                       what the token is for\n"
           "  --agency ID                       the agency the token belongs to\n\n");
}

static int token_create_run(int argc, char **argv)
{
    const char *name = NULL, *agency_id = NULL;
    const struct cli_flag flags[] = {
        {"--name", &name, true}, {"--agency", &agency_id, false}, {NULL, NULL, false}};
    const struct cli_setup setup = {
        .cmd = "token-create", .flags = flags, .help = token_create_help, .migrate = true};
    struct cli_run run;
    if (cli_run_start(&run, &setup, argc, argv)) {
        struct arena arena;
        arena_init(&arena);
        struct app_actor actor = {.is_platform_admin = true, .source_ip = "cli"};
        struct app_call call = {&run.app, &arena, &actor, &run.err};
        struct app_token_new made;
        if (app_token_create(&made, &call, agency_id, name)) {
            cli_run_fail(&run, &run.err);
        } else {
            printf("%s\n", made.secret);
            fflush(stdout);
            sodium_memzero(made.secret, sizeof(made.secret));
            fprintf(stderr,
                    "usher token-create: created %s token %s; the secret above is not shown "
                    "again\n",
                    agency_id ? "agency" : "platform", made.token.id);
        }
        arena_dispose(&arena);
    }
    return cli_run_end(&run);
}

const struct cli_command cli_cmd_token_create = {"token-create", "create an API token",
                                                 token_create_run};
