/* `usher version`: prints the version and the libraries it was built with. */
#include <jansson.h>
#include <microhttpd.h>
#include <sodium.h>
#include <sqlite3.h>

#include "cli/cli.h"

static int version_run(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        printf("Usage: usher version\n\nPrints usher's version and its libraries' versions.\n");
        return 0;
    }
    printf("usher %s\nlibmicrohttpd %s\nsqlite %s\njansson %s\nlibsodium %s\n", USHER_VERSION,
           MHD_get_version(), sqlite3_libversion(), JANSSON_VERSION, sodium_version_string());
    return 0;
}

const struct cli_command cli_cmd_version = {"version", "print the version", version_run};
