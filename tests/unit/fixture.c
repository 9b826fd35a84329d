/* The unit tests' shared fixture: usher or its store on SQLite in a temporary directory (or on
 * a fresh PostgreSQL database with USHER_TEST_PG_URL), and
 * the row writers tests seed their worlds with (see fixture.h). */
#include "unit.h"

#include "fixture.h"

#include <ctype.h>
#include <libpq-fe.h>

#include "base/crypto.h"
#include "base/error.h"
#include "base/log.h"

/* --- opening and closing ----------------------------------------------------------------- */

const char *fixture_pg_url(void)
{
    const char *url = getenv("USHER_TEST_PG_URL");
    return url && *url ? url : NULL;
}

/* The database name for a test directory: "usher_t_" and the directory's random suffix. */
static void db_name(const char *dir, char *out, size_t size)
{
    const char *base = strrchr(dir, '/');
    base = base ? base + 1 : dir;
    const char *dash = strrchr(base, '-');
    snprintf(out, size, "usher_t_%s", dash ? dash + 1 : base);
    for (char *p = out; *p; p++)
        *p = (char)tolower((unsigned char)*p);
}

/* Runs one statement on the admin database, failing the test on error. */
static void pg_admin(const char *sql)
{
    PGconn *db = PQconnectdb(fixture_pg_url());
    if (PQstatus(db) != CONNECTION_OK) {
        char msg[512];
        snprintf(msg, sizeof(msg), "%s", PQerrorMessage(db));
        PQfinish(db);
        fail_msg("connecting to USHER_TEST_PG_URL: %s", msg);
    }
    PGresult *res = PQexec(db, sql);
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        char msg[512];
        snprintf(msg, sizeof(msg), "%s", PQresultErrorMessage(res));
        PQclear(res);
        PQfinish(db);
        fail_msg("%s: %s", sql, msg);
    }
    PQclear(res);
    PQfinish(db);
}

char *fixture_db_url(const char *dir)
{
    const char *admin = fixture_pg_url();
    if (!admin) {
        char *empty = strdup("");
        assert_non_null(empty);
        return empty;
    }
    char name[128], sql[256];
    db_name(dir, name, sizeof(name));
    snprintf(sql, sizeof(sql), "CREATE DATABASE %s", name);
    pg_admin(sql);
    /* The admin URL with its path (the database) replaced, its query kept. */
    const char *scheme = strstr(admin, "://");
    const char *host = scheme ? scheme + 3 : admin;
    const char *query = strchr(host, '?');
    const char *path = strchr(host, '/');
    if (path && query && path > query)
        path = NULL;
    size_t prefix = path ? (size_t)(path - admin) : query ? (size_t)(query - admin) : strlen(admin);
    size_t len = prefix + strlen(name) + (query ? strlen(query) : 0) + 2;
    char *url = malloc(len);
    assert_non_null(url);
    snprintf(url, len, "%.*s/%s%s", (int)prefix, admin, name, query ? query : "");
    return url;
}

void fixture_db_drop(const char *dir)
{
    if (!fixture_pg_url() || !dir)
        return;
    char name[128], sql[256];
    db_name(dir, name, sizeof(name));
    snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s WITH (FORCE)", name);
    pg_admin(sql);
}

void fixture_config_init(struct config *cfg, char **dir)
{
    *dir = unit_tempdir_new();
    log_set_level(LOG_ERROR);
    assert_int_equal(crypto_setup(), 0);
    config_init(cfg);
    free(cfg->data_dir);
    cfg->data_dir = strdup(*dir);
    assert_non_null(cfg->data_dir);
    free(cfg->database_url);
    cfg->database_url = fixture_db_url(*dir);
    cfg->hash_workers = 1;
}

void fixture_app_open(struct app *app, struct config *cfg)
{
    struct usher_error err = {0};
    if (config_finish(cfg, &err) || app_open(app, cfg, true, &err))
        fail_msg("opening usher: %s", err.message);
}

