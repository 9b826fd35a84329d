/* The audit log query: filter validation, who may read an agency's log, cursors over the
 * row id (newest first), and putting names to the people and places each entry names. */
#include "app/audit_log.h"

#include <stdlib.h>
#include <string.h>

#include "app/access.h"
#include "app/audit.h"
#include "app/check.h"
#include "app/tenancy.h"
#include "base/clock.h"
#include "base/json.h"
#include "base/log.h"
#include "store/store_tenancy.h"

/* The cursor of an audit page carries the last row id with this marker, so a cursor of another
 * list is refused rather than misread. */
#define AUDIT_CURSOR_MARK "audit"

/* One kind of action into act: a name, or a prefix ending in '*' ("*" alone: every action, and
 * *out_all is set). */
static int action_one(struct store_audit_action *act, bool *out_all, struct arena *a,
                      const char *text, size_t len, struct usher_error *err)
{
    bool prefix = len > 0 && text[len - 1] == '*';
    size_t body = prefix ? len - 1 : len;
    bool ok = len > 0 && len <= APP_AUDIT_ACTION_MAX;
    for (size_t i = 0; ok && i < body; i++) {
        char ch = text[i];
        ok = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' ||
             ch == '-';
    }
    if (!ok || (!prefix && body == 0))
        return usher_error_set(err, USHER_EINVAL, NULL, "action",
                               "action must be action names, or prefixes ending in '*', "
                               "separated by commas");
    if (prefix && body == 0)
        *out_all = true;
    act->name = arena_strndup(a, text, body);
    act->is_prefix = prefix;
    return 0;
}

/* The comma-separated kinds of action into f. */
static int action_parse(struct store_audit_filter *f, struct arena *a, const char *action,
                        struct usher_error *err)
{
    if (!action)
        return 0;
    struct store_audit_action *acts =
        arena_alloc(a, STORE_AUDIT_ACTIONS_MAX * sizeof(struct store_audit_action));
    size_t n = 0;
    bool all = false;
    const char *p = action;
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (n == STORE_AUDIT_ACTIONS_MAX)
            return usher_error_set(err, USHER_EINVAL, NULL, "action",
                                   "action may name at most %d kinds", STORE_AUDIT_ACTIONS_MAX);
        int rc = action_one(&acts[n++], &all, a, p, len, err);
        if (rc)
            return rc;
        if (!comma)
            break;
        p = comma + 1;
    }
    if (!all) {
        f->actions = acts;
        f->action_count = n;
    }
    return 0;
}

static bool digits_read(const char **p, int count, int *out)
{
    int v = 0;
    for (int i = 0; i < count; i++) {
        char ch = (*p)[i];
        if (ch < '0' || ch > '9')
            return false;
        v = v * 10 + (ch - '0');
    }
    *p += count;
    *out = v;
    return true;
}

/* Steps over one of the characters in any (never over the end of the text). */
static bool sep_read(const char **p, const char *any)
{
    if (**p == '\0' || !strchr(any, **p))
        return false;
    (*p)++;
    return true;
}

/* Days since 1970-01-01 of a date of the proleptic Gregorian calendar. */
static int64_t days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    int era = (y >= 0 ? y : y - 399) / 400;
    int yoe = y - era * 400;
    int doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return (int64_t)era * 146097 + doe - 719468;
}

static int month_days(int y, int m)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : days[m - 1];
}

/* An RFC 3339 date-time ("2026-12-05T18:49:53Z", "…+01:00", fractions of a second allowed) as
 * Unix milliseconds; false when text is not one. */
static bool time_parse(int64_t *out, const char *text)
{
    const char *p = text;
    int y, mo, d, h, mi, s, oh = 0, om = 0, ms = 0;
    if (!digits_read(&p, 4, &y) || !sep_read(&p, "-") || !digits_read(&p, 2, &mo) ||
        !sep_read(&p, "-") || !digits_read(&p, 2, &d) || !sep_read(&p, "Tt") ||
        !digits_read(&p, 2, &h) || !sep_read(&p, ":") || !digits_read(&p, 2, &mi) ||
        !sep_read(&p, ":") || !digits_read(&p, 2, &s))
        return false;
    if (*p == '.') {
        p++;
        int scale = 100, n = 0;
        while (*p >= '0' && *p <= '9') {
            ms += (*p - '0') * scale;
            scale /= 10;
            p++;
            n++;
        }
        if (n == 0)
            return false;
    }
    int sign = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        sign = *p++ == '+' ? 1 : -1;
        if (!digits_read(&p, 2, &oh) || !sep_read(&p, ":") || !digits_read(&p, 2, &om) || oh > 23 ||
            om > 59)
            return false;
    } else {
        return false;
    }
    if (*p || mo < 1 || mo > 12 || d < 1 || d > month_days(y, mo) || h > 23 || mi > 59 || s > 60)
        return false;
    int64_t secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s;
    secs -= sign * (oh * 3600 + om * 60);
    *out = secs * 1000 + ms;
    return true;
}

