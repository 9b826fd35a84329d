/* The PostgreSQL driver on libpq: one PGconn per pooled connection, text parameters through
 * PQexecParams, rows typed by column OID, SQLSTATEs mapped to usher's codes, and writers
 * serialised by a transaction-scoped advisory lock (see docs/internals/store.md). */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "store/store_int.h"

/* Column and parameter type OIDs of pg_type (stable across PostgreSQL versions). */
#define PG_OID_BOOL    16
#define PG_OID_INT8    20
#define PG_OID_INT2    21
#define PG_OID_INT4    23
#define PG_OID_TEXT    25
#define PG_OID_NUMERIC 1700

/* The most parameters one statement may have (PostgreSQL's protocol limit). */
#define PG_PARAMS_MAX 65535

/* The most statements one connection keeps prepared, as the SQLite driver does. */
#define PG_STMT_CACHE 96

/* A statement prepared on one connection for one combination of parameter types. */
struct pg_stmt_slot {
    const char *sql; /* the caller's text, compared by address first, then by content */
    char *text;      /* a copy of the text it was prepared from */
    Oid *types;      /* the parameter types it was prepared with */
    size_t n;
    char name[16];
};

struct pg_conn {
    PGconn *db;
    bool savepoint; /* a statement savepoint is open in the current transaction */
    struct pg_stmt_slot cache[PG_STMT_CACHE];
    size_t cached;
    unsigned long prepared; /* statements prepared on this connection, for their names */
};

/* Forgets every prepared statement (the server forgets them when the connection ends). */
static void pg_cache_clear(struct pg_conn *c)
{
    for (size_t i = 0; i < c->cached; i++) {
        free(c->cache[i].text);
        free(c->cache[i].types);
    }
    c->cached = 0;
}

static void pg_notice_drop(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

/* Maps a failed result (or, with res NULL, a failure to send) to a USHER_E* code. */
static int pg_error(struct pg_conn *c, const PGresult *res, struct usher_error *err)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    /* Only the primary message: the server's DETAIL repeats the failing row or key, which may
     * hold an email, a hash or a token, and the log never holds those. */
    const char *msg = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    if (!msg)
        msg = PQerrorMessage(c->db);
    if (!state)
        state = "";
    if (PQstatus(c->db) != CONNECTION_OK || strncmp(state, "08", 2) == 0 ||
        strncmp(state, "57P", 3) == 0) {
        log_msg(LOG_ERROR, "store.pg_error", "{s:s, s:s}", "sqlstate", state, "message", msg);
        return usher_error_set(err, USHER_EUNAVAIL, NULL, NULL, "database unavailable");
    }
    /* Unique and foreign keys are conflicts with stored state; NOT NULL and CHECK violations
     * are the caller's bug. */
    if (strcmp(state, "23505") == 0 || strcmp(state, "23503") == 0)
        return usher_error_set(err, USHER_ECONFLICT, NULL, NULL, "constraint violated (%s)", state);
    /* Serialization failures, deadlocks and lock timeouts are what SQLite reports as busy. */
    if (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0 || strcmp(state, "55P03") == 0)
        return usher_error_set(err, USHER_EUNAVAIL, NULL, NULL, "database busy");
    log_msg(LOG_ERROR, "store.pg_error", "{s:s, s:s}", "sqlstate", state, "message", msg);
    if (strncmp(state, "53", 2) == 0 || strncmp(state, "58", 2) == 0)
        return usher_error_set(err, USHER_EUNAVAIL, NULL, NULL, "database unavailable");
    return usher_error_set(err, USHER_EINTERNAL, NULL, NULL, "database error");
}

/* Makes sure the connection is up, re-opening one that was lost. A transaction that was open
 * on a lost connection is gone, so the caller reports the loss rather than carrying on. */
static int pg_ready(struct pg_conn *c, struct usher_error *err)
{
    if (PQstatus(c->db) == CONNECTION_OK)
        return 0;
    PQreset(c->db);
    c->savepoint = false;
    pg_cache_clear(c);
    if (PQstatus(c->db) == CONNECTION_OK)
        return 0;
    log_msg(LOG_ERROR, "store.pg_error", "{s:s, s:s}", "sqlstate", "08000", "message",
            PQerrorMessage(c->db));
    return usher_error_set(err, USHER_EUNAVAIL, NULL, NULL, "database unavailable");
}

