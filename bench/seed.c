/* The benchmark data set: writes agencies, environments, bots, users, memberships and grants
 * straight into an usher database already migrated by `usher migrate` (a SQLite file, with
 * prepared statements, or a PostgreSQL database named by a postgres:// URL, with COPY), in one
 * transaction, and writes the request mixes the load generator replays.
 *
 * Everything derives from --seed, so two runs with the same flags write the same database and
 * the same mixes. Ids have the shape of usher's own (prefix, underscore, 22 URL-safe
 * characters); they are drawn so that they sort in creation order, which keeps the inserts
 * near the end of each B-tree. Every user shares one argon2id hash of BENCH_PASSWORD.
 *
 * Usage: seed --db PATH|URL [--users N] [--agencies N] [--environments N] [--grants N]
 *             [--big-agency-members N] [--mix-dir DIR] [--mix-count N] [--seed N] */
#include <errno.h>
#include <libpq-fe.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BENCH_PASSWORD "bench-password-1"
#define ID_CHARS       22
#define ID_MAX         32
#define ROLES_MAX      128
#define ENV_GRANTS_MAX 8
#define CERBOS_BATCH   10

struct options {
    const char *db;
    const char *mix_dir;
    long users, agencies, environments, grants, big, mix_count;
    uint64_t seed;
};

/* --- deterministic randomness ------------------------------------------------------------ */

static uint64_t mix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

/* A stream of numbers for one purpose and one item: the same (seed, tag, item) always draws
 * the same sequence. */
struct rng {
    uint64_t state;
};

static void rng_init(struct rng *r, uint64_t seed, uint64_t tag, uint64_t item)
{
    r->state = mix64(seed ^ mix64(tag ^ mix64(item)));
}

static uint64_t rng_next(struct rng *r)
{
    r->state = mix64(r->state);
    return r->state;
}

static long rng_below(struct rng *r, long n)
{
    return n > 0 ? (long)(rng_next(r) % (uint64_t)n) : 0;
}

/* --- ids --------------------------------------------------------------------------------- */

/* URL-safe characters in ASCII order, so an id drawn from a larger counter sorts later. */
static const char id_alphabet[] =
    "-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz";

/* prefix_ + 22 characters: 7 from the counter (42 bits, offset so that no id starts with a
 * run of dashes), 15 pseudo-random. */
static void id_make(char out[ID_MAX], const char *prefix, uint64_t seed, uint64_t n)
{
    size_t p = (size_t)snprintf(out, ID_MAX, "%s_", prefix);
    n += 0x2A5E3C1B07ULL;
    for (int i = 6; i >= 0; i--)
        out[p++] = id_alphabet[(n >> (6 * i)) & 63];
    struct rng r;
    rng_init(&r, seed, (uint64_t)prefix[0] << 8 | (uint64_t)prefix[1], n);
    uint64_t bits = rng_next(&r);
    for (int i = 0; i < ID_CHARS - 7; i++) {
        if (i == 10)
            bits = rng_next(&r);
        out[p++] = id_alphabet[bits & 63];
        bits >>= 6;
    }
    out[p] = '\0';
}

/* --- the shape of the data --------------------------------------------------------------- */

/* Built-in roles in catalogue order (SPEC section 3). */
enum role {
    AGENT,
    OPERATOR,
    CONTENT_MANAGER,
    ANALYST,
    PRODUCER,
    DEVELOPER,
    ENVIRONMENT_MANAGER,
    ORGANISATION_MANAGER,
    OWNER,
    BOT_MANAGER,
    ROLE_COUNT
};

static const char *const role_names[ROLE_COUNT] = {
    "agent",    "operator",    "content_manager",     "analyst",
    "producer", "developer",   "environment_manager", "organisation_manager",
    "owner",    "bot_manager",
};

static const char *const permissions[] = {
    "inbox.reply",    "inbox.notify", "inbox.start", "inbox.closed",       "crm.read",
    "crm.write",      "cms.read",     "cms.write",   "analytics.read",     "settings.read",
    "settings.write", "bot.read",     "bot.develop", "bot.delegate",       "users.read",
    "users.invite",   "users.manage", "audit.read",  "environment.manage", "environments.create",
    "agency.manage",
};
#define PERMISSION_COUNT (sizeof(permissions) / sizeof(permissions[0]))

