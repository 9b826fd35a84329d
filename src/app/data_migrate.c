/* `usher migrate-data`: copies a SQLite deployment into an empty PostgreSQL database in one
 * snapshot of the source and one transaction on the target, and keeps the copy only once its
 * row counts and its audit log check out. */
#include <stdio.h>
#include <string.h>

#include "app/audit.h"
#include "app/audit_int.h"
#include "app/data_move.h"
#include "base/log.h"
#include "config/config.h"
#include "store/store.h"
#include "store/store_audit.h"
#include "store/store_copy.h"
#include "store/store_secret.h"

/* Rows per INSERT on the target. */
#define DATA_BATCH_ROWS 500

/* The table of applied migrations: each side keeps its own, written by store_migrate. */
static const char migrations_table[] = "schema_migrations";

/* What both sides of the copy hold while it runs. */
struct data_copy {
    struct store_conn *from; /* in a read transaction: the snapshot copied */
    struct store_conn *to;   /* in the write transaction the copy commits with */
    struct store_schema source;
    struct store_schema target;
    bool *seeded; /* per target table: its one row is one usher wrote by itself, to replace */
};

/* True when the two tables have the same columns, in any order. */
static bool columns_match(const struct store_table *x, const struct store_table *y)
{
    if (x->col_count != y->col_count)
        return false;
    for (size_t i = 0; i < x->col_count; i++) {
        bool found = false;
        for (size_t j = 0; j < y->col_count && !found; j++)
            found = strcmp(x->cols[i], y->cols[j]) == 0;
        if (!found)
            return false;
    }
    return true;
}

/* Every table must exist on both sides with the same columns: a table the copy would miss (or
 * one it could not fill) stops it before anything is written. */
static int schemas_check(const struct data_copy *d, struct usher_error *err)
{
    for (size_t i = 0; i < d->source.count; i++) {
        const struct store_table *s = &d->source.tables[i];
        const struct store_table *t = store_copy_table_find(&d->target, s->name);
        if (!t)
            return usher_error_set(err, USHER_EINTERNAL, "schema_mismatch", NULL,
                                   "table %s of the source does not exist on the target", s->name);
        if (!columns_match(s, t))
            return usher_error_set(err, USHER_EINTERNAL, "schema_mismatch", NULL,
                                   "table %s has different columns on the two sides", s->name);
    }
    for (size_t i = 0; i < d->target.count; i++) {
        if (!store_copy_table_find(&d->source, d->target.tables[i].name))
            return usher_error_set(err, USHER_EINTERNAL, "schema_mismatch", NULL,
                                   "table %s of the target does not exist in the source",
                                   d->target.tables[i].name);
    }
    return 0;
}

/* True when the target's one row of table t is one a usher opening it with this secret wrote
 * by itself: the registry of an empty audit log (written by migrations), or the secret's check
 * value equal to the source's (written by usher migrate or serve on the target). The copy
 * replaces such a row with the source's. */
static int row_is_seeded(bool *out, struct data_copy *d, const struct store_table *t,
                         struct arena *a, struct usher_error *err)
{
    *out = false;
    int rc = 0;
    if (strcmp(t->name, "audit_registry") == 0) {
        struct store_audit_registry reg;
        bool found = false;
        rc = store_audit_registry_get(&reg, &found, d->to, a, err);
        if (rc)
            goto done;
        *out = found && reg.chains == 0 && reg.entries == 0;
    } else if (strcmp(t->name, "secret_check") == 0) {
        const char *target_mac = NULL, *source_mac = NULL;
        bool target_found = false, source_found = false;
        rc = store_secret_check_get(&target_mac, &target_found, d->to, a, err);
        if (rc)
            goto done;
        rc = store_secret_check_get(&source_mac, &source_found, d->from, a, err);
        if (rc)
            goto done;
        *out = target_found && source_found && target_mac && source_mac &&
               strcmp(target_mac, source_mac) == 0;
    }
done:
    return rc;
}

