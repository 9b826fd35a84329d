/* Moving a deployment's data: a consistent backup of a live SQLite database, and a copy of a
 * SQLite deployment into an empty PostgreSQL database, verified before it is kept. See
 * docs/operations.md. */
#ifndef USHER_APP_DATA_MOVE_H
#define USHER_APP_DATA_MOVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "app/app.h"
#include "base/arena.h"
#include "base/error.h"

/* The path of the SQLite file the database URL names ("" means data_dir/usher.db), in a;
 * NULL when url names PostgreSQL. */
const char *app_backup_sqlite_path(struct arena *a, const char *url, const char *data_dir);

/* Writes a consistent copy of app's SQLite database to path, mode 0600: an online backup into
 * a temporary file beside path, flushed to disk, then moved into place, so path never holds
 * half a copy. Writers on the live database go on meanwhile. path must not exist unless force
 * is true; it may never be the live database itself, nor a database with a -wal file beside it
 * (which SQLite would replay into the copy).
 * Errors: USHER_EINVAL (problem "backup_unsupported") when the database is PostgreSQL;
 * USHER_ECONFLICT (problem "backup_exists") when path exists and force is false, or path is
 * the live database or has a -wal file; USHER_EUNAVAIL when a file cannot be written (the
 * temporary file is removed); the store's errors. */
int app_backup_write(struct app *app, const char *path, bool force, struct usher_error *err);

/* What one table's copy moved. */
struct app_data_table {
    const char *name;
    int64_t rows;
};

/* What app_data_migrate did. */
struct app_data_migrate_result {
    struct app_data_table *tables; /* in the order copied (foreign-key order); in the arena */
    size_t table_count;
    int64_t rows;          /* rows copied in all */
    int64_t audit_entries; /* audit entries verified on the target */
    int migrations;        /* migrations applied to the target first */
};

/* Copies app's SQLite database into the empty PostgreSQL database at to_url. It applies the
 * target's migrations, reads the source in one read transaction (one snapshot, while a server
 * goes on writing to it), checks the source's audit log verifies under app's server secret,
 * writes every table of the schema (read from both databases, in foreign-key order, ids kept)
 * in one write transaction on the target, and checks before committing that every table holds
 * as many rows as the source's and that the copy's audit log verifies with the same entries
 * and chains; then moves the target's sequences past the copied ids and commits. On any error
 * nothing is kept on the target but its migrated schema. Results live in a.
 * Errors: USHER_EINVAL when to_url is not PostgreSQL, app's database is not SQLite, or either
 * database's migrations are not this usher's (problem "schema_mismatch"); USHER_ECONFLICT with
 * problem "target_not_empty" when a table of the target holds a row (the migrations table,
 * the registry of an empty audit log and a secret check value equal to the source's aside), or
 * problem "audit_broken" when the source's audit log does not verify under the secret;
 * USHER_EINTERNAL when the schemas differ or a check of the copy fails; the store's errors. */
int app_data_migrate(struct app_data_migrate_result *out, struct app *app, const char *to_url,
                     struct arena *a, struct usher_error *err);

#endif
