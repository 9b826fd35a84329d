/* The audit log query: filter validation, who may read an agency's log, and cursors over the
 * row id (newest first). */
#include "app/audit_log.h"

#include <string.h>

#include "app/check.h"
#include "app/tenancy.h"
#include "store/store_tenancy.h"

/* The cursor of an audit page carries the last row id with this marker, so a cursor of another
 * list is refused rather than misread. */
#define AUDIT_CURSOR_MARK "audit"

static int action_parse(struct store_audit_filter *f, const char *action, struct usher_error *err)
{
    if (!action)
        return 0;
    size_t len = strlen(action);
    bool prefix = len > 0 && action[len - 1] == '*';
    size_t body = prefix ? len - 1 : len;
    bool ok = len > 0 && len <= APP_AUDIT_ACTION_MAX;
    for (size_t i = 0; ok && i < body; i++) {
        char ch = action[i];
        ok = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' ||
             ch == '-';
    }
    if (!ok || (!prefix && body == 0))
        return usher_error_set(err, USHER_EINVAL, NULL, "action",
                               "action must be an action name, or a prefix ending in '*'");
    if (prefix && body == 0)
        return 0; /* "*" alone: every action */
    f->action = action;
    f->is_action_prefix = prefix;
    return 0;
}

int app_audit_list(struct app_audit_page *out, struct app *app, struct arena *a,
                   const struct app_actor *actor, const char *agency_id,
                   const struct app_audit_query *q, struct usher_error *err)
{
    memset(out, 0, sizeof(*out));
    struct store_audit_filter f = {.agency_id = agency_id};
    struct app_page page;
    int rc = app_page_parse(&page, a, q->limit, q->cursor, err);
    if (rc)
        return rc;
    if (page.after.is_set) {
        if (strcmp(page.after.id, AUDIT_CURSOR_MARK) != 0 || page.after.created_at <= 0)
            return usher_error_set(err, USHER_EINVAL, NULL, "cursor", "cursor is not valid");
        f.before_id = page.after.created_at;
    }
    f.limit = page.limit;
    if (q->user_id) {
        size_t len = strlen(q->user_id);
        if (len == 0 || len > APP_AUDIT_ID_MAX)
            return usher_error_set(err, USHER_EINVAL, NULL, "user_id",
                                   "user_id must have 1 to %d bytes", APP_AUDIT_ID_MAX);
        f.user_id = q->user_id;
    }
    /* The action filter keeps its trailing '*' out of the stored prefix. */
    const char *action = q->action;
    rc = action_parse(&f, action, err);
    if (rc)
        return rc;
    if (f.is_action_prefix)
        f.action = arena_strndup(a, action, strlen(action) - 1);

    struct store_conn *c = NULL;
    struct store_agency agency;
    bool has_more = false;
    rc = store_conn_get(app->store, &c, err);
    if (rc == 0)
        rc = store_agency_get(&agency, c, a, agency_id, err);
    if (rc == 0)
        rc = app_check_require(app, c, a, actor, agency_id, APP_SCOPE_AGENCY, agency_id,
                               "audit.read", "agency", err);
    if (rc == 0)
        rc = store_audit_list(&out->items, &out->count, &has_more, c, a, &f, err);
    store_conn_put(c);
    if (rc)
        return rc;
    if (has_more && out->count > 0)
        out->next_cursor = store_cursor_encode(a, out->items[out->count - 1].id, AUDIT_CURSOR_MARK);
    return 0;
}
