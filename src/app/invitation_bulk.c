/* Bulk invitations: reads a CSV file (RFC 4180, base/csv.h), checks every row against the agency
 * before anything is sent (each row's end held to the sender's own), then sends each row through
 * app_invitation_create, recording per row what became of it. See app/invitation_bulk.h for the
 * file's columns. */
#include "app/invitation_bulk.h"

#include <strings.h>
#include <string.h>

#include "app/access.h"
#include "app/grants.h"
#include "base/clock.h"
#include "base/csv.h"
#include "base/json.h"
#include "base/text.h"
#include "policy/catalogue.h"
#include "store/store_directory.h"
#include "store/store_invitation.h"
#include "store/store_tenancy.h"
#include "store/store_user.h"

enum bulk_column {
    COL_EMAIL,
    COL_FIRST,
    COL_LAST,
    COL_SHORTCODE,
    COL_ENV,
    COL_ROLES,
    COL_EXPIRES,
    COL_COUNT
};

static const char *const column_names[COL_COUNT] = {
    "email", "first_name", "last_name", "shortcode", "environment", "roles", "expires_at",
};
static const bool column_required[COL_COUNT] = {true, false, false, false, true, true, false};

#define BULK_PROBLEMS_MAX 2000 /* past this many, the rest are not listed */
#define BULK_ROLES_MAX    16   /* roles named in one row */
#define BULK_DAY_MS       86400000LL

const char *app_invitation_bulk_template(struct arena *a)
{
    /* "2026-12-06T…": the year is the first four characters. */
    const char *now = clock_format_ms(a, clock_now_ms());
    int year = (now[0] - '0') * 1000 + (now[1] - '0') * 100 + (now[2] - '0') * 10 + (now[3] - '0');
    return arena_printf(a,
                        "email,first_name,last_name,shortcode,environment,roles,expires_at\r\n"
                        "olaf.berg@example.com,Olaf,Berg,OB,Production,Agent;Operator,\r\n"
                        "mia.jansen@example.com,Mia,Jansen,MJ,Staging,Agent,%d-12-31\r\n",
                        year + 1);
}

void app_invitation_bulk_dispose(struct app_bulk *b)
{
    for (size_t i = 0; b->rows && i < b->row_count; i++) {
        json_decref(b->rows[i].in.grants);
        b->rows[i].in.grants = NULL;
    }
}

/* --- problems --------------------------------------------------------------------------- */

struct checker {
    struct app_bulk *out;
    size_t problem_cap;
    struct arena *a;
};

static void problem_add(struct checker *k, size_t row, const char *column, const char *message)
{
    struct app_bulk *b = k->out;
    if (b->problem_count >= BULK_PROBLEMS_MAX)
        return;
    if (b->problem_count == k->problem_cap) {
        size_t next = k->problem_cap ? k->problem_cap * 2 : 16;
        struct app_bulk_problem *grown = arena_alloc(k->a, next * sizeof(*grown));
        if (b->problem_count)
            memcpy(grown, b->problems, b->problem_count * sizeof(*grown));
        b->problems = grown;
        k->problem_cap = next;
    }
    b->problems[b->problem_count++] = (struct app_bulk_problem){
        .row = row, .column = column, .message = arena_strdup(k->a, message)};
}

/* --- the header --------------------------------------------------------------------------- */

/* Maps the header's columns: where[c] is the field index of column c, or -1. Header names are
 * compared trimmed, ignoring ASCII case, with spaces read as '_'. */
static void header_read(int where[COL_COUNT], struct checker *k, const struct csv_record *h)
{
    for (int c = 0; c < COL_COUNT; c++)
        where[c] = -1;
    for (size_t i = 0; i < h->count; i++) {
        char *name = text_trim(k->a, h->fields[i]);
        for (char *s = name; *s; s++)
            if (*s == ' ')
                *s = '_';
        int found = -1;
        for (int c = 0; c < COL_COUNT; c++)
            if (strcasecmp(name, column_names[c]) == 0)
                found = c;
        if (found < 0) {
            problem_add(k, 1, arena_strdup(k->a, name),
                        "unknown column: the columns are email, first_name, last_name, "
                        "shortcode, environment, roles and expires_at");
        } else if (where[found] >= 0) {
            problem_add(k, 1, column_names[found], "this column appears twice");
        } else {
            where[found] = (int)i;
        }
    }
    for (int c = 0; c < COL_COUNT; c++)
        if (column_required[c] && where[c] < 0)
            problem_add(k, 1, column_names[c], "this column is missing from the header row");
}

