/* `usher audit verify [--checkpoint FILE]` and `usher audit checkpoint`: check the audit log's
 * chains, heads and registry (and that the log extends a checkpoint kept elsewhere), or print a
 * signed checkpoint of it. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/app.h"
#include "app/audit.h"
#include "base/clock.h"
#include "cli/cli.h"
#include "config/config.h"

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
    config_print_help(stdout);
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

static int audit_run(int argc, char **argv)
{
    struct config cfg;
    struct usher_error err = {0};
    struct app app = {0};
    struct arena a;
    const char *checkpoint_path = NULL;
    char *text = NULL;
    char **rest = xcalloc((size_t)argc + 1, sizeof(*rest));
    int rest_count = 0, status = 0;
    config_init(&cfg);
    arena_init(&a);
    if (cli_wants_help(argc, argv)) {
        audit_help();
        goto done;
    }
    const char *sub = argc >= 2 ? argv[1] : "";
    if (strcmp(sub, "verify") != 0 && strcmp(sub, "checkpoint") != 0) {
        fprintf(stderr, "usher audit: expected \"verify\" or \"checkpoint\" (see --help)\n");
        status = 2;
        goto done;
    }
    /* argv[1] stands where config_load expects the program name. */
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (i > 1 && strcmp(sub, "verify") == 0 && strcmp(arg, "--checkpoint") == 0) {
            if (i + 1 >= argc) {
                fprintf(stderr, "usher audit: --checkpoint needs a file\n");
                status = 2;
                goto done;
            }
            checkpoint_path = argv[++i];
        } else if (i > 1 && strcmp(sub, "verify") == 0 && strncmp(arg, "--checkpoint=", 13) == 0) {
            checkpoint_path = arg + 13;
        } else {
            rest[rest_count++] = argv[i];
        }
    }
    if (config_load(&cfg, rest_count, rest, NULL, &err) || config_finish(&cfg, &err)) {
        status = cli_fail("audit", &err);
        goto done;
    }
    size_t text_len = 0;
    if (checkpoint_path && !(text = file_read(&text_len, checkpoint_path))) {
        fprintf(stderr, "usher audit: cannot read %s: %s\n", checkpoint_path, strerror(errno));
        status = 1;
        goto done;
    }
    crypto_setup();
    if (app_open(&app, &cfg, true, &err)) {
        status = cli_fail("audit", &err);
        goto done;
    }
    struct app_audit_verdict v;
    if (strcmp(sub, "checkpoint") == 0) {
        char *json = NULL;
        if (app_audit_checkpoint_make(&json, &v, app.store, &a, &err)) {
            status = cli_fail("audit", &err);
            goto done;
        }
        if (json) {
            printf("%s\n", json);
            free(json);
        } else {
            /* On standard error: standard output is where a checkpoint is expected. */
            fprintf(stderr, "usher audit: no checkpoint of a broken log\n");
            verdict_print(stderr, &v, &a, false);
            status = 1;
        }
        goto done;
    }
    int rc = text ? app_audit_checkpoint_check(&v, app.store, &a, text, text_len, &err)
                  : app_audit_verify(&v, app.store, &a, &err);
    if (rc) {
        status = cli_fail("audit", &err);
        /* A checkpoint that does not hold is a failed verification, not a usage error. */
        if (text)
            status = 1;
        goto done;
    }
    verdict_print(stdout, &v, &a, text != NULL);
    status = v.is_intact ? 0 : 1;
done:
    app_close(&app);
    free(text);
    free(rest);
    arena_dispose(&a);
    config_dispose(&cfg);
    return status;
}

const struct cli_command cli_cmd_audit = {
    "audit", "verify the audit log, or print a signed checkpoint of it", audit_run};
