/* The PostgreSQL driver on libpq: one PGconn per pooled connection, text parameters through
 * PQexecParams, rows typed by column OID, SQLSTATEs mapped to usher's codes, and writers
 * serialised by a transaction-scoped advisory lock (see docs/internals/store.md). */
#include <errno.h>
#include <libpq-fe.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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
    bool writing;   /* the current transaction is a write transaction */
    /* "NOTIFY ..., '<origin>'; COMMIT" for write transactions (pg_origin_set); a listener
     * keeps the origin whose notices it skips */
    char commit_notify[96];
    char origin[STORE_ORIGIN_MAX + 1];
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

/* Forgets the prepared statement called name, on the server too when the transaction can
 * still run commands (in an aborted one it stays until the connection ends: names are never
 * reused). */
static void pg_cache_forget(struct pg_conn *c, const char *name)
{
    for (size_t i = 0; i < c->cached; i++) {
        struct pg_stmt_slot *slot = &c->cache[i];
        if (strcmp(slot->name, name) != 0)
            continue;
        if (PQtransactionStatus(c->db) != PQTRANS_INERROR) {
            char sql[32];
            snprintf(sql, sizeof(sql), "DEALLOCATE %s", slot->name);
            PQclear(PQexec(c->db, sql));
        }
        free(slot->text);
        free(slot->types);
        c->cache[i] = c->cache[--c->cached];
        return;
    }
}

/* True when res, the failure of a statement prepared by an earlier call, failed because it was
 * planned for a schema that has changed since: a migration altered the type or collation of a
 * column it returns. PostgreSQL re-plans such statements by itself except when their result
 * columns change, and then refuses to run them (SQLSTATE 0A000, "cached plan must not change
 * result type"); a statement prepared just now cannot be stale. */
static bool pg_plan_is_stale(const PGresult *res)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    return state && strcmp(state, "0A000") == 0;
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

/* Opens a connection and runs setup on it. TCP keepalives are on, so that a server or a
 * network that vanished without closing the connection is noticed within about 15 s rather
 * than the system's two hours. */
static int pg_open(struct pg_conn **out, const char *url, const char *setup,
                   struct usher_error *err)
{
    const char *const keys[] = {
        "dbname", "keepalives", "keepalives_idle", "keepalives_interval", "keepalives_count", NULL};
    const char *const values[] = {url, "1", "5", "2", "3", NULL};
    PGconn *db = PQconnectdbParams(keys, values, 1);
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
    int rc = pg_script(c, setup, err);
    if (rc) {
        PQfinish(db);
        free(c);
        return rc;
    }
    *out = c;
    return 0;
}

