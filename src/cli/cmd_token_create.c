/* `usher token-create --name NAME [--agency ID]`: creates an API token from the shell (a
 * platform token, or one of an agency) and prints its secret, the only time it is shown. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/app.h"
#include "app/tokens.h"
#include "base/crypto.h"
#include "cli/cli.h"
#include "config/config.h"

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
    config_print_help(stdout);
}

/* Takes "--flag VALUE" or "--flag=VALUE" at argv[*i]; returns 1 when matched, -1 when the value
 * is missing, 0 when argv[*i] is another argument. */
static int own_flag(const char **out, int argc, char **argv, int *i, const char *flag)
{
    size_t len = strlen(flag);
    if (strcmp(argv[*i], flag) == 0) {
        if (*i + 1 >= argc)
            return -1;
        *out = argv[++*i];
        return 1;
    }
    if (strncmp(argv[*i], flag, len) == 0 && argv[*i][len] == '=') {
        *out = argv[*i] + len + 1;
        return 1;
    }
    return 0;
}

static int token_create_run(int argc, char **argv)
{
    struct config cfg;
    struct usher_error err = {0};
    struct app app = {0};
    struct arena arena;
    bool help = false;
    int status = 0;
    const char *name = NULL, *agency_id = NULL;
    /* --name and --agency are this command's own; everything else goes to the settings. */
    char **rest = xcalloc((size_t)argc + 1, sizeof(*rest));
    int rest_count = 0;
    config_init(&cfg);
    arena_init(&arena);
    for (int i = 0; i < argc; i++) {
        int got = 0;
        if (i > 0) {
            got = own_flag(&name, argc, argv, &i, "--name");
            if (got == 0)
                got = own_flag(&agency_id, argc, argv, &i, "--agency");
        }
        if (got < 0) {
            fprintf(stderr, "usher token-create: %s needs a value\n", argv[i]);
            status = 2;
            goto done;
        }
        if (got == 0)
            rest[rest_count++] = argv[i];
    }
    if (config_load(&cfg, rest_count, rest, &help, &err) || (!help && config_finish(&cfg, &err))) {
        status = cli_fail("token-create", &err);
        goto done;
    }
    if (help) {
        token_create_help();
        goto done;
    }
    if (!name) {
        fprintf(stderr, "usher token-create: --name is required\n");
        status = 2;
        goto done;
    }
    if (crypto_setup() != 0) {
        fprintf(stderr, "usher token-create: libsodium failed to initialise\n");
        status = 1;
        goto done;
    }
    if (app_open(&app, &cfg, true, &err)) {
        status = cli_fail("token-create", &err);
        goto done;
    }
    struct app_actor actor = {.is_platform_admin = true, .source_ip = "cli"};
    struct app_token_new made;
    if (app_token_create(&made, &app, &arena, &actor, agency_id, name, &err)) {
        status = cli_fail("token-create", &err);
        goto done;
    }
    printf("%s\n", made.secret);
    fflush(stdout);
    sodium_memzero(made.secret, sizeof(made.secret));
    fprintf(stderr,
            "usher token-create: created %s token %s; the secret above is not shown again\n",
            agency_id ? "agency" : "platform", made.token.id);
done:
    app_close(&app);
    arena_dispose(&arena);
    config_dispose(&cfg);
    free(rest);
    return status;
}

const struct cli_command cli_cmd_token_create = {"token-create", "create an API token",
                                                 token_create_run};
