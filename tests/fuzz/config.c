/* Fuzzes the config file: the input is written as an INI file and loaded with
 * `--config FILE` (config_load, then config_finish). Properties: a refused file names the
 * setting or the file; an accepted one leaves every number within its documented range. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/error.h"
#include "base/log.h"
#include "config/config.h"
#include "fuzz.h"

extern char **environ;

static char path[256];

static void cleanup(void)
{
    if (path[0])
        unlink(path);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    /* The file is the only source: no USHER_* variable may change the outcome. */
    for (char **e = environ; *e;) {
        if (strncmp(*e, "USHER_", 6) == 0) {
            char name[128];
            const char *eq = strchr(*e, '=');
            size_t n = eq ? (size_t)(eq - *e) : strlen(*e);
            snprintf(name, sizeof(name), "%.*s", (int)n, *e);
            unsetenv(name);
            e = environ;
            continue;
        }
        e++;
    }
    const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(path, sizeof(path), "%s/usher-fuzz-config-%d.ini", base, (int)getpid());
    atexit(cleanup);
    log_set_level(LOG_ERROR);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!path[0])
        LLVMFuzzerInitialize(NULL, NULL);
    FILE *f = fopen(path, "wb");
    FUZZ_CHECK(f != NULL);
    if (size)
        fwrite(data, 1, size, f);
    fclose(f);
    struct config cfg;
    config_init(&cfg);
    char *argv[] = {"serve", "--config", path, NULL};
    struct usher_error err = {0};
    int rc = config_load(&cfg, 3, argv, NULL, &err);
    if (rc == 0)
        rc = config_finish(&cfg, &err);
    if (rc != 0) {
        FUZZ_CHECK(err.code == USHER_EINVAL && err.field[0] && err.message[0]);
    } else {
        FUZZ_CHECK(cfg.threads >= 1 && cfg.threads <= 256);
        FUZZ_CHECK(cfg.max_connections >= 1 && cfg.max_connections <= 100000);
        FUZZ_CHECK(cfg.max_body_bytes >= 1024 && cfg.max_body_bytes <= 67108864);
        FUZZ_CHECK(cfg.session_idle_seconds <= cfg.session_absolute_seconds);
        FUZZ_CHECK(cfg.hash_workers >= 1 && cfg.db_pool >= 1);
        FUZZ_CHECK(strrchr(cfg.listen, ':') != NULL && cfg.data_dir[0]);
    }
    config_dispose(&cfg);
    return 0;
}
