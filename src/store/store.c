/* The connection pool, driver selection, transactions and the migration runner. */
#include "store/store.h"

#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/log.h"
#include "store/migrations.h"
#include "store/store_fault.h"
#include "store/store_int.h"

struct store {
    const struct store_driver *driver;
    char *url;
    char origin[STORE_ORIGIN_MAX + 1]; /* this store's notices carry it (store_listener_open) */
    pthread_mutex_t lock;
    pthread_cond_t available;
    struct store_conn *free_list;
    struct store_conn *conns;
    int size;
};

static const struct store_driver *driver_for(const char *url)
{
    if (strncmp(url, "sqlite:", 7) == 0)
        return &store_sqlite_driver;
    if (strncmp(url, "postgres://", 11) == 0 || strncmp(url, "postgresql://", 13) == 0)
        return &store_pg_driver;
    return NULL;
}

int store_open(struct store **out, const char *url, const char *data_dir, int pool_size,
               struct usher_error *err)
{
    *out = NULL;
    char *full;
    if (!url || !*url) {
        size_t len = strlen(data_dir) + 32;
        full = xmalloc(len);
        snprintf(full, len, "sqlite:%s/usher.db", data_dir);
    } else {
        full = xstrdup(url);
    }
    const struct store_driver *driver = driver_for(full);
    if (!driver) {
        free(full);
        return usher_error_set(err, USHER_EINVAL, NULL, "database_url",
                               "no database driver for this URL is built into usher");
    }
    if (pool_size < 1)
        pool_size = 1;
    struct store *s = xcalloc(1, sizeof(*s));
    s->driver = driver;
    s->url = full;
    s->size = pool_size;
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->available, NULL);
    static const char hex[] = "0123456789abcdef";
    unsigned char raw[STORE_ORIGIN_MAX / 2];
    randombytes_buf(raw, sizeof(raw));
    for (size_t i = 0; i < sizeof(raw); i++) {
        s->origin[2 * i] = hex[raw[i] >> 4];
        s->origin[2 * i + 1] = hex[raw[i] & 15];
    }
    s->conns = xcalloc((size_t)pool_size, sizeof(struct store_conn));
    for (int i = 0; i < pool_size; i++) {
        struct store_conn *c = &s->conns[i];
        c->store = s;
        int rc = driver->connect(&c->handle, full, err);
        if (rc) {
            store_free(s);
            return rc;
        }
        if (driver->origin_set)
            driver->origin_set(c->handle, s->origin);
        c->next_free = s->free_list;
        s->free_list = c;
    }
    *out = s;
    return 0;
}

void store_free(struct store *s)
{
    if (!s)
        return;
    for (int i = 0; i < s->size; i++) {
        if (s->conns[i].handle)
            s->driver->disconnect(s->conns[i].handle);
    }
    free(s->conns);
    free(s->url);
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->available);
    free(s);
}

const struct store_driver *store_conn_driver(const struct store_conn *c)
{
    return c->store->driver;
}

const char *store_dialect(const struct store *s)
{
    return s->driver->dialect;
}

const char *store_conn_dialect(const struct store_conn *c)
{
    return c->store->driver->dialect;
}

int store_conn_get(struct store *s, struct store_conn **out, struct usher_error *err)
{
    (void)err;
    pthread_mutex_lock(&s->lock);
    while (!s->free_list)
        pthread_cond_wait(&s->available, &s->lock);
    struct store_conn *c = s->free_list;
    s->free_list = c->next_free;
    pthread_mutex_unlock(&s->lock);
    c->next_free = NULL;
    *out = c;
    return 0;
}

void store_conn_put(struct store_conn *c)
{
    if (!c)
        return;
    if (c->in_tx)
        store_rollback(c);
    struct store *s = c->store;
    pthread_mutex_lock(&s->lock);
    c->next_free = s->free_list;
    s->free_list = c;
    pthread_cond_signal(&s->available);
    pthread_mutex_unlock(&s->lock);
}

bool store_in_transaction(const struct store_conn *c)
{
    return c->in_tx;
}

int store_begin(struct store_conn *c, bool write, struct usher_error *err)
{
    USHER_ASSERT(!c->in_tx);
    int rc = store_fault_hit(STORE_FAULT_BEGIN, NULL, err);
    if (rc)
        return rc;
    rc = c->store->driver->begin(c->handle, write, err);
    if (rc == 0)
        c->in_tx = true;
    return rc;
}

int store_commit(struct store_conn *c, struct usher_error *err)
{
    USHER_ASSERT(c->in_tx);
    int rc = store_fault_hit(STORE_FAULT_COMMIT, NULL, err);
    if (rc == 0)
        rc = c->store->driver->commit(c->handle, err);
    if (rc)
        c->store->driver->rollback(c->handle);
    c->in_tx = false;
    return rc;
}

void store_rollback(struct store_conn *c)
{
    if (!c->in_tx)
        return;
    c->store->driver->rollback(c->handle);
    c->in_tx = false;
}

int store_exec(struct store_conn *c, struct arena *a, const char *sql,
               const struct store_value *params, size_t n, struct store_rows *rows,
               int64_t *changes, struct usher_error *err)
{
    if (rows)
        memset(rows, 0, sizeof(*rows));
    int rc = store_fault_hit(STORE_FAULT_EXEC, sql, err);
    if (rc)
        return rc;
    rc = c->store->driver->exec(c->handle, a, sql, params, n, rows, changes, err);
    if (rc == 0)
        store_fault_pause(sql);
    return rc;
}

