/* What the fuzz targets share: libFuzzer's entry points, a failing check that crashes (so the
 * fuzzer and the replay both report it), the splitting of one input into several fields, and
 * a seeded service (a real SQLite store with fixed ids and sessions) for the targets that need
 * one. */
#ifndef USHER_TESTS_FUZZ_H
#define USHER_TESTS_FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "app/app.h"
#include "base/arena.h"
#include "base/error.h"
#include "config/config.h"

/* libFuzzer calls this once per input; so does the replay main. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Optional one-time setup (libFuzzer calls it when the target defines it). */
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

/* Aborts with a message naming the broken property: a finding, like a sanitizer report. */
#define FUZZ_CHECK(cond) ((cond) ? (void)0 : fuzz_check_fail(#cond, __FILE__, __LINE__))
void fuzz_check_fail(const char *expr, const char *file, int line) __attribute__((noreturn));

/* A NUL-terminated heap copy of data[0..size) (which may itself hold NUL bytes). */
char *fuzz_strndup(const uint8_t *data, size_t size);

/* Splits data at NUL bytes into up to max heap strings (missing ones are ""); *out_count
 * gets the number filled, always max. Free with fuzz_fields_free. */
void fuzz_fields_split(char **out, size_t max, const uint8_t *data, size_t size);
void fuzz_fields_free(char **fields, size_t count);

/* The seeded service: agencies A and B, environments A1, A2 and B1, bot A1 (in A1), a platform
 * admin, an owner of A, an agent on A1, a pending invitation to A, and a session for each
 * person. Ids are fixed (FUZZ_ID_*); the server secret is fixed, so every derived token is
 * the same from run to run. */
#define FUZZ_ID_ADMIN  "usr_fuzzAdmin0000000000000"
#define FUZZ_ID_OWNER  "usr_fuzzOwner0000000000000"
#define FUZZ_ID_AGENT  "usr_fuzzAgent0000000000000"
#define FUZZ_ID_AGENCY "agy_fuzzAgencyA00000000000"
#define FUZZ_ID_OTHER  "agy_fuzzAgencyB00000000000"
#define FUZZ_ID_ENV    "env_fuzzEnvA1000000000000"
#define FUZZ_ID_ENV2   "env_fuzzEnvA2000000000000"
#define FUZZ_ID_ENVB   "env_fuzzEnvB1000000000000"
#define FUZZ_ID_BOT    "bot_fuzzBotA1000000000000"
#define FUZZ_ID_INVITE "inv_fuzzInviteA0000000000"
#define FUZZ_ID_ROLE   "reviewer"

struct fuzz_world {
    char *dir;
    struct config cfg;
    struct app app;
    /* Session tokens and their CSRF tokens, and the invitation's link token. */
    char admin_token[64], owner_token[64], agent_token[64];
    char admin_csrf[72], owner_csrf[72], agent_csrf[72];
    char invite_token[64];
};

/* The world of this process, made on first use and removed at exit. Aborts on failure. */
struct fuzz_world *fuzz_world_get(void);

/* Throws the world away and seeds a new one (the same ids and tokens). */
struct fuzz_world *fuzz_world_reset(void);

#endif