/* --- what the rows are checked against ------------------------------------------------------ */

struct context {
    const struct app_call *call;
    const char *agency_id;
    struct store_conn *c;
    struct app_access acc;
    const char *own_email;          /* the actor's address, NULL for an API token */
    struct store_environment *envs; /* where the actor may invite */
    size_t env_count;
    int64_t default_end; /* the end of rows without their own (ms), 0 for none */
};

static int context_load(struct context *x, const struct app_call *call, const char *agency_id)
{
    struct arena *a = call->arena;
    int rc = app_access_load(&x->acc, x->c, a, call->actor, agency_id, "agency", call->err);
    if (rc)
        return rc;
    if (call->actor->user_id) {
        struct store_user me;
        rc = store_user_get(&me, x->c, a, call->actor->user_id, call->err);
        if (rc)
            return rc;
        x->own_email = me.email;
    }
    struct store_cursor after = {0};
    size_t cap = 0;
    for (;;) {
        struct store_environment *batch = NULL;
        size_t n = 0;
        bool more = false;
        rc = store_environment_list(&batch, &n, &more, x->c, a, agency_id, &after, 200, call->err);
        if (rc)
            return rc;
        for (size_t i = 0; i < n; i++) {
            if (!app_access_allows(&x->acc, POLICY_SCOPE_ENVIRONMENT, batch[i].id, NULL,
                                   "users.invite"))
                continue;
            if (x->env_count == cap) {
                size_t next = cap ? cap * 2 : 16;
                struct store_environment *grown = arena_alloc(a, next * sizeof(*grown));
                if (x->env_count)
                    memcpy(grown, x->envs, x->env_count * sizeof(*grown));
                x->envs = grown;
                cap = next;
            }
            x->envs[x->env_count++] = batch[i];
        }
        if (!more || n == 0)
            return 0;
        after.is_set = true;
        after.created_at = batch[n - 1].created_at;
        after.id = batch[n - 1].id;
    }
}

/* The environment named name (exactly, else ignoring ASCII case when that is unambiguous) among
 * those where the actor may invite; NULL with *why set otherwise. */
static const struct store_environment *environment_find(const struct context *x, const char *name,
                                                        const char **why)
{
    const struct store_environment *exact = NULL, *folded = NULL;
    size_t exact_n = 0, folded_n = 0;
    for (size_t i = 0; i < x->env_count; i++) {
        if (strcmp(x->envs[i].name, name) == 0) {
            exact = &x->envs[i];
            exact_n++;
        }
        if (strcasecmp(x->envs[i].name, name) == 0) {
            folded = &x->envs[i];
            folded_n++;
        }
    }
    if (exact_n == 1)
        return exact;
    if (exact_n == 0 && folded_n == 1)
        return folded;
    *why = exact_n + folded_n ? "several environments have this name: rename one of them first"
                              : "no environment of this name where you may invite people";
    return NULL;
}

/* The role id a grant uses for a name given in the file: a built-in role by id or by its words
 * ("Environment manager"), a custom role by id or display name; NULL when none. */
static const char *role_find(const struct context *x, struct arena *a, const char *name)
{
    char *id = arena_strdup(a, name);
    for (char *s = id; *s; s++) {
        if (*s == ' ' || *s == '-')
            *s = '_';
        else if (*s >= 'A' && *s <= 'Z')
            *s = (char)(*s - 'A' + 'a');
    }
    if (policy_catalogue_role_index(id) >= 0)
        return id;
    for (size_t i = 0; i < x->acc.roles.count; i++) {
        const struct store_custom_role *r = &x->acc.roles.items[i];
        if (strcmp(r->id, name) == 0 || strcasecmp(r->name, name) == 0)
            return r->id;
    }
    return NULL;
}