int store_exec_pages(struct store_conn *c, const struct store_pages *q, struct usher_error *err)
{
    if (!c->in_tx || q->page_rows == 0)
        return usher_error_set(err, USHER_EINTERNAL, NULL, NULL,
                               "a paged query needs a transaction and a page size");
    int rc = store_fault_hit(STORE_FAULT_EXEC, q->sql, err);
    if (rc)
        return rc;
    return c->store->driver->exec_pages(c->handle, q, err);
}

int store_ping(struct store *s, struct usher_error *err)
{
    struct store_conn *c;
    int rc = store_conn_get(s, &c, err);
    if (rc)
        return rc;
    struct arena a;
    arena_init(&a);
    struct store_rows rows;
    rc = store_exec(c, &a, "SELECT COUNT(*) FROM schema_migrations", NULL, 0, &rows, NULL, err);
    arena_dispose(&a);
    store_conn_put(c);
    return rc;
}

/* The PostgreSQL advisory lock key the migration runner holds (distinct from the writers'). */
#define STORE_MIGRATE_LOCK "7587236154720002"

static const char migrations_table[] = "CREATE TABLE IF NOT EXISTS schema_migrations ("
                                       " name TEXT PRIMARY KEY, applied_at BIGINT NOT NULL)";

int store_migrate(struct store *s, int *applied, struct usher_error *err)
{
    return store_migrate_hooked(s, applied, NULL, err);
}

int store_migrate_hooked(struct store *s, int *applied, const struct store_migrate_hook *hook,
                         struct usher_error *err)
{
    if (applied)
        *applied = 0;
    struct store_conn *c;
    int rc = store_conn_get(s, &c, err);
    if (rc)
        return rc;
    struct arena a;
    arena_init(&a);
    /* On PostgreSQL several instances may start at once: a session lock makes one of them
     * migrate while the others wait, then find nothing left to apply. */
    bool locked = false;
    if (strcmp(s->driver->dialect, "postgres") == 0) {
        rc = store_exec(c, &a, "SELECT pg_advisory_lock(" STORE_MIGRATE_LOCK ")", NULL, 0, NULL,
                        NULL, err);
        locked = rc == 0;
    }
    if (rc == 0)
        rc = store_exec(c, &a, migrations_table, NULL, 0, NULL, NULL, err);
    for (const struct store_migration *m = store_migrations; rc == 0 && m->name; m++) {
        if (strcmp(m->dialect, s->driver->dialect) != 0)
            continue;
        rc = store_begin(c, true, err);
        if (rc)
            break;
        /* applied_at records when the runner applied the migration: its own clock is the
         * honest one (no answer here depends on the time, unlike reads of grants). */
        struct store_value p[2] = {store_text(m->name), store_int(clock_now_ms())};
        struct store_rows rows;
        rc = store_exec(c, &a, "SELECT name FROM schema_migrations WHERE name = $1", p, 1, &rows,
                        NULL, err);
        if (rc == 0 && rows.count == 0) {
            rc = s->driver->exec_script(c->handle, m->sql, err);
            if (rc == 0 && hook && hook->run)
                rc = hook->run(hook->ctx, c, m->name, err);
            if (rc == 0)
                rc = store_exec(c, &a,
                                "INSERT INTO schema_migrations (name, applied_at) VALUES ($1, $2)",
                                p, 2, NULL, NULL, err);
            if (rc == 0) {
                rc = store_commit(c, err);
                if (rc == 0) {
                    log_msg(LOG_INFO, "store.migrated", "{s:s, s:s}", "dialect", m->dialect,
                            "migration", m->name);
                    if (applied)
                        (*applied)++;
                }
                continue;
            }
        }
        store_rollback(c);
    }
    if (locked) {
        struct usher_error ignored = {0};
        store_exec(c, &a, "SELECT pg_advisory_unlock(" STORE_MIGRATE_LOCK ")", NULL, 0, NULL, NULL,
                   &ignored);
    }
    arena_dispose(&a);
    store_conn_put(c);
    return rc;
}

struct store_listener {
    const struct store_driver *driver;
    void *handle;
};

bool store_notifies(const struct store *s)
{
    return s->driver->listen_open != NULL;
}

int store_listener_open(struct store_listener **out, struct store *s, struct usher_error *err)
{
    if (!store_notifies(s))
        return usher_error_set(err, USHER_EINVAL, NULL, NULL, "%s sends no change notices",
                               s->driver->dialect);
    void *handle = NULL;
    int rc = s->driver->listen_open(&handle, s->url, s->origin, err);
    if (rc)
        return rc;
    struct store_listener *l = xcalloc(1, sizeof(*l));
    l->driver = s->driver;
    l->handle = handle;
    *out = l;
    return 0;
}

int store_listener_wait(struct store_listener *l, int timeout_ms, bool *changed,
                        struct usher_error *err)
{
    *changed = false;
    return l->driver->listen_wait(l->handle, timeout_ms, changed, err);
}

void store_listener_close(struct store_listener *l)
{
    if (!l)
        return;
    l->driver->listen_close(l->handle);
    free(l);
}
