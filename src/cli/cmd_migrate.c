/* `usher migrate`: applies the database migrations that have not run yet, then exits. */
#include <stdbool.h>

#include "app/app.h"
#include "base/crypto.h"
#include "base/log.h"
#include "cli/cli.h"
#include "config/config.h"
#include "store/store.h"

static int migrate_run(int argc, char **argv)
{
    struct config cfg;
    struct usher_error err = {0};
    bool help = false;
    config_init(&cfg);
    int status = 0;
    if (config_load(&cfg, argc, argv, &help, &err) || (!help && config_finish(&cfg, &err))) {
        status = cli_fail("migrate", &err);
        goto done;
    }
    if (help) {
        printf("Usage: usher migrate [options]\n\nApplies pending database migrations.\n\n");
        config_print_help(stdout);
        goto done;
    }
    crypto_setup();
    struct app app;
    int applied = 0;
    if (app_open(&app, &cfg, false, &err) || store_migrate(app.store, &applied, &err)) {
        app_close(&app);
        status = cli_fail("migrate", &err);
        goto done;
    }
    app_close(&app);
    printf("%d migration(s) applied\n", applied);
done:
    config_dispose(&cfg);
    return status;
}

const struct cli_command cli_cmd_migrate = {"migrate", "apply pending database migrations",
                                            migrate_run};