/* The roles of a row as a JSON array of role ids, or NULL after adding its problems. */
static json_t *roles_read(struct checker *k, const struct context *x, size_t row, const char *text)
{
    json_t *ids = json_array();
    char *list = arena_strdup(k->a, text);
    bool ok = true;
    char *s = list;
    while (s && *s) {
        char *sep = strpbrk(s, ";|");
        if (sep)
            *sep = '\0';
        const char *name = text_trim(k->a, s);
        s = sep ? sep + 1 : NULL;
        if (!*name)
            continue;
        const char *id = role_find(x, k->a, name);
        if (!id) {
            problem_add(k, row, "roles",
                        arena_printf(k->a, "no role is called \"%s\" in this agency", name));
            ok = false;
            continue;
        }
        bool dup = false;
        for (size_t i = 0; i < json_array_size(ids); i++)
            dup = dup || strcmp(json_string_value(json_array_get(ids, i)), id) == 0;
        if (!dup && json_array_size(ids) < BULK_ROLES_MAX)
            json_array_append_new(ids, json_string(id));
    }
    if (ok && json_array_size(ids) == 0) {
        problem_add(k, row, "roles", "name at least one role, separated by ';' or '|'");
        ok = false;
    }
    if (!ok) {
        json_decref(ids);
        return NULL;
    }
    return ids;
}

/* --- one row ------------------------------------------------------------------------------ */

static const char *cell(const struct csv_record *r, const int where[COL_COUNT], int c,
                        struct arena *a)
{
    return where[c] >= 0 ? text_trim(a, r->fields[where[c]]) : "";
}

/* --- ends ---------------------------------------------------------------------------------- */

/* Reads an end as a cell or the request gives it: a date YYYY-MM-DD (the end of that day in UTC,
 * *is_day set) or an RFC 3339 time, in the future and at most five years ahead. Returns 0, or -1
 * with *why in words for people (static). */
static int end_read(int64_t *out, bool *is_day, struct arena *a, const char *text, const char **why)
{
    *out = 0;
    size_t n = strlen(text);
    bool day = n == 10 && text[4] == '-' && text[7] == '-';
    for (size_t i = 0; day && i < n; i++)
        day = i == 4 || i == 7 || (text[i] >= '0' && text[i] <= '9');
    *is_day = day;
    int64_t at = 0;
    const char *full = day ? arena_printf(a, "%sT23:59:59Z", text) : text;
    if (clock_parse_ms(&at, full) != 0) {
        *why = "write a date like 2027-01-31 (the end of that day, UTC) or an RFC 3339 time in "
               "UTC like 2027-01-31T17:00:00Z";
        return -1;
    }
    int64_t now = clock_now_ms();
    if (at <= now) {
        *why = "this end has already passed: give a later one";
        return -1;
    }
    if (at - now > APP_GRANT_EXPIRY_MAX_MS) {
        *why = "an end may be at most five years ahead";
        return -1;
    }
    *out = at;
    return 0;
}

/* Settles the row's end: its own, else the request's default, else none, held to until (the
 * latest end the sender may give the row's grant; 0: any). A row's own end past until is a
 * problem of its expires_at cell, unless it is a date on until's own day, which takes until; a
 * default end, or no end, past until becomes until. Returns whether the row's end is settled. */
static bool row_end_settle(struct checker *k, const struct context *x, struct app_bulk_row *row,
                           int64_t until)
{
    int64_t end = row->end_asked ? row->end_asked : x->default_end;
    row->end_source = row->end_asked ? "row" : end ? "default" : NULL;
    if (until > 0 && (end == 0 || end > until)) {
        bool same_day = row->is_end_a_day && row->end_asked / BULK_DAY_MS == until / BULK_DAY_MS;
        if (row->end_asked && !same_day) {
            problem_add(k, row->row, "expires_at",
                        arena_printf(k->a,
                                     "your own right to give this in %s ends on %s: give an end "
                                     "no later than that, or leave the cell empty to end then",
                                     row->environment_name, clock_format_readable_ms(k->a, until)));
            row->is_valid = false;
            row->end_source = NULL;
            return false;
        }
        end = until;
        row->end_source = "ceiling";
    }
    row->end = end;
    return true;
}

/* Rule 4 over the row's grant, as for one invitation: what it gives (a refusal is a problem of
 * its roles), then its end (row_end_settle), then the grant with that end asked of
 * app_access_may_grant. Problems go into the file's list; returns 0 or a store error. */
