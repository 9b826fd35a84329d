/* `usher admin-create`: creates a platform admin from a shell. The password is read from the
 * first line of standard input so it never appears in the process list or shell history. */
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "app/account.h"
#include "app/password.h"
#include "cli/cli.h"

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

/* Creates the admin; returns the exit status. */
static int admin_create(struct cli_run *run, const char *email, const char *first_name,
                        const char *last_name, const char *password)
{
    struct arena a;
    arena_init(&a);
    struct app_account_new in = {
        .email = email,
        .password = password,
        .first_name = first_name,
        .last_name = last_name,
        .is_platform_admin = true,
        .via = "cli",
    };
    struct app_actor actor = {.source_ip = "cli"};
    struct app_call call = {&run->app, &a, &actor, &run->err};
    struct store_user user;
    if (app_account_create(&user, &call, &in)) {
        if (run->err.code == USHER_ECONFLICT) {
            fprintf(stderr, "usher admin-create: a user with this email address already exists; "
                            "usher does not promote existing users\n");
            run->status = 1;
        } else {
            cli_run_fail(run, &run->err);
        }
    } else {
        printf("created platform admin %s (%s)\n", user.email, user.id);
    }
    arena_dispose(&a);
    return run->status;
}

static int admin_create_run(int argc, char **argv)
{
    const char *email = NULL, *first_name = NULL, *last_name = NULL;
    const struct cli_flag flags[] = {{"--email", &email, true},
                                     {"--first-name", &first_name, false},
                                     {"--last-name", &last_name, false},
                                     {NULL, NULL, false}};
    const struct cli_setup setup = {.cmd = "admin-create",
                                    .flags = flags,
                                    .help = admin_create_help,
                                    .is_quiet = true,
                                    .migrate = true};
    char password[APP_PASSWORD_MAX_BYTES + 3];
    struct cli_run run;
    if (cli_run_start(&run, &setup, argc, argv)) {
        run.status = password_read(password, sizeof(password));
        if (run.status == 0)
            admin_create(&run, email, first_name, last_name, password);
        sodium_memzero(password, sizeof(password));
    }
    return cli_run_end(&run);
}

const struct cli_command cli_cmd_admin_create = {
    "admin-create", "create a platform admin (password on standard input)", admin_create_run};