void fixture_app_close(struct app *app, struct config *cfg, char *dir)
{
    app_close(app);
    config_dispose(cfg);
    fixture_db_drop(dir);
    unit_tempdir_remove(dir);
}

void fixture_store_open(struct store **out, char **dir)
{
    struct usher_error err = {0};
    *dir = unit_tempdir_new();
    log_set_level(LOG_ERROR);
    char *url = fixture_db_url(*dir);
    int rc = store_open(out, url, *dir, 2, &err);
    free(url);
    if (rc || store_migrate(*out, NULL, &err))
        fail_msg("opening the store: %s", err.message);
}

void fixture_store_close(struct store *s, char *dir)
{
    store_free(s);
    fixture_db_drop(dir);
    unit_tempdir_remove(dir);
}

/* --- statements -------------------------------------------------------------------------- */

/* Runs sql on a connection of s into rows (may be NULL); the error, if any, in err. */
static int sql_run(struct store *s, struct arena *a, const char *sql, const struct store_value *p,
                   size_t n, struct store_rows *rows, struct usher_error *err)
{
    struct store_conn *c = NULL;
    int rc = store_conn_get(s, &c, err);
    if (rc == 0)
        rc = store_exec(c, a, sql, p, n, rows, NULL, err);
    store_conn_put(c);
    return rc;
}

void fixture_sql(struct store *s, const char *sql, const struct store_value *p, size_t n)
{
    struct usher_error err = {0};
    struct arena a;
    arena_init(&a);
    int rc = sql_run(s, &a, sql, p, n, NULL, &err);
    arena_dispose(&a);
    if (rc)
        fail_msg("%s: %s", sql, err.message);
}

int64_t fixture_sql_int(struct store *s, const char *sql, const struct store_value *p, size_t n)
{
    struct usher_error err = {0};
    struct store_rows rows = {0};
    struct arena a;
    arena_init(&a);
    int rc = sql_run(s, &a, sql, p, n, &rows, &err);
    int64_t value = rc == 0 && rows.count > 0 ? store_cell_int(&rows, 0, 0) : 0;
    arena_dispose(&a);
    if (rc)
        fail_msg("%s: %s", sql, err.message);
    return value;
}

struct store_rows fixture_sql_rows(struct store *s, struct arena *a, const char *sql,
                                   const struct store_value *p, size_t n)
{
    struct usher_error err = {0};
    struct store_rows rows = {0};
    if (sql_run(s, a, sql, p, n, &rows, &err))
        fail_msg("%s: %s", sql, err.message);
    return rows;
}

/* --- rows -------------------------------------------------------------------------------- */

void fixture_agency_add(struct store *s, const char *id, const char *name)
{
    struct store_value p[] = {store_text(id), store_text(name)};
    fixture_sql(s, "INSERT INTO agencies (id, name, created_at) VALUES ($1, $2, 1)", p, 2);
}

void fixture_environment_add(struct store *s, const char *id, const char *agency_id,
                             const char *name)
{
    struct store_value p[] = {store_text(id), store_text(agency_id), store_text(name)};
    fixture_sql(s,
                "INSERT INTO environments (id, agency_id, name, created_at) VALUES ($1, $2, $3, 1)",
                p, 3);
}

void fixture_bot_add(struct store *s, const char *id, const char *environment_id, const char *name)
{
    struct store_value p[] = {store_text(id), store_text(environment_id), store_text(name)};
    fixture_sql(s,
                "INSERT INTO bots (id, agency_id, environment_id, name, created_at) "
                "SELECT $1, agency_id, id, $3, 1 FROM environments WHERE id = $2",
                p, 3);
    struct store_value q[] = {store_text(id)};
    if (fixture_sql_int(s, "SELECT COUNT(*) FROM bots WHERE id = $1", q, 1) != 1)
        fail_msg("bot %s: no environment %s", id, environment_id);
}

