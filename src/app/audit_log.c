/* The audit log query: filter validation, who may read an agency's log, and cursors over the
 * row id (newest first). */
#include "app/audit_log.h"

#include <string.h>

#include "app/access.h"
#include "app/check.h"
#include "app/tenancy.h"
#include "base/clock.h"
#include "base/json.h"
#include "base/log.h"

#include <stdlib.h>
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

/* Validates the filters of q into f (the page from limit and cursor when page is not NULL). */
static int filter_parse(struct store_audit_filter *f, struct app_page *page, struct arena *a,
                        const char *agency_id, const struct app_audit_query *q,
                        struct usher_error *err)
{
    memset(f, 0, sizeof(*f));
    f->agency_id = agency_id;
    if (page) {
        int rc = app_page_parse(page, a, q->limit, q->cursor, err);
        if (rc)
            return rc;
        if (page->after.is_set) {
            if (strcmp(page->after.id, AUDIT_CURSOR_MARK) != 0 || page->after.created_at <= 0)
                return usher_error_set(err, USHER_EINVAL, NULL, "cursor", "cursor is not valid");
            f->before_id = page->after.created_at;
        }
        f->limit = page->limit;
    }
    if (q->user_id) {
        size_t len = strlen(q->user_id);
        if (len == 0 || len > APP_AUDIT_ID_MAX)
            return usher_error_set(err, USHER_EINVAL, NULL, "user_id",
                                   "user_id must have 1 to %d bytes", APP_AUDIT_ID_MAX);
        f->user_id = q->user_id;
    }
    /* The action filter keeps its trailing '*' out of the stored prefix. */
    int rc = action_parse(f, q->action, err);
    if (rc)
        return rc;
    if (f->is_action_prefix)
        f->action = arena_strndup(a, q->action, strlen(q->action) - 1);
    return 0;
}

/* Who may read: platform admins and audit.read at agency scope; sources for agency.manage. */
static int reader_check(bool *out_sources, struct store_conn *c, struct arena *a,
                        const struct app_actor *actor, const char *agency_id,
                        struct usher_error *err)
{
    struct store_agency agency;
    struct app_access acc;
    int rc = store_agency_get(&agency, c, a, agency_id, err);
    if (rc)
        goto done;
    rc = app_access_load(&acc, c, a, actor, agency_id, "agency", err);
    if (rc)
        goto done;
    rc = app_access_require(&acc, POLICY_SCOPE_AGENCY, agency_id, NULL, "audit.read", err);
    if (rc)
        goto done;
    /* Addresses and user agents are personal data: only agency managers see them. */
    *out_sources = app_access_allows(&acc, POLICY_SCOPE_AGENCY, agency_id, NULL, "agency.manage");
done:
    return rc;
}

int app_audit_list(struct app_audit_page *out, const struct app_call *call, const char *agency_id,
                   const struct app_audit_query *q)
{
    memset(out, 0, sizeof(*out));
    struct store_audit_filter f;
    struct app_page page;
    struct store_conn *c = NULL;
    bool has_more = false;
    int rc = filter_parse(&f, &page, call->arena, agency_id, q, call->err);
    if (rc)
        goto done;
    rc = store_conn_get(call->app->store, &c, call->err);
    if (rc)
        goto done;
    rc = reader_check(&out->can_see_sources, c, call->arena, call->actor, agency_id, call->err);
    if (rc)
        goto done;
    rc = store_audit_list(&out->items, &out->count, &has_more, c, call->arena, &f, call->err);
    if (rc)
        goto done;
    if (has_more && out->count > 0)
        out->next_cursor =
            store_cursor_encode(call->arena, out->items[out->count - 1].id, AUDIT_CURSOR_MARK);
done:
    store_conn_put(c);
    return rc;
}

json_t *app_audit_entry_details(const struct store_audit_entry *e)
{
    json_t *details = e->details_json ? json_loads(e->details_json, 0, NULL) : NULL;
    if (!json_is_object(details)) {
        json_decref(details);
        details = json_object();
    }
    json_t *personal = e->personal_data ? json_loads(e->personal_data, 0, NULL) : NULL;
    if (json_is_object(personal))
        json_object_update_missing(details, personal);
    json_decref(personal);
    return details;
}