static int row_grant_check(struct checker *k, struct context *x, struct app_bulk_row *row)
{
    struct arena *a = k->a;
    struct usher_error e = {0};
    struct app_grant *grants = NULL;
    size_t n = 0;
    const char *column = "roles";
    int rc = app_grants_parse(&grants, &n, x->c, a, x->agency_id, &x->acc.roles, row->in.grants,
                              "roles", false, &e);
    if (rc)
        goto done;
    const char *why = app_access_grant_refusal(&x->acc, a, &grants[0], "users.invite");
    if (why) {
        rc = usher_error_set(&e, USHER_EFORBIDDEN, "grant_ceiling", "roles", "%s", why);
        goto done;
    }
    if (*row->end_text && !row->end_asked)
        goto done; /* its own end is wrong, which is said already */
    if (!row_end_settle(k, x, row, app_access_grant_until(&x->acc, a, &grants[0], "users.invite")))
        goto done;
    if (row->end) {
        /* Read again with the end, as the invitation will be: an owner grant takes none. */
        json_object_set_new(json_array_get(row->in.grants, 0), "expires_at",
                            json_string(clock_format_ms(a, row->end)));
        column = "expires_at";
        rc = app_grants_parse(&grants, &n, x->c, a, x->agency_id, &x->acc.roles, row->in.grants,
                              "roles", false, &e);
        if (rc)
            goto done;
        column = "roles";
    }
    rc = app_access_may_grant(&x->acc, a, grants, n, "users.invite", "roles", &e);
done:
    if (rc == USHER_EINVAL || rc == USHER_EFORBIDDEN) {
        problem_add(k, row->row, column, e.message);
        row->is_valid = false;
        row->end = 0;
        row->end_source = NULL;
        return 0;
    }
    if (rc)
        return usher_error_set(x->call->err, rc, e.problem, e.field, "%s", e.message);
    return 0;
}

/* An invitation to the agency still waiting for the row's address: sending would be refused
 * (one pending invitation per address and agency), so the row is not valid. Invitations past
 * their expiry do not count: sending marks them expired first. */
static int row_pending_check(struct checker *k, struct context *x, struct app_bulk_row *row)
{
    struct store_invitation *pending = NULL;
    size_t n = 0;
    int rc = store_invitation_pending_for_email(&pending, &n, x->c, k->a, row->in.email,
                                                clock_now_ms(), x->call->err);
    if (rc)
        return rc;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(pending[i].agency_id, x->agency_id) != 0)
            continue;
        problem_add(k, row->row, "email",
                    "already invited: their invitation to this agency is still waiting; resend "
                    "or revoke it from the list of people instead");
        row->is_valid = false;
        break;
    }
    return 0;
}

/* Rule 4 over the row's grant and its end, and what the agency already holds: members, pending
 * invitations, shortcodes. */
static int row_agency_check(struct checker *k, struct context *x, struct app_bulk_row *row)
{
    struct arena *a = k->a;
    struct usher_error e = {0};
    int rc = row_grant_check(k, x, row);
    if (rc)
        return rc;
    if (row->in.email && x->own_email && strcmp(row->in.email, x->own_email) == 0) {
        problem_add(k, row->row, "email", "you cannot invite yourself; ask another manager");
        row->is_valid = false;
        return 0;
    }
    struct store_user existing;
    bool member = false;
    if (row->in.email && store_user_by_email(&existing, x->c, a, row->in.email, &e) == 0) {
        rc = store_agency_has_member(&member, x->c, a, x->agency_id, existing.id, x->call->err);
        if (rc)
            return rc;
    }
    usher_error_clear(&e);
    if (member) {
        problem_add(k, row->row, "email",
                    "already a member of this agency: change their access instead");
        row->is_valid = false;
    } else if (row->in.email) {
        rc = row_pending_check(k, x, row);
        if (rc)
            return rc;
    }
    if (row->in.shortcode) {
        bool taken = false;
        rc = store_directory_shortcode_taken(&taken, x->c, a, x->agency_id, row->in.shortcode, NULL,
                                             x->call->err);
        if (rc)
            return rc;
        if (taken) {
            problem_add(k, row->row, "shortcode", "this shortcode is already used in the agency");
            row->is_valid = false;
        }
    }
    return 0;
}

