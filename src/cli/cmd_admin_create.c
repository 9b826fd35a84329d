/* `usher admin-create`: creates a platform admin from a shell. The password is read from the
 * first line of standard input so it never appears in the process list or shell history. */
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/account.h"
#include "app/app.h"
#include "app/password.h"
#include "base/crypto.h"
#include "base/log.h"
#include "cli/cli.h"
#include "config/config.h"

#define ADMIN_ARGS_MAX 64

struct admin_options {
    const char *email;
    const char *first_name;
    const char *last_name;
};

static void admin_create_help(void)
{
    printf("Usage: usher admin-create --email EMAIL [--first-name NAME] [--last-name NAME]\n"
           "                          [options] < password\n\n"
           "Creates a platform admin. The password is the first line of standard input\n"
           "(%d to %d bytes); one easy to guess (a common word, a keyboard run, the email or\n"
           "the names given) is refused with the reason. An email that already has an account\n"
           "is refused: usher never promotes an existing user from the command line.\n\n"
           "Example:\n"
           "  printf '%%s\\n' \"$ADMIN_PASSWORD\" | usher admin-create --email ops@example.com\n\n"
           "The database is chosen by the same settings as `usher serve`:\n\n",
           APP_PASSWORD_MIN_BYTES, APP_PASSWORD_MAX_BYTES);
    config_print_help(stdout);
}

/* Takes this command's own flags out of argv; the rest (argv[0] included) goes to *rest for
 * the settings parser. Returns 0, or 2 after printing a usage error. */
static int admin_args_split(struct admin_options *out, int *rest_count, char **rest, int argc,
                            char **argv)
{
    static const char *const names[] = {"--email", "--first-name", "--last-name"};
    *rest_count = 0;
    for (int i = 0; i < argc; i++) {
        int which = -1;
        const char *value = NULL;
        for (int n = 0; n < 3 && i > 0; n++) {
            size_t len = strlen(names[n]);
            if (strcmp(argv[i], names[n]) == 0) {
                which = n;
                if (i + 1 >= argc) {
                    fprintf(stderr, "usher admin-create: %s needs a value\n", names[n]);
                    return 2;
                }
                value = argv[++i];
            } else if (strncmp(argv[i], names[n], len) == 0 && argv[i][len] == '=') {
                which = n;
                value = argv[i] + len + 1;
            }
            if (which >= 0)
                break;
        }
        if (which == 0)
            out->email = value;
        else if (which == 1)
            out->first_name = value;
        else if (which == 2)
            out->last_name = value;
        else if (*rest_count < ADMIN_ARGS_MAX)
            rest[(*rest_count)++] = argv[i];
        else {
            fprintf(stderr, "usher admin-create: too many arguments\n");
            return 2;
        }
    }
    return 0;
}

/* Reads the first line of stdin into buf (without its line ending). Returns 0, or 2 after
 * printing why. */
static int password_read(char *buf, size_t size)
{
    if (!fgets(buf, (int)size, stdin)) {
        fprintf(stderr, "usher admin-create: expected the password on standard input\n");
        return 2;
    }
    size_t len = strlen(buf);
    bool had_newline = len > 0 && buf[len - 1] == '\n';
    while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
        buf[--len] = '\0';
    if (!had_newline && !feof(stdin)) {
        fprintf(stderr, "usher admin-create: the password must be at most %d bytes\n",
                APP_PASSWORD_MAX_BYTES);
        return 2;
    }
    return 0;
}

static int admin_create_run(int argc, char **argv)
{
    struct admin_options opts = {0};
    char *rest[ADMIN_ARGS_MAX];
    int rest_count = 0;
    struct config cfg;
    struct usher_error err = {0};
    struct app app = {0};
    bool help = false, opened = false;
    char password[APP_PASSWORD_MAX_BYTES + 3];
    int status = 0;
    config_init(&cfg);
    status = admin_args_split(&opts, &rest_count, rest, argc, argv);
    if (status)
        goto done;
    if (config_load(&cfg, rest_count, rest, &help, &err) ||
        (!help && !cli_wants_help(argc, argv) && config_finish(&cfg, &err))) {
        status = cli_fail("admin-create", &err);
        goto done;
    }
    if (help || cli_wants_help(argc, argv)) {
        admin_create_help();
        goto done;
    }
    if (!opts.email) {
        fprintf(stderr, "usher admin-create: --email is required (see --help)\n");
        status = 2;
        goto done;
    }
    status = password_read(password, sizeof(password));
    if (status)
        goto done;
    log_set_level(LOG_WARN);
    if (crypto_setup() != 0) {
        fprintf(stderr, "usher admin-create: libsodium failed to initialise\n");
        status = 1;
        goto done;
    }
    if (app_open(&app, &cfg, true, &err)) {
        status = cli_fail("admin-create", &err);
        goto done;
    }
    opened = true;
    struct arena a;
    arena_init(&a);
    struct app_account_new in = {
        .email = opts.email,
        .password = password,
        .first_name = opts.first_name,
        .last_name = opts.last_name,
        .is_platform_admin = true,
        .via = "cli",
    };
    struct app_actor actor = {.source_ip = "cli"};
    struct store_user user;
    if (app_account_create(&user, &app, &a, &actor, &in, &err)) {
        if (err.code == USHER_ECONFLICT)
            fprintf(stderr, "usher admin-create: a user with this email address already exists; "
                            "usher does not promote existing users\n");
        else
            cli_fail("admin-create", &err);
        status = err.code == USHER_EINVAL ? 2 : 1;
    } else {
        printf("created platform admin %s (%s)\n", user.email, user.id);
    }
    arena_dispose(&a);
done:
    sodium_memzero(password, sizeof(password));
    if (opened)
        app_close(&app);
    config_dispose(&cfg);
    return status;
}

const struct cli_command cli_cmd_admin_create = {
    "admin-create", "create a platform admin (password on standard input)", admin_create_run};