/* Runs parameterless SQL (one statement or several) and checks it succeeded. */
static int pg_script(struct pg_conn *c, const char *sql, struct usher_error *err)
{
    PGresult *res = PQexec(c->db, sql);
    ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    int rc = 0;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
        rc = pg_error(c, res, err);
    PQclear(res);
    return rc;
}

static int pg_connect(void **out, const char *url, struct usher_error *err)
{
    PGconn *db = PQconnectdb(url);
    if (!db || PQstatus(db) != CONNECTION_OK) {
        /* libpq's message names the host and the reason, never the password. */
        int code = usher_error_set(err, USHER_EUNAVAIL, NULL, "database_url",
                                   "cannot connect to PostgreSQL: %s",
                                   db ? PQerrorMessage(db) : "out of memory");
        PQfinish(db);
        return code;
    }
    PQsetNoticeProcessor(db, pg_notice_drop, NULL);
    struct pg_conn *c = xcalloc(1, sizeof(*c));
    c->db = db;
    /* A writer waits as long for the write lock as a SQLite writer waits while busy. */
    int rc = pg_script(c, "SET lock_timeout = '5s'; SET client_min_messages = warning", err);
    if (rc) {
        PQfinish(db);
        free(c);
        return rc;
    }
    *out = c;
    return 0;
}

static void pg_disconnect(void *handle)
{
    struct pg_conn *c = handle;
    if (!c)
        return;
    pg_cache_clear(c);
    PQfinish(c->db);
    free(c);
}

/* The key of the advisory lock every write transaction holds until it ends. */
#define PG_WRITE_LOCK "7587236154720001"

static int pg_begin(void *handle, bool write, struct usher_error *err)
{
    struct pg_conn *c = handle;
    int rc = pg_ready(c, err);
    if (rc)
        return rc;
    c->savepoint = false;
    /* Writers queue on one lock, as SQLite's BEGIN IMMEDIATE makes them; readers see one
     * snapshot for the whole transaction, as SQLite's deferred BEGIN gives them. */
    const char *sql = write ? "BEGIN ISOLATION LEVEL READ COMMITTED; "
                              "SELECT pg_advisory_xact_lock(" PG_WRITE_LOCK ")"
                            : "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY";
    struct usher_error first = {0};
    rc = pg_script(c, sql, &first);
    if (rc && PQstatus(c->db) != CONNECTION_OK) {
        /* The connection broke while idle in the pool (a server restart): nothing had been
         * done on it yet, so reopen it and begin again once. */
        rc = pg_ready(c, err);
        if (rc)
            return rc;
        rc = pg_script(c, sql, err);
    } else if (rc && err && err->code == 0) {
        *err = first;
    }
    if (rc && PQstatus(c->db) == CONNECTION_OK && PQtransactionStatus(c->db) != PQTRANS_IDLE)
        pg_script(c, "ROLLBACK", NULL);
    return rc;
}

static int pg_commit(void *handle, struct usher_error *err)
{
    struct pg_conn *c = handle;
    PGresult *res = PQexec(c->db, "COMMIT");
    int rc = 0;
    if (!res || PQresultStatus(res) != PGRES_COMMAND_OK)
        rc = pg_error(c, res, err);
    else if (strcmp(PQcmdStatus(res), "ROLLBACK") == 0)
        /* COMMIT of a transaction an earlier statement aborted only rolls it back. */
        rc = usher_error_set(err, USHER_EINTERNAL, NULL, NULL,
                             "transaction was aborted by an earlier error");
    PQclear(res);
    c->savepoint = false;
    return rc;
}

static void pg_rollback(void *handle)
{
    struct pg_conn *c = handle;
    c->savepoint = false;
    if (PQstatus(c->db) == CONNECTION_OK && PQtransactionStatus(c->db) != PQTRANS_IDLE)
        pg_script(c, "ROLLBACK", NULL);
}