/* What the studio's services ask most: replying, notifying, customer records, content. */
static const char *permission_draw(struct rng *r)
{
    long x = rng_below(r, 100);
    if (x < 25)
        return "inbox.reply";
    if (x < 35)
        return "inbox.notify";
    if (x < 50)
        return "crm.read";
    if (x < 65)
        return "cms.read";
    if (x < 75)
        return "bot.read";
    return permissions[rng_below(r, (long)PERMISSION_COUNT)];
}

/* An agency grant's roles: mostly front-line roles, a few managers and owners. */
static unsigned agency_roles_draw(struct rng *r)
{
    long x = rng_below(r, 100);
    unsigned m = x < 40   ? 1u << AGENT
                 : x < 60 ? 1u << OPERATOR
                 : x < 70 ? 1u << CONTENT_MANAGER
                 : x < 80 ? 1u << ANALYST
                 : x < 85 ? 1u << PRODUCER
                 : x < 90 ? 1u << DEVELOPER
                 : x < 95 ? 1u << ENVIRONMENT_MANAGER
                 : x < 98 ? 1u << ORGANISATION_MANAGER
                          : 1u << OWNER;
    if (rng_below(r, 100) < 15)
        m |= 1u << (unsigned)rng_below(r, DEVELOPER + 1);
    return m;
}

/* An environment grant's roles: it overrides the agency grant there, raising or lowering it;
 * one in twenty is an explicit "no access". */
static unsigned environment_roles_draw(struct rng *r)
{
    if (rng_below(r, 100) < 5)
        return 0;
    unsigned m = 1u << (unsigned)rng_below(r, ENVIRONMENT_MANAGER + 1);
    if (rng_below(r, 100) < 20)
        m |= 1u << (unsigned)rng_below(r, ENVIRONMENT_MANAGER + 1);
    return m;
}

static void roles_csv(char out[ROLES_MAX], unsigned mask)
{
    size_t len = 0;
    out[0] = '\0';
    for (int i = 0; i < ROLE_COUNT; i++) {
        if (mask & (1u << i))
            len +=
                (size_t)snprintf(out + len, ROLES_MAX - len, "%s%s", len ? "," : "", role_names[i]);
    }
}

/* A JSON array of role names. */
static void roles_json(char out[ROLES_MAX + 32], unsigned mask)
{
    size_t len = (size_t)snprintf(out, ROLES_MAX + 32, "[");
    bool first = true;
    for (int i = 0; i < ROLE_COUNT; i++) {
        if (mask & (1u << i)) {
            len += (size_t)snprintf(out + len, ROLES_MAX + 32 - len, "%s\"%s\"", first ? "" : ",",
                                    role_names[i]);
            first = false;
        }
    }
    snprintf(out + len, ROLES_MAX + 32 - len, "]");
}

struct world {
    struct options o;
    long envs_per_agency;
};

/* One user's grants: one agency grant in their home agency, then grants on distinct
 * environments of it (the last one, for one user in ten, on a bot instead). */
struct user_grants {
    long agency;
    unsigned agency_roles;
    bool is_active;
    long env[ENV_GRANTS_MAX];
    unsigned env_roles[ENV_GRANTS_MAX];
    size_t env_count;
    long bot; /* -1 when none; bots are numbered like their environment (one per environment) */
};

static long home_agency(const struct world *w, long u)
{
    if (u < w->o.big || w->o.agencies == 1)
        return 0;
    return 1 + (u - w->o.big) % (w->o.agencies - 1);
}

/* How many grants beyond the agency grant user u holds, so that the total is --grants. */
static long extra_grants(const struct world *w, long u)
{
    long extra = w->o.grants - w->o.users;
    long each = extra / w->o.users;
    return each + (u < extra % w->o.users ? 1 : 0);
}

