/* Helpers shared by the admin commands: error reporting, --help, and the set-up every command
 * that touches the database repeats (own flags, settings, libsodium, the app). */
#include "cli/cli.h"

#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/crypto.h"
#include "base/log.h"

int cli_fail(const char *cmd, const struct usher_error *err)
{
    fprintf(stderr, "usher %s: %s\n", cmd, err->message);
    return err->code == USHER_EINVAL ? 2 : 1;
}

int cli_wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return 1;
    }
    return 0;
}

/* Matches argv[*i] against flag: "--flag VALUE" (moving *i past the value) or "--flag=VALUE".
 * Returns 1 when matched, -1 when the value is missing, 0 for another argument. */
static int flag_take(const struct cli_flag *flag, int argc, char **argv, int *i)
{
    size_t len = strlen(flag->name);
    if (strcmp(argv[*i], flag->name) == 0) {
        if (*i + 1 >= argc)
            return -1;
        *flag->value = argv[++*i];
        return 1;
    }
    if (strncmp(argv[*i], flag->name, len) == 0 && argv[*i][len] == '=') {
        *flag->value = argv[*i] + len + 1;
        return 1;
    }
    return 0;
}

/* Takes the command's own flags out of argv; the rest (argv[0] included) goes to rest, which
 * has room for argc entries. Returns 0, or 2 after printing a usage error. */
static int flags_split(const struct cli_run *run, const struct cli_flag *flags, int *rest_count,
                       char **rest, int argc, char **argv)
{
    *rest_count = 0;
    for (int i = 0; i < argc; i++) {
        int got = 0;
        for (const struct cli_flag *f = flags; i > 0 && f && f->name && got == 0; f++) {
            got = flag_take(f, argc, argv, &i);
            if (got < 0) {
                fprintf(stderr, "usher %s: %s needs a value\n", run->cmd, f->name);
                return 2;
            }
        }
        if (got == 0)
            rest[(*rest_count)++] = argv[i];
    }
    return 0;
}

/* Returns 0 when every required flag has a value, or 2 after naming the first missing one. */
static int flags_check(const struct cli_run *run, const struct cli_flag *flags)
{
    for (const struct cli_flag *f = flags; f && f->name; f++) {
        if (f->is_required && !*f->value) {
            fprintf(stderr, "usher %s: %s is required (see --help)\n", run->cmd, f->name);
            return 2;
        }
    }
    return 0;
}

bool cli_run_start(struct cli_run *run, const struct cli_setup *s, int argc, char **argv)
{
    memset(run, 0, sizeof(*run));
    run->cmd = s->cmd;
    config_init(&run->cfg);
    if (cli_wants_help(argc, argv)) {
        s->help();
        config_print_help(stdout);
        return false;
    }
    char **rest = xcalloc((size_t)argc + 1, sizeof(*rest));
    int rest_count = 0;
    run->status = flags_split(run, s->flags, &rest_count, rest, argc, argv);
    if (run->status == 0 && (config_load(&run->cfg, rest_count, rest, NULL, &run->err) ||
                             config_finish(&run->cfg, &run->err)))
        cli_run_fail(run, &run->err);
    free(rest);
    if (run->status == 0)
        run->status = flags_check(run, s->flags);
    if (run->status == 0 && s->prepare)
        run->status = s->prepare(run);
    if (run->status)
        return false;
    if (s->is_quiet)
        log_set_level(LOG_WARN);
    if (crypto_setup() != 0) {
        fprintf(stderr, "usher %s: libsodium failed to initialise\n", run->cmd);
        run->status = 1;
        return false;
    }
    if (app_open(&run->app, &run->cfg, s->migrate, &run->err)) {
        cli_run_fail(run, &run->err);
        return false;
    }
    return true;
}

int cli_run_fail(struct cli_run *run, const struct usher_error *err)
{
    run->status = cli_fail(run->cmd, err);
    return run->status;
}

int cli_run_end(struct cli_run *run)
{
    app_close(&run->app);
    config_dispose(&run->cfg);
    return run->status;
}
