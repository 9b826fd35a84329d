/* `usher agency-create --name NAME`: creates an agency from the shell (as the service
 * provider would through the API) and prints its id. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/app.h"
#include "app/tenancy.h"
#include "base/crypto.h"
#include "cli/cli.h"
#include "config/config.h"

static void agency_create_help(void)
{
    printf("Usage: usher agency-create --name NAME [options]\n\n"
           "Creates an agency and prints its id. The name is trimmed and must have 1 to 200\n"
           "characters. The database is migrated first if needed.\n\n"
           "  --name NAME                       the agency's name\n\n");
    config_print_help(stdout);
}

static int agency_create_run(int argc, char **argv)
{
    struct config cfg;
    struct usher_error err = {0};
    struct app app = {0};
    struct arena arena;
    bool help = false;
    int status = 0;
    const char *name = NULL;
    /* --name is this command's own; everything else goes to the settings table. */
    char **rest = xcalloc((size_t)argc + 1, sizeof(*rest));
    int rest_count = 0;
    config_init(&cfg);
    arena_init(&arena);
    for (int i = 0; i < argc; i++) {
        if (i > 0 && strcmp(argv[i], "--name") == 0) {
            if (i + 1 >= argc) {
                fprintf(stderr, "usher agency-create: --name needs a value\n");
                status = 2;
                goto done;
            }
            name = argv[++i];
        } else if (i > 0 && strncmp(argv[i], "--name=", 7) == 0) {
            name = argv[i] + 7;
        } else {
            rest[rest_count++] = argv[i];
        }
    }
    if (config_load(&cfg, rest_count, rest, &help, &err) || (!help && config_finish(&cfg, &err))) {
        status = cli_fail("agency-create", &err);
        goto done;
    }
    if (help) {
        agency_create_help();
        goto done;
    }
    if (!name) {
        fprintf(stderr, "usher agency-create: --name is required\n");
        status = 2;
        goto done;
    }
    if (crypto_setup() != 0) {
        fprintf(stderr, "usher agency-create: libsodium failed to initialise\n");
        status = 1;
        goto done;
    }
    if (app_open(&app, &cfg, true, &err)) {
        status = cli_fail("agency-create", &err);
        goto done;
    }
    struct app_actor actor = {.is_platform_admin = true, .source_ip = "cli"};
    struct store_agency agency;
    if (app_agency_create(&agency, &app, &arena, &actor, name, &err)) {
        status = cli_fail("agency-create", &err);
        goto done;
    }
    printf("%s\n", agency.id);
done:
    app_close(&app);
    arena_dispose(&arena);
    config_dispose(&cfg);
    free(rest);
    return status;
}

const struct cli_command cli_cmd_agency_create = {"agency-create", "create an agency",
                                                  agency_create_run};
