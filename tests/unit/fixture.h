/* What the unit tests that need a database share: usher (or only its store) opened on SQLite
 * in a new temporary directory, and helpers that write rows straight into the store, as a test
 * seeds its world. Every helper fails the running test (cmocka's fail_msg) on an error, naming
 * the SQL and the reason, so callers never check a result. Rows written this way bypass the
 * rules and the decision index: a test that needs the index to see them loads or refreshes it
 * (authz_index_load, app_grants_refresh). Compiled once into the usher_test_fixture library
 * that every unit test links. */
#ifndef USHER_TESTS_FIXTURE_H
#define USHER_TESTS_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "app/app.h"
#include "base/arena.h"
#include "config/config.h"
#include "store/store.h"

/* --- opening and closing ----------------------------------------------------------------- */

/* The admin URL of the PostgreSQL server the tests run on (USHER_TEST_PG_URL), or NULL when
 * they run on SQLite. */
const char *fixture_pg_url(void);

/* The database URL a test whose temporary directory is dir opens: "" (SQLite in dir) without
 * USHER_TEST_PG_URL, else the URL of a new empty PostgreSQL database named after dir, created
 * now. Heap-allocated; fixture_db_drop removes the database. */
char *fixture_db_url(const char *dir);

/* Drops the PostgreSQL database fixture_db_url made for dir (nothing on SQLite). Every
 * connection to it must be closed first. */
void fixture_db_drop(const char *dir);

/* Skips the running test, with the reason printed, when the tests run on PostgreSQL: for tests
 * of SQLite itself (its files, pragmas, raw handles, fault injection on its statements). */
#define FIXTURE_SQLITE_ONLY(reason)                                                                \
    do {                                                                                           \
        if (fixture_pg_url()) {                                                                    \
            print_message("[     SKIP ] SQLite only: %s\n", (reason));                             \
            skip();                                                                                \
        }                                                                                          \
    } while (0)

/* Fills cfg with the settings the unit tests run usher with: the defaults, a new temporary
 * data directory (*dir, heap-allocated; fixture_app_close removes it) and one hashing worker.
 * Also lowers the log to errors and sets up libsodium. The caller may change more settings
 * before fixture_app_open. */
void fixture_config_init(struct config *cfg, char **dir);

/* Finishes cfg and opens app on it, migrations applied and the decision index loaded. */
void fixture_app_open(struct app *app, struct config *cfg);

/* Closes app, releases cfg and removes dir with everything in it. Accepts a zeroed app and a
 * NULL dir. */
void fixture_app_close(struct app *app, struct config *cfg, char *dir);

/* Opens a migrated store with a pool of two connections: SQLite in a new temporary directory
 * (*dir, heap-allocated), or a new PostgreSQL database when USHER_TEST_PG_URL is set. */
void fixture_store_open(struct store **out, char **dir);

/* Frees s and removes dir with everything in it. Accepts NULL for either. */
void fixture_store_close(struct store *s, char *dir);

/* The call context of one app_* operation, as a pointer to a compound literal that lives until
 * the end of the enclosing block: FIXTURE_CALL(&f->app, &f->arena, &actor, &f->err). */
#define FIXTURE_CALL(app, arena, actor, err) (&(struct app_call){(app), (arena), (actor), (err)})

/* The same on a test's own fixture f, whose members app, arena and err it borrows:
 * FIXTURE_AS(f, &owner). */
#define FIXTURE_AS(f, actor) FIXTURE_CALL(&(f)->app, &(f)->arena, (actor), &(f)->err)

/* --- statements -------------------------------------------------------------------------- */

/* Runs one statement with n parameters on a connection of s. */
void fixture_sql(struct store *s, const char *sql, const struct store_value *p, size_t n);

/* Runs a query and returns the integer in its first row's first cell (0 when there is no
 * row or the cell is NULL): for COUNT(*) and the like. */
int64_t fixture_sql_int(struct store *s, const char *sql, const struct store_value *p, size_t n);

/* Runs a query and returns its rows, which live in a. */
struct store_rows fixture_sql_rows(struct store *s, struct arena *a, const char *sql,
                                   const struct store_value *p, size_t n);

/* --- rows -------------------------------------------------------------------------------- */

/* Adds an agency; created_at is 1. */
void fixture_agency_add(struct store *s, const char *id, const char *name);

