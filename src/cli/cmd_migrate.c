/* `usher migrate`: applies the database migrations that have not run yet, then exits. */
#include <stdio.h>

#include "app/app.h"
#include "app/audit.h"
#include "cli/cli.h"
#include "store/store.h"

static void migrate_help(void)
{
    printf("Usage: usher migrate [options]\n\nApplies pending database migrations.\n\n");
}

static int migrate_run(int argc, char **argv)
{
    const struct cli_setup setup = {.cmd = "migrate", .help = migrate_help, .migrate = false};
    struct cli_run run;
    if (cli_run_start(&run, &setup, argc, argv)) {
        int applied = 0;
        if (store_migrate_hooked(run.app.store, &applied, &app_audit_migrate_hook, &run.err) ||
            app_secret_check(&run.app, &run.err))
            cli_run_fail(&run, &run.err);
        else {
            app_audit_reformat_at_start(run.app.store);
            printf("%d migration(s) applied\n", applied);
        }
    }
    return cli_run_end(&run);
}

const struct cli_command cli_cmd_migrate = {"migrate", "apply pending database migrations",
                                            migrate_run};
