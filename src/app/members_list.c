/* The users overview: members and invited people merged into one keyset-paged list, filtered by
 * search, environment, role and shortcode, each showing only what the caller may see. */
#include "app/members.h"

#include <string.h>

#include "app/access.h"
#include "app/audit.h"
#include "app/members_int.h"
#include "base/clock.h"
#include "base/crypto.h"
#include "base/text.h"
#include "policy/catalogue.h"
#include "store/store_member.h"

/* What an invited person must match besides search and shortcode (SQL does those). */
struct invited_filter {
    const char *role_ref;   /* built-in role name or custom role id; NULL for any */
    const bool *env_wanted; /* per environment; NULL for any */
};

static bool grants_hold_role(const struct app_grant_list *pg, const char *role_ref)
{
    int idx = policy_catalogue_role_index(role_ref);
    for (size_t i = 0; i < pg->count; i++) {
        const struct app_grant *g = &pg->items[i];
        if (idx >= 0 && (g->roles & POLICY_BIT(idx)))
            return true;
        for (size_t k = 0; idx < 0 && k < g->custom_count; k++) {
            if (strcmp(g->custom_ids[k], role_ref) == 0)
                return true;
        }
    }
    return false;
}

static bool invited_matches(const struct app_members_ctx *x, const struct invited_filter *f,
                            const struct app_grant_list *pg)
{
    if (f->role_ref && !grants_hold_role(pg, f->role_ref))
        return false;
    if (!f->env_wanted)
        return true;
    for (size_t i = 0; i < x->env_count; i++) {
        if (f->env_wanted[i] && app_members_has_access(pg, x->envs[i].id))
            return true;
    }
    return false;
}

/* Resolves the environments of the bot grants of count people at once. */
static int bot_environments_fill(struct app_members_ctx *x, struct app_grant_list *pgs,
                                 size_t count, struct usher_error *err)
{
    size_t bots = 0;
    for (size_t i = 0; i < count; i++) {
        for (size_t k = 0; k < pgs[i].count; k++)
            bots += pgs[i].items[k].scope == POLICY_SCOPE_BOT;
    }
    if (bots == 0)
        return 0;
    const char **ids = arena_alloc(x->a, bots * sizeof(*ids));
    size_t n = 0;
    for (size_t i = 0; i < count; i++) {
        for (size_t k = 0; k < pgs[i].count; k++) {
            if (pgs[i].items[k].scope == POLICY_SCOPE_BOT)
                ids[n++] = pgs[i].items[k].bot_id;
        }
    }
    const char **envs = NULL;
    int rc = store_directory_bot_environments(&envs, x->c, x->a, x->agency_id, ids, n, err);
    if (rc)
        return rc;
    n = 0;
    for (size_t i = 0; i < count; i++) {
        for (size_t k = 0; k < pgs[i].count; k++) {
            if (pgs[i].items[k].scope == POLICY_SCOPE_BOT)
                pgs[i].items[k].environment_id = envs[n++];
        }
    }
    return 0;
}

/* Up to limit + 1 invited people after *after who pass filter, in order. */
static int invited_collect(struct store_directory_person **out, struct app_grant_list **out_grants,
                           size_t *out_count, struct app_members_ctx *x,
                           const struct store_directory_order *order,
                           const struct store_directory_filter *sql_filter,
                           const struct invited_filter *filter,
                           const struct store_directory_key *after, size_t limit,
                           struct usher_error *err)
{
    struct store_directory_person *items = arena_alloc(x->a, (limit + 2) * sizeof(*items));
    struct app_grant_list *grants = arena_alloc(x->a, (limit + 2) * sizeof(*grants));
    size_t n = 0;
    struct store_directory_key pos = *after;
    int64_t now = clock_now_ms();
    for (;;) {
        struct store_directory_person *batch = NULL;
        size_t count = 0;
        bool more = false;
        int rc = store_directory_invited(&batch, &count, &more, x->c, x->a, x->agency_id, order,
                                         sql_filter, &pos, now, limit, err);
        if (rc)
            return rc;
        struct app_grant_list *pgs = arena_alloc(x->a, (count + 1) * sizeof(*pgs));
        for (size_t i = 0; i < count; i++)
            app_grant_list_from_json(&pgs[i], x->a, batch[i].grants_json, x->agency_id, &x->roles);
        rc = bot_environments_fill(x, pgs, count, err);
        if (rc)
            return rc;
        for (size_t i = 0; i < count && n <= limit; i++) {
            if (invited_matches(x, filter, &pgs[i])) {
                items[n] = batch[i];
                grants[n] = pgs[i];
                n++;
            }
        }
        if (n > limit || !more || count == 0)
            break;
        pos = batch[count - 1].key;
    }
    *out = items;
    *out_grants = grants;
    *out_count = n;
    return 0;
}

