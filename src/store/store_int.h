/* What the store's own files share: the driver interface and the connection wrapper. */
#ifndef USHER_STORE_STORE_INT_H
#define USHER_STORE_STORE_INT_H

#include "store/store.h"

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
};

extern const struct store_driver store_sqlite_driver;
extern const struct store_driver store_pg_driver;

struct store_conn {
    struct store *store;
    void *handle;
    bool in_tx;
    struct store_conn *next_free;
};

#endif