/* Records in *max the highest $k the statement refers to, outside string literals, quoted
 * names and comments, and, when used is not NULL, sets used[k] for each (used has max + 1
 * entries from an earlier call). */
static void pg_params_scan(const char *sql, bool *used, unsigned long *max)
{
    if (!used)
        *max = 0;
    for (const char *p = sql; *p;) {
        if (*p == '\'' || *p == '"') {
            char q = *p++;
            while (*p && !(*p == q && p[1] != q)) {
                if (*p == q)
                    p++;
                p++;
            }
            if (*p)
                p++;
        } else if (p[0] == '-' && p[1] == '-') {
            while (*p && *p != '\n')
                p++;
        } else if (p[0] == '/' && p[1] == '*') {
            const char *end = strstr(p + 2, "*/");
            p = end ? end + 2 : p + strlen(p);
        } else if (*p == '$' && p[1] >= '0' && p[1] <= '9') {
            char *end;
            unsigned long k = strtoul(p + 1, &end, 10);
            if (used)
                used[k] = true;
            else if (k > *max)
                *max = k;
            p = end;
        } else {
            p++;
        }
    }
}

/* Turns one result cell into a store_value in a. */
static void pg_cell(const PGresult *res, int r, int k, struct arena *a, struct store_value *v)
{
    if (PQgetisnull(res, r, k)) {
        v->type = STORE_NULL;
        return;
    }
    const char *t = PQgetvalue(res, r, k);
    Oid type = PQftype(res, k);
    if (type == PG_OID_BOOL) {
        v->type = STORE_INT;
        v->i = t[0] == 't';
        return;
    }
    if (type == PG_OID_INT2 || type == PG_OID_INT4 || type == PG_OID_INT8 ||
        type == PG_OID_NUMERIC) {
        /* SUM of integers is numeric in PostgreSQL; whole numbers are integers as in SQLite. */
        char *end;
        long long i = strtoll(t, &end, 10);
        if (end != t && *end == '\0') {
            v->type = STORE_INT;
            v->i = i;
            return;
        }
    }
    v->type = STORE_TEXT;
    v->s = arena_strndup(a, t, (size_t)PQgetlength(res, r, k));
}

/* Finds or makes the prepared statement for sql with these parameter types: *name is its name,
 * or NULL when the cache is full and the statement is to run unprepared. */
static int pg_prepare(struct pg_conn *c, const char *sql, const Oid *types, size_t n,
                      const char **name, struct usher_error *err)
{
    *name = NULL;
    for (size_t i = 0; i < c->cached; i++) {
        struct pg_stmt_slot *slot = &c->cache[i];
        if (slot->sql == sql && slot->n == n && strcmp(slot->text, sql) == 0 &&
            (n == 0 || memcmp(slot->types, types, n * sizeof(*types)) == 0)) {
            *name = slot->name;
            return 0;
        }
    }
    if (c->cached == PG_STMT_CACHE)
        return 0;
    struct pg_stmt_slot *slot = &c->cache[c->cached];
    snprintf(slot->name, sizeof(slot->name), "u%lu", ++c->prepared);
    PGresult *res = PQprepare(c->db, slot->name, sql, (int)n, types);
    int rc = 0;
    if (!res || PQresultStatus(res) != PGRES_COMMAND_OK)
        rc = pg_error(c, res, err);
    PQclear(res);
    if (rc)
        return rc;
    slot->sql = sql;
    slot->text = xstrdup(sql);
    slot->n = n;
    slot->types = xcalloc(n ? n : 1, sizeof(*slot->types));
    if (n)
        memcpy(slot->types, types, n * sizeof(*types));
    c->cached++;
    *name = slot->name;
    return 0;
}

static bool pg_is_query(const char *sql)
{
    while (*sql == ' ' || *sql == '\n' || *sql == '\t')
        sql++;
    return strncmp(sql, "SELECT", 6) == 0 || strncmp(sql, "WITH", 4) == 0;
}