/* Validates the query and turns it into the store's filter and the invited people's one. */
static int query_prepare(struct store_directory_filter *out, struct invited_filter *inv,
                         struct app_members_ctx *x, const struct app_member_query *q,
                         struct usher_error *err)
{
    memset(out, 0, sizeof(*out));
    memset(inv, 0, sizeof(*inv));
    if (!x->caller.reads_all && x->caller.readable_count == 0)
        return app_members_forbidden(err, "users.read is required in this agency");
    if (q->q) {
        const char *trimmed = text_trim(x->a, q->q);
        long chars = text_utf8_count(trimmed, strlen(trimmed));
        if (chars < 0 || chars > APP_MEMBER_SEARCH_MAX)
            return usher_error_set(err, USHER_EINVAL, NULL, "q",
                                   "q must be text of at most %d characters",
                                   APP_MEMBER_SEARCH_MAX);
        out->search = *trimmed ? trimmed : NULL;
    }
    if (q->shortcode) {
        int rc = text_shortcode_check(&out->shortcode, x->a, q->shortcode, "shortcode", err);
        if (rc)
            return rc;
    }
    if (q->role) {
        if (policy_catalogue_role_find(q->role)) {
            out->role = q->role;
        } else {
            const struct store_custom_role *custom = app_role_set_find(&x->roles, q->role, NULL);
            if (!custom)
                return usher_error_set(err, USHER_EINVAL, "unknown_role", "role",
                                       "unknown role %.100s", q->role);
            out->role = custom->id;
        }
        inv->role_ref = out->role;
    }
    long wanted = -1;
    if (q->environment_id) {
        wanted = app_members_env_index(x, q->environment_id);
        if (wanted < 0)
            return usher_error_set(err, USHER_EINVAL, "unknown_scope", "environment_id",
                                   "environment_id is not an environment of this agency");
        if (!x->caller.reads_env[wanted])
            return app_members_forbidden(err, "users.read is required in this environment");
    }
    if (wanted < 0 && x->caller.reads_all)
        return 0;
    /* An environment filter, or a caller who reads only some environments: people with access
     * to one of them. */
    bool *env_wanted = arena_alloc(x->a, (x->env_count + 1) * sizeof(bool));
    size_t len = 1;
    for (size_t i = 0; i < x->env_count; i++) {
        env_wanted[i] = wanted >= 0 ? (long)i == wanted : x->caller.reads_env[i];
        len += env_wanted[i] ? strlen(x->envs[i].id) + 1 : 0;
    }
    char *ids = arena_alloc(x->a, len);
    size_t used = 0;
    for (size_t i = 0; i < x->env_count; i++) {
        if (!env_wanted[i])
            continue;
        if (used)
            ids[used++] = ',';
        memcpy(ids + used, x->envs[i].id, strlen(x->envs[i].id));
        used += strlen(x->envs[i].id);
    }
    ids[used] = '\0';
    out->environment_ids = ids;
    inv->env_wanted = env_wanted;
    return 0;
}