static void user_grants_of(struct user_grants *out, const struct world *w, long u)
{
    struct rng r;
    rng_init(&r, w->o.seed, 'g', (uint64_t)u);
    memset(out, 0, sizeof(*out));
    out->agency = home_agency(w, u);
    out->agency_roles = u == 0 ? 1u << OWNER : agency_roles_draw(&r);
    out->is_active = u == 0 || rng_below(&r, 100) >= 1;
    out->bot = -1;
    long extra = extra_grants(w, u);
    long first = rng_below(&r, w->envs_per_agency);
    for (long k = 0; k < extra && out->env_count < ENV_GRANTS_MAX; k++) {
        long env = out->agency * w->envs_per_agency + (first + k) % w->envs_per_agency;
        if (k == extra - 1 && k > 0 && rng_below(&r, 100) < 10) {
            out->bot = env;
            break;
        }
        out->env[out->env_count] = env;
        out->env_roles[out->env_count] = environment_roles_draw(&r);
        out->env_count++;
    }
}

/* --- writing the database ---------------------------------------------------------------- */

/* Rows go to one table at a time, either as prepared INSERTs into SQLite or as one
 * COPY ... FROM STDIN per table into PostgreSQL (text format, sent in large chunks). */
static sqlite3 *db;
static PGconn *pg;

static void die(const char *what)
{
    fprintf(stderr, "seed: %s: %s\n", what,
            pg   ? PQerrorMessage(pg)
            : db ? sqlite3_errmsg(db)
                 : "no database");
    exit(1);
}

static void exec(const char *sql)
{
    if (pg) {
        PGresult *res = PQexec(pg, sql);
        ExecStatusType st = PQresultStatus(res);
        if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
            die(sql);
        PQclear(res);
        return;
    }
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        fprintf(stderr, "seed: %s: %s\n", sql, msg ? msg : "?");
        exit(1);
    }
}

#define COPY_CHUNK (1 << 20)

/* One table being written: a prepared INSERT (SQLite) or an open COPY (PostgreSQL). */
struct table {
    const char *name;
    sqlite3_stmt *st;
    int col; /* the next column, from 1 */
    char *buf;
    size_t len;
    long rows;
};

static void table_open(struct table *t, const char *name, const char *cols)
{
    char sql[512];
    memset(t, 0, sizeof(*t));
    t->name = name;
    t->col = 1;
    if (pg) {
        snprintf(sql, sizeof(sql), "COPY %s (%s) FROM STDIN", name, cols);
        PGresult *res = PQexec(pg, sql);
        if (PQresultStatus(res) != PGRES_COPY_IN)
            die(sql);
        PQclear(res);
        t->buf = malloc(COPY_CHUNK + 4096);
        if (!t->buf)
            die("out of memory");
        return;
    }
    int n = 1;
    for (const char *c = cols; *c; c++)
        n += *c == ',';
    size_t len = (size_t)snprintf(sql, sizeof(sql), "INSERT INTO %s (%s) VALUES (", name, cols);
    for (int i = 1; i <= n; i++)
        len += (size_t)snprintf(sql + len, sizeof(sql) - len, "%s?%d", i > 1 ? ", " : "", i);
    snprintf(sql + len, sizeof(sql) - len, ")");
    if (sqlite3_prepare_v2(db, sql, -1, &t->st, NULL) != SQLITE_OK)
        die(sql);
}

static void copy_flush(struct table *t)
{
    if (t->len && PQputCopyData(pg, t->buf, (int)t->len) != 1)
        die(t->name);
    t->len = 0;
}

/* Appends raw bytes to the COPY buffer, sending it when full. */
static void copy_raw(struct table *t, const char *s, size_t n)
{
    if (t->len + n > COPY_CHUNK)
        copy_flush(t);
    if (n > COPY_CHUNK) {
        if (PQputCopyData(pg, s, (int)n) != 1)
            die(t->name);
        return;
    }
    memcpy(t->buf + t->len, s, n);
    t->len += n;
}

static void copy_separator(struct table *t)
{
    if (t->col > 1)
        copy_raw(t, "\t", 1);
    t->col++;
}