void fixture_user_add(struct store *s, const char *id)
{
    struct fixture_user u = {.id = id};
    fixture_user_add_with(s, &u);
}

void fixture_user_add_with(struct store *s, const struct fixture_user *u)
{
    char email[256];
    if (u->email) {
        snprintf(email, sizeof(email), "%s", u->email);
    } else {
        const char *local = strncmp(u->id, "usr_", 4) == 0 ? u->id + 4 : u->id;
        snprintf(email, sizeof(email), "%s@example.com", local);
    }
    struct store_value p[] = {store_text(u->id),
                              store_text(email),
                              store_text(u->first_name ? u->first_name : ""),
                              store_text(u->last_name ? u->last_name : ""),
                              store_text(u->status ? u->status : "active"),
                              store_int(u->is_platform_admin),
                              store_int(u->created_at ? u->created_at : 1)};
    fixture_sql(s,
                "INSERT INTO users (id, email, first_name, last_name, status, is_platform_admin, "
                "created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                p, 7);
}

void fixture_member_add(struct store *s, const char *agency_id, const char *user_id)
{
    struct store_value p[] = {store_text(agency_id), store_text(user_id)};
    fixture_sql(s,
                "INSERT INTO memberships (agency_id, user_id, created_at) VALUES ($1, $2, 1) "
                "ON CONFLICT DO NOTHING",
                p, 2);
}

void fixture_grant_set(struct store *s, const char *agency_id, const char *user_id,
                       const char *scope_id, const char *roles, const char *extra_permissions)
{
    const char *scope = scope_id ? scope_id : agency_id;
    char id[256];
    snprintf(id, sizeof(id), "grt_%s_%s", user_id, scope);
    fixture_member_add(s, agency_id, user_id);
    /* The scope's kind comes from the table that holds its id, so callers name only the id. */
    struct store_value p[] = {store_text(id),
                              store_text(agency_id),
                              store_text(user_id),
                              store_text(scope),
                              store_text(roles ? roles : ""),
                              store_text(extra_permissions ? extra_permissions : "")};
    fixture_sql(s,
                "INSERT INTO grants (id, agency_id, user_id, environment_id, bot_id, scope_id, "
                "roles, extra_permissions, created_at) VALUES ($1, $2, $3, "
                "(SELECT id FROM environments WHERE id = $4 AND agency_id = $2), "
                "(SELECT id FROM bots WHERE id = $4 AND agency_id = $2), $4, $5, $6, 1) "
                "ON CONFLICT (user_id, scope_id) DO UPDATE SET roles = excluded.roles, "
                "extra_permissions = excluded.extra_permissions",
                p, 6);
    if (strcmp(scope, agency_id) != 0) {
        struct store_value q[] = {store_text(id)};
        if (fixture_sql_int(s,
                            "SELECT COUNT(*) FROM grants WHERE id = $1 "
                            "AND (environment_id IS NOT NULL OR bot_id IS NOT NULL)",
                            q, 1) != 1)
            fail_msg("grant %s: %s is no environment or bot of %s", id, scope, agency_id);
    }
}

void fixture_grant_add_with(struct store *s, const struct fixture_grant *g)
{
    const char *scope = g->bot_id           ? g->bot_id
                        : g->environment_id ? g->environment_id
                                            : g->agency_id;
    char id[256];
    if (g->id)
        snprintf(id, sizeof(id), "%s", g->id);
    else
        snprintf(id, sizeof(id), "grt_%s_%s", g->user_id, scope);
    struct store_value p[] = {store_text(id),
                              store_text(g->agency_id),
                              store_text(g->user_id),
                              store_text(g->environment_id),
                              store_text(g->bot_id),
                              store_text(scope),
                              store_text(g->roles ? g->roles : ""),
                              store_text(g->extra_permissions ? g->extra_permissions : "")};
    fixture_sql(s,
                "INSERT INTO grants (id, agency_id, user_id, environment_id, bot_id, scope_id, "
                "roles, extra_permissions, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 1)",
                p, 8);
}

void fixture_invitation_add(struct store *s, const struct fixture_invitation *inv)
{
    char email[256];
    if (inv->email)
        snprintf(email, sizeof(email), "%s", inv->email);
    else
        snprintf(email, sizeof(email), "%s@example.com", inv->id);
    int64_t created_at = inv->created_at ? inv->created_at : 1;
    int64_t expires_at = inv->expires_at ? inv->expires_at : created_at + 3600 * 1000;
    struct store_value p[] = {store_text(inv->id),
                              store_text(inv->agency_id),
                              store_text(email),
                              store_text(inv->first_name),
                              store_text(inv->last_name),
                              store_text(inv->shortcode),
                              store_text(inv->grants ? inv->grants : "[]"),
                              store_text(inv->status ? inv->status : "pending"),
                              store_int(created_at),
                              store_int(expires_at)};
    fixture_sql(s,
                "INSERT INTO invitations (id, agency_id, email, first_name, last_name, shortcode, "
                "grants, status, token_nonce, token_hash, created_at, expires_in_seconds, "
                "expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'n', 'h_' || $1, $9, 3600, "
                "$10)",
                p, 10);
}

static FILE *csv_open(const char *rel)
{
    char path[4096];
    const char *root = getenv("USHER_SOURCE_DIR");
    if (root && *root) {
        snprintf(path, sizeof(path), "%s/tests/unit/%s", root, rel);
    } else {
        const char *here = __FILE__;
        const char *slash = strrchr(here, '/');
        int dir_len = slash ? (int)(slash - here) : 1;
        snprintf(path, sizeof(path), "%.*s/%s", dir_len, slash ? here : ".", rel);
    }
    FILE *f = fopen(path, "r");
    if (!f)
        fprintf(stderr, "cannot open %s\n", path);
    return f;
}

long fixture_csv_load(struct fixture_csv_row **out, const char *rel, size_t columns)
{
    *out = NULL;
    if (columns == 0 || columns > FIXTURE_CSV_COLUMNS_MAX)
        return -1;
    FILE *f = csv_open(rel);
    if (!f)
        return -1;
    char line[2048];
    int number = 0;
    bool header_seen = false;
    long count = 0, cap = 0;
    struct fixture_csv_row *rows = NULL;
    while (fgets(line, sizeof(line), f)) {
        number++;
        line[strcspn(line, "\r\n")] = '\0';
        if (line[0] == '#' || line[0] == '\0')
            continue;
        if (!header_seen) {
            header_seen = true;
            continue;
        }
        if (count == cap) {
            cap = cap ? cap * 2 : 64;
            rows = realloc(rows, (size_t)cap * sizeof(*rows));
            if (!rows)
                abort();
        }
        struct fixture_csv_row *r = &rows[count];
        memset(r, 0, sizeof(*r));
        r->line = number;
        char *p = line;
        for (size_t c = 0; c < columns; c++) {
            char *comma = strchr(p, ',');
            if (c + 1 < columns && !comma) {
                fprintf(stderr, "%s line %d: expected %zu columns\n", rel, number, columns);
                fixture_csv_free(rows, count + 1, columns);
                fclose(f);
                return -1;
            }
            if (comma)
                *comma = '\0';
            r->cells[c] = xstrdup(p);
            p = comma ? comma + 1 : p + strlen(p);
        }
        if (*p) {
            fprintf(stderr, "%s line %d: too many columns\n", rel, number);
            fixture_csv_free(rows, count + 1, columns);
            fclose(f);
            return -1;
        }
        count++;
    }
    fclose(f);
    *out = rows;
    return count;
}

void fixture_csv_free(struct fixture_csv_row *rows, long count, size_t columns)
{
    for (long i = 0; rows && i < count; i++) {
        for (size_t c = 0; c < columns; c++)
            free(rows[i].cells[c]);
    }
    free(rows);
}
