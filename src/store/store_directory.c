/* SQL for the users overview: keyset pages of members and of invited people in one of six
 * orders, batched reads of the grants of a page, and the few writes of member management that
 * store_member.h does not cover. */
#include "store/store_directory.h"

#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#define ID_MAX  200 /* longest id a cursor may carry */
#define KEY_MAX 600 /* longest sort text a cursor may carry (64 characters of UTF-8 fit) */

/* --- orders and cursors --- */

static const struct {
    const char *name;
    enum store_directory_sort by;
} sorts[] = {
    {"name", STORE_DIRECTORY_BY_NAME},
    {"created", STORE_DIRECTORY_BY_CREATED},
    {"last_active", STORE_DIRECTORY_BY_ACTIVE},
};

#define SORT_COUNT (sizeof(sorts) / sizeof(sorts[0]))

int store_directory_order_parse(struct store_directory_order *out, const char *text,
                                struct usher_error *err)
{
    out->by = STORE_DIRECTORY_BY_NAME;
    out->is_desc = false;
    if (!text || !*text)
        return 0;
    const char *name = text[0] == '-' ? text + 1 : text;
    for (size_t i = 0; i < SORT_COUNT; i++) {
        if (strcmp(sorts[i].name, name) == 0) {
            out->by = sorts[i].by;
            out->is_desc = text[0] == '-';
            return 0;
        }
    }
    return usher_error_set(err, USHER_EINVAL, NULL, "sort",
                           "sort must be one of name, created, last_active, each optionally "
                           "preceded by - for descending order");
}

static const char *order_token(const struct store_directory_order *order)
{
    for (size_t i = 0; i < SORT_COUNT; i++) {
        if (sorts[i].by == order->by)
            return sorts[i].name;
    }
    return "name";
}

int store_directory_key_compare(const struct store_directory_key *x,
                                const struct store_directory_key *y,
                                const struct store_directory_order *order)
{
    int cmp;
    if (order->by == STORE_DIRECTORY_BY_NAME)
        cmp = strcmp(x->text ? x->text : "", y->text ? y->text : "");
    else
        cmp = (x->number > y->number) - (x->number < y->number);
    if (cmp == 0)
        cmp = strcmp(x->id ? x->id : "", y->id ? y->id : "");
    cmp = (cmp > 0) - (cmp < 0);
    return order->is_desc ? -cmp : cmp;
}

/* The cursor is base64url of "[-]<sort>|<id>|<sort value>": the sort guards against reuse
 * with another order, the id breaks ties. */