static void put_text(struct table *t, const char *s)
{
    if (!pg) {
        sqlite3_bind_text(t->st, t->col++, s, -1, SQLITE_TRANSIENT);
        return;
    }
    copy_separator(t);
    for (const char *p = s; *p; p++) {
        /* COPY's text format: backslash escapes for the separator, line ends and itself. */
        char e = *p == '\\' ? '\\' : *p == '\t' ? 't' : *p == '\n' ? 'n' : *p == '\r' ? 'r' : 0;
        if (e) {
            char esc[2] = {'\\', e};
            copy_raw(t, esc, 2);
        } else {
            copy_raw(t, p, 1);
        }
    }
}

static void put_int(struct table *t, int64_t i)
{
    if (!pg) {
        sqlite3_bind_int64(t->st, t->col++, i);
        return;
    }
    char text[24];
    int n = snprintf(text, sizeof(text), "%lld", (long long)i);
    copy_separator(t);
    copy_raw(t, text, (size_t)n);
}

static void put_null(struct table *t)
{
    if (!pg) {
        sqlite3_bind_null(t->st, t->col++);
        return;
    }
    copy_separator(t);
    copy_raw(t, "\\N", 2);
}

static void row_end(struct table *t)
{
    t->rows++;
    t->col = 1;
    if (pg) {
        copy_raw(t, "\n", 1);
        return;
    }
    if (sqlite3_step(t->st) != SQLITE_DONE)
        die(t->name);
    sqlite3_reset(t->st);
}

static void table_close(struct table *t)
{
    if (!pg) {
        sqlite3_finalize(t->st);
        return;
    }
    copy_flush(t);
    free(t->buf);
    if (PQputCopyEnd(pg, NULL) != 1)
        die(t->name);
    PGresult *res;
    while ((res = PQgetResult(pg)) != NULL) {
        if (PQresultStatus(res) != PGRES_COMMAND_OK)
            die(t->name);
        PQclear(res);
    }
}

static const char *const first_names[] = {"Ada",  "Ben",  "Chloe", "Daan",  "Emma", "Finn",
                                          "Gina", "Hugo", "Iris",  "Jonas", "Kim",  "Lars",
                                          "Mila", "Noah", "Olga",  "Pim",   "Rosa", "Sven",
                                          "Tess", "Umar", "Vera",  "Wout",  "Yara", "Zoe"};
static const char *const last_names[] = {"Jansen",   "de Vries", "Bakker",   "Visser",  "Smit",
                                         "Meijer",   "de Boer",  "Mulder",   "Bos",     "Vos",
                                         "Peters",   "Hendriks", "Dekker",   "Brouwer", "de Wit",
                                         "Dijkstra", "Smits",    "de Graaf", "van Dam", "Kok"};
#define NAMES(a) (long)(sizeof(a) / sizeof(a[0]))

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void progress(const char *what, long done, long total)
{
    if (total >= 100000 && done % (total / 10) == 0)
        fprintf(stderr, "seed: %s %ld/%ld\n", what, done, total);
}

static void write_places(const struct world *w, int64_t t0)
{
    char id[ID_MAX], agency[ID_MAX], env[ID_MAX], name[64];
    struct table t;
    long envs = w->o.agencies * w->envs_per_agency;
    table_open(&t, "agencies", "id, name, created_at");
    for (long a = 0; a < w->o.agencies; a++) {
        id_make(agency, "agy", w->o.seed, (uint64_t)a);
        snprintf(name, sizeof(name), "Agency %ld", a);
        put_text(&t, agency);
        put_text(&t, name);
        put_int(&t, t0 + a);
        row_end(&t);
    }
    table_close(&t);
    table_open(&t, "environments", "id, agency_id, name, created_at");
    for (long e = 0; e < envs; e++) {
        id_make(env, "env", w->o.seed, (uint64_t)e);
        id_make(agency, "agy", w->o.seed, (uint64_t)(e / w->envs_per_agency));
        snprintf(name, sizeof(name), "Environment %ld", e % w->envs_per_agency);
        put_text(&t, env);
        put_text(&t, agency);
        put_text(&t, name);
        put_int(&t, t0 + e);
        row_end(&t);
    }
    table_close(&t);
    table_open(&t, "bots", "id, agency_id, environment_id, name, created_at");
    for (long e = 0; e < envs; e++) {
        id_make(id, "bot", w->o.seed, (uint64_t)e);
        id_make(agency, "agy", w->o.seed, (uint64_t)(e / w->envs_per_agency));
        id_make(env, "env", w->o.seed, (uint64_t)e);
        put_text(&t, id);
        put_text(&t, agency);
        put_text(&t, env);
        put_text(&t, "Support bot");
        put_int(&t, t0 + e);
        row_end(&t);
    }
    table_close(&t);
}

