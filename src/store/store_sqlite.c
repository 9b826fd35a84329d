/* The SQLite driver: one sqlite3 handle per pooled connection, WAL with synchronous=FULL,
 * foreign keys on, a busy timeout, and a small per-connection cache of prepared statements. */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/log.h"
#include "store/store_int.h"

#define SQLITE_STMT_CACHE      96
#define SQLITE_BUSY_TIMEOUT_MS 5000

struct sqlite_stmt_slot {
    const char *sql; /* the caller's static text, compared by address first */
    sqlite3_stmt *stmt;
};

struct sqlite_conn {
    sqlite3 *db;
    struct sqlite_stmt_slot cache[SQLITE_STMT_CACHE];
    size_t cached;
};

static int sqlite_error(sqlite3 *db, int rc, struct usher_error *err)
{
    int ext = db ? sqlite3_extended_errcode(db) : rc;
    const char *msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    switch (rc & 0xff) {
    case SQLITE_CONSTRAINT:
        /* Unique and foreign keys are conflicts with stored state; NOT NULL and CHECK
         * violations are the caller's bug. */
        if (ext == SQLITE_CONSTRAINT_UNIQUE || ext == SQLITE_CONSTRAINT_PRIMARYKEY ||
            ext == SQLITE_CONSTRAINT_FOREIGNKEY || ext == SQLITE_CONSTRAINT_TRIGGER)
            return usher_error_set(err, USHER_ECONFLICT, NULL, NULL, "constraint violated (%d)",
                                   ext);
        log_msg(LOG_ERROR, "store.sqlite_error", "{s:i, s:s}", "code", ext, "message", msg);
        return usher_error_set(err, USHER_EINTERNAL, NULL, NULL, "database error");
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return usher_error_set(err, USHER_EUNAVAIL, NULL, NULL, "database busy");
    case SQLITE_FULL:
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
        log_msg(LOG_ERROR, "store.sqlite_error", "{s:i, s:s}", "code", ext, "message", msg);
        return usher_error_set(err, USHER_EUNAVAIL, NULL, NULL, "database unavailable");
    default:
        log_msg(LOG_ERROR, "store.sqlite_error", "{s:i, s:s}", "code", ext, "message", msg);
        return usher_error_set(err, USHER_EINTERNAL, NULL, NULL, "database error");
    }
}

static int sqlite_script(sqlite3 *db, const char *sql, struct usher_error *err)
{
    char *msg = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK) {
        if (msg)
            log_msg(LOG_ERROR, "store.sqlite_script", "{s:s}", "message", msg);
        sqlite3_free(msg);
        return sqlite_error(db, rc, err);
    }
    return 0;
}

static int sqlite_connect(void **out, const char *url, struct usher_error *err)
{
    const char *path = url + strlen("sqlite:");
    sqlite3 *db = NULL;
    int rc = sqlite3_open_v2(
        path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        int code = usher_error_set(err, USHER_EUNAVAIL, NULL, "database_url",
                                   "cannot open database %s: %s", path,
                                   db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
        sqlite3_close(db);
        return code;
    }
    sqlite3_busy_timeout(db, SQLITE_BUSY_TIMEOUT_MS);
    rc = sqlite_script(db,
                       "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; "
                       "PRAGMA foreign_keys=ON; PRAGMA temp_store=MEMORY;",
                       err);
    if (rc) {
        sqlite3_close(db);
        return rc;
    }
    chmod(path, 0600);
    struct sqlite_conn *c = xcalloc(1, sizeof(*c));
    c->db = db;
    *out = c;
    return 0;
}

static void sqlite_disconnect(void *handle)
{
    struct sqlite_conn *c = handle;
    if (!c)
        return;
    for (size_t i = 0; i < c->cached; i++)
        sqlite3_finalize(c->cache[i].stmt);
    sqlite3_close(c->db);
    free(c);
}

static int sqlite_begin(void *handle, bool write, struct usher_error *err)
{
    struct sqlite_conn *c = handle;
    return sqlite_script(c->db, write ? "BEGIN IMMEDIATE" : "BEGIN", err);
}

static int sqlite_commit(void *handle, struct usher_error *err)
{
    struct sqlite_conn *c = handle;
    return sqlite_script(c->db, "COMMIT", err);
}

static void sqlite_rollback(void *handle)
{
    struct sqlite_conn *c = handle;
    if (!sqlite3_get_autocommit(c->db))
        sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
}

static int sqlite_prepare(struct sqlite_conn *c, const char *sql, sqlite3_stmt **out, bool *cached,
                          struct usher_error *err)
{
    for (size_t i = 0; i < c->cached; i++) {
        if (c->cache[i].sql == sql && strcmp(sqlite3_sql(c->cache[i].stmt), sql) == 0) {
            *out = c->cache[i].stmt;
            *cached = true;
            return 0;
        }
    }
    int rc = sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT, out, NULL);
    if (rc != SQLITE_OK)
        return sqlite_error(c->db, rc, err);
    *cached = false;
    if (c->cached < SQLITE_STMT_CACHE) {
        c->cache[c->cached].sql = sql;
        c->cache[c->cached].stmt = *out;
        c->cached++;
        *cached = true;
    }
    return 0;
}

