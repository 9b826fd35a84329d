/* Copying a database table by table: the schema read through the driver's catalogue queries
 * and put in foreign-key order, rows moved in primary-key batches with SQL built from the
 * table's own columns, sequences, SQLite's online backup and the migrations check. */
#include "store/store_copy.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/migrations.h"
#include "store/store_int.h"

/* PostgreSQL takes at most 65535 parameters per statement; a batch stays well under. */
#define COPY_PARAMS_MAX 30000

/* A growing SQL text (heap-owned; freed with sql_buf_dispose). */
struct sql_buf {
    char *s;
    size_t len;
    size_t cap;
};

static void sql_buf_add(struct sql_buf *b, const char *text)
{
    size_t n = strlen(text);
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (b->len + n + 1 > cap)
            cap *= 2;
        b->s = xrealloc(b->s, cap);
        b->cap = cap;
    }
    memcpy(b->s + b->len, text, n + 1);
    b->len += n;
}

/* Appends name as a quoted identifier, doubling any quote in it. */
static void sql_buf_name(struct sql_buf *b, const char *name)
{
    sql_buf_add(b, "\"");
    for (const char *p = name; *p; p++) {
        char one[3] = {*p, *p == '"' ? '"' : '\0', '\0'};
        sql_buf_add(b, one);
    }
    sql_buf_add(b, "\"");
}

/* Appends the names, comma-separated. */
static void sql_buf_names(struct sql_buf *b, const char *const *names, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        if (i)
            sql_buf_add(b, ", ");
        sql_buf_name(b, names[i]);
    }
}

static void sql_buf_dispose(struct sql_buf *b)
{
    free(b->s);
    memset(b, 0, sizeof(*b));
}

/* Appends s to the arena array *items of *count entries (grown by doubling, cap in *cap). */
static void names_push(struct arena *a, const char ***items, size_t *count, size_t *cap,
                       const char *s)
{
    if (*count == *cap) {
        size_t ncap = *cap ? *cap * 2 : 8;
        const char **grown = arena_alloc(a, ncap * sizeof(*grown));
        if (*count)
            memcpy(grown, *items, *count * sizeof(*grown));
        *items = grown;
        *cap = ncap;
    }
    (*items)[(*count)++] = s;
}

const struct store_table *store_copy_table_find(const struct store_schema *s, const char *name)
{
    for (size_t i = 0; i < s->count; i++) {
        if (strcmp(s->tables[i].name, name) == 0)
            return &s->tables[i];
    }
    return NULL;
}

/* Builds the tables (in name order) from the driver's columns query. */
static int tables_from_columns(struct store_schema *out, const struct store_rows *rows,
                               struct arena *a, struct usher_error *err)
{
    out->tables = arena_alloc(a, (rows->count ? rows->count : 1) * sizeof(*out->tables));
    out->count = 0;
    size_t col_cap = 0;
    for (size_t r = 0; r < rows->count; r++) {
        const char *table = store_cell_text(rows, r, 0), *col = store_cell_text(rows, r, 1);
        int64_t key_pos = store_cell_int(rows, r, 2);
        if (!table || !col || key_pos < 0)
            return usher_error_set(err, USHER_EINTERNAL, NULL, NULL, "unreadable schema row");
        struct store_table *t = out->count ? &out->tables[out->count - 1] : NULL;
        if (!t || strcmp(t->name, table) != 0) {
            t = &out->tables[out->count++];
            memset(t, 0, sizeof(*t));
            t->name = table;
            col_cap = 0;
        }
        names_push(a, &t->cols, &t->col_count, &col_cap, col);
    }
    /* The key columns, in key order (the columns query gives each one's place in the key). */
    for (size_t i = 0; i < out->count; i++) {
        struct store_table *t = &out->tables[i];
        t->key = arena_alloc(a, (t->col_count ? t->col_count : 1) * sizeof(*t->key));
        for (size_t r = 0; r < rows->count; r++) {
            int64_t key_pos = store_cell_int(rows, r, 2);
            if (key_pos == 0 || strcmp(store_cell_text(rows, r, 0), t->name) != 0)
                continue;
            if ((size_t)key_pos > t->col_count)
                return usher_error_set(err, USHER_EINTERNAL, NULL, NULL,
                                       "unreadable primary key of table %s", t->name);
            t->key[key_pos - 1] = store_cell_text(rows, r, 1);
            if ((size_t)key_pos > t->key_count)
                t->key_count = (size_t)key_pos;
        }
        for (size_t k = 0; k < t->key_count; k++) {
            if (!t->key[k])
                return usher_error_set(err, USHER_EINTERNAL, NULL, NULL,
                                       "unreadable primary key of table %s", t->name);
        }
    }
    return 0;
}