#define EXPORT_BATCH 500

struct app_audit_export {
    struct app *app;
    bool is_csv;
    bool can_see_sources;
    bool is_done;
    bool has_header;
    char *agency_id, *user_id, *action;
    bool is_action_prefix;
    int64_t before_id;
    char *pending; /* rendered text not yet handed out */
    size_t pending_len, pending_off;
};

static char *dup_or_null(const char *s)
{
    return s ? xstrdup(s) : NULL;
}

const char *app_audit_export_type(const char *format)
{
    return strcmp(format, "csv") == 0 ? "text/csv; charset=utf-8" : "application/x-ndjson";
}

int app_audit_export_open(struct app_audit_export **out, const struct app_call *call,
                          const char *agency_id, const struct app_audit_query *q,
                          const char *format)
{
    *out = NULL;
    struct store_audit_filter f;
    struct store_conn *c = NULL;
    bool sources = false;
    int rc = 0;
    if (!format || (strcmp(format, "csv") != 0 && strcmp(format, "ndjson") != 0)) {
        rc = usher_error_set(call->err, USHER_EINVAL, NULL, "format",
                             "format must be csv or ndjson");
        goto done;
    }
    rc = filter_parse(&f, NULL, call->arena, agency_id, q, call->err);
    if (rc)
        goto done;
    rc = store_conn_get(call->app->store, &c, call->err);
    if (rc)
        goto done;
    rc = reader_check(&sources, c, call->arena, call->actor, agency_id, call->err);
    if (rc)
        goto done;
    struct app_audit_export *x = xcalloc(1, sizeof(*x));
    x->app = call->app;
    x->is_csv = strcmp(format, "csv") == 0;
    x->can_see_sources = sources;
    x->agency_id = xstrdup(agency_id);
    x->user_id = dup_or_null(f.user_id);
    x->action = dup_or_null(f.action);
    x->is_action_prefix = f.is_action_prefix;
    *out = x;
done:
    store_conn_put(c);
    return rc;
}

void app_audit_export_free(void *export)
{
    struct app_audit_export *x = export;
    if (!x)
        return;
    free(x->agency_id);
    free(x->user_id);
    free(x->action);
    free(x->pending);
    free(x);
}

struct grow {
    char *data;
    size_t len, cap;
};

static void grow_add(struct grow *g, const char *s, size_t n)
{
    if (g->len + n + 1 > g->cap) {
        g->cap = (g->cap + n + 1) * 2;
        g->data = xrealloc(g->data, g->cap);
    }
    memcpy(g->data + g->len, s, n);
    g->len += n;
    g->data[g->len] = '\0';
}

/* One CSV field: quoted, quotes doubled, and a leading = + - @ defused so a spreadsheet
 * never runs it as a formula. */
static void csv_field(struct grow *g, const char *v, bool last)
{
    grow_add(g, "\"", 1);
    if (v && (*v == '=' || *v == '+' || *v == '-' || *v == '@'))
        grow_add(g, "'", 1);
    for (const char *p = v ? v : ""; *p; p++) {
        if (*p == '"')
            grow_add(g, "\"\"", 2);
        else
            grow_add(g, p, 1);
    }
    grow_add(g, last ? "\"\r\n" : "\",", last ? 3 : 2);
}

static const char *source(const struct app_audit_export *x, const char *v)
{
    return v && !x->can_see_sources ? "redacted" : v;
}