static int time_filter(bool *has, int64_t *ms, const char *text, const char *name,
                       struct usher_error *err)
{
    if (!text)
        return 0;
    if (!time_parse(ms, text))
        return usher_error_set(err, USHER_EINVAL, NULL, name,
                               "%s must be an RFC 3339 date and time, like 2026-01-31T00:00:00Z",
                               name);
    *has = true;
    return 0;
}

/* The words of a person search as LIKE patterns: lower case, wildcards escaped. */
static int terms_parse(struct store_audit_filter *f, struct arena *a, const char *q,
                       struct usher_error *err)
{
    if (!q)
        return 0;
    size_t len = strlen(q);
    if (len > APP_AUDIT_Q_MAX)
        return usher_error_set(err, USHER_EINVAL, NULL, "q", "q must have at most %d bytes",
                               APP_AUDIT_Q_MAX);
    const char **terms = arena_alloc(a, STORE_AUDIT_TERMS_MAX * sizeof(char *));
    size_t n = 0;
    for (const char *p = q; *p;) {
        while (*p == ' ' || *p == '\t')
            p++;
        size_t word = strcspn(p, " \t");
        if (word == 0)
            break;
        if (n == STORE_AUDIT_TERMS_MAX)
            return usher_error_set(err, USHER_EINVAL, NULL, "q", "q may have at most %d words",
                                   STORE_AUDIT_TERMS_MAX);
        char *pat = arena_alloc(a, word * 2 + 3);
        size_t k = 0;
        pat[k++] = '%';
        for (size_t i = 0; i < word; i++) {
            char ch = p[i];
            if (ch == '%' || ch == '_' || ch == '\\')
                pat[k++] = '\\';
            pat[k++] = ch >= 'A' && ch <= 'Z' ? (char)(ch - 'A' + 'a') : ch;
        }
        pat[k++] = '%';
        pat[k] = '\0';
        terms[n++] = pat;
        p += word;
    }
    if (n == 0)
        return usher_error_set(err, USHER_EINVAL, NULL, "q", "q must name someone");
    f->terms = terms;
    f->term_count = n;
    return 0;
}