/* Users, then memberships, then grants: one pass over the users for each table (everything
 * about a user derives from its number, so the passes agree). */
static void write_people(const struct world *w, int64_t t0, const char *hash)
{
    char user[ID_MAX], agency[ID_MAX], scope[ID_MAX], env[ID_MAX], grant[ID_MAX];
    char email[96], roles[ROLES_MAX];
    struct table t;
    table_open(&t, "users",
               "id, email, first_name, last_name, password_hash, status, created_at, "
               "last_active_at");
    for (long u = 0; u < w->o.users; u++) {
        struct rng r;
        rng_init(&r, w->o.seed, 'u', (uint64_t)u);
        struct user_grants g;
        user_grants_of(&g, w, u);
        id_make(user, "usr", w->o.seed, (uint64_t)u);
        snprintf(email, sizeof(email), "user%07ld@bench.example", u);
        put_text(&t, user);
        put_text(&t, email);
        put_text(&t, first_names[rng_below(&r, NAMES(first_names))]);
        put_text(&t, last_names[rng_below(&r, NAMES(last_names))]);
        put_text(&t, hash);
        put_text(&t, g.is_active ? "active" : "disabled");
        put_int(&t, t0 + u);
        if (rng_below(&r, 100) < 80)
            put_int(&t, t0 + u + rng_below(&r, 86400000));
        else
            put_null(&t);
        row_end(&t);
        progress("users", u + 1, w->o.users);
    }
    table_close(&t);

    /* The memberships' directory columns (sort name, search text) are filled by a trigger on
     * PostgreSQL: it must run, so the foreign keys are checked here too. */
    if (pg)
        exec("SET session_replication_role = origin");
    table_open(&t, "memberships", "agency_id, user_id, created_at");
    for (long u = 0; u < w->o.users; u++) {
        id_make(user, "usr", w->o.seed, (uint64_t)u);
        id_make(agency, "agy", w->o.seed, (uint64_t)home_agency(w, u));
        put_text(&t, agency);
        put_text(&t, user);
        put_int(&t, t0 + u);
        row_end(&t);
    }
    table_close(&t);
    if (pg)
        exec("SET session_replication_role = replica");

    table_open(&t, "grants",
               "id, agency_id, user_id, environment_id, bot_id, scope_id, roles, created_at");
    long grant_n = 0;
    for (long u = 0; u < w->o.users; u++) {
        struct user_grants g;
        user_grants_of(&g, w, u);
        id_make(user, "usr", w->o.seed, (uint64_t)u);
        id_make(agency, "agy", w->o.seed, (uint64_t)g.agency);
        /* The agency grant, then environment grants, then perhaps a bot grant. */
        size_t total = 1 + g.env_count + (g.bot >= 0 ? 1 : 0);
        for (size_t k = 0; k < total; k++) {
            unsigned mask;
            id_make(grant, "grt", w->o.seed, (uint64_t)grant_n++);
            put_text(&t, grant);
            put_text(&t, agency);
            put_text(&t, user);
            if (k == 0) {
                mask = g.agency_roles;
                put_null(&t);
                put_null(&t);
                put_text(&t, agency);
            } else if (k <= g.env_count) {
                mask = g.env_roles[k - 1];
                id_make(env, "env", w->o.seed, (uint64_t)g.env[k - 1]);
                put_text(&t, env);
                put_null(&t);
                put_text(&t, env);
            } else {
                mask = 1u << BOT_MANAGER;
                id_make(scope, "bot", w->o.seed, (uint64_t)g.bot);
                put_null(&t);
                put_text(&t, scope);
                put_text(&t, scope);
            }
            roles_csv(roles, mask);
            put_text(&t, roles);
            put_int(&t, t0 + u);
            row_end(&t);
        }
        progress("grants of users", u + 1, w->o.users);
    }
    table_close(&t);
    fprintf(stderr, "seed: %ld grants\n", grant_n);
}