static int pg_connect(void **out, const char *url, struct usher_error *err)
{
    /* A writer waits as long for the write lock as a SQLite writer waits while busy. */
    struct pg_conn *c = NULL;
    int rc = pg_open(&c, url, "SET lock_timeout = '5s'; SET client_min_messages = warning", err);
    if (rc)
        return rc;
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
    c->writing = write;
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

/* The channel every write transaction notifies as it commits (see pg_listen_open). */
#define PG_CHANNEL "usher_changes"

/* Each notice carries the origin of the store that committed (a random id per store), so a
 * store's listener skips the notices of its own commits: the writer has already applied
 * them. */
static void pg_origin_set(void *handle, const char *origin)
{
    struct pg_conn *c = handle;
    snprintf(c->origin, sizeof(c->origin), "%s", origin);
    snprintf(c->commit_notify, sizeof(c->commit_notify), "NOTIFY " PG_CHANNEL ", '%s'; COMMIT",
             c->origin);
}

static int pg_commit(void *handle, struct usher_error *err)
{
    struct pg_conn *c = handle;
    /* A write tells every listener, in the same round trip as its COMMIT; the notice is
     * delivered only if the transaction commits. A transaction an earlier error aborted only
     * rolls back, and is reported below. */
    bool notify =
        c->writing && c->commit_notify[0] && PQtransactionStatus(c->db) == PQTRANS_INTRANS;
    PGresult *res = PQexec(c->db, notify ? c->commit_notify : "COMMIT");
    int rc = 0;
    if (!res || PQresultStatus(res) != PGRES_COMMAND_OK)
        rc = pg_error(c, res, err);
    else if (strcmp(PQcmdStatus(res), "ROLLBACK") == 0)
        /* COMMIT of a transaction an earlier statement aborted only rolls it back. */
        rc = usher_error_set(err, USHER_EINTERNAL, NULL, NULL,
                             "transaction was aborted by an earlier error");
    PQclear(res);
    c->savepoint = false;
    c->writing = false;
    return rc;
}

static void pg_rollback(void *handle)
{
    struct pg_conn *c = handle;
    c->savepoint = false;
    c->writing = false;
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
 * or NULL when the cache is full and the statement is to run unprepared; *cached tells whether
 * it was prepared by an earlier call. */
static int pg_prepare(struct pg_conn *c, const char *sql, const Oid *types, size_t n,
                      const char **name, bool *cached, struct usher_error *err)
{
    *name = NULL;
    *cached = false;
    for (size_t i = 0; i < c->cached; i++) {
        struct pg_stmt_slot *slot = &c->cache[i];
        if (slot->sql == sql && slot->n == n && strcmp(slot->text, sql) == 0 &&
            (n == 0 || memcmp(slot->types, types, n * sizeof(*types)) == 0)) {
            *name = slot->name;
            *cached = true;
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
    bool cached = false;
    ExecStatusType st = PGRES_FATAL_ERROR;
    for (int attempt = 0;; attempt++) {
        rc = pg_prepare(c, sql, p.types, n, &name, &cached, err);
        if (rc == 0)
            res = name ? PQexecPrepared(c->db, name, (int)n, p.values, NULL, NULL, 0)
                       : PQexecParams(c->db, sql, (int)n, p.types, p.values, NULL, NULL, 0);
        st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
        if (rc || st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK || !cached ||
            !pg_plan_is_stale(res))
            break;
        /* The statement was prepared before a schema change (this instance's migration on
         * another connection, or another instance's): prepare it again. It runs again at once
         * unless its failure aborted the transaction, which the caller then sees end as busy. */
        pg_cache_forget(c, name);
        if (attempt > 0 || (!guard && PQtransactionStatus(c->db) != PQTRANS_IDLE)) {
            log_msg(LOG_WARN, "store.pg_stale_plan", "{s:s}", "sql", sql);
            rc = usher_error_set(err, USHER_EUNAVAIL, NULL, NULL,
                                 "the database schema changed during the transaction");
            goto done;
        }
        if (guard)
            pg_script(c, "ROLLBACK TO SAVEPOINT usher_stmt", NULL);
        PQclear(res);
        res = NULL;
    }
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
    rc = pg_script(c, sql, err);
    /* A script is a migration and may change the schema under this connection's prepared
     * statements; a SELECT among them would then fail inside the next transaction. */
    pg_cache_clear(c);
    PQclear(PQexec(c->db, "DEALLOCATE ALL"));
    return rc;
}

/* --- change notices --- */

/* A listener is a plain connection that has run LISTEN, named usher_listener in
 * pg_stat_activity. */
static int pg_listen_open(void **out, const char *url, const char *origin, struct usher_error *err)
{
    struct pg_conn *c = NULL;
    int rc = pg_open(&c, url, "SET application_name = 'usher_listener'; LISTEN " PG_CHANNEL, err);
    if (rc)
        return rc;
    snprintf(c->origin, sizeof(c->origin), "%s", origin);
    *out = c;
    return 0;
}

/* Takes every notice that has arrived, noting in *changed those of other stores; false when
 * the connection is lost. */
static bool pg_listen_drain(struct pg_conn *c, bool *changed)
{
    if (!PQconsumeInput(c->db) || PQstatus(c->db) != CONNECTION_OK)
        return false;
    PGnotify *n;
    while ((n = PQnotifies(c->db)) != NULL) {
        if (!n->extra || strcmp(n->extra, c->origin) != 0)
            *changed = true;
        PQfreemem(n);
    }
    return true;
}

static int pg_listen_wait(void *handle, int timeout_ms, bool *changed, struct usher_error *err)
{
    struct pg_conn *c = handle;
    int fd = PQsocket(c->db);
    if (fd < 0 || !pg_listen_drain(c, changed))
        goto lost;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    int64_t until = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000 + timeout_ms;
    /* Notices of the store's own commits wake the poll but end no wait. */
    while (!*changed) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        int64_t left = until - ((int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000);
        if (left <= 0)
            break;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int n = poll(&p, 1, (int)left);
        if (n < 0 && errno != EINTR)
            goto lost;
        if (n > 0 && !pg_listen_drain(c, changed))
            goto lost;
    }
    return 0;
lost:
    log_msg(LOG_WARN, "store.pg_listen_lost", "{s:s}", "message", PQerrorMessage(c->db));
    return usher_error_set(err, USHER_EUNAVAIL, NULL, NULL, "change notices lost");
}

static void pg_listen_close(void *handle)
{
    pg_disconnect(handle);
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
    .origin_set = pg_origin_set,
    .listen_open = pg_listen_open,
    .listen_wait = pg_listen_wait,
    .listen_close = pg_listen_close,
    .columns_sql = "SELECT c.relname, a.attname, coalesce(array_position(k.conkey, a.attnum), 0)"
                   " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                   " JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0"
                   " AND NOT a.attisdropped"
                   " LEFT JOIN pg_constraint k ON k.conrelid = c.oid AND k.contype = 'p'"
                   " WHERE n.nspname = current_schema() AND c.relkind = 'r'"
                   " ORDER BY c.relname, a.attnum",
    .parents_sql = "SELECT DISTINCT c.relname, p.relname FROM pg_constraint k"
                   " JOIN pg_class c ON c.oid = k.conrelid JOIN pg_class p ON p.oid = k.confrelid"
                   " JOIN pg_namespace n ON n.oid = c.relnamespace"
                   " WHERE k.contype = 'f' AND n.nspname = current_schema() ORDER BY 1, 2",
    /* Serial and identity columns: the next id is one past the largest copied (1 when the
     * table is empty). */
    .sequences_sql =
        "DO $body$ DECLARE r record; top bigint; BEGIN"
        " FOR r IN SELECT c.relname AS tab, a.attname AS col,"
        " pg_get_serial_sequence(format('%I.%I', n.nspname, c.relname), a.attname) AS seq"
        " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped"
        " WHERE n.nspname = current_schema() AND c.relkind = 'r' LOOP"
        " CONTINUE WHEN r.seq IS NULL;"
        " EXECUTE format('SELECT max(%I) FROM %I', r.col, r.tab) INTO top;"
        " IF top IS NULL THEN PERFORM setval(r.seq, 1, false);"
        " ELSE PERFORM setval(r.seq, top, true); END IF;"
        " END LOOP; END $body$",
    .backup = NULL,
};
