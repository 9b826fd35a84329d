/* `usher backup FILE [--force]`: writes a consistent copy of the live SQLite database to FILE
 * while the server keeps running. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "app/data_move.h"
#include "cli/cli.h"

static void backup_help(void)
{
    printf("Usage: usher backup FILE [--force] [options]\n\n"
           "Writes a consistent copy of the SQLite database (the one the database setting or\n"
           "the data dir names) to FILE, mode 0600, with SQLite's online backup: a server may\n"
           "keep running and writing meanwhile. The copy is written to a temporary file beside\n"
           "FILE and moved into place once whole, so FILE never holds half a copy. `usher serve\n"
           "--database sqlite:FILE` starts from it (or put it at DATA_DIR/usher.db), with the\n"
           "same server secret: keep DATA_DIR/secret too, apart from the copy. A PostgreSQL\n"
           "database is refused: back it up with pg_dump or pg_basebackup. Exits 0 when the copy\n"
           "is in place, 1 when it could not be made, 2 on a usage error.\n\n"
           "  --force                           replace FILE when it exists\n\n");
}

/* Refuses, before anything is opened, a database that is PostgreSQL or a SQLite file that
 * does not exist (opening it would make an empty one). */
static int backup_prepare(struct cli_run *run)
{
    struct arena a;
    arena_init(&a);
    int status = 0;
    const char *live = app_backup_sqlite_path(&a, run->cfg.database_url, run->cfg.data_dir);
    struct stat st;
    if (!live) {
        fprintf(stderr, "usher backup: the database is PostgreSQL: back it up with pg_dump or "
                        "pg_basebackup (see docs/operations.md)\n");
        status = 1;
    } else if (stat(live, &st) != 0 || !S_ISREG(st.st_mode)) {
        fprintf(stderr, "usher backup: there is no database at %s\n", live);
        status = 1;
    }
    arena_dispose(&a);
    return status;
}

static int backup_run(int argc, char **argv)
{
    bool force = false;
    const char *path = argc >= 2 && argv[1][0] != '-' ? argv[1] : NULL;
    /* FILE and --force are taken out; the rest are settings. */
    char **rest = xcalloc((size_t)argc + 1, sizeof(*rest));
    int rest_count = 0;
    for (int i = 0; i < argc; i++) {
        if (i == 1 && path)
            continue;
        if (i > 0 && strcmp(argv[i], "--force") == 0) {
            force = true;
            continue;
        }
        rest[rest_count++] = argv[i];
    }
    if (!path && !cli_wants_help(argc, argv)) {
        fprintf(stderr, "usher backup: name the file to write: usher backup FILE (see --help)\n");
        free(rest);
        return 2;
    }
    const struct cli_setup setup = {.cmd = "backup",
                                    .help = backup_help,
                                    .is_quiet = true,
                                    .migrate = false,
                                    .prepare = backup_prepare};
    struct cli_run run;
    if (cli_run_start(&run, &setup, rest_count, rest)) {
        if (app_backup_write(&run.app, path, force, &run.err))
            cli_run_fail(&run, &run.err);
        else
            printf("backup written to %s\n", path);
    }
    free(rest);
    return cli_run_end(&run);
}

const struct cli_command cli_cmd_backup = {
    "backup", "write a consistent copy of the live SQLite database to a file", backup_run};