/* --- the request mixes -------------------------------------------------------------------- */

struct question {
    long user;
    long env;
    const char *permission;
};

/* Mostly the user's own agency (where their grants are), sometimes anywhere (denied). */
static void question_draw(struct question *out, const struct world *w, long q)
{
    struct rng r;
    rng_init(&r, w->o.seed, 'q', (uint64_t)q);
    out->user = rng_below(&r, w->o.users);
    struct user_grants g;
    user_grants_of(&g, w, out->user);
    if (rng_below(&r, 100) < 95)
        out->env = g.agency * w->envs_per_agency + rng_below(&r, w->envs_per_agency);
    else
        out->env = rng_below(&r, w->o.agencies * w->envs_per_agency);
    out->permission = permission_draw(&r);
}

static FILE *mix_open(const struct world *w, const char *name)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", w->o.mix_dir, name);
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "seed: cannot write %s: %s\n", path, strerror(errno));
        exit(1);
    }
    return f;
}

/* The principal as Cerbos needs it: the caller sends what the user holds with every request,
 * as {agency id: [roles]} and {environment id: [roles]}. */
static void cerbos_principal(FILE *f, const struct world *w, long u)
{
    struct user_grants g;
    char id[ID_MAX], roles[ROLES_MAX + 32];
    user_grants_of(&g, w, u);
    id_make(id, "usr", w->o.seed, (uint64_t)u);
    fprintf(f, "\"principal\":{\"id\":\"%s\",\"roles\":[\"user\"],\"attr\":{\"active\":%s,", id,
            g.is_active ? "true" : "false");
    id_make(id, "agy", w->o.seed, (uint64_t)g.agency);
    roles_json(roles, g.agency_roles);
    fprintf(f, "\"agency_roles\":{\"%s\":%s},\"env_roles\":{", id, roles);
    for (size_t k = 0; k < g.env_count; k++) {
        id_make(id, "env", w->o.seed, (uint64_t)g.env[k]);
        roles_json(roles, g.env_roles[k]);
        fprintf(f, "%s\"%s\":%s", k ? "," : "", id, roles);
    }
    fprintf(f, "}}}");
}

static void cerbos_resource(FILE *f, const struct world *w, long env, const char *permission)
{
    char id[ID_MAX], agency[ID_MAX];
    id_make(id, "env", w->o.seed, (uint64_t)env);
    id_make(agency, "agy", w->o.seed, (uint64_t)(env / w->envs_per_agency));
    fprintf(f,
            "{\"actions\":[\"%s\"],\"resource\":{\"kind\":\"environment\",\"id\":\"%s\","
            "\"attr\":{\"agency\":\"%s\"}}}",
            permission, id, agency);
}

static void write_mixes(const struct world *w)
{
    FILE *usher = mix_open(w, "usher.jsonl");
    FILE *cerbos = mix_open(w, "cerbos.jsonl");
    FILE *cerbos_batch = mix_open(w, "cerbos-batch.jsonl");
    char user[ID_MAX], env[ID_MAX];
    for (long q = 0; q < w->o.mix_count; q++) {
        struct question x;
        question_draw(&x, w, q);
        id_make(user, "usr", w->o.seed, (uint64_t)x.user);
        id_make(env, "env", w->o.seed, (uint64_t)x.env);
        fprintf(usher, "{\"user_id\":\"%s\",\"permission\":\"%s\",\"environment_id\":\"%s\"}\n",
                user, x.permission, env);
        fprintf(cerbos, "{");
        cerbos_principal(cerbos, w, x.user);
        fprintf(cerbos, ",\"resources\":[");
        cerbos_resource(cerbos, w, x.env, x.permission);
        fprintf(cerbos, "]}\n");
        /* Cerbos takes one principal per request: a batch asks about ten environments. */
        fprintf(cerbos_batch, "{");
        cerbos_principal(cerbos_batch, w, x.user);
        fprintf(cerbos_batch, ",\"resources\":[");
        struct rng r;
        rng_init(&r, w->o.seed, 'b', (uint64_t)q);
        for (int k = 0; k < CERBOS_BATCH; k++) {
            struct question y;
            question_draw(&y, w, q * CERBOS_BATCH + k + w->o.mix_count);
            long e = k == 0 ? x.env
                            : (x.env / w->envs_per_agency) * w->envs_per_agency +
                                  rng_below(&r, w->envs_per_agency);
            if (k > 0)
                fprintf(cerbos_batch, ",");
            cerbos_resource(cerbos_batch, w, e, y.permission);
        }
        fprintf(cerbos_batch, "]}\n");
    }
    fclose(usher);
    fclose(cerbos);
    fclose(cerbos_batch);
}

