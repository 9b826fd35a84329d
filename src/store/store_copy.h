/* Copying a whole database: its tables read from the schema itself (so a table added by a
 * future migration is copied without a list to maintain), rows moved in batches from one
 * connection to another, sequences moved past the copied ids, and SQLite's online backup.
 * Used by `usher migrate-data` and `usher backup`. */
#ifndef USHER_STORE_STORE_COPY_H
#define USHER_STORE_STORE_COPY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

/* One table as the database describes it. Every string lives in the arena it was read into. */
struct store_table {
    const char *name;
    const char **cols; /* column names in the table's own order */
    size_t col_count;
    const char **key; /* primary-key columns in key order */
    size_t key_count;
    const char **parents; /* tables its foreign keys refer to (itself excluded) */
    size_t parent_count;
};

/* Every table of a database (SQLite's internal tables left out). */
struct store_schema {
    struct store_table *tables;
    size_t count;
};

/* Reads the tables of c's database into *out, ordered so that each table comes after every
 * table its foreign keys refer to (ties by name). Call it inside a transaction to read the
 * same schema the rows are read with. Everything lives in a. USHER_EINTERNAL when the foreign
 * keys form a cycle; the store's errors otherwise. */
int store_copy_tables(struct store_schema *out, struct store_conn *c, struct arena *a,
                      struct usher_error *err);

/* The table named name in s, or NULL. */
const struct store_table *store_copy_table_find(const struct store_schema *s, const char *name);

/* Counts the rows of t on c into *out. The store's errors. */
int store_copy_count(int64_t *out, struct store_conn *c, const struct store_table *t,
                     struct usher_error *err);

/* Deletes every row of t on c (inside the caller's transaction). The store's errors. */
int store_copy_clear(struct store_conn *c, const struct store_table *t, struct usher_error *err);

/* Copies every row of t from the connection from to the connection to, batch rows at a time
 * (at most; fewer when the table has many columns), walking t's primary key so each batch is
 * one indexed read. Both connections should hold a transaction: a read one on from, so every
 * batch sees one snapshot, and a write one on to. Column values are copied as they are, ids
 * included. *out_copied receives how many rows were copied. USHER_EINTERNAL when t has no
 * primary key; the store's errors otherwise (a duplicate row on the target is
 * USHER_ECONFLICT). */
int store_copy_rows(int64_t *out_copied, struct store_conn *from, struct store_conn *to,
                    const struct store_table *t, size_t batch, struct usher_error *err);

/* Moves every sequence behind a column of c's database (PostgreSQL's serial and identity
 * columns) past the largest value in its column, so new rows get new ids after ids were
 * copied in. Nothing to do on SQLite, which takes the next id from the table. The store's
 * errors. */
int store_copy_sequences(struct store_conn *c, struct usher_error *err);

/* Writes a consistent copy of s's database into the file at path (which must exist and be
 * empty, or be a database to overwrite) with SQLite's online backup, in one step so writers
 * on other connections and processes cannot make it restart; the copy is whole in its one file
 * (no -wal file beside it) and checked with quick_check. USHER_EINVAL when
 * the database is not SQLite; USHER_EUNAVAIL when the file cannot be written; USHER_EINTERNAL
 * when the copy does not check. */
int store_copy_backup(struct store *s, const char *path, struct usher_error *err);

/* Compares the migrations recorded in s's database with those built into usher for its
 * dialect: *out_pending receives how many built-in migrations are not recorded, *out_unknown
 * how many recorded ones usher does not know (a newer usher wrote them). The store's errors
 * (USHER_EINTERNAL when the database has no migrations table at all). */
int store_copy_migrations_compare(int *out_pending, int *out_unknown, struct store *s,
                                  struct usher_error *err);

#endif
