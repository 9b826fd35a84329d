/* Filling the decision index from the store: everything at start, one user after a change. */
#include <string.h>

#include "app/catalogue.h"
#include "authz/authz_int.h"
#include "store/store_authz.h"

static const char *text_of(const struct store_rows *rows, size_t r, size_t k)
{
    const struct store_value *v = store_cell(rows, r, k);
    return v->type == STORE_TEXT ? v->s : NULL;
}

/* Splits a stored role list into built-in roles and custom role ids. */
static void roles_split(struct ix_grant *g, const char *csv)
{
    if (!csv)
        return;
    size_t n = 1;
    for (const char *p = csv; *p; p++)
        n += *p == ',';
    g->custom = xcalloc(n, sizeof(char *));
    const char *p = csv;
    while (*p) {
        size_t len = strcspn(p, ",");
        char name[128];
        if (len > 0 && len < sizeof(name)) {
            memcpy(name, p, len);
            name[len] = '\0';
            int idx = app_catalogue_role_index(name);
            if (idx >= 0)
                g->roles |= APP_BIT(idx);
            else if (strncmp(name, "crl_", 4) == 0)
                g->custom[g->custom_count++] = xstrdup(name);
        }
        p += len;
        if (*p == ',')
            p++;
    }
}

static void grant_read(struct ix_grant *g, const struct store_rows *rows, size_t r)
{
    memset(g, 0, sizeof(*g));
    const char *env = text_of(rows, r, STORE_AUTHZ_GRANT_ENVIRONMENT);
    const char *bot = text_of(rows, r, STORE_AUTHZ_GRANT_BOT);
    g->agency_id = xstrdup(text_of(rows, r, STORE_AUTHZ_GRANT_AGENCY));
    g->scope_id = xstrdup(text_of(rows, r, STORE_AUTHZ_GRANT_SCOPE));
    g->scope = bot ? APP_SCOPE_BOT : env ? APP_SCOPE_ENVIRONMENT : APP_SCOPE_AGENCY;
    const char *bot_env = text_of(rows, r, STORE_AUTHZ_GRANT_BOT_ENVIRONMENT);
    if (bot && bot_env)
        g->env_id = xstrdup(bot_env);
    roles_split(g, text_of(rows, r, STORE_AUTHZ_GRANT_ROLES));
    g->extra = app_catalogue_permissions_parse(text_of(rows, r, STORE_AUTHZ_GRANT_EXTRA), NULL);
}

static struct ix_user *user_new(const struct store_rows *users, size_t r)
{
    struct ix_user *u = xcalloc(1, sizeof(*u));
    u->is_admin = store_cell(users, r, 1)->i != 0;
    const char *status = text_of(users, r, 2);
    u->is_active = status && strcmp(status, "active") == 0;
    return u;
}

/* Appends grant rows [from, to) to u. */
static void user_add_grants(struct ix_user *u, const struct store_rows *grants, size_t from,
                            size_t to)
{
    if (to <= from)
        return;
    u->grants = xrealloc(u->grants, (u->count + to - from) * sizeof(*u->grants));
    for (size_t r = from; r < to; r++)
        grant_read(&u->grants[u->count++], grants, r);
}

int authz_index_load(struct authz_index *ix, struct store *store, struct usher_error *err)
{
    struct store_conn *c = NULL;
    struct arena a;
    arena_init(&a);
    struct store_rows agencies, envs, bots, roles, users, grants;
    int rc = store_conn_get(store, &c, err);
    if (rc == 0)
        rc = store_begin(c, false, err);
    if (rc == 0)
        rc = store_authz_agencies(&agencies, c, &a, err);
    if (rc == 0)
        rc = store_authz_environments(&envs, c, &a, err);
    if (rc == 0)
        rc = store_authz_bots(&bots, c, &a, err);
    if (rc == 0)
        rc = store_authz_custom_roles(&roles, c, &a, err);
    if (rc == 0)
        rc = store_authz_users(&users, c, &a, err);
    if (rc == 0)
        rc = store_authz_grants(&grants, c, &a, err);
    if (c) {
        store_rollback(c);
        store_conn_put(c);
    }
    if (rc) {
        arena_dispose(&a);
        return rc;
    }
    pthread_rwlock_wrlock(&ix->lock);
    ix_clear(ix);
    for (size_t r = 0; r < agencies.count; r++)
        ix_put_agency_locked(ix, text_of(&agencies, r, 0));
    for (size_t r = 0; r < envs.count; r++)
        ix_put_place_locked(ix, &ix->envs, text_of(&envs, r, 0), text_of(&envs, r, 1), NULL);
    for (size_t r = 0; r < bots.count; r++)
        ix_put_place_locked(ix, &ix->bots, text_of(&bots, r, 0), text_of(&bots, r, 2),
                            text_of(&bots, r, 1));
    for (size_t r = 0; r < roles.count; r++)
        ix_put_role_locked(ix, text_of(&roles, r, 0), text_of(&roles, r, 1),
                           app_catalogue_permissions_parse(text_of(&roles, r, 2), NULL));
    for (size_t r = 0; r < users.count; r++)
        ix_put_user_locked(ix, text_of(&users, r, 0), user_new(&users, r));
    /* Grants arrive ordered by user: attach each run to its user. */
    for (size_t r = 0; r < grants.count;) {
        const char *uid = text_of(&grants, r, STORE_AUTHZ_GRANT_USER);
        size_t end = r + 1;
        while (end < grants.count &&
               strcmp(text_of(&grants, end, STORE_AUTHZ_GRANT_USER), uid) == 0)
            end++;
        struct ix_user *u = hmap_get(&ix->users, uid);
        if (u)
            user_add_grants(u, &grants, r, end);
        r = end;
    }
    pthread_rwlock_unlock(&ix->lock);
    arena_dispose(&a);
    return 0;
}

int authz_index_refresh_user(struct authz_index *ix, struct store_conn *c, const char *user_id,
                             struct usher_error *err)
{
    struct arena a;
    arena_init(&a);
    struct store_rows user, grants;
    int rc = store_authz_user(&user, &grants, c, &a, user_id, err);
    if (rc == 0) {
        struct ix_user *u = NULL;
        if (user.count == 1) {
            u = user_new(&user, 0);
            user_add_grants(u, &grants, 0, grants.count);
        }
        pthread_rwlock_wrlock(&ix->lock);
        ix_put_user_locked(ix, user_id, u);
        pthread_rwlock_unlock(&ix->lock);
    }
    arena_dispose(&a);
    return rc;
}
