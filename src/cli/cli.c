/* Helpers shared by the admin commands. */
#include "cli/cli.h"

#include <string.h>

#include "base/error.h"

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