/* Validates the filters of q into f (the page from limit and cursor when page is not NULL). */
static int filter_parse(struct store_audit_filter *f, struct app_page *page, struct arena *a,
                        const char *agency_id, const struct app_audit_query *q,
                        struct usher_error *err)
{
    memset(f, 0, sizeof(*f));
    f->agency_id = agency_id;
    int rc = 0;
    if (page) {
        rc = app_page_parse(page, a, q->limit, q->cursor, err);
        if (rc)
            goto done;
        if (page->after.is_set) {
            if (strcmp(page->after.id, AUDIT_CURSOR_MARK) != 0 || page->after.created_at <= 0) {
                rc = usher_error_set(err, USHER_EINVAL, NULL, "cursor", "cursor is not valid");
                goto done;
            }
            f->before_id = page->after.created_at;
        }
        f->limit = page->limit;
        if (q->group && strcmp(q->group, "impersonation") != 0) {
            rc = usher_error_set(err, USHER_EINVAL, NULL, "group", "group must be impersonation");
            goto done;
        }
        f->skip_requests = q->group != NULL;
    }
    if (q->user_id) {
        size_t len = strlen(q->user_id);
        if (len == 0 || len > APP_AUDIT_ID_MAX) {
            rc = usher_error_set(err, USHER_EINVAL, NULL, "user_id",
                                 "user_id must have 1 to %d bytes", APP_AUDIT_ID_MAX);
            goto done;
        }
        f->user_id = q->user_id;
    }
    rc = action_parse(f, a, q->action, err);
    if (rc)
        goto done;
    rc = terms_parse(f, a, q->q, err);
    if (rc)
        goto done;
    rc = time_filter(&f->has_since, &f->since_ms, q->since, "since", err);
    if (rc)
        goto done;
    rc = time_filter(&f->has_until, &f->until_ms, q->until, "until", err);
done:
    return rc;
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

static bool starts_with(const char *s, const char *start)
{
    return strncmp(s, start, strlen(start)) == 0;
}

bool app_audit_recorded_key(const char *key)
{
    return app_audit_personal_key(key) &&
           (starts_with(key, "actor_") || starts_with(key, "subject_") ||
            starts_with(key, "impersonator_"));
}

static const char *json_text(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s && *s ? s : NULL;
}

/* "First Last", "First", "Last" or NULL, in a (the parts may live in a JSON value freed
 * before the name is used). */
static const char *full_name(struct arena *a, const char *first, const char *last)
{
    first = first && *first ? first : NULL;
    last = last && *last ? last : NULL;
    if (first && last)
        return arena_printf(a, "%s %s", first, last);
    if (first || last)
        return arena_strdup(a, first ? first : last);
    return NULL;
}

/* The person in role ("actor", ...) of an entry: as recorded in its personal values, else as
 * the account reads now. */
static void person_resolve(struct app_audit_person *out, struct arena *a, json_t *personal,
                           const char *role, const char *id, const struct store_audit_account *now)
{
    memset(out, 0, sizeof(*out));
    if (!id)
        return;
    const char *first = json_text(personal, arena_printf(a, "%s_first_name", role));
    const char *last = json_text(personal, arena_printf(a, "%s_last_name", role));
    const char *email = json_text(personal, arena_printf(a, "%s_email", role));
    if (first || last || email) {
        out->name = full_name(a, first, last);
        out->email = email ? arena_strdup(a, email) : NULL;
        return;
    }
    out->name = full_name(a, now->first_name, now->last_name);
    out->email = now->email;
}

/* The name of the entry's place: as it was named at the time, else its current name. */
static const char *scope_name(struct arena *a, const struct store_audit_row *r)
{
    json_t *named = r->scope_named_details ? json_loads(r->scope_named_details, 0, NULL) : NULL;
    const char *then = json_text(named, "name");
    const char *name = then ? arena_strdup(a, then) : r->scope_name_now;
    json_decref(named);
    return name;
}

static void item_fill(struct app_audit_item *it, struct arena *a, const struct store_audit_row *r)
{
    memset(it, 0, sizeof(*it));
    it->entry = r->entry;
    json_t *personal =
        r->entry.personal_data ? json_loads(r->entry.personal_data, 0, NULL) : json_object();
    person_resolve(&it->actor, a, personal, "actor", r->entry.actor_id, &r->actor);
    person_resolve(&it->subject, a, personal, "subject", r->entry.subject_user_id, &r->subject);
    person_resolve(&it->impersonator, a, personal, "impersonator", r->entry.impersonator_id,
                   &r->impersonator);
    json_decref(personal);
    /* Someone acting on themselves is recorded once, as the actor. */
    const char *actor_id = r->entry.actor_id;
    if (actor_id && r->entry.subject_user_id && strcmp(actor_id, r->entry.subject_user_id) == 0)
        it->subject = it->actor;
    if (actor_id && r->entry.impersonator_id && strcmp(actor_id, r->entry.impersonator_id) == 0)
        it->impersonator = it->actor;
    it->scope_name = scope_name(a, r);
}

int app_audit_list(struct app_audit_page *out, const struct app_call *call, const char *agency_id,
                   const struct app_audit_query *q)
{
    memset(out, 0, sizeof(*out));
    struct store_audit_filter f;
    struct app_page page;
    struct store_conn *c = NULL;
    struct store_audit_row *rows = NULL;
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
    rc = store_audit_list(&rows, &out->count, &has_more, c, call->arena, &f, call->err);
    if (rc)
        goto done;
    out->items = out->count ? arena_alloc(call->arena, out->count * sizeof(*out->items)) : NULL;
    for (size_t i = 0; i < out->count; i++) {
        struct app_audit_item *it = &out->items[i];
        item_fill(it, call->arena, &rows[i]);
        if (!f.skip_requests || strcmp(it->entry.action, "impersonation.started") != 0)
            continue;
        it->is_grouped = true;
        rc = store_audit_requests_list(&it->requests, &it->request_count, &it->request_total, c,
                                       call->arena, agency_id, &it->entry, APP_AUDIT_GROUP_MAX,
                                       call->err);
        if (rc)
            goto done;
    }
    if (has_more && out->count > 0)
        out->next_cursor = store_cursor_encode(call->arena, out->items[out->count - 1].entry.id,
                                               AUDIT_CURSOR_MARK);
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
    char *agency_id, *user_id, *action, *q, *since, *until; /* the filters as given */
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
    x->user_id = dup_or_null(q->user_id);
    x->action = dup_or_null(q->action);
    x->q = dup_or_null(q->q);
    x->since = dup_or_null(q->since);
    x->until = dup_or_null(q->until);
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
    free(x->q);
    free(x->since);
    free(x->until);
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

/* One CSV field: quoted, quotes doubled, and a leading = + - @, tab or carriage return (the
 * starts OWASP's CSV injection advice lists) defused with a ' so a spreadsheet never runs it
 * as a formula. */
static void csv_field(struct grow *g, const char *v, bool last)
{
    grow_add(g, "\"", 1);
    if (v && *v && strchr("=+-@\t\r", *v))
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
static int export_batch_read(struct store_audit_row **out, size_t *count, bool *out_more,
                             const struct app_audit_export *x, struct arena *a,
                             struct usher_error *err)
{
    struct store_conn *c = NULL;
    struct store_audit_filter f;
    struct app_audit_query q = {.user_id = x->user_id,
                                .action = x->action,
                                .q = x->q,
                                .since = x->since,
                                .until = x->until};
    int rc = filter_parse(&f, NULL, a, x->agency_id, &q, err);
    if (rc)
        goto done;
    f.before_id = x->before_id;
    f.limit = EXPORT_BATCH;
    rc = store_conn_get(x->app->store, &c, err);
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
    struct store_audit_row *rows = NULL;
    size_t n = 0;
    bool more = false;
    int rc = export_batch_read(&rows, &n, &more, x, &a, &err);
    if (rc)
        goto done;
    for (size_t i = 0; i < n; i++) {
        render(&g, x, &rows[i].entry, &a);
        x->before_id = rows[i].entry.id;
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