/* A statement's parameters as libpq takes them. */
struct pg_params {
    Oid *types;
    const char **values;
    char (*ints)[24]; /* the text of integer parameters */
};

static void pg_params_dispose(struct pg_params *p)
{
    free(p->ints);
    free(p->values);
    free(p->types);
}

/* Checks that every placeholder of sql has a value and fills out for the n params. */
static int pg_params_make(struct pg_params *out, const char *sql, const struct store_value *params,
                          size_t n, struct usher_error *err)
{
    memset(out, 0, sizeof(*out));
    bool *used = NULL;
    unsigned long max = 0;
    pg_params_scan(sql, NULL, &max);
    if (max <= n && n <= PG_PARAMS_MAX) {
        used = xcalloc(max + 1, sizeof(*used));
        pg_params_scan(sql, used, &max);
    }
    if (!used || used[0]) {
        log_msg(LOG_ERROR, "store.bad_parameter", "{s:s, s:i, s:i}", "sql", sql, "parameter",
                used ? 0 : (int)max, "given", (int)n);
        int rc = usher_error_set(err, USHER_EINTERNAL, NULL, NULL,
                                 "statement parameter $%lu has no value", used ? 0 : max);
        free(used);
        return rc;
    }
    /* Integers are sent as int8; text and NULL take the type their place in the statement
     * gives them; a parameter the statement does not use is sent as text so PostgreSQL need
     * not infer a type for it. */
    size_t slots = n ? n : 1;
    out->types = xcalloc(slots, sizeof(*out->types));
    out->values = xcalloc(slots, sizeof(*out->values));
    out->ints = xcalloc(slots, sizeof(*out->ints));
    for (size_t k = 0; k < n; k++) {
        const struct store_value *v = &params[k];
        bool referenced = k + 1 <= max && used[k + 1];
        out->types[k] = referenced ? 0 : PG_OID_TEXT;
        if (v->type == STORE_INT) {
            snprintf(out->ints[k], sizeof(out->ints[k]), "%lld", (long long)v->i);
            out->values[k] = out->ints[k];
            if (referenced)
                out->types[k] = PG_OID_INT8;
        } else if (v->type == STORE_TEXT) {
            out->values[k] = v->s;
        }
    }
    free(used);
    return 0;
}

/* Copies the cells of res into rows, strings into a. */
static void pg_rows_read(struct store_rows *rows, const PGresult *res, struct arena *a)
{
    size_t count = (size_t)PQntuples(res);
    size_t cols = (size_t)PQnfields(res);
    struct store_value *cells = NULL;
    if (count && cols)
        cells = arena_alloc(a, count * cols * sizeof(*cells));
    for (size_t r = 0; r < count; r++)
        for (size_t k = 0; k < cols; k++)
            pg_cell(res, (int)r, (int)k, a, &cells[r * cols + k]);
    rows->count = count;
    rows->cols = cols;
    rows->cells = cells;
}

static int pg_exec(void *handle, struct arena *a, const char *sql, const struct store_value *params,
                   size_t n, struct store_rows *rows, int64_t *changes, struct usher_error *err)
{
    struct pg_conn *c = handle;
    PGresult *res = NULL;
    struct pg_params p;
    bool guard = false;
    int rc = pg_params_make(&p, sql, params, n, err);
    if (rc)
        return rc;
    rc = pg_ready(c, err);
    if (rc)
        goto done;
    /* In a transaction, a failed statement must not abort the whole transaction (SQLite undoes
     * only the statement, and callers carry on after a conflict), so each change runs under a
     * savepoint. */
    guard = PQtransactionStatus(c->db) == PQTRANS_INTRANS && !pg_is_query(sql);
    if (guard) {
        rc = pg_script(c,
                       c->savepoint ? "RELEASE SAVEPOINT usher_stmt; SAVEPOINT usher_stmt"
                                    : "SAVEPOINT usher_stmt",
                       err);
        if (rc)
            goto done;
        c->savepoint = true;
    }
    const char *name = NULL;
    rc = pg_prepare(c, sql, p.types, n, &name, err);
    if (rc == 0)
        res = name ? PQexecPrepared(c->db, name, (int)n, p.values, NULL, NULL, 0)
                   : PQexecParams(c->db, sql, (int)n, p.types, p.values, NULL, NULL, 0);
    ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (rc || (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)) {
        if (rc == 0)
            rc = pg_error(c, res, err);
        if (guard && PQstatus(c->db) == CONNECTION_OK)
            pg_script(c, "ROLLBACK TO SAVEPOINT usher_stmt", NULL);
        goto done;
    }
    if (changes) {
        const char *t = PQcmdTuples(res);
        *changes = *t ? strtoll(t, NULL, 10) : 0;
    }
    if (rows)
        pg_rows_read(rows, res, a);
done:
    PQclear(res);
    pg_params_dispose(&p);
    return rc;
}

