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
    struct store_rows rows;
    int rc = store_authz_place(&rows, c, a, type, id, err);
    if (rc)
        return rc;
    if (rows.count == 0)
        return place_gone_sync(ix, c, a, kind, id, err);
    pthread_rwlock_wrlock(&ix->lock);
    if (kind == POLICY_SCOPE_AGENCY) {
        const char *status = store_cell_text(&rows, 0, 2);
        ix_agency_set(&ix->d, id, true);
        ix_agency_second_factor_set(&ix->d, id, store_cell_int(&rows, 0, 1) != 0);
        ix_agency_suspended_set(&ix->d, id, status && strcmp(status, "suspended") == 0);
    } else if (kind == POLICY_SCOPE_ENVIRONMENT)
        ix_env_set(&ix->d, id, store_cell_text(&rows, 0, 1));
    else
        ix_bot_set(&ix->d, id, store_cell_text(&rows, 0, 1), store_cell_text(&rows, 0, 2));
    pthread_rwlock_unlock(&ix->lock);
    return 0;
}

static int roles_sync(struct authz_index *ix, struct store_conn *c, struct arena *a,
                      const char *agency_id, struct usher_error *err)
{
    struct store_rows rows;
    int rc = store_authz_agency_roles(&rows, c, a, agency_id, err);
    if (rc)
        return rc;
    pthread_rwlock_wrlock(&ix->lock);
    ix_roles_drop_agency(&ix->d, agency_id);
    for (size_t r = 0; r < rows.count; r++)
        ix_role_set(&ix->d, store_cell_text(&rows, r, 0), agency_id,
                    policy_catalogue_permissions_parse(store_cell_text(&rows, r, 2), NULL), true);
    pthread_rwlock_unlock(&ix->lock);
    return 0;
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