/* Refuses a target that holds data, rows usher writes by itself aside (row_is_seeded). */
static int target_empty_check(struct data_copy *d, struct arena *a, struct usher_error *err)
{
    d->seeded = arena_alloc(a, (d->target.count ? d->target.count : 1) * sizeof(*d->seeded));
    memset(d->seeded, 0, (d->target.count ? d->target.count : 1) * sizeof(*d->seeded));
    for (size_t i = 0; i < d->target.count; i++) {
        const struct store_table *t = &d->target.tables[i];
        if (strcmp(t->name, migrations_table) == 0)
            continue;
        int64_t rows = 0;
        int rc = store_copy_count(&rows, d->to, t, err);
        if (rc)
            return rc;
        if (rows == 0)
            continue;
        if (rows == 1) {
            rc = row_is_seeded(&d->seeded[i], d, t, a, err);
            if (rc)
                return rc;
            if (d->seeded[i])
                continue;
        }
        return usher_error_set(err, USHER_ECONFLICT, "target_not_empty", NULL,
                               "the target database is not empty: table %s holds %lld row(s); "
                               "migrate-data copies only into an empty database",
                               t->name, (long long)rows);
    }
    return 0;
}

/* Copies one table and checks the source's snapshot, the rows copied and the target agree. */
static int table_copy(struct app_data_table *out, struct data_copy *d, const struct store_table *s,
                      struct usher_error *err)
{
    const struct store_table *t = store_copy_table_find(&d->target, s->name);
    int64_t source_rows = 0, copied = 0, target_rows = 0;
    out->name = s->name;
    int rc = store_copy_count(&source_rows, d->from, s, err);
    if (rc)
        goto done;
    if (d->seeded[t - d->target.tables]) {
        rc = store_copy_clear(d->to, t, err);
        if (rc)
            goto done;
    }
    rc = store_copy_rows(&copied, d->from, d->to, s, DATA_BATCH_ROWS, err);
    if (rc)
        goto done;
    rc = store_copy_count(&target_rows, d->to, t, err);
    if (rc)
        goto done;
    if (copied != source_rows || target_rows != source_rows) {
        rc = usher_error_set(err, USHER_EINTERNAL, NULL, NULL,
                             "table %s: %lld row(s) in the source, %lld copied, %lld on the "
                             "target",
                             s->name, (long long)source_rows, (long long)copied,
                             (long long)target_rows);
        goto done;
    }
    out->rows = copied;
    log_msg(LOG_INFO, "data.table_copied", "{s:s, s:I}", "table", s->name, "rows",
            (json_int_t)copied);
done:
    return rc;
}

/* The audit log of each side, read in its own transaction: the source's must verify under the
 * server secret (a wrong data dir shows here, before anything is written) and the copy's must
 * verify with the same entries and chains. */
static int audit_check(struct app_audit_verdict *out, struct store_conn *c, struct arena *a,
                       const char *side, struct usher_error *err)
{
    int rc = app_audit_verify_in_tx(out, c, a, err);
    if (rc)
        return rc;
    if (!out->is_intact)
        return usher_error_set(err, USHER_ECONFLICT, "audit_broken", NULL,
                               "the %s's audit log does not verify (%s%s%s): is this the data "
                               "dir, and so the server secret, of the source deployment?",
                               side, out->chain ? out->chain : "", out->chain ? ": " : "",
                               out->reason ? out->reason : "broken");
    return 0;
}

/* Refuses a database whose migrations are not exactly this usher's. */
static int migrations_check(struct store *s, const char *side, struct usher_error *err)
{
    int pending = 0, unknown = 0;
    int rc = store_copy_migrations_compare(&pending, &unknown, s, err);
    if (rc)
        return rc;
    if (unknown)
        return usher_error_set(err, USHER_EINVAL, "schema_mismatch", NULL,
                               "the %s database has %d migration(s) this usher does not know: "
                               "use the usher that wrote them",
                               side, unknown);
    if (pending)
        return usher_error_set(err, USHER_EINVAL, "schema_mismatch", NULL,
                               "the %s database lacks %d migration(s): run usher migrate on it "
                               "first",
                               side, pending);
    return 0;
}