/* Hands the page being filled to q->each and starts the next one. */
static int pg_page_hand(const struct store_pages *q, struct arena *a, struct store_value **cells,
                        size_t *count, size_t cols, struct usher_error *err)
{
    struct store_rows page = {.count = *count, .cols = cols, .cells = *cells};
    int rc = q->each(q->ctx, &page, err);
    arena_reset(a);
    *cells = NULL;
    *count = 0;
    return rc;
}

/* One plain query whose rows are read in libpq's single-row mode: the server sends them as fast
 * as usher takes them in (the socket's buffers between the two), where a cursor costs the
 * server a third more CPU for the same rows and a round trip per page. Each row is copied into
 * the page's arena as it arrives. When each stops the reading, the rest of the rows are still
 * read and dropped, which keeps the transaction usable (cancelling would abort it). */
static int pg_exec_pages(void *handle, const struct store_pages *q, struct usher_error *err)
{
    struct pg_conn *c = handle;
    struct pg_params p;
    struct arena a;
    arena_init(&a);
    struct store_value *cells = NULL;
    size_t count = 0, cols = 0;
    int rc = pg_params_make(&p, q->sql, q->params, q->n, err);
    if (rc)
        goto done;
    if (PQstatus(c->db) != CONNECTION_OK || PQtransactionStatus(c->db) != PQTRANS_INTRANS ||
        PQsendQueryParams(c->db, q->sql, (int)q->n, p.types, p.values, NULL, NULL, 0) != 1) {
        rc = pg_error(c, NULL, err);
        goto done;
    }
    if (PQsetSingleRowMode(c->db) != 1)
        rc = pg_error(c, NULL, err);
    PGresult *res;
    while ((res = PQgetResult(c->db)) != NULL) {
        ExecStatusType st = PQresultStatus(res);
        if (rc == 0 && st == PGRES_SINGLE_TUPLE) {
            if (!cells) {
                cols = (size_t)PQnfields(res);
                cells = arena_alloc(&a, q->page_rows * (cols ? cols : 1) * sizeof(*cells));
            }
            for (size_t k = 0; k < cols; k++)
                pg_cell(res, 0, (int)k, &a, &cells[count * cols + k]);
            if (++count == q->page_rows)
                rc = pg_page_hand(q, &a, &cells, &count, cols, err);
        } else if (rc == 0 && st != PGRES_TUPLES_OK && st != PGRES_SINGLE_TUPLE) {
            rc = pg_error(c, res, err);
        }
        PQclear(res);
    }
    if (rc == 0 && count > 0)
        rc = pg_page_hand(q, &a, &cells, &count, cols, err);
done:
    arena_dispose(&a);
    pg_params_dispose(&p);
    return rc;
}

static int pg_exec_script(void *handle, const char *sql, struct usher_error *err)
{
    struct pg_conn *c = handle;
    int rc = pg_ready(c, err);
    if (rc)
        return rc;
    return pg_script(c, sql, err);
}

const struct store_driver store_pg_driver = {
    .dialect = "postgres",
    .connect = pg_connect,
    .disconnect = pg_disconnect,
    .begin = pg_begin,
    .commit = pg_commit,
    .rollback = pg_rollback,
    .exec = pg_exec,
    .exec_pages = pg_exec_pages,
    .exec_script = pg_exec_script,
};
