/* `usher audit verify`: walks every agency's audit hash chain and reports the first entry
 * that was altered, removed or inserted behind the API's back. */
#include <stdbool.h>
#include <string.h>

#include "app/app.h"
#include "app/audit.h"
#include "cli/cli.h"
#include "config/config.h"

static void audit_help(void)
{
    printf("Usage: usher audit verify [options]\n\n"
           "Checks the hash chain of every agency's audit log (and of platform-level\n"
           "entries). Exits 0 when every chain is intact, 1 naming the first broken entry.\n\n");
    config_print_help(stdout);
}

static int audit_run(int argc, char **argv)
{
    struct config cfg;
    struct usher_error err = {0};
    struct app app = {0};
    bool help = cli_wants_help(argc, argv);
    int status = 0;
    config_init(&cfg);
    if (help) {
        audit_help();
        goto done;
    }
    if (argc < 2 || strcmp(argv[1], "verify") != 0) {
        fprintf(stderr, "usher audit: expected the subcommand \"verify\" (see --help)\n");
        status = 2;
        goto done;
    }
    if (config_load(&cfg, argc - 1, argv + 1, NULL, &err) || config_finish(&cfg, &err)) {
        status = cli_fail("audit", &err);
        goto done;
    }
    crypto_setup();
    if (app_open(&app, &cfg, true, &err)) {
        status = cli_fail("audit", &err);
        goto done;
    }
    struct arena a;
    arena_init(&a);
    struct app_audit_verdict v;
    if (app_audit_verify(&v, app.store, &a, &err)) {
        arena_dispose(&a);
        status = cli_fail("audit", &err);
        goto done;
    }
    if (v.is_intact) {
        printf("audit log intact: %lld entries in %lld chains\n", (long long)v.entries,
               (long long)v.chains);
    } else {
        printf("audit log broken: chain %s, entry %lld: %s\n", v.chain, (long long)v.broken_id,
               v.reason);
        status = 1;
    }
    arena_dispose(&a);
done:
    app_close(&app);
    config_dispose(&cfg);
    return status;
}

const struct cli_command cli_cmd_audit = {"audit", "verify the audit log's hash chains", audit_run};