/* Reads the source's snapshot: its tables, and its audit log verified under the secret. */
static int source_read(struct app_audit_verdict *out, struct data_copy *d, struct store *store,
                       struct arena *a, struct usher_error *err)
{
    int rc = store_copy_tables(&d->source, d->from, a, err);
    if (rc)
        goto done;
    if (!store_copy_table_find(&d->source, migrations_table)) {
        rc = usher_error_set(err, USHER_EINVAL, "schema_mismatch", "from",
                             "the source is not a usher database (it has no %s table)",
                             migrations_table);
        goto done;
    }
    rc = migrations_check(store, "source", err);
    if (rc)
        goto done;
    rc = audit_check(out, d->from, a, "source", err);
done:
    return rc;
}

/* Runs the copy on the two open transactions of d, the source already read. */
static int copy_run(struct app_data_migrate_result *out, struct data_copy *d,
                    const struct app_audit_verdict *before, struct arena *a,
                    struct usher_error *err)
{
    struct app_audit_verdict after;
    int rc = store_copy_tables(&d->target, d->to, a, err);
    if (rc)
        goto done;
    rc = schemas_check(d, err);
    if (rc)
        goto done;
    rc = target_empty_check(d, a, err);
    if (rc)
        goto done;
    out->tables = arena_alloc(a, (d->source.count ? d->source.count : 1) * sizeof(*out->tables));
    for (size_t i = 0; i < d->source.count; i++) {
        const struct store_table *s = &d->source.tables[i];
        if (strcmp(s->name, migrations_table) == 0)
            continue;
        struct app_data_table *row = &out->tables[out->table_count];
        rc = table_copy(row, d, s, err);
        if (rc)
            goto done;
        out->table_count++;
        out->rows += row->rows;
    }
    rc = audit_check(&after, d->to, a, "copy", err);
    if (rc)
        goto done;
    if (after.entries != before->entries || after.chains != before->chains) {
        rc = usher_error_set(err, USHER_EINTERNAL, NULL, NULL,
                             "the copy's audit log has %lld entries in %lld chains, the "
                             "source's %lld in %lld",
                             (long long)after.entries, (long long)after.chains,
                             (long long)before->entries, (long long)before->chains);
        goto done;
    }
    out->audit_entries = after.entries;
    rc = store_copy_sequences(d->to, err);
done:
    return rc;
}

int app_data_migrate(struct app_data_migrate_result *out, struct app *app, const char *to_url,
                     struct arena *a, struct usher_error *err)
{
    memset(out, 0, sizeof(*out));
    struct store *target = NULL;
    struct data_copy d = {0};
    struct app_audit_verdict before;
    int rc = 0;
    if (strcmp(store_dialect(app->store), "sqlite") != 0) {
        rc = usher_error_set(err, USHER_EINVAL, NULL, "from",
                             "the source must be a SQLite database (sqlite:PATH)");
        goto done;
    }
    if (strncmp(to_url, "postgres://", 11) != 0 && strncmp(to_url, "postgresql://", 13) != 0) {
        rc = usher_error_set(err, USHER_EINVAL, NULL, "to",
                             "the target must be a PostgreSQL database (postgres://...)");
        goto done;
    }
    /* The source first, in the snapshot the copy reads: a source that is not usher's, or
     * whose audit log does not verify under this secret, is refused before the target is
     * touched. */
    rc = store_conn_get(app->store, &d.from, err);
    if (rc)
        goto done;
    rc = store_begin(d.from, false, err);
    if (rc)
        goto done;
    rc = source_read(&before, &d, app->store, a, err);
    if (rc)
        goto done;
    rc = store_open(&target, to_url, app->cfg->data_dir, 1, err);
    if (rc)
        goto done;
    rc = store_migrate_hooked(target, &out->migrations, &app_audit_migrate_hook, err);
    if (rc)
        goto done;
    rc = migrations_check(target, "target", err);
    if (rc)
        goto done;
    rc = store_conn_get(target, &d.to, err);
    if (rc)
        goto done;
    rc = store_begin(d.to, true, err);
    if (rc)
        goto done;
    rc = copy_run(out, &d, &before, a, err);
    if (rc)
        goto done;
    rc = store_commit(d.to, err);
done:
    store_conn_put(d.to); /* rolls back a copy that failed */
    store_conn_put(d.from);
    store_free(target);
    return rc;
}