/* The write mixes, one request a line as "PATH<TAB>BODY":
 *  - grant-puts.tsv: PUT .../users/{id}/grants for up to WRITE_USERS active users without
 *    owner or manager roles, first all of them with one set of grants, then all with another,
 *    so that replayed in order every request changes what the user holds;
 *  - invitations.tsv: POST .../invitations in agency after agency, without email, for an
 *    address in which mix.lua replaces {n} by a fresh number on every request. */
#define WRITE_USERS 2000

static void write_write_mixes(const struct world *w)
{
    FILE *puts = mix_open(w, "grant-puts.tsv");
    FILE *invites = mix_open(w, "invitations.tsv");
    char user[ID_MAX], agency[ID_MAX], env[ID_MAX];
    static const char *const shapes[2][2] = {{"agent", "operator"},
                                             {"operator", "content_manager"}};
    long chosen[WRITE_USERS];
    long count = 0;
    for (long u = 1; u < w->o.users && count < WRITE_USERS; u++) {
        struct user_grants g;
        user_grants_of(&g, w, u);
        unsigned managers = 1u << OWNER | 1u << ORGANISATION_MANAGER;
        if (g.is_active && !(g.agency_roles & managers))
            chosen[count++] = u;
    }
    for (int shape = 0; shape < 2; shape++) {
        for (long i = 0; i < count; i++) {
            struct user_grants g;
            user_grants_of(&g, w, chosen[i]);
            id_make(user, "usr", w->o.seed, (uint64_t)chosen[i]);
            id_make(agency, "agy", w->o.seed, (uint64_t)g.agency);
            id_make(env, "env", w->o.seed,
                    (uint64_t)(g.agency * w->envs_per_agency +
                               (chosen[i] + shape) % w->envs_per_agency));
            fprintf(puts,
                    "/api/v1/agencies/%s/users/%s/grants\t{\"grants\":[{\"roles\":[\"%s\"]},"
                    "{\"environment_id\":\"%s\",\"roles\":[\"%s\"]}]}\n",
                    agency, user, shapes[shape][0], env, shapes[shape][1]);
        }
    }
    for (long a = 0; a < w->o.agencies && a < WRITE_USERS; a++) {
        id_make(agency, "agy", w->o.seed, (uint64_t)a);
        id_make(env, "env", w->o.seed, (uint64_t)(a * w->envs_per_agency));
        fprintf(invites,
                "/api/v1/agencies/%s/invitations\t{\"email\":\"invitee-{n}@bench.example\","
                "\"send_email\":false,\"grants\":[{\"environment_id\":\"%s\",\"roles\":"
                "[\"agent\"]}]}\n",
                agency, env);
    }
    fclose(puts);
    fclose(invites);
}

/* --- main -------------------------------------------------------------------------------- */

static long number_arg(const char *flag, const char *v)
{
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (errno || *end || n < 0) {
        fprintf(stderr, "seed: %s needs a non-negative integer\n", flag);
        exit(2);
    }
    return n;
}

