/* Keeping the index in step with the database: every change writes an audit row in its own
 * transaction, so reading the rows after a cursor tells which users, places and custom roles
 * to read again. A row's subject user is re-read, its scope re-read (or, when gone, dropped with
 * what is under it and the users holding grants there re-read), and a custom-role change
 * re-reads the agency's roles. */
#include <string.h>

#include "policy/catalogue.h"
#include "authz/authz_int.h"
#include "store/store_authz.h"

#define SYNC_BATCH 500

/* A place no longer in the store: marked gone with everything under it, and every user whose
 * grants named any of it read again, so that this index ends as a fresh load would build it.
 * The feed names only the place itself, not the people who lost grants there. A failed
 * re-read returns the error: the row is read again, and its users are found again, as their
 * grants still name the place. */
static int place_gone_sync(struct authz_index *ix, struct store_conn *c, struct arena *a,
                           enum policy_scope kind, const char *id, struct usher_error *err)
{
    const char **users = NULL;
    size_t count = authz_index_place_gone(&users, ix, kind, id, a);
    for (size_t i = 0; i < count; i++) {
        int rc = authz_index_refresh_user(ix, c, users[i], err);
        if (rc)
            return rc;
    }
    return 0;
}

/* The number the index's content had reached (see authz_index_refresh_user). */
static uint64_t installs_seen(struct authz_index *ix)
{
    pthread_rwlock_rdlock(&ix->lock);
    uint64_t seen = ix->installs;
    pthread_rwlock_unlock(&ix->lock);
    return seen;
}

/* Reads the place once and installs it, unless anything was installed while it read
 * (*out_installed false) and is_last is not set. A place gone from the store is marked gone at
 * once: it never comes back. */
static int place_sync_once(bool *out_installed, struct authz_index *ix, struct store_conn *c,
                           struct arena *a, enum policy_scope kind, const char *type,
                           const char *id, bool is_last, struct usher_error *err)
{
    uint64_t seen = installs_seen(ix);
    *out_installed = false;
    struct store_rows rows;
    int rc = store_authz_place(&rows, c, a, type, id, err);
    if (rc)
        return rc;
    if (rows.count == 0) {
        *out_installed = true;
        return place_gone_sync(ix, c, a, kind, id, err);
    }
    pthread_rwlock_wrlock(&ix->lock);
    if (ix->installs == seen || is_last) {
        if (kind == POLICY_SCOPE_AGENCY) {
            const char *status = store_cell_text(&rows, 0, 2);
            ix_agency_set(&ix->d, id, true);
            ix_agency_second_factor_set(&ix->d, id, store_cell_int(&rows, 0, 1) != 0);
            ix_agency_suspended_set(&ix->d, id, status && strcmp(status, "suspended") == 0);
        } else if (kind == POLICY_SCOPE_ENVIRONMENT)
            ix_env_set(&ix->d, id, store_cell_text(&rows, 0, 1));
        else
            ix_bot_set(&ix->d, id, store_cell_text(&rows, 0, 1), store_cell_text(&rows, 0, 2));
        ix->installs++;
        *out_installed = true;
    }
    pthread_rwlock_unlock(&ix->lock);
    return 0;
}

static int place_sync(struct authz_index *ix, struct store_conn *c, struct arena *a,
                      const char *type, const char *id, struct usher_error *err)
{
    enum policy_scope kind;
    if (strcmp(type, "agency") == 0)
        kind = POLICY_SCOPE_AGENCY;
    else if (strcmp(type, "environment") == 0)
        kind = POLICY_SCOPE_ENVIRONMENT;
    else if (strcmp(type, "bot") == 0)
        kind = POLICY_SCOPE_BOT;
    else
        return 0;
    bool installed = false;
    int rc = 0;
    for (int attempt = 1; rc == 0 && !installed; attempt++)
        rc =
            place_sync_once(&installed, ix, c, a, kind, type, id, attempt == IX_REFRESH_TRIES, err);
    return rc;
}

/* Reads the agency's custom roles once and installs them, as place_sync_once. */
static int roles_sync_once(bool *out_installed, struct authz_index *ix, struct store_conn *c,
                           struct arena *a, const char *agency_id, bool is_last,
                           struct usher_error *err)
{
    uint64_t seen = installs_seen(ix);
    *out_installed = false;
    struct store_rows rows;
    int rc = store_authz_agency_roles(&rows, c, a, agency_id, err);
    if (rc)
        return rc;
    pthread_rwlock_wrlock(&ix->lock);
    if (ix->installs == seen || is_last) {
        ix_roles_drop_agency(&ix->d, agency_id);
        for (size_t r = 0; r < rows.count; r++)
            ix_role_set(&ix->d, store_cell_text(&rows, r, 0), agency_id,
                        policy_catalogue_permissions_parse(store_cell_text(&rows, r, 2), NULL),
                        true);
        ix->installs++;
        *out_installed = true;
    }
    pthread_rwlock_unlock(&ix->lock);
    return 0;
}

static int roles_sync(struct authz_index *ix, struct store_conn *c, struct arena *a,
                      const char *agency_id, struct usher_error *err)
{
    bool installed = false;
    int rc = 0;
    for (int attempt = 1; rc == 0 && !installed; attempt++)
        rc = roles_sync_once(&installed, ix, c, a, agency_id, attempt == IX_REFRESH_TRIES, err);
    return rc;
}

int authz_index_refresh_place(struct authz_index *ix, struct store_conn *c, const char *scope_type,
                              const char *id, struct usher_error *err)
{
    struct arena a;
    arena_init(&a);
    int rc = place_sync(ix, c, &a, scope_type, id, err);
    arena_dispose(&a);
    return rc;
}

int authz_index_refresh_roles(struct authz_index *ix, struct store_conn *c, const char *agency_id,
                              struct usher_error *err)
{
    struct arena a;
    arena_init(&a);
    int rc = roles_sync(ix, c, &a, agency_id, err);
    arena_dispose(&a);
    return rc;
}

int authz_index_sync(struct authz_index *ix, struct store_conn *c, int64_t *cursor,
                     int *out_applied, struct usher_error *err)
{
    struct arena a;
    arena_init(&a);
    struct store_rows rows;
    int applied = 0;
    int rc = store_authz_changes(&rows, c, &a, *cursor, SYNC_BATCH, err);
    for (size_t r = 0; rc == 0 && r < rows.count; r++) {
        const char *agency = store_cell_text(&rows, r, 1);
        const char *subject = store_cell_text(&rows, r, 2);
        const char *scope_type = store_cell_text(&rows, r, 3);
        const char *scope_id = store_cell_text(&rows, r, 4);
        const char *action = store_cell_text(&rows, r, 5);
        if (subject)
            rc = authz_index_refresh_user(ix, c, subject, err);
        if (rc == 0 && scope_type && scope_id)
            rc = place_sync(ix, c, &a, scope_type, scope_id, err);
        if (rc == 0 && agency && action && strncmp(action, "role.", 5) == 0)
            rc = roles_sync(ix, c, &a, agency, err);
        if (rc == 0) {
            *cursor = store_cell_int(&rows, r, 0);
            applied++;
        }
    }
    arena_dispose(&a);
    if (out_applied)
        *out_applied = applied;
    return rc;
}

int authz_index_sync_cursor(int64_t *out, struct store *store, struct usher_error *err)
{
    struct store_conn *c = NULL;
    struct arena a;
    arena_init(&a);
    int rc = store_conn_get(store, &c, err);
    if (rc == 0)
        rc = store_authz_change_cursor(out, c, &a, err);
    store_conn_put(c);
    arena_dispose(&a);
    return rc;
}