char *store_directory_cursor_encode(struct arena *a, const struct store_directory_order *order,
                                    const struct store_directory_key *key)
{
    const char *plain;
    if (order->by == STORE_DIRECTORY_BY_NAME)
        plain = arena_printf(a, "%s%s|%s|%s", order->is_desc ? "-" : "", order_token(order),
                             key->id, key->text ? key->text : "");
    else
        plain = arena_printf(a, "%s%s|%s|%lld", order->is_desc ? "-" : "", order_token(order),
                             key->id, (long long)key->number);
    size_t len = strlen(plain);
    size_t cap = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    char *out = arena_alloc(a, cap);
    sodium_bin2base64(out, cap, (const unsigned char *)plain, len,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    return out;
}

static int cursor_invalid(struct usher_error *err)
{
    return usher_error_set(err, USHER_EINVAL, NULL, "cursor", "cursor is not valid");
}

static bool number_parse(int64_t *out, const char *s, size_t len)
{
    size_t i = 0;
    bool negative = len > 0 && s[0] == '-';
    if (negative)
        i++;
    if (i == len || len - i > 18)
        return false;
    int64_t value = 0;
    for (; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        value = value * 10 + (s[i] - '0');
    }
    *out = negative ? -value : value;
    return true;
}

int store_directory_cursor_decode(struct store_directory_key *out, struct arena *a,
                                  const struct store_directory_order *order, const char *text,
                                  struct usher_error *err)
{
    memset(out, 0, sizeof(*out));
    if (!text || !*text)
        return 0;
    size_t text_len = strlen(text);
    if (text_len > STORE_DIRECTORY_CURSOR_MAX)
        return cursor_invalid(err);
    unsigned char *plain = arena_alloc(a, text_len + 1);
    size_t len = 0;
    if (sodium_base642bin(plain, text_len, text, text_len, NULL, &len, NULL,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0)
        return cursor_invalid(err);
    plain[len] = '\0';
    if (memchr(plain, '\0', len))
        return cursor_invalid(err);
    const char *s = (const char *)plain;
    const char *bar1 = strchr(s, '|');
    const char *bar2 = bar1 ? strchr(bar1 + 1, '|') : NULL;
    if (!bar2)
        return cursor_invalid(err);
    const char *expected = arena_printf(a, "%s%s", order->is_desc ? "-" : "", order_token(order));
    if ((size_t)(bar1 - s) != strlen(expected) || strncmp(s, expected, strlen(expected)) != 0)
        return cursor_invalid(err);
    const char *id = bar1 + 1;
    size_t id_len = (size_t)(bar2 - id);
    if (id_len == 0 || id_len > ID_MAX)
        return cursor_invalid(err);
    for (size_t i = 0; i < id_len; i++) {
        if ((unsigned char)id[i] <= 0x20 || (unsigned char)id[i] >= 0x7F)
            return cursor_invalid(err);
    }
    const char *value = bar2 + 1;
    size_t value_len = strlen(value);
    if (order->by == STORE_DIRECTORY_BY_NAME) {
        if (value_len > KEY_MAX)
            return cursor_invalid(err);
        out->text = arena_strndup(a, value, value_len);
    } else if (!number_parse(&out->number, value, value_len)) {
        return cursor_invalid(err);
    }
    out->id = arena_strndup(a, id, id_len);
    out->is_set = true;
    return 0;
}

/* --- SQL --- */

/* The name sort key; the triggers of 0004_directory.sql compute the same for members. */
#define NAME_KEY(first, last, email)                                                               \
    "lower(substr(CASE WHEN trim(" first " || ' ' || " last ") = '' THEN " email                   \
    " ELSE trim(" first " || ' ' || " last ") END, 1, 64))"

/* Members: $1 agency, $2 shortcode, $3 search pattern (over memberships.search_text),
 * $4 environment ids (comma-separated), $5 role pattern, $6 now, $7 row limit; resuming adds
 * $8 sort value and $9 user id. A member has access to environment E through a grant on E that
 * is not empty, through a grant on one of E's bots, or through the agency grant when they hold
 * no grant on E. Only grants in force at $6 count: one that has ended is skipped (so an agency
 * grant applies again where an environment grant ended) although its row waits for the lapse
 * job. The environment and role filters are uncorrelated IN lists, built once per query
 * through indexes, so a rare match costs no more than a common one. */
#define E_IN_SET        "(',' || $4 || ',') LIKE ('%,' || replace(e.id, '_', '!_') || ',%') ESCAPE '!' "
#define IN_FORCE(alias) "(" alias ".expires_at IS NULL OR " alias ".expires_at > $6) "

#define MEMBER_SELECT                                                                              \
    "SELECT m.user_id, u.email, u.first_name, u.last_name, m.shortcode, u.status, m.created_at, "  \
    "u.last_active_at, m.sort_name, m.sort_active "                                                \
    "FROM memberships m JOIN users u ON u.id = m.user_id "                                         \
    "WHERE m.agency_id = $1 AND (CAST($2 AS TEXT) IS NULL OR m.shortcode = $2) "                   \
    "AND (CAST($3 AS TEXT) IS NULL OR m.search_text LIKE $3 ESCAPE '!') "                          \
    "AND (CAST($4 AS TEXT) IS NULL OR m.user_id IN ("                                              \
    "SELECT g.user_id FROM environments e JOIN grants g ON g.scope_id = e.id "                     \
    "WHERE e.agency_id = $1 AND " E_IN_SET "AND (g.roles <> '' OR g.extra_permissions <> '') "     \
    "AND " IN_FORCE(                                                                               \
        "g") "UNION ALL SELECT g.user_id FROM environments e JOIN bots b ON b.environment_id = "   \
             "e.id "                                                                               \
             "JOIN grants g ON g.scope_id = b.id "                                                 \
             "WHERE e.agency_id = $1 AND " E_IN_SET                                                \
             "AND (g.roles <> '' OR g.extra_permissions <> '') "                                   \
             "AND " IN_FORCE(                                                                      \
                 "g") "UNION ALL SELECT ga.user_id FROM grants ga JOIN environments e ON "         \
                      "e.agency_id = $1 "                                                          \
                      "WHERE ga.scope_id = $1 AND " E_IN_SET "AND " IN_FORCE(                      \
                          "ga") "AND NOT EXISTS (SELECT 1 FROM grants gn WHERE gn.user_id = "      \
                                "ga.user_id "                                                      \
                                "AND gn.scope_id = e.id AND " IN_FORCE(                            \
                                    "gn") "))) "                                                   \
                                          "AND (CAST($5 AS TEXT) IS NULL OR m.user_id IN (SELECT " \
                                          "gr.user_id FROM grants gr WHERE "                       \
                                          "gr.agency_id = $1 AND " IN_FORCE(                       \
                                              "gr") "AND (',' || gr.roles || ',') LIKE $5 ESCAPE " \
                                                    "'!')) "

/* An exact shortcode names at most one member: the extra equality lets the planner read it
 * through memberships_shortcode instead of walking the agency in sort order. */
#define BY_SHORTCODE "AND m.shortcode = $2 "

#define MEMBER_FIRST(extra, col, dir)                                                              \
    MEMBER_SELECT extra "ORDER BY " col dir ", m.user_id" dir " LIMIT $7"
#define MEMBER_RESUME(extra, col, op, dir)                                                         \
    MEMBER_SELECT extra "AND (" col ", m.user_id) " op " ($8, $9) "                                \
                        "ORDER BY " col dir ", m.user_id" dir " LIMIT $7"
#define MEMBER_QUERIES(extra, col)                                                                 \
    {                                                                                              \
        {MEMBER_FIRST(extra, col, ""), MEMBER_RESUME(extra, col, ">", "")},                        \
        {                                                                                          \
            MEMBER_FIRST(extra, col, " DESC"), MEMBER_RESUME(extra, col, "<", " DESC")             \
        }                                                                                          \
    }
#define MEMBER_SORTS(extra)                                                                        \
    {                                                                                              \
        [STORE_DIRECTORY_BY_NAME] = MEMBER_QUERIES(extra, "m.sort_name"),                          \
        [STORE_DIRECTORY_BY_CREATED] = MEMBER_QUERIES(extra, "m.created_at"),                      \
        [STORE_DIRECTORY_BY_ACTIVE] = MEMBER_QUERIES(extra, "m.sort_active")                       \
    }

/* [by shortcode][sort][descending][resuming] */
static const char *const member_sql[2][3][2][2] = {MEMBER_SORTS(""), MEMBER_SORTS(BY_SHORTCODE)};

/* Invitations: $1 agency, $2 now, $3 shortcode, $4 search pattern, $5 row limit; resuming adds
 * $6 sort value and $7 invitation id. Pending ones count while unexpired at $2 and only for
 * people who are not members yet (one row per person); an expired one is marked so, or still
 * pending past its end (the invitations list marks those as it reads them). */
#define INVITED_NAME NAME_KEY("coalesce(i.first_name, '')", "coalesce(i.last_name, '')", "i.email")

#define PENDING_NOW                                                                                \
    "i.status = 'pending' AND i.expires_at > $2 "                                                  \
    "AND NOT EXISTS (SELECT 1 FROM users u JOIN memberships mm ON mm.user_id = u.id "              \
    "AND mm.agency_id = i.agency_id WHERE u.email = i.email) "
#define EXPIRED_NOW "(i.status = 'expired' OR (i.status = 'pending' AND i.expires_at <= $2)) "
#define REVOKED     "i.status = 'revoked' "

#define INVITED_SELECT(status, key)                                                                \
    "SELECT i.id, i.email, coalesce(i.first_name, ''), coalesce(i.last_name, ''), i.shortcode, "   \
    "i.created_at, i.grants, " key " AS sort_key FROM invitations i "                              \
    "WHERE i.agency_id = $1 AND " status "AND (CAST($3 AS TEXT) IS NULL OR i.shortcode = $3) "     \
    "AND (CAST($4 AS TEXT) IS NULL OR lower(coalesce(i.first_name, '') || ' ' || "                 \
    "coalesce(i.last_name, '') "                                                                   \
    "|| ' ' || i.email) LIKE $4 ESCAPE '!') "

#define INVITED_FIRST(status, key, dir)                                                            \
    INVITED_SELECT(status, key) "ORDER BY sort_key" dir ", i.id" dir " LIMIT $5"
#define INVITED_RESUME(status, key, op, dir)                                                       \
    INVITED_SELECT(status, key)                                                                    \
    "AND (" key ", i.id) " op " ($6, $7) "                                                         \
    "ORDER BY sort_key" dir ", i.id" dir " LIMIT $5"
#define INVITED_QUERIES(status, key)                                                               \
    {                                                                                              \
        {INVITED_FIRST(status, key, ""), INVITED_RESUME(status, key, ">", "")},                    \
        {                                                                                          \
            INVITED_FIRST(status, key, " DESC"), INVITED_RESUME(status, key, "<", " DESC")         \
        }                                                                                          \
    }
#define INVITED_SORTS(status)                                                                      \
    {                                                                                              \
        [STORE_DIRECTORY_BY_NAME] = INVITED_QUERIES(status, INVITED_NAME),                         \
        [STORE_DIRECTORY_BY_CREATED] = INVITED_QUERIES(status, "i.created_at"),                    \
        [STORE_DIRECTORY_BY_ACTIVE] = INVITED_QUERIES(status, "0")                                 \
    }

/* [which][sort][descending][resuming] */
static const char *const invited_sql[3][3][2][2] = {
    [STORE_DIRECTORY_PENDING] = INVITED_SORTS(PENDING_NOW),
    [STORE_DIRECTORY_EXPIRED] = INVITED_SORTS(EXPIRED_NOW),
    [STORE_DIRECTORY_REVOKED] = INVITED_SORTS(REVOKED),
};

/* Batched reads take $1 the agency and $2..$(STORE_DIRECTORY_BATCH + 1) ids, NULL-padded, so
 * one statement text serves every page and stays in the statement cache; the grants' one adds
 * now after them, skipping grants that have ended. */
static char grants_batch_sql[1024 + STORE_DIRECTORY_BATCH * 8];
static char bots_batch_sql[512 + STORE_DIRECTORY_BATCH * 8];
static pthread_once_t batch_once = PTHREAD_ONCE_INIT;

static void placeholders_append(char *buf, size_t cap)
{
    size_t len = strlen(buf);
    for (int i = 0; i < STORE_DIRECTORY_BATCH; i++)
        len += (size_t)snprintf(buf + len, cap - len, "%s$%d", i ? ", " : "", i + 2);
    snprintf(buf + len, cap - len, ")");
}

static void batch_sql_build(void)
{
    snprintf(grants_batch_sql, sizeof(grants_batch_sql), "%s",
             "SELECT g.user_id, g.id, "
             "CASE WHEN g.bot_id IS NULL THEN g.environment_id ELSE b.environment_id END, "
             "g.bot_id, g.scope_id, g.roles, g.extra_permissions, g.created_at, g.expires_at "
             "FROM grants g LEFT JOIN bots b ON b.id = g.bot_id "
             "WHERE g.agency_id = $1 AND g.user_id IN (");
    placeholders_append(grants_batch_sql, sizeof(grants_batch_sql));
    size_t len = strlen(grants_batch_sql);
    snprintf(grants_batch_sql + len, sizeof(grants_batch_sql) - len,
             " AND (g.expires_at IS NULL OR g.expires_at > $%d) ORDER BY g.user_id, g.created_at, "
             "g.id",
             STORE_DIRECTORY_BATCH + 2);
    snprintf(bots_batch_sql, sizeof(bots_batch_sql), "%s",
             "SELECT b.id, b.environment_id FROM bots b WHERE b.agency_id = $1 AND b.id IN (");
    placeholders_append(bots_batch_sql, sizeof(bots_batch_sql));
}

/* --- values and patterns --- */

/* Copies s for a LIKE pattern with "!" as the escape character. */
static size_t like_escape(char *out, const char *s, bool lower)
{
    size_t n = 0;
    for (; *s; s++) {
        char ch = *s;
        if (ch == '!' || ch == '%' || ch == '_')
            out[n++] = '!';
        if (lower && ch >= 'A' && ch <= 'Z')
            ch = (char)(ch - 'A' + 'a');
        out[n++] = ch;
    }
    return n;
}

/* "%<search>%", lower-cased (ASCII) and escaped; NULL for none. */
static const char *search_pattern(struct arena *a, const char *search)
{
    if (!search || !*search)
        return NULL;
    char *out = arena_alloc(a, strlen(search) * 2 + 3);
    size_t n = 0;
    out[n++] = '%';
    n += like_escape(out + n, search, true);
    out[n++] = '%';
    out[n] = '\0';
    return out;
}

/* "%,<role>,%", escaped; NULL for none. */
static const char *role_pattern(struct arena *a, const char *role)
{
    if (!role || !*role)
        return NULL;
    char *out = arena_alloc(a, strlen(role) * 2 + 5);
    size_t n = 0;
    out[n++] = '%';
    out[n++] = ',';
    n += like_escape(out + n, role, false);
    out[n++] = ',';
    out[n++] = '%';
    out[n] = '\0';
    return out;
}

static size_t limit_clamp(size_t limit)
{
    if (limit == 0)
        return STORE_PAGE_LIMIT_DEFAULT;
    return limit > STORE_PAGE_LIMIT_MAX ? STORE_PAGE_LIMIT_MAX : limit;
}

static struct store_value key_value(const struct store_directory_order *order,
                                    const struct store_directory_key *key)
{
    if (order->by == STORE_DIRECTORY_BY_NAME)
        return store_text(key->text ? key->text : "");
    return store_int(key->number);
}

/* --- pages --- */

static void member_from_row(struct store_directory_person *p, const struct store_rows *rows,
                            size_t r, const struct store_directory_order *order)
{
    memset(p, 0, sizeof(*p));
    p->id = store_cell_text(rows, r, 0);
    p->email = store_cell_text(rows, r, 1);
    p->first_name = store_cell_text(rows, r, 2);
    p->last_name = store_cell_text(rows, r, 3);
    p->shortcode = store_cell_text(rows, r, 4);
    p->status = store_cell_text(rows, r, 5);
    p->created_at = store_cell_int(rows, r, 6);
    p->last_active_at = store_cell_int(rows, r, 7);
    p->key.is_set = true;
    p->key.id = p->id;
    if (order) {
        if (order->by == STORE_DIRECTORY_BY_NAME)
            p->key.text = store_cell_text(rows, r, 8);
        else if (order->by == STORE_DIRECTORY_BY_CREATED)
            p->key.number = p->created_at;
        else
            p->key.number = store_cell_int(rows, r, 9);
    }
}

int store_directory_members(struct store_directory_person **out, size_t *count, bool *has_more,
                            struct store_conn *c, struct arena *a, const char *agency_id,
                            const struct store_directory_order *order,
                            const struct store_directory_filter *filter,
                            const struct store_directory_key *after, int64_t now, size_t limit,
                            struct usher_error *err)
{
    *out = NULL;
    *count = 0;
    *has_more = false;
    limit = limit_clamp(limit);
    bool resume = after && after->is_set;
    bool by_shortcode = filter->shortcode != NULL;
    const char *sql = member_sql[by_shortcode][order->by][order->is_desc][resume];
    struct store_value p[9] = {
        store_text(agency_id),
        store_text(filter->shortcode),
        store_text(search_pattern(a, filter->search)),
        store_text(filter->environment_ids && *filter->environment_ids ? filter->environment_ids
                                                                       : NULL),
        store_text(role_pattern(a, filter->role)),
        store_int(now),
        store_int((int64_t)limit + 1),
    };
    size_t n = 7;
    if (resume) {
        p[n++] = key_value(order, after);
        p[n++] = store_text(after->id);
    }
    struct store_rows rows;
    int rc = store_exec(c, a, sql, p, n, &rows, NULL, err);
    if (rc)
        return rc;
    *has_more = rows.count > limit;
    size_t kept = *has_more ? limit : rows.count;
    struct store_directory_person *items = arena_alloc(a, (kept + 1) * sizeof(*items));
    for (size_t r = 0; r < kept; r++)
        member_from_row(&items[r], &rows, r, order);
    *out = items;
    *count = kept;
    return 0;
}

int store_directory_invited(struct store_directory_person **out, size_t *count, bool *has_more,
                            struct store_conn *c, struct arena *a, const char *agency_id,
                            const struct store_directory_order *order,
                            const struct store_directory_filter *filter,
                            const struct store_directory_key *after, int64_t now, size_t limit,
                            struct usher_error *err)
{
    *out = NULL;
    *count = 0;
    *has_more = false;
    limit = limit_clamp(limit);
    bool resume = after && after->is_set;
    enum store_directory_invitations which = filter->invitations;
    if (which != STORE_DIRECTORY_EXPIRED && which != STORE_DIRECTORY_REVOKED)
        which = STORE_DIRECTORY_PENDING;
    const char *sql = invited_sql[which][order->by][order->is_desc][resume];
    static const char *const statuses[] = {
        [STORE_DIRECTORY_PENDING] = STORE_DIRECTORY_INVITED,
        [STORE_DIRECTORY_EXPIRED] = STORE_DIRECTORY_INVITATION_EXPIRED,
        [STORE_DIRECTORY_REVOKED] = STORE_DIRECTORY_INVITATION_REVOKED,
    };
    struct store_value p[7] = {
        store_text(agency_id),         store_int(now),
        store_text(filter->shortcode), store_text(search_pattern(a, filter->search)),
        store_int((int64_t)limit + 1),
    };
    size_t n = 5;
    if (resume) {
        p[n++] = key_value(order, after);
        p[n++] = store_text(after->id);
    }
    struct store_rows rows;
    int rc = store_exec(c, a, sql, p, n, &rows, NULL, err);
    if (rc)
        return rc;
    *has_more = rows.count > limit;
    size_t kept = *has_more ? limit : rows.count;
    struct store_directory_person *items = arena_alloc(a, (kept + 1) * sizeof(*items));
    for (size_t r = 0; r < kept; r++) {
        struct store_directory_person *item = &items[r];
        item->id = store_cell_text(&rows, r, 0);
        item->is_invited = true;
        item->email = store_cell_text(&rows, r, 1);
        item->first_name = store_cell_text(&rows, r, 2);
        item->last_name = store_cell_text(&rows, r, 3);
        item->shortcode = store_cell_text(&rows, r, 4);
        item->status = statuses[which];
        item->created_at = store_cell_int(&rows, r, 5);
        item->grants_json = store_cell_text(&rows, r, 6);
        item->key.is_set = true;
        item->key.id = item->id;
        if (order->by == STORE_DIRECTORY_BY_NAME)
            item->key.text = store_cell_text(&rows, r, 7);
        else
            item->key.number = store_cell_int(&rows, r, 7);
    }
    *out = items;
    *count = kept;
    return 0;
}

int store_directory_member_get(struct store_directory_person *out, struct store_conn *c,
                               struct arena *a, const char *agency_id, const char *user_id,
                               struct usher_error *err)
{
    static const char sql[] =
        "SELECT m.user_id, u.email, u.first_name, u.last_name, m.shortcode, u.status, "
        "m.created_at, u.last_active_at, m.sort_name, m.sort_active "
        "FROM memberships m JOIN users u ON u.id = m.user_id "
        "WHERE m.agency_id = $1 AND m.user_id = $2";
    struct store_value p[] = {store_text(agency_id), store_text(user_id)};
    struct store_rows rows;
    int rc = store_exec(c, a, sql, p, 2, &rows, NULL, err);
    if (rc)
        return rc;
    if (rows.count == 0)
        return usher_error_set(err, USHER_ENOTFOUND, NULL, NULL, "member not found");
    member_from_row(out, &rows, 0, NULL);
    return 0;
}

/* --- batched reads --- */

int store_directory_grants(struct store_directory_grant **out, size_t *out_count,
                           struct store_conn *c, struct arena *a, const char *agency_id,
                           const char *const *user_ids, size_t count, int64_t now,
                           struct usher_error *err)
{
    pthread_once(&batch_once, batch_sql_build);
    *out = NULL;
    *out_count = 0;
    struct store_directory_grant *items = NULL;
    size_t n = 0, cap = 0;
    for (size_t start = 0; start < count; start += STORE_DIRECTORY_BATCH) {
        struct store_value p[STORE_DIRECTORY_BATCH + 2];
        p[0] = store_text(agency_id);
        for (size_t i = 0; i < STORE_DIRECTORY_BATCH; i++)
            p[i + 1] = start + i < count ? store_text(user_ids[start + i]) : store_null();
        p[STORE_DIRECTORY_BATCH + 1] = store_int(now);
        struct store_rows rows;
        int rc = store_exec(c, a, grants_batch_sql, p, STORE_DIRECTORY_BATCH + 2, &rows, NULL, err);
        if (rc)
            return rc;
        if (n + rows.count > cap) {
            size_t ncap = (n + rows.count) * 2;
            struct store_directory_grant *grown = arena_alloc(a, ncap * sizeof(*grown));
            if (items)
                memcpy(grown, items, n * sizeof(*grown));
            items = grown;
            cap = ncap;
        }
        for (size_t r = 0; r < rows.count; r++) {
            struct store_directory_grant *g = &items[n++];
            g->user_id = store_cell_text(&rows, r, 0);
            g->grant.id = store_cell_text(&rows, r, 1);
            g->grant.environment_id = store_cell_text(&rows, r, 2);
            g->grant.bot_id = store_cell_text(&rows, r, 3);
            g->grant.scope_id = store_cell_text(&rows, r, 4);
            g->grant.roles = store_cell_text(&rows, r, 5);
            g->grant.extra_permissions = store_cell_text(&rows, r, 6);
            g->grant.created_at = store_cell_int(&rows, r, 7);
            g->grant.expires_at = store_cell_int(&rows, r, 8);
        }
    }
    *out = items;
    *out_count = n;
    return 0;
}

int store_directory_bot_environments(const char ***out, struct store_conn *c, struct arena *a,
                                     const char *agency_id, const char *const *bot_ids,
                                     size_t count, struct usher_error *err)
{
    pthread_once(&batch_once, batch_sql_build);
    const char **envs = arena_alloc(a, (count + 1) * sizeof(*envs));
    *out = envs;
    for (size_t start = 0; start < count; start += STORE_DIRECTORY_BATCH) {
        struct store_value p[STORE_DIRECTORY_BATCH + 1];
        p[0] = store_text(agency_id);
        for (size_t i = 0; i < STORE_DIRECTORY_BATCH; i++)
            p[i + 1] = start + i < count ? store_text(bot_ids[start + i]) : store_null();
        struct store_rows rows;
        int rc = store_exec(c, a, bots_batch_sql, p, STORE_DIRECTORY_BATCH + 1, &rows, NULL, err);
        if (rc)
            return rc;
        for (size_t r = 0; r < rows.count; r++) {
            const char *bot = store_cell_text(&rows, r, 0);
            for (size_t i = start; i < count && i < start + STORE_DIRECTORY_BATCH; i++) {
                if (bot_ids[i] && strcmp(bot_ids[i], bot) == 0)
                    envs[i] = store_cell_text(&rows, r, 1);
            }
        }
    }
    return 0;
}

int store_directory_environments(struct store_environment **out, size_t *count,
                                 struct store_conn *c, struct arena *a, const char *agency_id,
                                 struct usher_error *err)
{
    static const char sql[] = "SELECT e.id, e.agency_id, e.name, e.created_at FROM environments e "
                              "WHERE e.agency_id = $1 ORDER BY e.created_at, e.id";
    struct store_value p[] = {store_text(agency_id)};
    struct store_rows rows;
    *out = NULL;
    *count = 0;
    int rc = store_exec(c, a, sql, p, 1, &rows, NULL, err);
    if (rc)
        return rc;
    struct store_environment *items = arena_alloc(a, (rows.count + 1) * sizeof(*items));
    for (size_t r = 0; r < rows.count; r++) {
        items[r].id = store_cell_text(&rows, r, 0);
        items[r].agency_id = store_cell_text(&rows, r, 1);
        items[r].name = store_cell_text(&rows, r, 2);
        items[r].created_at = store_cell_int(&rows, r, 3);
    }
    *out = items;
    *count = rows.count;
    return 0;
}

/* --- writes --- */

int store_directory_names_set(struct store_conn *c, struct arena *a, const char *user_id,
                              const char *first_name, const char *last_name,
                              struct usher_error *err)
{
    static const char sql[] = "UPDATE users SET first_name = $2, last_name = $3 WHERE id = $1";
    struct store_value p[] = {store_text(user_id), store_text(first_name), store_text(last_name)};
    int64_t changes = 0;
    int rc = store_exec(c, a, sql, p, 3, NULL, &changes, err);
    if (rc == 0 && changes == 0)
        return usher_error_set(err, USHER_ENOTFOUND, NULL, NULL, "user not found");
    return rc;
}

/* Whether one of the statements below finds shortcode in agency_id (not counting invitations
 * to except_email). */
static int shortcode_found(bool *out, struct store_conn *c, struct arena *a, const char *sql,
                           const char *agency_id, const char *shortcode, const char *except_email,
                           struct usher_error *err)
{
    struct store_value p[] = {store_text(agency_id), store_text(shortcode),
                              store_text(except_email ? except_email : "")};
    struct store_rows rows;
    *out = false;
    int rc = store_exec(c, a, sql, p, 3, &rows, NULL, err);
    if (rc == 0)
        *out = rows.count > 0;
    return rc;
}

int store_directory_shortcode_reserved(bool *out, struct store_conn *c, struct arena *a,
                                       const char *agency_id, const char *shortcode,
                                       const char *except_email, struct usher_error *err)
{
    static const char sql[] =
        "SELECT 1 FROM invitations WHERE agency_id = $1 AND shortcode = $2 AND status = 'pending' "
        "AND email <> $3";
    return shortcode_found(out, c, a, sql, agency_id, shortcode, except_email, err);
}

int store_directory_shortcode_taken(bool *out, struct store_conn *c, struct arena *a,
                                    const char *agency_id, const char *shortcode,
                                    const char *except_email, struct usher_error *err)
{
    static const char sql[] =
        "SELECT 1 FROM memberships WHERE agency_id = $1 AND shortcode = $2 UNION ALL "
        "SELECT 1 FROM invitations WHERE agency_id = $1 AND shortcode = $2 "
        "AND status = 'pending' AND email <> $3";
    return shortcode_found(out, c, a, sql, agency_id, shortcode, except_email, err);
}

int store_directory_bot_grants_delete(int64_t *out_deleted, struct store_conn *c, struct arena *a,
                                      const char *agency_id, const char *user_id,
                                      const char *environment_id, struct usher_error *err)
{
    static const char sql[] =
        "DELETE FROM grants WHERE agency_id = $1 AND user_id = $2 AND bot_id IN "
        "(SELECT b.id FROM bots b WHERE b.environment_id = $3)";
    struct store_value p[] = {store_text(agency_id), store_text(user_id),
                              store_text(environment_id)};
    int64_t changes = 0;
    int rc = store_exec(c, a, sql, p, 3, NULL, &changes, err);
    if (out_deleted)
        *out_deleted = rc == 0 ? changes : 0;
    return rc;
}

int store_directory_owner_count(int64_t *out, struct store_conn *c, struct arena *a,
                                const char *agency_id, const char *except_user_id, int64_t now,
                                struct usher_error *err)
{
    static const char sql[] = "SELECT count(*) FROM grants g JOIN users u ON u.id = g.user_id "
                              "WHERE g.agency_id = $1 AND g.scope_id = $1 AND u.status = 'active' "
                              "AND (',' || g.roles || ',') LIKE '%,owner,%' AND (CAST($2 AS TEXT) "
                              "IS NULL OR g.user_id <> $2) "
                              "AND (g.expires_at IS NULL OR g.expires_at > $3)";
    struct store_value p[] = {store_text(agency_id), store_text(except_user_id), store_int(now)};
    struct store_rows rows;
    *out = 0;
    int rc = store_exec(c, a, sql, p, 3, &rows, NULL, err);
    if (rc)
        return rc;
    *out = rows.count ? store_cell_int(&rows, 0, 0) : 0;
    return 0;
}

int store_directory_invitations_revoke(int64_t *out_revoked, struct store_conn *c, struct arena *a,
                                       const char *agency_id, const char *email,
                                       const char *decided_by, int64_t now, struct usher_error *err)
{
    static const char sql[] =
        "UPDATE invitations SET status = 'revoked', decided_at = $3, decided_by = $4 "
        "WHERE agency_id = $1 AND email = $2 AND status = 'pending'";
    struct store_value p[] = {store_text(agency_id), store_text(email), store_int(now),
                              store_text(decided_by)};
    int64_t changes = 0;
    int rc = store_exec(c, a, sql, p, 4, NULL, &changes, err);
    if (out_revoked)
        *out_revoked = rc == 0 ? changes : 0;
    return rc;
}
