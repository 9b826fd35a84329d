/* Filling the decision index from the store: everything at start (users and grants read by one
 * query each and taken a page at a time, so the rows of a large database are never all in
 * memory at once), one user after a change. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "policy/catalogue.h"
#include "authz/authz_int.h"
#include "base/clock.h"
#include "base/log.h"
#include "store/store_authz.h"

#define LOAD_PAGE 20000 /* rows read per query while loading */

static uint32_t user_flags(const struct store_rows *users, size_t r)
{
    const char *status = store_cell_text(users, r, 2);
    uint32_t flags = IX_PRESENT;
    if (store_cell_int(users, r, 1) != 0)
        flags |= IX_ADMIN;
    if (status && strcmp(status, "active") == 0)
        flags |= IX_ACTIVE;
    if (store_cell_int(users, r, 3) != 0)
        flags |= IX_SECOND;
    return flags;
}

/* Grant row r as the index reads it; strings are copied into a when a is not NULL. */
static void grant_row_read(struct ix_grant_row *out, const struct store_rows *rows, size_t r,
                           struct arena *a)
{
    const char *env = store_cell_text(rows, r, STORE_AUTHZ_GRANT_ENVIRONMENT);
    const char *bot = store_cell_text(rows, r, STORE_AUTHZ_GRANT_BOT);
    out->kind = bot ? POLICY_SCOPE_BOT : env ? POLICY_SCOPE_ENVIRONMENT : POLICY_SCOPE_AGENCY;
    out->agency_id = store_cell_text(rows, r, STORE_AUTHZ_GRANT_AGENCY);
    out->scope_id = store_cell_text(rows, r, STORE_AUTHZ_GRANT_SCOPE);
    out->bot_env_id = bot ? store_cell_text(rows, r, STORE_AUTHZ_GRANT_BOT_ENVIRONMENT) : NULL;
    out->roles = store_cell_text(rows, r, STORE_AUTHZ_GRANT_ROLES);
    out->extra =
        policy_catalogue_permissions_parse(store_cell_text(rows, r, STORE_AUTHZ_GRANT_EXTRA), NULL);
    out->expires_at = store_cell_int(rows, r, STORE_AUTHZ_GRANT_EXPIRES);
    if (a) {
        out->agency_id = arena_strdup(a, out->agency_id);
        out->scope_id = arena_strdup(a, out->scope_id);
        out->bot_env_id = arena_strdup(a, out->bot_env_id);
        out->roles = arena_strdup(a, out->roles);
    }
}

static int load_places(struct ix_data *d, struct store_conn *c, struct usher_error *err)
{
    struct arena a;
    arena_init(&a);
    struct store_rows agencies, envs, bots, roles;
    int rc = store_authz_agencies(&agencies, c, &a, err);
    if (rc == 0)
        rc = store_authz_environments(&envs, c, &a, err);
    if (rc == 0)
        rc = store_authz_bots(&bots, c, &a, err);
    if (rc == 0)
        rc = store_authz_custom_roles(&roles, c, &a, err);
    if (rc == 0) {
        for (size_t r = 0; r < agencies.count; r++) {
            ix_agency_set(d, store_cell_text(&agencies, r, 0), true);
            ix_agency_second_factor_set(d, store_cell_text(&agencies, r, 0),
                                        store_cell_int(&agencies, r, 1) != 0);
            const char *status = store_cell_text(&agencies, r, 2);
            ix_agency_suspended_set(d, store_cell_text(&agencies, r, 0),
                                    status && strcmp(status, "suspended") == 0);
        }
        for (size_t r = 0; r < envs.count; r++)
            ix_env_set(d, store_cell_text(&envs, r, 0), store_cell_text(&envs, r, 1));
        for (size_t r = 0; r < bots.count; r++)
            ix_bot_set(d, store_cell_text(&bots, r, 0), store_cell_text(&bots, r, 1),
                       store_cell_text(&bots, r, 2));
        for (size_t r = 0; r < roles.count; r++)
            ix_role_set(d, store_cell_text(&roles, r, 0), store_cell_text(&roles, r, 1),
                        policy_catalogue_permissions_parse(store_cell_text(&roles, r, 2), NULL),
                        true);
    }
    arena_dispose(&a);
    return rc;
}

static int users_page_take(void *ctx, const struct store_rows *users, struct usher_error *err)
{
    struct ix_data *d = ctx;
    (void)err;
    for (size_t r = 0; r < users->count; r++)
        ix_user_set(d, store_cell_text(users, r, 0), user_flags(users, r), NULL);
    return 0;
}

/* The grants of one user, gathered as a page is read; rows point into the page, or into arena
 * for a user whose grants continue on the next page. */
struct pending {
    struct arena arena; /* strings kept past their page */
    struct ix_grant_row *rows;
    size_t count, cap;
    char *user_id;
};

/* Gives the pending grants to their user, if the user was loaded (grants of a user who is not
 * in the users table grant nothing). */
static void pending_flush(struct ix_data *d, struct pending *p)
{
    if (p->user_id && p->count > 0) {
        uint32_t h = ix_find(&d->users, p->user_id);
        if (h != IX_NONE) {
            /* Each user's grants are read once in a load: the set goes in the pool. */
            struct ix_grant_set *set = ix_grant_set_build(d, p->rows, p->count, true);
            struct ix_user *u = ix_rec(&d->users, h);
            u->set = set;
            u->flags |= IX_POOLED;
        }
    }
    p->count = 0;
    free(p->user_id);
    p->user_id = NULL;
    arena_dispose(&p->arena);
}