/* Adds an environment of an agency; created_at is 1. */
void fixture_environment_add(struct store *s, const char *id, const char *agency_id,
                             const char *name);

/* Adds a bot to an environment (and so to the environment's agency); created_at is 1. */
void fixture_bot_add(struct store *s, const char *id, const char *environment_id, const char *name);

/* A user row. NULL and 0 fields take the defaults named. */
struct fixture_user {
    const char *id;         /* "usr_ada" */
    const char *email;      /* NULL: the id without its "usr_" prefix at example.com */
    const char *first_name; /* NULL: "" */
    const char *last_name;  /* NULL: "" */
    const char *status;     /* NULL: "active" */
    bool is_platform_admin;
    int64_t created_at; /* 0: 1 */
};

/* Adds an active user without names or password: "usr_ada" gets ada@example.com. */
void fixture_user_add(struct store *s, const char *id);

/* Adds the user u describes. */
void fixture_user_add_with(struct store *s, const struct fixture_user *u);

/* Makes a user a member of an agency (created_at 1); nothing happens when they already are. */
void fixture_member_add(struct store *s, const char *agency_id, const char *user_id);

/* Sets a user's grant at a scope, as member management writes it: the membership it implies
 * (fixture_member_add), then the grant with id "grt_<user_id>_<scope_id>", or new roles and
 * extra permissions on the user's grant already at that scope. scope_id is the agency itself
 * (or NULL), one of its environments or one of its bots; an environment grant records its
 * environment, a bot grant only its bot. roles and extra_permissions are comma-separated
 * lists; NULL is the empty list (at an environment, both empty is "no access"). */
void fixture_grant_set(struct store *s, const char *agency_id, const char *user_id,
                       const char *scope_id, const char *roles, const char *extra_permissions);

/* A grant row as fixture_grant_add_with writes it. */
struct fixture_grant {
    const char *id;                /* NULL: "grt_<user_id>_<scope_id>" */
    const char *agency_id;         /* the agency, always */
    const char *user_id;           /* the grantee */
    const char *environment_id;    /* the environment of an environment grant, or NULL */
    const char *bot_id;            /* the bot of a bot grant, or NULL */
    const char *roles;             /* comma-separated; NULL: "" */
    const char *extra_permissions; /* comma-separated; NULL: "" */
};

/* Writes g as one grants row exactly as given (scope_id is bot_id, else environment_id, else
 * agency_id), without the membership: for store tests that need particular ids or unusual
 * rows. */
void fixture_grant_add_with(struct store *s, const struct fixture_grant *g);

/* An invitation row. NULL and 0 fields take the defaults named. Its token hash is "h_<id>", so
 * no token resolves to it. */
struct fixture_invitation {
    const char *id;         /* "inv_1" */
    const char *agency_id;  /* the inviting agency */
    const char *email;      /* NULL: "<id>@example.com" */
    const char *first_name; /* may be NULL */
    const char *last_name;  /* may be NULL */
    const char *shortcode;  /* may be NULL */
    const char *grants;     /* the stored grants JSON; NULL: "[]" */
    const char *status;     /* NULL: "pending" */
    int64_t created_at;     /* 0: 1 */
    int64_t expires_at;     /* 0: an hour after created_at */
};

/* Adds the invitation inv describes. */
void fixture_invitation_add(struct store *s, const struct fixture_invitation *inv);

/* --- data files ------------------------------------------------------------------------------ */

#define FIXTURE_CSV_COLUMNS_MAX 16

/* One row of a data file: its line number and its cells (heap strings). */
struct fixture_csv_row {
    int line;
    char *cells[FIXTURE_CSV_COLUMNS_MAX];
};

/* Reads the comma-separated data file at path, relative to tests/unit/ (USHER_SOURCE_DIR, when
 * set, names the source tree instead of the one this was built from), into *out (heap; free
 * with fixture_csv_free): lines starting with '#' and blank lines are skipped, the first other
 * line is the header, every row must have exactly columns cells. Returns the row count, or -1
 * (saying why on standard error) when the file is missing or malformed. */
long fixture_csv_load(struct fixture_csv_row **out, const char *path, size_t columns);

/* Frees rows read by fixture_csv_load. */
void fixture_csv_free(struct fixture_csv_row *rows, long count, size_t columns);

#endif