/* Puts the tables in foreign-key order: repeatedly takes the first table (by name) whose
 * parents are all placed. */
static int tables_order(struct store_schema *s, struct arena *a, struct usher_error *err)
{
    struct store_table *sorted = arena_alloc(a, (s->count ? s->count : 1) * sizeof(*sorted));
    bool *placed = arena_alloc(a, (s->count ? s->count : 1) * sizeof(*placed));
    memset(placed, 0, (s->count ? s->count : 1) * sizeof(*placed));
    for (size_t n = 0; n < s->count; n++) {
        size_t pick = s->count;
        for (size_t i = 0; i < s->count && pick == s->count; i++) {
            if (placed[i])
                continue;
            bool ready = true;
            for (size_t p = 0; p < s->tables[i].parent_count && ready; p++) {
                for (size_t j = 0; j < s->count; j++) {
                    if (!placed[j] && strcmp(s->tables[j].name, s->tables[i].parents[p]) == 0)
                        ready = false;
                }
            }
            if (ready)
                pick = i;
        }
        if (pick == s->count)
            return usher_error_set(err, USHER_EINTERNAL, NULL, NULL,
                                   "the tables' foreign keys form a cycle");
        placed[pick] = true;
        sorted[n] = s->tables[pick];
    }
    s->tables = sorted;
    return 0;
}

int store_copy_tables(struct store_schema *out, struct store_conn *c, struct arena *a,
                      struct usher_error *err)
{
    memset(out, 0, sizeof(*out));
    const struct store_driver *d = store_conn_driver(c);
    struct store_rows cols, parents;
    int rc = store_exec(c, a, d->columns_sql, NULL, 0, &cols, NULL, err);
    if (rc)
        goto done;
    rc = store_exec(c, a, d->parents_sql, NULL, 0, &parents, NULL, err);
    if (rc)
        goto done;
    rc = tables_from_columns(out, &cols, a, err);
    if (rc)
        goto done;
    for (size_t r = 0; r < parents.count; r++) {
        const char *child = store_cell_text(&parents, r, 0);
        const char *parent = store_cell_text(&parents, r, 1);
        struct store_table *t =
            child ? (struct store_table *)store_copy_table_find(out, child) : NULL;
        if (!t || !parent || !store_copy_table_find(out, parent)) {
            rc = usher_error_set(err, USHER_EINTERNAL, NULL, NULL,
                                 "table %s refers to a table that does not exist",
                                 child ? child : "?");
            goto done;
        }
        if (strcmp(child, parent) == 0)
            continue;
        if (!t->parents)
            t->parents = arena_alloc(a, parents.count * sizeof(*t->parents));
        t->parents[t->parent_count++] = parent;
    }
    rc = tables_order(out, a, err);
done:
    return rc;
}

int store_copy_count(int64_t *out, struct store_conn *c, const struct store_table *t,
                     struct usher_error *err)
{
    *out = 0;
    struct sql_buf sql = {0};
    struct arena a;
    arena_init(&a);
    sql_buf_add(&sql, "SELECT COUNT(*) FROM ");
    sql_buf_name(&sql, t->name);
    struct store_rows rows;
    int rc = store_exec(c, &a, sql.s, NULL, 0, &rows, NULL, err);
    if (rc)
        goto done;
    if (rows.count != 1) {
        rc = usher_error_set(err, USHER_EINTERNAL, NULL, NULL, "no count of table %s", t->name);
        goto done;
    }
    *out = store_cell_int(&rows, 0, 0);
done:
    arena_dispose(&a);
    sql_buf_dispose(&sql);
    return rc;
}