static void pending_add(struct ix_data *d, struct pending *p, const struct store_rows *rows,
                        size_t r)
{
    const char *user_id = store_cell_text(rows, r, STORE_AUTHZ_GRANT_USER);
    if (!p->user_id || strcmp(p->user_id, user_id) != 0) {
        pending_flush(d, p);
        p->user_id = xstrdup(user_id);
    }
    if (p->count == p->cap) {
        p->cap = p->cap ? p->cap * 2 : 16;
        p->rows = xrealloc(p->rows, p->cap * sizeof(*p->rows));
    }
    grant_row_read(&p->rows[p->count++], rows, r, NULL);
}

/* Before a page is released: copies the strings of the rows still pending. */
static void pending_keep(struct pending *p)
{
    for (size_t i = 0; i < p->count; i++) {
        struct ix_grant_row *row = &p->rows[i];
        row->agency_id = arena_strdup(&p->arena, row->agency_id);
        row->scope_id = arena_strdup(&p->arena, row->scope_id);
        row->bot_env_id = arena_strdup(&p->arena, row->bot_env_id);
        row->roles = arena_strdup(&p->arena, row->roles);
    }
}

/* The pending user and the index being filled, while the grants are read. */
struct grants_load {
    struct ix_data *d;
    struct pending p;
};

static int grants_page_take(void *ctx, const struct store_rows *grants, struct usher_error *err)
{
    struct grants_load *g = ctx;
    (void)err;
    for (size_t r = 0; r < grants->count; r++)
        pending_add(g->d, &g->p, grants, r);
    pending_keep(&g->p);
    return 0;
}

static int load_grants(struct ix_data *d, struct store_conn *c, struct usher_error *err)
{
    struct grants_load g = {.d = d};
    arena_init(&g.p.arena);
    int rc = store_authz_grants_each(c, LOAD_PAGE, grants_page_take, &g, err);
    if (rc == 0)
        pending_flush(d, &g.p);
    free(g.p.user_id);
    free(g.p.rows);
    arena_dispose(&g.p.arena);
    return rc;
}

int authz_index_load(struct authz_index *ix, struct store *store, struct usher_error *err)
{
    int64_t started = clock_mono_ns();
    struct store_conn *c = NULL;
    struct ix_data fresh;
    ix_data_init(&fresh);
    int64_t cursor = 0;
    struct arena a;
    arena_init(&a);
    /* One read transaction. The change feed's position is read first: a change committed
     * while the rest is read is then applied again by the feed, which is harmless. */
    int rc = store_conn_get(store, &c, err);
    if (rc == 0)
        rc = store_begin(c, false, err);
    if (rc == 0)
        rc = store_authz_change_cursor(&cursor, c, &a, err);
    if (rc == 0)
        rc = load_places(&fresh, c, err);
    if (rc == 0)
        rc = store_authz_users_each(c, LOAD_PAGE, users_page_take, &fresh, err);
    if (rc == 0)
        rc = load_grants(&fresh, c, err);
    if (c) {
        store_rollback(c);
        store_conn_put(c);
    }
    arena_dispose(&a);
    if (rc) {
        ix_data_dispose(&fresh);
        return rc;
    }
    /* Readers wait only for the swap. */
    pthread_rwlock_wrlock(&ix->lock);
    struct ix_data old = ix->d;
    ix->d = fresh;
    ix->cursor = cursor;
    ix->installs++;
    pthread_rwlock_unlock(&ix->lock);
    ix_data_dispose(&old);
    struct authz_stats st;
    authz_index_stats(&st, ix);
    log_msg(LOG_INFO, "authz.loaded", "{s:I, s:I, s:I, s:I, s:f}", "users", (json_int_t)st.users,
            "grants", (json_int_t)st.grants, "environments", (json_int_t)st.environments, "bytes",
            (json_int_t)st.bytes, "duration_ms", (double)(clock_mono_ns() - started) / 1e6);
    return 0;
}

/* Reads user_id once and installs what was read, unless anything was installed while it read
 * (*out_installed false) and is_last is not set. */
static int refresh_user_once(bool *out_installed, struct authz_index *ix, struct store_conn *c,
                             const char *user_id, bool is_last, struct usher_error *err)
{
    struct arena a;
    arena_init(&a);
    pthread_rwlock_rdlock(&ix->lock);
    uint64_t seen = ix->installs;
    pthread_rwlock_unlock(&ix->lock);
    *out_installed = false;
    struct store_rows user, grants;
    int rc = store_authz_user(&user, &grants, c, &a, user_id, err);
    if (rc)
        goto done;
    struct ix_grant_row *rows = arena_alloc(&a, (grants.count + 1) * sizeof(*rows));
    for (size_t r = 0; r < grants.count; r++)
        grant_row_read(&rows[r], &grants, r, NULL);
    pthread_rwlock_wrlock(&ix->lock);
    if (ix->installs == seen || is_last) {
        if (user.count == 1)
            ix_user_set(&ix->d, user_id, user_flags(&user, 0),
                        ix_grant_set_build(&ix->d, rows, grants.count, false));
        else
            ix_user_set(&ix->d, user_id, 0, NULL);
        ix->installs++;
        *out_installed = true;
    }
    pthread_rwlock_unlock(&ix->lock);
done:
    arena_dispose(&a);
    return rc;
}

/* Another thread may install the same user meanwhile from a newer state: the change feed brings
 * a change another instance committed after this read began. Installing this read after it
 * would undo that change here until the user's next change, so a read that overlapped another
 * install is read again; the new read begins after that install and sees at least as much. */
int authz_index_refresh_user(struct authz_index *ix, struct store_conn *c, const char *user_id,
                             struct usher_error *err)
{
    bool installed = false;
    int rc = 0;
    for (int attempt = 1; rc == 0 && !installed; attempt++)
        rc = refresh_user_once(&installed, ix, c, user_id, attempt == IX_REFRESH_TRIES, err);
    return rc;
}
