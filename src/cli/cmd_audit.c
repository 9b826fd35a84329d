/* `usher audit verify [--checkpoint FILE]` and `usher audit checkpoint`: check the audit log's
 * chains, heads and registry (and that the log extends a checkpoint kept elsewhere), or print a
 * signed checkpoint of it. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/audit.h"
#include "base/clock.h"
#include "cli/cli.h"

#define CHECKPOINT_FILE_MAX (64 * 1024 * 1024)

static void audit_help(void)
{
    printf("Usage: usher audit verify [--checkpoint FILE] [options]\n"
           "       usher audit checkpoint [options]\n\n"
           "verify checks the audit log: the hash chain of every agency (and of platform-level\n"
           "entries), each chain's signed head, and the signed registry of chains. It reports an\n"
           "entry altered, inserted, reordered or removed, a chain whose newest entries were cut\n"
           "off, a chain deleted whole, oldest entries removed other than by retention, and an\n"
           "emptied log. With --checkpoint it also checks that the log extends a checkpoint made\n"
           "earlier, which reveals a database put back to an older copy. Exits 0 when intact, 1\n"
           "naming the first fault (or when the checkpoint was edited or is not this server's).\n\n"
           "checkpoint verifies the log and prints a checkpoint of it as JSON: every chain's\n"
           "newest entry (id and hash) and entry count, the time, and an Ed25519 signature under\n"
           "a key derived from the server secret. Keep checkpoints outside the server (from cron,\n"
           "for instance). Exits 1 without a checkpoint when the log is broken.\n\n"
           "  --checkpoint FILE                 (verify) a checkpoint printed by usher audit "
           "checkpoint\n\n");
}

/* Reads the file at path (at most CHECKPOINT_FILE_MAX bytes) into a malloc'ed buffer. */
static char *file_read(size_t *out_len, const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, len = 0;
    char *buf = xmalloc(cap);
    for (;;) {
        if (len == cap) {
            if (cap >= CHECKPOINT_FILE_MAX) {
                free(buf);
                fclose(f);
                errno = EFBIG;
                return NULL;
            }
            cap *= 2;
            buf = xrealloc(buf, cap);
        }
        size_t n = fread(buf + len, 1, cap - len, f);
        len += n;
        if (n == 0)
            break;
    }
    bool failed = ferror(f) != 0;
    fclose(f);
    if (failed) {
        free(buf);
        return NULL;
    }
    *out_len = len;
    return buf;
}

static void verdict_print(FILE *out, const struct app_audit_verdict *v, struct arena *a,
                          bool checkpoint)
{
    if (!v->is_intact) {
        if (v->chain && v->broken_id)
            fprintf(out, "audit log broken: chain %s, entry %lld: %s\n", v->chain,
                    (long long)v->broken_id, v->reason);
        else if (v->chain)
            fprintf(out, "audit log broken: chain %s: %s\n", v->chain, v->reason);
        else
            fprintf(out, "audit log broken: %s\n", v->reason);
        return;
    }
    printf("audit log intact: %lld entries in %lld chains\n", (long long)v->entries,
           (long long)v->chains);
    if (checkpoint)
        printf("it extends the checkpoint of %s (%lld chains)\n",
               clock_format_ms(a, v->checkpoint_at), (long long)v->checkpoint_chains);
}

/* Prints a checkpoint of the log, or says why there is none. */
static void checkpoint_run(struct cli_run *run, struct arena *a)
{
    struct app_audit_verdict v;
    char *json = NULL;
    if (app_audit_checkpoint_make(&json, &v, run->app.store, a, &run->err)) {
        cli_run_fail(run, &run->err);
    } else if (json) {
        printf("%s\n", json);
        free(json);
    } else {
        /* On standard error: standard output is where a checkpoint is expected. */
        fprintf(stderr, "usher audit: no checkpoint of a broken log\n");
        verdict_print(stderr, &v, a, false);
        run->status = 1;
    }
}

/* Verifies the log, against the checkpoint at path when it is not NULL. */
static void verify_run(struct cli_run *run, struct arena *a, const char *path)
{
    struct app_audit_verdict v;
    size_t len = 0;
    char *text = NULL;
    if (path && !(text = file_read(&len, path))) {
        fprintf(stderr, "usher audit: cannot read %s: %s\n", path, strerror(errno));
        run->status = 1;
        return;
    }
    int rc = text ? app_audit_checkpoint_check(&v, run->app.store, a, text, len, &run->err)
                  : app_audit_verify(&v, run->app.store, a, &run->err);
    free(text);
    if (rc) {
        cli_run_fail(run, &run->err);
        /* A checkpoint that does not hold is a failed verification, not a usage error. */
        if (path)
            run->status = 1;
        return;
    }
    verdict_print(stdout, &v, a, path != NULL);
    run->status = v.is_intact ? 0 : 1;
}

static int audit_run(int argc, char **argv)
{
    const char *checkpoint_path = NULL;
    const struct cli_flag verify_flags[] = {{"--checkpoint", &checkpoint_path, false},
                                            {NULL, NULL, false}};
    const char *sub = argc >= 2 ? argv[1] : "";
    bool is_verify = strcmp(sub, "verify") == 0, is_checkpoint = strcmp(sub, "checkpoint") == 0;
    if (!is_verify && !is_checkpoint && !cli_wants_help(argc, argv)) {
        fprintf(stderr, "usher audit: expected \"verify\" or \"checkpoint\" (see --help)\n");
        return 2;
    }
    const struct cli_setup setup = {.cmd = "audit",
                                    .flags = is_verify ? verify_flags : NULL,
                                    .help = audit_help,
                                    .migrate = true};
    struct cli_run run;
    /* The subcommand stands where the settings expect the program name. */
    int skip = is_verify || is_checkpoint ? 1 : 0;
    if (cli_run_start(&run, &setup, argc - skip, argv + skip)) {
        struct arena a;
        arena_init(&a);
        if (is_checkpoint)
            checkpoint_run(&run, &a);
        else
            verify_run(&run, &a, checkpoint_path);
        arena_dispose(&a);
    }
    return cli_run_end(&run);
}

const struct cli_command cli_cmd_audit = {
    "audit", "verify the audit log, or print a signed checkpoint of it", audit_run};