int store_copy_clear(struct store_conn *c, const struct store_table *t, struct usher_error *err)
{
    struct sql_buf sql = {0};
    struct arena a;
    arena_init(&a);
    sql_buf_add(&sql, "DELETE FROM ");
    sql_buf_name(&sql, t->name);
    int rc = store_exec(c, &a, sql.s, NULL, 0, NULL, NULL, err);
    arena_dispose(&a);
    sql_buf_dispose(&sql);
    return rc;
}

/* SELECT <columns> FROM t [WHERE (<key>) > ($1, ...)] ORDER BY <key> LIMIT per. */
static void select_build(struct sql_buf *b, const struct store_table *t, bool after, size_t per)
{
    char num[32];
    sql_buf_add(b, "SELECT ");
    sql_buf_names(b, t->cols, t->col_count);
    sql_buf_add(b, " FROM ");
    sql_buf_name(b, t->name);
    if (after) {
        sql_buf_add(b, t->key_count > 1 ? " WHERE (" : " WHERE ");
        sql_buf_names(b, t->key, t->key_count);
        sql_buf_add(b, t->key_count > 1 ? ") > (" : " > ");
        for (size_t k = 0; k < t->key_count; k++) {
            snprintf(num, sizeof(num), "%s$%zu", k ? ", " : "", k + 1);
            sql_buf_add(b, num);
        }
        if (t->key_count > 1)
            sql_buf_add(b, ")");
    }
    sql_buf_add(b, " ORDER BY ");
    sql_buf_names(b, t->key, t->key_count);
    snprintf(num, sizeof(num), " LIMIT %zu", per);
    sql_buf_add(b, num);
}

/* INSERT INTO t (<columns>) VALUES ($1, ...), ... for count rows. */
static void insert_build(struct sql_buf *b, const struct store_table *t, size_t count)
{
    char num[32];
    sql_buf_add(b, "INSERT INTO ");
    sql_buf_name(b, t->name);
    sql_buf_add(b, " (");
    sql_buf_names(b, t->cols, t->col_count);
    sql_buf_add(b, ") VALUES ");
    size_t n = 0;
    for (size_t r = 0; r < count; r++) {
        sql_buf_add(b, r ? ", (" : "(");
        for (size_t k = 0; k < t->col_count; k++) {
            snprintf(num, sizeof(num), "%s$%zu", k ? ", " : "", ++n);
            sql_buf_add(b, num);
        }
        sql_buf_add(b, ")");
    }
}

/* The position of column name in t, or t->col_count. */
static size_t column_index(const struct store_table *t, const char *name)
{
    size_t i = 0;
    while (i < t->col_count && strcmp(t->cols[i], name) != 0)
        i++;
    return i;
}