/* Binds every placeholder of stmt. Only $1..$n are portable and given, so any other
 * placeholder (?, :name, $0, $n+1) is a bug in the caller's SQL and is refused rather than
 * silently bound to NULL. Parameters the statement does not use are fine. */
static int sqlite_bind(sqlite3_stmt *stmt, const struct store_value *params, size_t n,
                       struct usher_error *err)
{
    int count = sqlite3_bind_parameter_count(stmt);
    for (int idx = 1; idx <= count; idx++) {
        const char *name = sqlite3_bind_parameter_name(stmt, idx);
        char *end = NULL;
        unsigned long k = 0;
        if (name && name[0] == '$' && name[1] >= '1' && name[1] <= '9')
            k = strtoul(name + 1, &end, 10);
        if (k == 0 || *end || k > n) {
            log_msg(LOG_ERROR, "store.bad_parameter", "{s:s, s:s, s:i}", "sql", sqlite3_sql(stmt),
                    "parameter", name ? name : "?", "given", (int)n);
            return usher_error_set(err, USHER_EINTERNAL, NULL, NULL,
                                   "statement parameter %s has no value", name ? name : "?");
        }
        const struct store_value *v = &params[k - 1];
        int rc;
        switch (v->type) {
        case STORE_INT:
            rc = sqlite3_bind_int64(stmt, idx, v->i);
            break;
        case STORE_TEXT:
            rc = sqlite3_bind_text(stmt, idx, v->s, -1, SQLITE_STATIC);
            break;
        default:
            rc = sqlite3_bind_null(stmt, idx);
            break;
        }
        if (rc != SQLITE_OK)
            return sqlite_error(sqlite3_db_handle(stmt), rc, err);
    }
    return 0;
}

/* Copies the current row of stmt (cols columns) into cells, strings into a. */
static void sqlite_row_read(struct store_value *cells, sqlite3_stmt *stmt, size_t cols,
                            struct arena *a)
{
    for (size_t k = 0; k < cols; k++) {
        struct store_value *v = &cells[k];
        switch (sqlite3_column_type(stmt, (int)k)) {
        case SQLITE_INTEGER:
            v->type = STORE_INT;
            v->i = sqlite3_column_int64(stmt, (int)k);
            break;
        case SQLITE_NULL:
            v->type = STORE_NULL;
            break;
        default: {
            const unsigned char *t = sqlite3_column_text(stmt, (int)k);
            int len = sqlite3_column_bytes(stmt, (int)k);
            v->type = STORE_TEXT;
            v->s = arena_strndup(a, (const char *)t, (size_t)len);
            break;
        }
        }
    }
}

static int sqlite_exec(void *handle, struct arena *a, const char *sql,
                       const struct store_value *params, size_t n, struct store_rows *rows,
                       int64_t *changes, struct usher_error *err)
{
    struct sqlite_conn *c = handle;
    sqlite3_stmt *stmt = NULL;
    bool cached = false;
    int rc = sqlite_prepare(c, sql, &stmt, &cached, err);
    if (rc)
        return rc;
    int result = sqlite_bind(stmt, params, n, err);
    int src = result == 0 ? SQLITE_OK : SQLITE_MISUSE;
    size_t cols = (size_t)sqlite3_column_count(stmt);
    size_t cap = 0, count = 0;
    struct store_value *cells = NULL;
    while (src == SQLITE_OK || src == SQLITE_ROW) {
        src = sqlite3_step(stmt);
        if (src != SQLITE_ROW)
            break;
        if (!rows)
            continue;
        if (count == cap) {
            size_t ncap = cap ? cap * 2 : 8;
            struct store_value *grown = arena_alloc(a, ncap * cols * sizeof(*grown));
            if (cells)
                memcpy(grown, cells, count * cols * sizeof(*grown));
            cells = grown;
            cap = ncap;
        }
        sqlite_row_read(&cells[count * cols], stmt, cols, a);
        count++;
    }
    if (result == 0 && src != SQLITE_DONE)
        result = sqlite_error(c->db, src, err);
    else if (changes)
        *changes = sqlite3_changes64(c->db);
    if (rows && result == 0) {
        rows->count = count;
        rows->cols = cols;
        rows->cells = cells;
    }
    if (cached) {
        sqlite3_reset(stmt);
        sqlite3_clear_bindings(stmt);
    } else {
        sqlite3_finalize(stmt);
    }
    return result;
}

/* One statement stepped to the end; a page is handed over each time page_rows rows are read,
 * and its memory reused for the next. */
