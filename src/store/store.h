/* The store: usher's only way to its database.
 *
 * A struct store is a pool of connections to one database, behind a driver chosen from the
 * URL (SQLite now; PostgreSQL is another driver file). SQL text uses $1, $2 ... placeholders
 * and the common subset of both dialects; dialect-specific SQL lives only in the drivers and
 * in sql/<dialect>/. Record functions (store_user_*, store_agency_*, ...) take a checked-out
 * connection so a change, its audit row and its outbox row commit in one transaction.
 *
 * Errors: USHER_ENOTFOUND (no row), USHER_ECONFLICT (unique or foreign-key violation),
 * USHER_EUNAVAIL (database busy or unreachable), USHER_EINTERNAL (anything else). */
#ifndef USHER_STORE_STORE_H
#define USHER_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/error.h"

struct store;
struct store_conn;

enum store_type { STORE_NULL = 0, STORE_INT, STORE_TEXT };

/* A parameter or a result cell. Text is borrowed (parameters) or arena-owned (results). */
struct store_value {
    enum store_type type;
    int64_t i;
    const char *s;
};

static inline struct store_value store_text(const char *s)
{
    struct store_value v = {s ? STORE_TEXT : STORE_NULL, 0, s};
    return v;
}

static inline struct store_value store_int(int64_t i)
{
    struct store_value v = {STORE_INT, i, NULL};
    return v;
}

static inline struct store_value store_null(void)
{
    struct store_value v = {STORE_NULL, 0, NULL};
    return v;
}

/* Rows of a query: cell (r, c) is cells[r * cols + c]; everything lives in the arena. */
struct store_rows {
    size_t count;
    size_t cols;
    struct store_value *cells;
};

/* Cell (r, c) of rows; r < rows->count and c < rows->cols. */
static inline const struct store_value *store_cell(const struct store_rows *rows, size_t r,
                                                   size_t c)
{
    return &rows->cells[r * rows->cols + c];
}

/* The text of cell (r, c), or NULL when the cell is NULL or not text. The string belongs to
 * the arena the rows were read into. */
static inline const char *store_cell_text(const struct store_rows *rows, size_t r, size_t c)
{
    const struct store_value *v = store_cell(rows, r, c);
    return v->type == STORE_TEXT ? v->s : NULL;
}

/* The integer in cell (r, c), or 0 when the cell is NULL or not an integer. */
static inline int64_t store_cell_int(const struct store_rows *rows, size_t r, size_t c)
{
    const struct store_value *v = store_cell(rows, r, c);
    return v->type == STORE_INT ? v->i : 0;
}

/* Opens a pool of pool_size connections. url is "" or "sqlite:PATH" (empty means
 * data_dir/usher.db) or "postgres://...". */
int store_open(struct store **out, const char *url, const char *data_dir, int pool_size,
               struct usher_error *err);

/* Closes every connection; accepts NULL. */
void store_free(struct store *s);

/* "sqlite" or "postgres". */
const char *store_dialect(const struct store *s);

/* The dialect of the store c belongs to: "sqlite" or "postgres". */
const char *store_conn_dialect(const struct store_conn *c);

/* Applies every embedded migration not yet recorded, each in its own transaction.
 * *applied (may be NULL) receives how many ran. */
int store_migrate(struct store *s, int *applied, struct usher_error *err);

/* Work that must commit with a migration: run is called inside the transaction of each
 * migration just applied (name is its file name, "0007_audit_heads.sql"), after its SQL and
 * before its commit. An error rolls the migration back. */
struct store_migrate_hook {
    int (*run)(void *ctx, struct store_conn *c, const char *name, struct usher_error *err);
    void *ctx;
};

/* store_migrate, calling hook (may be NULL) for each migration it applies. */
int store_migrate_hooked(struct store *s, int *applied, const struct store_migrate_hook *hook,
                         struct usher_error *err);

/* Checks out a connection, waiting for one if all are busy. */
int store_conn_get(struct store *s, struct store_conn **out, struct usher_error *err);

/* Returns a connection to the pool, rolling back any transaction left open. Accepts NULL. */
void store_conn_put(struct store_conn *c);

/* Transactions. write=true takes the write lock at once (BEGIN IMMEDIATE on SQLite). */
int store_begin(struct store_conn *c, bool write, struct usher_error *err);
int store_commit(struct store_conn *c, struct usher_error *err);
void store_rollback(struct store_conn *c);

/* True while c holds an open transaction. */
bool store_in_transaction(const struct store_conn *c);

/* Runs one statement with n parameters. rows may be NULL for statements without results;
 * changes (may be NULL) receives the number of rows changed. */
int store_exec(struct store_conn *c, struct arena *a, const char *sql,
               const struct store_value *params, size_t n, struct store_rows *rows,
               int64_t *changes, struct usher_error *err);

/* Change notices between processes. On PostgreSQL every write transaction sends one notice
 * as it commits (NOTIFY, with its store's origin), and a listener, a connection of its own outside
 * the pool, hears them; SQLite has none, and processes sharing a file poll instead. */
struct store_listener;

/* True when the database sends change notices (PostgreSQL). */
bool store_notifies(const struct store *s);

/* Opens a listener on a database that notifies (USHER_EINVAL otherwise); USHER_EUNAVAIL when
 * the database cannot be reached. Only changes committed after it returns are heard. */
int store_listener_open(struct store_listener **out, struct store *s, struct usher_error *err);

/* Waits up to timeout_ms for notices; *changed is true when at least one arrived (all that
 * arrived are consumed). USHER_EUNAVAIL when the connection is lost: notices may have been
 * missed, and the listener must be closed and opened again. */
int store_listener_wait(struct store_listener *l, int timeout_ms, bool *changed,
                        struct usher_error *err);

/* Closes a listener; accepts NULL. */
void store_listener_close(struct store_listener *l);

/* A query whose rows are read a page at a time (store_exec_pages). */
struct store_pages {
    const char *sql;
    const struct store_value *params; /* n parameters, as for store_exec */
    size_t n;
    size_t page_rows; /* the most rows handed over at once; at least 1 */
    /* Called with each page in the query's order: 1 to page_rows rows whose strings live
     * until it returns. It must not use the connection (on PostgreSQL the rest of the rows
     * are still arriving on it). A non-zero return (a USHER_E* code, detail in err) stops the
     * calls and is what store_exec_pages returns. */
    int (*each)(void *ctx, const struct store_rows *page, struct usher_error *err);
    void *ctx;
};

/* Runs q->sql and hands its rows to q->each a page at a time, so that reading a whole table
 * never holds it in memory: one page is held at a time. Call it inside a transaction
 * (store_begin), which gives the query its snapshot. SQLite steps one statement; PostgreSQL
 * runs one query in libpq's single-row mode, the server sending rows while usher takes them
 * in. A query without rows never calls each. Errors: as store_exec, USHER_EINTERNAL outside
 * a transaction or with page_rows 0, or each's own. */
int store_exec_pages(struct store_conn *c, const struct store_pages *q, struct usher_error *err);

/* Checks that the database answers a read of its schema table (so an unreadable or removed
 * database file is noticed). */
int store_ping(struct store *s, struct usher_error *err);

#endif
