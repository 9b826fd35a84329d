/* The platform's accounts for platform admins: listing them with their agencies, and
 * disabling or re-activating one (sessions ended, audit row written, index refreshed). */
#include "app/users.h"

#include <string.h>

#include "app/audit.h"
#include "app/grants.h"
#include "base/text.h"
#include "store/store.h"
#include "store/store_session.h"

static int admins_only(const struct app_call *call, const char *what)
{
    if (call->actor->is_platform_admin && !call->actor->impersonator_id)
        return 0;
    return usher_error_set(call->err, USHER_EFORBIDDEN, NULL, NULL, "only platform admins %s",
                           what);
}

/* "%<q>%" lower-cased (ASCII), with "!", "%" and "_" escaped by "!". */
static const char *search_pattern(struct arena *a, const char *q)
{
    char *out = arena_alloc(a, strlen(q) * 2 + 3);
    size_t n = 0;
    out[n++] = '%';
    for (const char *s = q; *s; s++) {
        char ch = *s;
        if (ch == '!' || ch == '%' || ch == '_')
            out[n++] = '!';
        if (ch >= 'A' && ch <= 'Z')
            ch = (char)(ch - 'A' + 'a');
        out[n++] = ch;
    }
    out[n++] = '%';
    out[n] = '\0';
    return out;
}

static int search_prepare(const char **out, const struct app_call *call, const char *q)
{
    *out = NULL;
    if (!q)
        return 0;
    const char *trimmed = text_trim(call->arena, q);
    long chars = text_utf8_count(trimmed, strlen(trimmed));
    if (chars < 0 || chars > APP_USER_SEARCH_MAX)
        return usher_error_set(call->err, USHER_EINVAL, NULL, "q",
                               "q must be text of at most %d characters", APP_USER_SEARCH_MAX);
    if (*trimmed)
        *out = search_pattern(call->arena, trimmed);
    return 0;
}

int app_users_list(struct app_user_page *out, const struct app_call *call, const char *q,
                   const struct app_page *page)
{
    memset(out, 0, sizeof(*out));
    struct store_conn *c = NULL;
    struct store_user *users = NULL;
    struct store_user_agency *agencies = NULL;
    size_t count = 0, agency_count = 0;
    bool has_more = false;
    const char *pattern = NULL;
    int rc = admins_only(call, "list every account");
    if (rc)
        goto done;
    rc = search_prepare(&pattern, call, q);
    if (rc)
        goto done;
    /* One read transaction, so the agencies belong to the same snapshot as the users. */
    rc = app_call_begin(&c, call, false);
    if (rc)
        goto done;
    rc = store_user_list(&users, &count, &has_more, c, call->arena, pattern, &page->after,
                         page->limit, call->err);
    if (rc || count == 0)
        goto done;
    const struct store_user *last = &users[count - 1];
    rc = store_user_list_agencies(&agencies, &agency_count, c, call->arena, pattern, &page->after,
                                  last->created_at, last->id, call->err);
    if (rc)
        goto done;
    out->items = arena_alloc(call->arena, count * sizeof(*out->items));
    size_t next = 0;
    for (size_t i = 0; i < count; i++) {
        struct app_user_entry *e = &out->items[i];
        e->user = users[i];
        /* Both reads share the order, so each user's agencies follow on from the last's. */
        e->agencies = agencies ? &agencies[next] : NULL;
        while (next < agency_count && strcmp(agencies[next].user_id, users[i].id) == 0) {
            e->agency_count++;
            next++;
        }
    }
    out->count = count;
    if (has_more)
        out->next_cursor = store_cursor_encode(call->arena, last->created_at, last->id);
done:
    store_conn_put(c);
    return rc;
}

/* The guards on disabling target: not oneself, and not the last active platform admin. Runs
 * inside the write transaction, which PostgreSQL serialises with every other writer, so two
 * admins disabling each other at once cannot both succeed. */
static int disable_guard(const struct app_call *call, struct store_conn *c,
                         const struct store_user *target)
{
    if (call->actor->user_id && strcmp(call->actor->user_id, target->id) == 0)
        return usher_error_set(call->err, USHER_ECONFLICT, "cannot_disable_self", "status",
                               "you cannot disable your own account");
    if (!target->is_platform_admin)
        return 0;
    int64_t others = 0;
    int rc = store_user_active_admin_count(&others, c, call->arena, target->id, call->err);
    if (rc)
        return rc;
    if (others == 0)
        return usher_error_set(call->err, USHER_ECONFLICT, "last_platform_admin", "status",
                               "the platform would be left without an active platform admin");
    return 0;
}

/* Writes the new status of target with what goes with it, inside the caller's transaction:
 * the guards and the end of the sessions when disabling, and the audit row naming the person,
 * which tells the other instances to read their decisions again. */
static int status_write(const struct app_call *call, struct store_conn *c,
                        const struct store_user *target, const char *status, bool disable)
{
    int64_t sessions = 0, views = 0;
    int rc = 0;
    if (disable) {
        rc = disable_guard(call, c, target);
        if (rc)
            return rc;
    }
    rc = store_user_status_set(c, call->arena, target->id, status, call->err);
    if (rc)
        return rc;
    if (disable) {
        rc = store_session_delete_user(&sessions, c, call->arena, target->id, call->err);
        if (rc)
            return rc;
        rc = store_session_delete_impersonations(&views, c, call->arena, target->id, call->err);
        if (rc)
            return rc;
    }
    struct app_audit_event ev = {
        .action = disable ? "user.disabled" : "user.enabled",
        .subject_user_id = target->id,
        .details = disable ? json_pack("{s:s, s:I}", "email", target->email, "sessions_ended",
                                       (json_int_t)(sessions + views))
                           : json_pack("{s:s}", "email", target->email),
    };
    return app_audit_record(c, call->arena, call->actor, &ev, call->err);
}

int app_user_status_set(struct store_user *out, const struct app_call *call, const char *user_id,
                        const char *status)
{
    struct store_conn *c = NULL;
    struct store_user target;
    bool disable = status && strcmp(status, STORE_USER_DISABLED) == 0;
    bool changed = false;
    int rc = admins_only(call, "disable or re-activate accounts");
    if (rc)
        goto done;
    if (!status || (!disable && strcmp(status, STORE_USER_ACTIVE) != 0)) {
        rc = usher_error_set(call->err, USHER_EINVAL, NULL, "status",
                             "status must be \"active\" or \"disabled\"");
        goto done;
    }
    rc = app_call_begin(&c, call, true);
    if (rc)
        goto done;
    rc = store_user_get(&target, c, call->arena, user_id, call->err);
    if (rc)
        goto done;
    changed = strcmp(target.status, status) != 0;
    if (changed) {
        rc = status_write(call, c, &target, status, disable);
        if (rc)
            goto done;
        target.status = status;
    }
    rc = store_commit(c, call->err);
    if (rc)
        goto done;
    if (changed)
        app_grants_refresh(call->app, c, target.id);
    target.password_hash = NULL;
    *out = target;
done:
    store_conn_put(c);
    return rc;
}
