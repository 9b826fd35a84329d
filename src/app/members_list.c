/* The users overview: members and invited people merged into one keyset-paged list, filtered by
 * status, search, environment, role and shortcode, each showing only what the caller may see. */
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
                           const struct store_directory_key *after, int64_t now, size_t limit,
                           struct usher_error *err)
{
    struct store_directory_person *items = arena_alloc(x->a, (limit + 2) * sizeof(*items));
    struct app_grant_list *grants = arena_alloc(x->a, (limit + 2) * sizeof(*grants));
    size_t n = 0;
    struct store_directory_key pos = *after;
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

/* Which sources a status reads: members, invitations (and which). */
struct status_sources {
    bool members;
    bool invitations;
    enum store_directory_invitations which;
};

/* Parses the status filter: none (members and pending invitations), "active" (members),
 * "invited" (pending invitations), "expired" or "revoked" (those invitations). */
static int status_parse(struct status_sources *out, const char *status, struct usher_error *err)
{
    static const struct {
        const char *name;
        struct status_sources sources;
    } known[] = {
        {"active", {true, false, STORE_DIRECTORY_PENDING}},
        {"invited", {false, true, STORE_DIRECTORY_PENDING}},
        {"expired", {false, true, STORE_DIRECTORY_EXPIRED}},
        {"revoked", {false, true, STORE_DIRECTORY_REVOKED}},
    };
    *out = (struct status_sources){true, true, STORE_DIRECTORY_PENDING};
    if (!status || !*status)
        return 0;
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
        if (strcmp(known[i].name, status) == 0) {
            *out = known[i].sources;
            return 0;
        }
    }
    return usher_error_set(err, USHER_EINVAL, NULL, "status",
                           "status must be one of active, invited, expired, revoked");
}

/* Validates the query and turns it into the store's filter and the invited people's one. */
static int query_prepare(struct store_directory_filter *out, struct invited_filter *inv,
                         struct app_members_ctx *x, const struct app_member_query *q,
                         enum store_directory_invitations which, struct usher_error *err)
{
    memset(out, 0, sizeof(*out));
    memset(inv, 0, sizeof(*inv));
    out->invitations = which;
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

/* The two sorted sources of a page: members, and invited people with their invitation's
 * grants. */
struct page_sources {
    struct store_directory_person *members;
    size_t member_count;
    bool members_more; /* more members follow */
    struct store_directory_person *invited;
    struct app_grant_list *invited_grants;
    size_t invited_count;
};

/* Merges both sorted sources into out, up to limit people, and sets the next cursor. Invited
 * people are built at once; members (is_member[i]) get their grants afterwards. */
static void page_merge(struct app_member_page *out, bool *is_member,
                       const struct app_members_ctx *x, const struct page_sources *s,
                       const struct store_directory_order *order, size_t limit)
{
    out->items = arena_alloc(x->a, (limit + 1) * sizeof(*out->items));
    size_t mi = 0, ii = 0, n = 0;
    while (n < limit && (mi < s->member_count || ii < s->invited_count)) {
        bool take_member =
            ii >= s->invited_count ||
            (mi < s->member_count &&
             store_directory_key_compare(&s->members[mi].key, &s->invited[ii].key, order) < 0);
        if (take_member) {
            out->items[n].person = s->members[mi++];
            is_member[n] = true;
        } else {
            app_members_build(&out->items[n], x, &s->invited[ii], &s->invited_grants[ii]);
            ii++;
        }
        n++;
    }
    out->count = n;
    if (n == limit && (mi < s->member_count || s->members_more || ii < s->invited_count))
        out->next_cursor =
            store_directory_cursor_encode(x->a, order, &out->items[n - 1].person.key);
}

/* Reads the grants of the page's members (is_member[i]) in one query, and builds each member as
 * the caller may see them. */
static int page_member_grants(struct app_member_page *out, const bool *is_member,
                              struct app_members_ctx *x, const struct app_call *call, int64_t now)
{
    const char **member_ids = arena_alloc(call->arena, (out->count + 1) * sizeof(*member_ids));
    size_t ids = 0;
    for (size_t i = 0; i < out->count; i++) {
        if (is_member[i])
            member_ids[ids++] = out->items[i].person.id;
    }
    struct store_directory_grant *rows = NULL;
    size_t row_count = 0;
    int rc = store_directory_grants(&rows, &row_count, x->c, call->arena, x->agency_id, member_ids,
                                    ids, now, call->err);
    if (rc)
        return rc;
    for (size_t i = 0; i < out->count; i++) {
        if (!is_member[i])
            continue;
        size_t held = 0;
        for (size_t r = 0; r < row_count; r++)
            held += strcmp(rows[r].user_id, out->items[i].person.id) == 0;
        struct app_grant_list pg = {arena_alloc(call->arena, (held + 1) * sizeof(struct app_grant)),
                                    0};
        for (size_t r = 0; r < row_count; r++) {
            if (strcmp(rows[r].user_id, out->items[i].person.id) == 0 &&
                app_grant_from_row(&pg.items[pg.count], call->arena, &rows[r].grant, x->agency_id,
                                   &x->roles))
                pg.count++;
        }
        struct store_directory_person person = out->items[i].person;
        app_members_build(&out->items[i], x, &person, &pg);
    }
    return 0;
}

int app_member_list(struct app_member_page *out, const struct app_call *call, const char *agency_id,
                    const struct app_member_query *query)
{
    memset(out, 0, sizeof(*out));
    struct app_members_ctx x;
    memset(&x, 0, sizeof(x));
    struct store_directory_order order;
    struct store_directory_key after;
    struct store_directory_filter filter;
    struct invited_filter inv_filter;
    struct page_sources src = {0};
    struct status_sources sources;
    /* One moment for the whole page: what has ended, grants and invitations alike. */
    int64_t now = clock_now_ms();
    size_t limit = query->limit ? query->limit : STORE_PAGE_LIMIT_DEFAULT;
    if (limit > STORE_PAGE_LIMIT_MAX)
        limit = STORE_PAGE_LIMIT_MAX;
    int rc = status_parse(&sources, query->status, call->err);
    if (rc)
        goto done;
    rc = store_directory_order_parse(&order, query->sort, call->err);
    if (rc)
        goto done;
    rc = store_directory_cursor_decode(&after, call->arena, &order, query->cursor, call->err);
    if (rc)
        goto done;
    rc = app_members_ctx_open(&x, call, agency_id, false);
    if (rc)
        goto done;
    rc = query_prepare(&filter, &inv_filter, &x, query, sources.which, call->err);
    if (rc)
        goto done;
    if (sources.members)
        rc = store_directory_members(&src.members, &src.member_count, &src.members_more, x.c,
                                     call->arena, x.agency_id, &order, &filter, &after, now, limit,
                                     call->err);
    if (rc)
        goto done;
    if (sources.invitations)
        rc = invited_collect(&src.invited, &src.invited_grants, &src.invited_count, &x, &order,
                             &filter, &inv_filter, &after, now, limit, call->err);
    if (rc)
        goto done;
    bool *is_member = arena_alloc(call->arena, (limit + 1) * sizeof(bool));
    page_merge(out, is_member, &x, &src, &order, limit);
    rc = page_member_grants(out, is_member, &x, call, now);
    if (rc)
        goto done;
    out->roles = x.roles;
    rc = store_commit(x.c, call->err);
done:
    app_members_ctx_close(&x);
    if (rc)
        memset(out, 0, sizeof(*out));
    return rc;
}
