/* What the store's own files share: the driver interface and the connection wrapper. */
#ifndef USHER_STORE_STORE_INT_H
#define USHER_STORE_STORE_INT_H

#include "store/store.h"

/* The length of a store's origin: hex digits of a random id, the payload of its notices. */
#define STORE_ORIGIN_MAX 16

/* A database backend. Every function reports failures through err with the codes listed in
 * store.h. */
struct store_driver {
    const char *dialect;
    int (*connect)(void **out, const char *url, struct usher_error *err);
    void (*disconnect)(void *handle);
    int (*begin)(void *handle, bool write, struct usher_error *err);
    int (*commit)(void *handle, struct usher_error *err);
    void (*rollback)(void *handle);
    int (*exec)(void *handle, struct arena *a, const char *sql, const struct store_value *params,
                size_t n, struct store_rows *rows, int64_t *changes, struct usher_error *err);
    /* Runs a query inside the open transaction, handing its rows over a page at a time
     * (store_exec_pages). */
    int (*exec_pages)(void *handle, const struct store_pages *q, struct usher_error *err);
    /* Runs a script of several statements without parameters (migrations). */
    int (*exec_script)(void *handle, const char *sql, struct usher_error *err);
    /* Change notices (NULL when the database has none, as SQLite). origin_set gives a pooled
     * connection its store's origin, which its commits' notices carry; a listener, a
     * connection of its own, hears every write transaction other stores commit. */
    void (*origin_set)(void *handle, const char *origin);
    int (*listen_open)(void **out, const char *url, const char *origin, struct usher_error *err);
    int (*listen_wait)(void *handle, int timeout_ms, bool *changed, struct usher_error *err);
    void (*listen_close)(void *handle);
    /* What store_copy reads the schema with. columns_sql answers (table, column, the column's
     * place in the primary key or 0) for every table, columns in table order; parents_sql
     * answers (table, table its foreign key refers to). */
    const char *columns_sql;
    const char *parents_sql;
    /* A script that moves every sequence past the largest value of its column; NULL when the
     * dialect takes new ids from the table itself. */
    const char *sequences_sql;
    /* Copies the database into the file at path (an online backup); NULL when the dialect
     * has none. */
    int (*backup)(void *handle, const char *path, struct usher_error *err);
};

extern const struct store_driver store_sqlite_driver;
extern const struct store_driver store_pg_driver;

struct store_conn {
    struct store *store;
    void *handle;
    bool in_tx;
    struct store_conn *next_free;
};

/* The driver of c's store. */
const struct store_driver *store_conn_driver(const struct store_conn *c);

#endif