int store_copy_rows(int64_t *out_copied, struct store_conn *from, struct store_conn *to,
                    const struct store_table *t, size_t batch, struct usher_error *err)
{
    *out_copied = 0;
    if (t->key_count == 0 || t->col_count == 0)
        return usher_error_set(err, USHER_EINTERNAL, NULL, NULL,
                               "table %s has no primary key to copy it by", t->name);
    size_t per = batch ? batch : 1;
    if (per * t->col_count > COPY_PARAMS_MAX)
        per = COPY_PARAMS_MAX / t->col_count ? COPY_PARAMS_MAX / t->col_count : 1;
    struct sql_buf first = {0}, next = {0}, insert = {0};
    struct arena rows_a, keys_a;
    arena_init(&rows_a);
    arena_init(&keys_a);
    struct store_value *keys = xcalloc(t->key_count, sizeof(*keys));
    size_t *key_at = xcalloc(t->key_count, sizeof(*key_at));
    int rc = 0;
    for (size_t k = 0; k < t->key_count; k++) {
        key_at[k] = column_index(t, t->key[k]);
        if (key_at[k] == t->col_count) {
            rc = usher_error_set(err, USHER_EINTERNAL, NULL, NULL,
                                 "key column %s of table %s is not among its columns", t->key[k],
                                 t->name);
            goto done;
        }
    }
    select_build(&first, t, false, per);
    select_build(&next, t, true, per);
    for (bool is_first = true;; is_first = false) {
        arena_reset(&rows_a);
        struct store_rows rows;
        rc = store_exec(from, &rows_a, is_first ? first.s : next.s, keys,
                        is_first ? 0 : t->key_count, &rows, NULL, err);
        if (rc || rows.count == 0)
            break;
        insert.len = 0;
        insert_build(&insert, t, rows.count);
        rc = store_exec(to, &rows_a, insert.s, rows.cells, rows.count * rows.cols, NULL, NULL, err);
        if (rc)
            break;
        *out_copied += (int64_t)rows.count;
        if (rows.count < per)
            break;
        /* The next batch starts after this one's last key. */
        arena_reset(&keys_a);
        for (size_t k = 0; k < t->key_count; k++) {
            keys[k] = *store_cell(&rows, rows.count - 1, key_at[k]);
            if (keys[k].type == STORE_TEXT)
                keys[k].s = arena_strdup(&keys_a, keys[k].s);
        }
    }
done:
    free(key_at);
    free(keys);
    arena_dispose(&keys_a);
    arena_dispose(&rows_a);
    sql_buf_dispose(&insert);
    sql_buf_dispose(&next);
    sql_buf_dispose(&first);
    return rc;
}

int store_copy_sequences(struct store_conn *c, struct usher_error *err)
{
    const struct store_driver *d = store_conn_driver(c);
    if (!d->sequences_sql)
        return 0;
    return d->exec_script(c->handle, d->sequences_sql, err);
}

int store_copy_backup(struct store *s, const char *path, struct usher_error *err)
{
    struct store_conn *c = NULL;
    int rc = store_conn_get(s, &c, err);
    if (rc)
        goto done;
    const struct store_driver *d = store_conn_driver(c);
    if (!d->backup) {
        rc = usher_error_set(err, USHER_EINVAL, "backup_unsupported", "database_url",
                             "usher makes backups of SQLite databases only");
        goto done;
    }
    rc = d->backup(c->handle, path, err);
done:
    store_conn_put(c);
    return rc;
}

int store_copy_migrations_compare(int *out_pending, int *out_unknown, struct store *s,
                                  struct usher_error *err)
{
    *out_pending = 0;
    *out_unknown = 0;
    struct store_conn *c = NULL;
    struct arena a;
    arena_init(&a);
    int rc = store_conn_get(s, &c, err);
    if (rc)
        goto done;
    struct store_rows rows;
    rc = store_exec(c, &a, "SELECT name FROM schema_migrations", NULL, 0, &rows, NULL, err);
    if (rc)
        goto done;
    const char *dialect = store_dialect(s);
    for (const struct store_migration *m = store_migrations; m->name; m++) {
        if (strcmp(m->dialect, dialect) != 0)
            continue;
        bool found = false;
        for (size_t r = 0; r < rows.count && !found; r++) {
            const char *name = store_cell_text(&rows, r, 0);
            found = name && strcmp(name, m->name) == 0;
        }
        if (!found)
            (*out_pending)++;
    }
    for (size_t r = 0; r < rows.count; r++) {
        const char *name = store_cell_text(&rows, r, 0);
        bool known = false;
        for (const struct store_migration *m = store_migrations; m->name && !known; m++)
            known = name && strcmp(m->dialect, dialect) == 0 && strcmp(m->name, name) == 0;
        if (!known)
            (*out_unknown)++;
    }
done:
    store_conn_put(c);
    arena_dispose(&a);
    return rc;
}
