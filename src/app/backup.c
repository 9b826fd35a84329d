/* `usher backup`: a consistent copy of the live SQLite database, written beside its final name
 * and moved into place only once it is whole and on disk. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "app/data_move.h"
#include "config/config.h"
#include "store/store.h"
#include "store/store_copy.h"

const char *app_backup_sqlite_path(struct arena *a, const char *url, const char *data_dir)
{
    if (!url || !*url)
        return arena_printf(a, "%s/usher.db", data_dir);
    if (strncmp(url, "sqlite:", 7) == 0)
        return arena_strdup(a, url + 7);
    return NULL;
}

/* Flushes the file or directory at path to disk. */
static int path_sync(const char *path, struct usher_error *err)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0 || fsync(fd) != 0) {
        int saved = errno;
        if (fd >= 0)
            close(fd);
        return usher_error_set(err, USHER_EUNAVAIL, NULL, NULL, "cannot flush %s: %s", path,
                               strerror(saved));
    }
    close(fd);
    return 0;
}

/* Refuses a destination that exists (unless force), is the live database, or has a -wal file
 * that SQLite would replay into whatever is put at path. */
static int destination_check(struct arena *a, const char *path, const char *live, bool force,
                             struct usher_error *err)
{
    struct stat dst, src;
    if (stat(path, &dst) != 0)
        return 0;
    if (stat(live, &src) == 0 && src.st_dev == dst.st_dev && src.st_ino == dst.st_ino)
        return usher_error_set(err, USHER_ECONFLICT, "backup_exists", "file",
                               "%s is the live database itself", path);
    if (!force)
        return usher_error_set(err, USHER_ECONFLICT, "backup_exists", "file",
                               "%s exists (add --force to replace it)", path);
    struct stat wal;
    if (stat(arena_printf(a, "%s-wal", path), &wal) == 0)
        return usher_error_set(err, USHER_ECONFLICT, "backup_exists", "file",
                               "%s-wal exists: a server may have %s open; stop it or pick "
                               "another name",
                               path, path);
    return 0;
}

/* Removes the temporary copy and the journal SQLite may have left beside it. */
static void temp_remove(struct arena *a, const char *tmp)
{
    unlink(tmp);
    unlink(arena_printf(a, "%s-journal", tmp));
}

int app_backup_write(struct app *app, const char *path, bool force, struct usher_error *err)
{
    struct arena a;
    arena_init(&a);
    char *tmp = NULL;
    int rc = 0;
    const char *live = app_backup_sqlite_path(&a, app->cfg->database_url, app->cfg->data_dir);
    if (!live || strcmp(store_dialect(app->store), "sqlite") != 0) {
        rc = usher_error_set(err, USHER_EINVAL, "backup_unsupported", "database_url",
                             "the database is PostgreSQL: back it up with pg_dump or "
                             "pg_basebackup (see docs/operations.md)");
        goto done;
    }
    rc = destination_check(&a, path, live, force, err);
    if (rc)
        goto done;
    /* mkstemp makes the file mode 0600; SQLite keeps the mode of the file it opens. */
    tmp = arena_printf(&a, "%s.tmp-XXXXXX", path);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        rc = usher_error_set(err, USHER_EUNAVAIL, NULL, "file",
                             "cannot create a file beside %s: %s", path, strerror(errno));
        tmp = NULL;
        goto done;
    }
    close(fd);
    rc = store_copy_backup(app->store, tmp, err);
    if (rc)
        goto done;
    if (chmod(tmp, 0600) != 0) {
        rc = usher_error_set(err, USHER_EUNAVAIL, NULL, "file", "cannot set the mode of %s: %s",
                             tmp, strerror(errno));
        goto done;
    }
    rc = path_sync(tmp, err);
    if (rc)
        goto done;
    if (force) {
        if (rename(tmp, path) != 0)
            rc = usher_error_set(err, USHER_EUNAVAIL, NULL, "file",
                                 "cannot move the copy to %s: %s", path, strerror(errno));
    } else if (link(tmp, path) != 0) {
        /* link never replaces: a file that appeared at path meanwhile is kept. */
        rc = errno == EEXIST
                 ? usher_error_set(err, USHER_ECONFLICT, "backup_exists", "file",
                                   "%s exists (add --force to replace it)", path)
                 : usher_error_set(err, USHER_EUNAVAIL, NULL, "file",
                                   "cannot move the copy to %s: %s", path, strerror(errno));
    }
    if (rc)
        goto done;
    if (!force)
        unlink(tmp);
    tmp = NULL;
    char *dir = arena_strdup(&a, path);
    rc = path_sync(dirname(dir), err);
done:
    if (tmp)
        temp_remove(&a, tmp);
    arena_dispose(&a);
    return rc;
}