/* Checks one record into *row, adding its problems. */
static int row_check(struct app_bulk_row *row, struct checker *k, struct context *x,
                     const struct csv_record *r, const int where[COL_COUNT], size_t columns)
{
    struct arena *a = k->a;
    struct usher_error e = {0};
    row->row = r->number;
    row->is_valid = true;
    row->end_text = "";
    row->in.send_email = true;
    row->in.expires_in_seconds = APP_INVITATION_EXPIRY_DEFAULT_S;
    if (r->count != columns) {
        problem_add(
            k, r->number, NULL,
            arena_printf(a, "this row has %zu fields; the header row has %zu", r->count, columns));
        row->is_valid = false;
        return 0;
    }
    row->email = cell(r, where, COL_EMAIL, a);
    row->environment = cell(r, where, COL_ENV, a);
    row->roles = cell(r, where, COL_ROLES, a);
    const char *first = cell(r, where, COL_FIRST, a);
    const char *last = cell(r, where, COL_LAST, a);
    const char *shortcode = cell(r, where, COL_SHORTCODE, a);
    if (!*row->email) {
        problem_add(k, r->number, "email", "an email address is required");
        row->is_valid = false;
    } else if (text_email_normalize(&row->in.email, a, row->email, "email", &e)) {
        problem_add(k, r->number, "email", e.message);
        row->in.email = NULL;
        row->is_valid = false;
    }
    usher_error_clear(&e);
    if (*first &&
        text_name_check(&row->in.first_name, a, first, "first_name", TEXT_NAME_MAX_CHARS, &e)) {
        problem_add(k, r->number, "first_name", e.message);
        row->is_valid = false;
    }
    usher_error_clear(&e);
    if (*last &&
        text_name_check(&row->in.last_name, a, last, "last_name", TEXT_NAME_MAX_CHARS, &e)) {
        problem_add(k, r->number, "last_name", e.message);
        row->is_valid = false;
    }
    usher_error_clear(&e);
    if (*shortcode && text_shortcode_check(&row->in.shortcode, a, shortcode, "shortcode", &e)) {
        problem_add(k, r->number, "shortcode", e.message);
        row->in.shortcode = NULL;
        row->is_valid = false;
    }
    usher_error_clear(&e);
    const char *why = NULL;
    row->end_text = cell(r, where, COL_EXPIRES, a);
    if (*row->end_text && end_read(&row->end_asked, &row->is_end_a_day, a, row->end_text, &why)) {
        problem_add(k, r->number, "expires_at", why);
        row->is_valid = false;
    }
    const struct store_environment *env = NULL;
    if (!*row->environment) {
        problem_add(k, r->number, "environment", "name the environment to invite them to");
        row->is_valid = false;
    } else if (!(env = environment_find(x, row->environment, &why))) {
        problem_add(k, r->number, "environment", why);
        row->is_valid = false;
    } else {
        row->environment_id = env->id;
        row->environment_name = env->name;
    }
    json_t *roles = roles_read(k, x, r->number, row->roles);
    if (!roles)
        row->is_valid = false;
    if (!row->environment_id || !roles) {
        json_decref(roles);
        return 0;
    }
    row->in.grants =
        json_pack("[{s:s, s:o}]", "environment_id", row->environment_id, "roles", roles);
    return row_agency_check(k, x, row);
}

/* The same address or shortcode on two rows: the later row names the earlier one. */
static void duplicates_check(struct checker *k, struct app_bulk *b)
{
    for (size_t i = 0; i < b->row_count; i++) {
        struct app_bulk_row *r = &b->rows[i];
        for (size_t j = 0; j < i; j++) {
            const struct app_bulk_row *p = &b->rows[j];
            if (r->in.email && p->in.email && strcmp(r->in.email, p->in.email) == 0) {
                problem_add(k, r->row, "email",
                            arena_printf(k->a, "this address is also on row %zu", p->row));
                r->is_valid = false;
                break;
            }
        }
        for (size_t j = 0; j < i && r->in.shortcode; j++) {
            const struct app_bulk_row *p = &b->rows[j];
            if (p->in.shortcode && strcasecmp(r->in.shortcode, p->in.shortcode) == 0) {
                problem_add(k, r->row, "shortcode",
                            arena_printf(k->a, "this shortcode is also on row %zu", p->row));
                r->is_valid = false;
                break;
            }
        }
    }
}