static void render(struct grow *g, const struct app_audit_export *x,
                   const struct store_audit_entry *e, struct arena *a)
{
    const char *at = clock_format_ms(a, e->at);
    const char *id = arena_printf(a, "%lld", (long long)e->id);
    json_t *details = app_audit_entry_details(e);
    if (x->is_csv) {
        char *text = json_dump_compact(details);
        json_decref(details);
        const char *details_text = arena_strdup(a, text ? text : "{}");
        free(text);
        const char *fields[] = {id,
                                at,
                                e->actor_id,
                                e->impersonator_id,
                                e->action,
                                e->subject_user_id,
                                e->scope_type,
                                e->scope_id,
                                source(x, e->source_ip),
                                source(x, e->user_agent),
                                e->request_id,
                                details_text};
        size_t n = sizeof(fields) / sizeof(fields[0]);
        for (size_t i = 0; i < n; i++)
            csv_field(g, fields[i], i + 1 == n);
        return;
    }
    json_t *o = json_pack(
        "{s:s, s:s, s:s?, s:s?, s:s, s:s?, s:s?, s:s?, s:s?, s:s?, s:s?, s:o, s:b, s:b, s:b}", "id",
        id, "at", at, "actor_id", e->actor_id, "impersonator_id", e->impersonator_id, "action",
        e->action, "subject_user_id", e->subject_user_id, "scope_type", e->scope_type, "scope_id",
        e->scope_id, "source_ip", source(x, e->source_ip), "user_agent", source(x, e->user_agent),
        "request_id", e->request_id, "details", details, "actor_deleted", e->is_actor_gone,
        "subject_deleted", e->is_subject_gone, "impersonator_deleted", e->is_impersonator_gone);
    char *line = json_dump_compact(o);
    json_decref(o);
    if (line) {
        grow_add(g, line, strlen(line));
        grow_add(g, "\n", 1);
        free(line);
    }
}

/* Reads the next batch of entries of x into a. The connection goes back before the batch is
 * rendered. */
static int export_batch_read(struct store_audit_entry **out, size_t *count, bool *out_more,
                             const struct app_audit_export *x, struct arena *a,
                             struct usher_error *err)
{
    struct store_conn *c = NULL;
    struct store_audit_filter f = {
        .agency_id = x->agency_id,
        .user_id = x->user_id,
        .action = x->action,
        .is_action_prefix = x->is_action_prefix,
        .before_id = x->before_id,
        .limit = EXPORT_BATCH,
    };
    int rc = store_conn_get(x->app->store, &c, err);
    if (rc)
        goto done;
    rc = store_audit_list(out, count, out_more, c, a, &f, err);
done:
    store_conn_put(c);
    return rc;
}

/* Renders the next batch into x->pending; sets is_done after the last. */
static int export_fill(struct app_audit_export *x)
{
    struct grow g = {0};
    if (!x->has_header) {
        x->has_header = true;
        if (x->is_csv)
            grow_add(&g,
                     "id,at,actor_id,impersonator_id,action,subject_user_id,scope_type,scope_id,"
                     "source_ip,user_agent,request_id,details\r\n",
                     strlen("id,at,actor_id,impersonator_id,action,subject_user_id,scope_type,"
                            "scope_id,source_ip,user_agent,request_id,details\r\n"));
    }
    struct arena a;
    arena_init(&a);
    struct usher_error err = {0};
    struct store_audit_entry *rows = NULL;
    size_t n = 0;
    bool more = false;
    int rc = export_batch_read(&rows, &n, &more, x, &a, &err);
    if (rc)
        goto done;
    for (size_t i = 0; i < n; i++) {
        render(&g, x, &rows[i], &a);
        x->before_id = rows[i].id;
    }
    if (!more)
        x->is_done = true;
done:
    arena_dispose(&a);
    free(x->pending);
    x->pending = g.data;
    x->pending_len = g.len;
    x->pending_off = 0;
    if (rc)
        log_msg(LOG_ERROR, "audit.export_failed", "{s:s}", "error", err.message);
    return rc;
}

long app_audit_export_read(void *export, char *buf, size_t max)
{
    struct app_audit_export *x = export;
    while (x->pending_off == x->pending_len) {
        if (x->is_done)
            return 0;
        if (export_fill(x) != 0)
            return -1;
    }
    size_t n = x->pending_len - x->pending_off;
    if (n > max)
        n = max;
    memcpy(buf, x->pending + x->pending_off, n);
    x->pending_off += n;
    return (long)n;
}
