/* `usher migrate-data --from sqlite:PATH --to postgres://...`: copies a SQLite deployment into
 * an empty PostgreSQL database and verifies the copy. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "app/data_move.h"
#include "base/clock.h"
#include "cli/cli.h"

/* The exit status when the target holds data: distinct, so a script can tell it apart. */
#define MIGRATE_DATA_NOT_EMPTY 3

static const char *from_url, *to_url;

static void migrate_data_help(void)
{
    printf("Usage: usher migrate-data --from sqlite:PATH --to postgres://... [options]\n\n"
           "Copies a SQLite deployment (its server may keep running) into an empty PostgreSQL\n"
           "database. It migrates the target's schema, reads the source in one snapshot, checks\n"
           "that the source's audit log verifies under the server secret of the data dir (give\n"
           "the source deployment's --data-dir), copies every table in one transaction with\n"
           "ids kept, and commits only once every table holds as many rows as the source's and\n"
           "the copy's audit log verifies. A target holding any row is refused and left as it\n"
           "is. Start the PostgreSQL server with the same secret file.\n\n"
           "Exits 0 when the copy is committed, 1 when it failed (the target then holds its\n"
           "schema only), 2 on a usage error or a --from that is not a usher SQLite database, 3\n"
           "when the target is not empty.\n\n"
           "  --from sqlite:PATH                the SQLite database to copy\n"
           "  --to postgres://...               the empty PostgreSQL database to fill\n\n");
}

/* Checks --from and --to before anything is opened, and makes --from the database to open. */
static int migrate_data_prepare(struct cli_run *run)
{
    struct stat st;
    if (strncmp(from_url, "sqlite:", 7) != 0) {
        fprintf(stderr, "usher migrate-data: --from must be sqlite:PATH\n");
        return 2;
    }
    if (stat(from_url + 7, &st) != 0 || !S_ISREG(st.st_mode)) {
        fprintf(stderr, "usher migrate-data: --from: there is no database at %s\n", from_url + 7);
        return 2;
    }
    if (strncmp(to_url, "postgres://", 11) != 0 && strncmp(to_url, "postgresql://", 13) != 0) {
        fprintf(stderr, "usher migrate-data: --to must be postgres://...\n");
        return 2;
    }
    /* The audit log is keyed by the source's secret: a data dir without one is the wrong one
     * (opening the app would make a new secret there). */
    size_t len = strlen(run->cfg.data_dir) + sizeof("/secret");
    char *secret = xmalloc(len);
    snprintf(secret, len, "%s/secret", run->cfg.data_dir);
    int found = stat(secret, &st) == 0;
    free(secret);
    if (!found) {
        fprintf(stderr,
                "usher migrate-data: no server secret in %s: give the source deployment's "
                "--data-dir\n",
                run->cfg.data_dir);
        return 2;
    }
    free(run->cfg.database_url);
    run->cfg.database_url = xstrdup(from_url);
    return 0;
}

static void summary_print(const struct app_data_migrate_result *r, double seconds)
{
    for (size_t i = 0; i < r->table_count; i++)
        printf("  %-24s %lld\n", r->tables[i].name, (long long)r->tables[i].rows);
    printf("copied %zu tables, %lld rows in %.1f seconds; audit log verified (%lld entries)\n",
           r->table_count, (long long)r->rows, seconds, (long long)r->audit_entries);
}

static int migrate_data_run(int argc, char **argv)
{
    from_url = NULL;
    to_url = NULL;
    const struct cli_flag flags[] = {
        {"--from", &from_url, true}, {"--to", &to_url, true}, {NULL, NULL, false}};
    const struct cli_setup setup = {.cmd = "migrate-data",
                                    .flags = flags,
                                    .help = migrate_data_help,
                                    .is_quiet = true,
                                    .migrate = false,
                                    .prepare = migrate_data_prepare};
    struct cli_run run;
    if (cli_run_start(&run, &setup, argc, argv)) {
        struct arena a;
        arena_init(&a);
        struct app_data_migrate_result result;
        int64_t start = clock_mono_ns();
        if (app_data_migrate(&result, &run.app, to_url, &a, &run.err)) {
            cli_run_fail(&run, &run.err);
            if (strcmp(run.err.problem, "target_not_empty") == 0)
                run.status = MIGRATE_DATA_NOT_EMPTY;
        } else {
            summary_print(&result, (double)(clock_mono_ns() - start) / 1e9);
        }
        arena_dispose(&a);
    }
    return cli_run_end(&run);
}

const struct cli_command cli_cmd_migrate_data = {
    "migrate-data", "copy a SQLite deployment into an empty PostgreSQL database", migrate_data_run};