static void options_parse(struct options *o, int argc, char **argv)
{
    *o = (struct options){.users = 10000,
                          .agencies = 100,
                          .environments = 1000,
                          .grants = 30000,
                          .big = 0,
                          .mix_count = 10000,
                          .seed = 1};
    for (int i = 1; i < argc; i++) {
        const char *flag = argv[i];
        if (i + 1 >= argc) {
            fprintf(stderr, "seed: %s needs a value\n", flag);
            exit(2);
        }
        const char *v = argv[++i];
        if (strcmp(flag, "--db") == 0)
            o->db = v;
        else if (strcmp(flag, "--mix-dir") == 0)
            o->mix_dir = v;
        else if (strcmp(flag, "--users") == 0)
            o->users = number_arg(flag, v);
        else if (strcmp(flag, "--agencies") == 0)
            o->agencies = number_arg(flag, v);
        else if (strcmp(flag, "--environments") == 0)
            o->environments = number_arg(flag, v);
        else if (strcmp(flag, "--grants") == 0)
            o->grants = number_arg(flag, v);
        else if (strcmp(flag, "--big-agency-members") == 0)
            o->big = number_arg(flag, v);
        else if (strcmp(flag, "--mix-count") == 0)
            o->mix_count = number_arg(flag, v);
        else if (strcmp(flag, "--seed") == 0)
            o->seed = (uint64_t)number_arg(flag, v);
        else {
            fprintf(stderr, "seed: unknown option %s\n", flag);
            exit(2);
        }
    }
    if (!o->db || o->users < 1 || o->agencies < 1 || o->environments < o->agencies ||
        o->grants < o->users || o->big > o->users || o->grants > o->users * (1 + ENV_GRANTS_MAX)) {
        fprintf(
            stderr,
            "usage: seed --db PATH|postgres://URL [--users N] [--agencies N] [--environments N] "
            "[--grants N] [--big-agency-members N] [--mix-dir DIR] [--mix-count N] "
            "[--seed N]\n(environments >= agencies, users <= grants <= 9 x users)\n");
        exit(2);
    }
}

int main(int argc, char **argv)
{
    struct world w;
    options_parse(&w.o, argc, argv);
    w.envs_per_agency = w.o.environments / w.o.agencies;
    if (sodium_init() < 0) {
        fprintf(stderr, "seed: libsodium failed to initialise\n");
        return 1;
    }
    char hash[crypto_pwhash_STRBYTES];
    /* OWASP's minimum, as usher hashes: 19 MiB, two passes. */
    if (crypto_pwhash_str_alg(hash, BENCH_PASSWORD, strlen(BENCH_PASSWORD), 2, 19u << 20,
                              crypto_pwhash_ALG_ARGON2ID13) != 0) {
        fprintf(stderr, "seed: argon2id failed\n");
        return 1;
    }
    int64_t t0 = now_ms() - 400LL * 86400000LL;
    if (strncmp(w.o.db, "postgres://", 11) == 0 || strncmp(w.o.db, "postgresql://", 13) == 0) {
        pg = PQconnectdb(w.o.db);
        if (PQstatus(pg) != CONNECTION_OK)
            die("connect");
        /* Nobody else is on the database yet: the foreign keys are not checked row by row
         * (the generator keeps them), as SQLite's foreign_keys=OFF below, except where a
         * trigger must run (write_people). This needs a superuser, as the URL of a throwaway
         * cluster is. */
        exec("SET client_min_messages = warning; SET session_replication_role = replica; "
             "SET maintenance_work_mem = '256MB'");
        exec("BEGIN");
        write_places(&w, t0);
        write_people(&w, t0, hash);
        exec("COMMIT");
        /* Fresh statistics, so the planner walks the indexes the way it will in production. */
        exec("ANALYZE");
        PQfinish(pg);
        pg = NULL;
    } else {
        if (sqlite3_open(w.o.db, &db) != SQLITE_OK)
            die("open");
        /* A fresh file with nobody else on it: no journal, no syncs, a large cache. */
        exec("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA cache_size=-1000000; "
             "PRAGMA foreign_keys=OFF;");
        exec("BEGIN");
        write_places(&w, t0);
        write_people(&w, t0, hash);
        exec("COMMIT");
        exec("PRAGMA journal_mode=WAL;");
        sqlite3_close(db);
        db = NULL;
    }
    if (w.o.mix_dir) {
        write_mixes(&w);
        write_write_mixes(&w);
    }
    fprintf(stderr,
            "seed: %ld users, %ld agencies, %ld environments (and as many bots), %ld grants\n",
            w.o.users, w.o.agencies, w.o.agencies * w.envs_per_agency, w.o.grants);
    return 0;
}