/* Reads the records after the header into out->rows. */
static int rows_read(struct checker *k, struct context *x, struct csv_reader *rd,
                     const int where[COL_COUNT], size_t columns)
{
    struct app_bulk *b = k->out;
    b->rows = arena_alloc(k->a, (APP_BULK_ROWS_MAX + 1) * sizeof(*b->rows));
    for (;;) {
        struct csv_record r;
        struct usher_error e = {0};
        bool has = false;
        if (csv_record_next(&r, &has, rd, &e)) {
            problem_add(k, r.number, NULL, e.message);
            return 0;
        }
        if (!has)
            return 0;
        if (csv_record_blank(&r))
            continue;
        if (b->row_count == APP_BULK_ROWS_MAX)
            return usher_error_set(x->call->err, USHER_ELIMIT, "too_large", NULL,
                                   "a file may invite at most %d people", APP_BULK_ROWS_MAX);
        int rc = row_check(&b->rows[b->row_count++], k, x, &r, where, columns);
        if (rc)
            return rc;
    }
}

int app_invitation_bulk_check(struct app_bulk *out, const struct app_call *call,
                              const char *agency_id, const char *csv, size_t len,
                              const char *default_end)
{
    memset(out, 0, sizeof(*out));
    struct checker k = {.out = out, .a = call->arena};
    struct context x = {.call = call, .agency_id = agency_id};
    int rc = 0;
    bool is_day = false;
    const char *why = NULL;
    if (default_end && end_read(&x.default_end, &is_day, call->arena, default_end, &why)) {
        rc = usher_error_set(call->err, USHER_EINVAL, NULL, "expires_at", "expires_at: %s", why);
        goto done;
    }
    if (len > APP_BULK_BYTES_MAX) {
        rc = usher_error_set(call->err, USHER_ELIMIT, "too_large", NULL,
                             "a file may have at most %d bytes", APP_BULK_BYTES_MAX);
        call->err->http_status = 413;
        goto done;
    }
    rc = store_conn_get(call->app->store, &x.c, call->err);
    if (rc)
        goto done;
    rc = context_load(&x, call, agency_id);
    if (rc)
        goto done;
    if (len >= 3 && memcmp(csv, "\xEF\xBB\xBF", 3) == 0) {
        csv += 3;
        len -= 3;
    }
    if (memchr(csv, '\0', len)) {
        problem_add(&k, 0, NULL, "the file must be text (CSV), not a binary file");
        goto done;
    }
    struct csv_reader rd;
    csv_reader_init(&rd, call->arena, csv, len);
    struct csv_record header;
    struct usher_error e = {0};
    bool has = false;
    if (csv_record_next(&header, &has, &rd, &e)) {
        problem_add(&k, 1, NULL, e.message);
        goto done;
    }
    if (!has || csv_record_blank(&header)) {
        problem_add(&k, 1, NULL, "the file must start with a header row naming its columns");
        goto done;
    }
    int where[COL_COUNT];
    header_read(where, &k, &header);
    if (out->problem_count)
        goto done;
    rc = rows_read(&k, &x, &rd, where, header.count);
    if (rc) {
        if (rc == USHER_ELIMIT)
            call->err->http_status = 413;
        goto done;
    }
    if (out->row_count == 0 && out->problem_count == 0)
        problem_add(&k, 0, NULL, "the file has nobody to invite: add a row under the header");
    duplicates_check(&k, out);
    for (size_t i = 0; i < out->row_count; i++)
        out->valid_count += out->rows[i].is_valid ? 1 : 0;
done:
    store_conn_put(x.c);
    if (rc)
        app_invitation_bulk_dispose(out);
    return rc;
}

int app_invitation_bulk_send(struct app_bulk *b, const struct app_call *call, const char *agency_id,
                             bool valid_only)
{
    for (size_t i = 0; i < b->row_count; i++) {
        struct app_bulk_row *row = &b->rows[i];
        if (!row->is_valid) {
            row->result = "skipped";
            row->message = valid_only ? "not sent: this row has problems" : "not sent";
            continue;
        }
        struct usher_error e = {0};
        struct app_call one = *call;
        one.err = &e;
        struct app_invitation_view v;
        int64_t wait = 0;
        int rc = app_invitation_create(&v, &wait, &one, agency_id, &row->in, "users.invite");
        if (rc == 0) {
            row->result = "created";
            row->invitation_id = v.inv.id;
            app_invitation_view_dispose(&v);
            continue;
        }
        row->result = "refused";
        row->code = arena_strdup(call->arena, e.problem);
        row->message = arena_strdup(call->arena, e.message);
    }
    return 0;
}