static int sqlite_exec_pages(void *handle, const struct store_pages *q, struct usher_error *err)
{
    struct sqlite_conn *c = handle;
    sqlite3_stmt *stmt = NULL;
    bool cached = false;
    struct arena a;
    arena_init(&a);
    int rc = sqlite_prepare(c, q->sql, &stmt, &cached, err);
    if (rc)
        goto done;
    rc = sqlite_bind(stmt, q->params, q->n, err);
    size_t cols = (size_t)sqlite3_column_count(stmt);
    struct store_value *cells = NULL;
    size_t count = 0;
    while (rc == 0) {
        if (!cells)
            cells = arena_alloc(&a, q->page_rows * (cols ? cols : 1) * sizeof(*cells));
        int src = sqlite3_step(stmt);
        if (src == SQLITE_ROW) {
            sqlite_row_read(&cells[count * cols], stmt, cols, &a);
            if (++count < q->page_rows)
                continue;
        } else if (src != SQLITE_DONE) {
            rc = sqlite_error(c->db, src, err);
            break;
        }
        if (count > 0) {
            struct store_rows page = {.count = count, .cols = cols, .cells = cells};
            rc = q->each(q->ctx, &page, err);
        }
        arena_reset(&a);
        cells = NULL;
        count = 0;
        if (src == SQLITE_DONE)
            break;
    }
done:
    if (stmt && cached) {
        sqlite3_reset(stmt);
        sqlite3_clear_bindings(stmt);
    } else if (stmt) {
        sqlite3_finalize(stmt);
    }
    arena_dispose(&a);
    return rc;
}

static int sqlite_exec_script(void *handle, const char *sql, struct usher_error *err)
{
    struct sqlite_conn *c = handle;
    return sqlite_script(c->db, sql, err);
}

/* Reads the one-word answer of a PRAGMA (journal_mode, quick_check) into out. */
static int sqlite_pragma_word(char *out, size_t cap, sqlite3 *db, const char *sql,
                              struct usher_error *err)
{
    sqlite3_stmt *stmt = NULL;
    out[0] = '\0';
    int rc = sqlite3_prepare_v2(db, sql, -1, &stmt, NULL);
    if (rc == SQLITE_OK && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        const unsigned char *t = sqlite3_column_text(stmt, 0);
        snprintf(out, cap, "%s", t ? (const char *)t : "");
        rc = SQLITE_OK;
    }
    int result = rc == SQLITE_OK || rc == SQLITE_DONE ? 0 : sqlite_error(db, rc, err);
    sqlite3_finalize(stmt);
    return result;
}

/* The online backup API in a single step: the whole copy is read under one read lock, so it
 * is one consistent snapshot, and writers on other connections never make it start over
 * (they would between smaller steps). In WAL mode the writers are not held up meanwhile. The
 * copy is written through a rollback journal, so it is whole in its one file, with no -wal
 * file to keep beside it; its header keeps the source's WAL mode, which usher uses anyway. */
static int sqlite_backup(void *handle, const char *path, struct usher_error *err)
{
    struct sqlite_conn *c = handle;
    sqlite3 *dest = NULL;
    char word[64];
    int result = 0;
    int rc = sqlite3_open_v2(path, &dest, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        result = usher_error_set(err, USHER_EUNAVAIL, NULL, NULL, "cannot open %s: %s", path,
                                 dest ? sqlite3_errmsg(dest) : sqlite3_errstr(rc));
        goto done;
    }
    sqlite3_busy_timeout(dest, SQLITE_BUSY_TIMEOUT_MS);
    sqlite3_backup *b = sqlite3_backup_init(dest, "main", c->db, "main");
    if (!b) {
        result = sqlite_error(dest, sqlite3_errcode(dest), err);
        goto done;
    }
    rc = sqlite3_backup_step(b, -1);
    int finish = sqlite3_backup_finish(b);
    if (rc != SQLITE_DONE) {
        result = sqlite_error(dest, rc, err);
        goto done;
    }
    if (finish != SQLITE_OK) {
        result = sqlite_error(dest, finish, err);
        goto done;
    }
    result = sqlite_pragma_word(word, sizeof(word), dest, "PRAGMA quick_check", err);
    if (result == 0 && strcmp(word, "ok") != 0)
        result = usher_error_set(err, USHER_EINTERNAL, NULL, NULL,
                                 "the copy failed its integrity check: %s", word);
done:
    if (dest && sqlite3_close(dest) != SQLITE_OK && result == 0)
        result = usher_error_set(err, USHER_EUNAVAIL, NULL, NULL, "cannot close %s", path);
    return result;
}

const struct store_driver store_sqlite_driver = {
    .dialect = "sqlite",
    .connect = sqlite_connect,
    .disconnect = sqlite_disconnect,
    .begin = sqlite_begin,
    .commit = sqlite_commit,
    .rollback = sqlite_rollback,
    .exec = sqlite_exec,
    .exec_pages = sqlite_exec_pages,
    .exec_script = sqlite_exec_script,
    .columns_sql = "SELECT m.name, p.name, p.pk FROM sqlite_master m, pragma_table_info(m.name) p"
                   " WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite!_%' ESCAPE '!'"
                   " ORDER BY m.name, p.cid",
    .parents_sql = "SELECT DISTINCT m.name, f.\"table\""
                   " FROM sqlite_master m, pragma_foreign_key_list(m.name) f"
                   " WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite!_%' ESCAPE '!'"
                   " ORDER BY 1, 2",
    .sequences_sql = NULL,
    .backup = sqlite_backup,
};