int app_member_list(struct app_member_page *out, const struct app_call *call, const char *agency_id,
                    const struct app_member_query *query)
{
    memset(out, 0, sizeof(*out));
    struct store_directory_order order;
    struct store_directory_key after;
    int rc = store_directory_order_parse(&order, query->sort, call->err);
    if (rc == 0)
        rc = store_directory_cursor_decode(&after, call->arena, &order, query->cursor, call->err);
    if (rc)
        return rc;
    size_t limit = query->limit ? query->limit : STORE_PAGE_LIMIT_DEFAULT;
    if (limit > STORE_PAGE_LIMIT_MAX)
        limit = STORE_PAGE_LIMIT_MAX;

    struct app_members_ctx x;
    struct store_directory_filter filter;
    struct invited_filter inv_filter;
    rc = app_members_ctx_open(&x, call, agency_id, false);
    if (rc == 0)
        rc = query_prepare(&filter, &inv_filter, &x, query, call->err);
    if (rc)
        goto done;

    struct store_directory_person *members = NULL, *invited = NULL;
    struct app_grant_list *invited_grants = NULL;
    size_t member_count = 0, invited_count = 0;
    bool members_more = false;
    rc = store_directory_members(&members, &member_count, &members_more, x.c, call->arena,
                                 x.agency_id, &order, &filter, &after, limit, call->err);
    if (rc == 0)
        rc = invited_collect(&invited, &invited_grants, &invited_count, &x, &order, &filter,
                             &inv_filter, &after, limit, call->err);
    if (rc)
        goto done;

    /* Merge both sorted lists into one page. */
    out->items = arena_alloc(call->arena, (limit + 1) * sizeof(*out->items));
    const char **member_ids = arena_alloc(call->arena, (limit + 1) * sizeof(*member_ids));
    size_t mi = 0, ii = 0, n = 0, ids = 0;
    bool *is_member = arena_alloc(call->arena, (limit + 1) * sizeof(bool));
    while (n < limit && (mi < member_count || ii < invited_count)) {
        bool take_member =
            ii >= invited_count ||
            (mi < member_count &&
             store_directory_key_compare(&members[mi].key, &invited[ii].key, &order) < 0);
        if (take_member) {
            out->items[n].person = members[mi++];
            member_ids[ids++] = out->items[n].person.id;
            is_member[n] = true;
        } else {
            app_members_build(&out->items[n], &x, &invited[ii], &invited_grants[ii]);
            ii++;
        }
        n++;
    }
    out->count = n;
    if (n == limit && (mi < member_count || members_more || ii < invited_count))
        out->next_cursor =
            store_directory_cursor_encode(call->arena, &order, &out->items[n - 1].person.key);

    /* The members' grants, in one query for the page. */
    struct store_directory_grant *rows = NULL;
    size_t row_count = 0;
    rc = store_directory_grants(&rows, &row_count, x.c, call->arena, x.agency_id, member_ids, ids,
                                call->err);
    if (rc)
        goto done;
    for (size_t i = 0; i < n; i++) {
        if (!is_member[i])
            continue;
        size_t held = 0;
        for (size_t r = 0; r < row_count; r++)
            held += strcmp(rows[r].user_id, out->items[i].person.id) == 0;
        struct app_grant_list pg = {arena_alloc(call->arena, (held + 1) * sizeof(struct app_grant)),
                                    0};
        for (size_t r = 0; r < row_count; r++) {
            if (strcmp(rows[r].user_id, out->items[i].person.id) == 0 &&
                app_grant_from_row(&pg.items[pg.count], call->arena, &rows[r].grant, x.agency_id,
                                   &x.roles))
                pg.count++;
        }
        struct store_directory_person person = out->items[i].person;
        app_members_build(&out->items[i], &x, &person, &pg);
    }
    out->roles = x.roles;
    rc = store_commit(x.c, call->err);
done:
    app_members_ctx_close(&x);
    if (rc)
        memset(out, 0, sizeof(*out));
    return rc;
}
