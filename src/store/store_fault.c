/* Store fault injection for the test builds: parses the rules of USHER_FAULT_FILE or
 * USHER_FAULT_STORE and fails matching store calls at random with the driver's own errors.
 * Without USHER_FAULTS this file holds nothing that runs. */
#include "store/store_fault.h"

#ifdef USHER_FAULTS

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include "base/log.h"

#define FAULT_RULES_MAX 16
#define FAULT_TEXT_MAX  1024
#define FAULT_SQL_MAX   128

enum fault_where { WHERE_ANY, WHERE_READ, WHERE_WRITE, WHERE_BEGIN, WHERE_COMMIT, WHERE_SQL };

struct fault_rule {
    const char *kind; /* "busy", "ioerr", "full", "slow" */
    uint32_t per_million;
    long nth;  /* > 0: fail exactly the nth matching call instead of at random */
    long seen; /* matching calls since the rules were read */
    enum fault_where where;
    char sql[FAULT_SQL_MAX];
};

static pthread_mutex_t fault_lock = PTHREAD_MUTEX_INITIALIZER;
static bool fault_loaded;
static struct stat fault_file_stat;
static struct fault_rule fault_rules[FAULT_RULES_MAX];
static size_t fault_rule_count;

static bool rule_parse(struct fault_rule *out, char *text)
{
    memset(out, 0, sizeof(*out));
    char *p = text;
    char *kind = p;
    char *colon = strchr(p, ':');
    if (!colon)
        return false;
    *colon = '\0';
    if (strcmp(kind, "busy") == 0)
        out->kind = "busy";
    else if (strcmp(kind, "ioerr") == 0)
        out->kind = "ioerr";
    else if (strcmp(kind, "full") == 0)
        out->kind = "full";
    else if (strcmp(kind, "slow") == 0)
        out->kind = "slow";
    else
        return false;
    p = colon + 1;
    char *where = strchr(p, ':');
    if (where)
        *where++ = '\0';
    char *end = NULL;
    if (*p == '@') {
        out->nth = strtol(p + 1, &end, 10);
        if (end == p + 1 || *end || out->nth < 1)
            return false;
    } else {
        double prob = strtod(p, &end);
        if (end == p || *end || prob < 0.0 || prob > 1.0)
            return false;
        out->per_million = (uint32_t)(prob * 1000000.0 + 0.5);
    }
    if (!where || strcmp(where, "any") == 0)
        out->where = WHERE_ANY;
    else if (strcmp(where, "read") == 0)
        out->where = WHERE_READ;
    else if (strcmp(where, "write") == 0)
        out->where = WHERE_WRITE;
    else if (strcmp(where, "begin") == 0)
        out->where = WHERE_BEGIN;
    else if (strcmp(where, "commit") == 0)
        out->where = WHERE_COMMIT;
    else if (strncmp(where, "sql=", 4) == 0 && where[4] && strlen(where + 4) < FAULT_SQL_MAX) {
        out->where = WHERE_SQL;
        snprintf(out->sql, sizeof(out->sql), "%s", where + 4);
    } else {
        return false;
    }
    return true;
}

/* Replaces the rules with those of text (called with fault_lock held). */
static void rules_set(const char *text, const char *source)
{
    char buf[FAULT_TEXT_MAX];
    snprintf(buf, sizeof(buf), "%s", text ? text : "");
    size_t len = strlen(buf);
    while (len > 0 && isspace((unsigned char)buf[len - 1]))
        buf[--len] = '\0';
    fault_rule_count = 0;
    char *save = NULL;
    for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        while (*tok == ' ')
            tok++;
        if (!*tok)
            continue;
        struct fault_rule r;
        char copy[FAULT_TEXT_MAX];
        snprintf(copy, sizeof(copy), "%s", tok);
        if (fault_rule_count < FAULT_RULES_MAX && rule_parse(&r, copy))
            fault_rules[fault_rule_count++] = r;
        else
            log_msg(LOG_ERROR, "store.fault_rule_invalid", "{s:s, s:s}", "source", source, "rule",
                    tok);
    }
    log_msg(LOG_WARN, "store.fault_rules", "{s:s, s:i}", "source", source, "rules",
            (int)fault_rule_count);
}

/* Reads the rules once from the variable, or again from the file whenever it changed. */
static void rules_refresh(void)
{
    const char *file = getenv("USHER_FAULT_FILE");
    if (!file || !*file) {
        if (!fault_loaded)
            rules_set(getenv("USHER_FAULT_STORE"), "USHER_FAULT_STORE");
        fault_loaded = true;
        return;
    }
    struct stat st;
    if (stat(file, &st) != 0)
        memset(&st, 0, sizeof(st));
    if (fault_loaded && st.st_ino == fault_file_stat.st_ino &&
        st.st_size == fault_file_stat.st_size &&
        st.st_mtim.tv_sec == fault_file_stat.st_mtim.tv_sec &&
        st.st_mtim.tv_nsec == fault_file_stat.st_mtim.tv_nsec)
        return;
    fault_file_stat = st;
    fault_loaded = true;
    char text[FAULT_TEXT_MAX] = "";
    FILE *f = fopen(file, "r");
    if (f) {
        size_t n = fread(text, 1, sizeof(text) - 1, f);
        text[n] = '\0';
        fclose(f);
    }
    rules_set(text, "USHER_FAULT_FILE");
}

static bool sql_starts_with(const char *sql, const char *word)
{
    while (*sql && isspace((unsigned char)*sql))
        sql++;
    return strncasecmp(sql, word, strlen(word)) == 0;
}

static bool rule_matches(const struct fault_rule *r, enum store_fault_point point, const char *sql)
{
    switch (r->where) {
    case WHERE_ANY:
        return true;
    case WHERE_BEGIN:
        return point == STORE_FAULT_BEGIN;
    case WHERE_COMMIT:
        return point == STORE_FAULT_COMMIT;
    case WHERE_READ:
        return point == STORE_FAULT_EXEC && sql &&
               (sql_starts_with(sql, "SELECT") || sql_starts_with(sql, "WITH"));
    case WHERE_WRITE:
        return point == STORE_FAULT_EXEC && sql &&
               (sql_starts_with(sql, "INSERT") || sql_starts_with(sql, "UPDATE") ||
                sql_starts_with(sql, "DELETE"));
    case WHERE_SQL:
        return point == STORE_FAULT_EXEC && sql && strstr(sql, r->sql) != NULL;
    }
    return false;
}

/* The kind of the first rule of the wanted sort (slow ones, or the failing ones) that fires
 * for this call, or NULL. */
static const char *rule_fired(enum store_fault_point point, const char *sql, bool is_slow)
{
    const char *kind = NULL;
    pthread_mutex_lock(&fault_lock);
    rules_refresh();
    for (size_t i = 0; i < fault_rule_count && !kind; i++) {
        struct fault_rule *r = &fault_rules[i];
        if ((strcmp(r->kind, "slow") == 0) != is_slow || !rule_matches(r, point, sql))
            continue;
        if (r->nth > 0 ? ++r->seen == r->nth
                       : r->per_million > 0 && randombytes_uniform(1000000) < r->per_million)
            kind = r->kind;
    }
    pthread_mutex_unlock(&fault_lock);
    return kind;
}

void store_fault_pause(const char *sql)
{
    if (!rule_fired(STORE_FAULT_EXEC, sql, true))
        return;
    char head[81];
    snprintf(head, sizeof(head), "%s", sql ? sql : "");
    log_msg(LOG_WARN, "store.fault", "{s:s, s:s, s:s}", "kind", "slow", "point", "exec", "sql",
            head);
    struct timespec pause = {.tv_sec = STORE_FAULT_SLOW_MS / 1000,
                             .tv_nsec = (long)(STORE_FAULT_SLOW_MS % 1000) * 1000000L};
    while (nanosleep(&pause, &pause) != 0 && errno == EINTR)
        continue;
}

int store_fault_hit(enum store_fault_point point, const char *sql, struct usher_error *err)
{
    const char *kind = rule_fired(point, sql, false);
    if (!kind)
        return 0;
    static const char *const points[] = {"exec", "begin", "commit"};
    char head[81];
    snprintf(head, sizeof(head), "%s", sql ? sql : "");
    log_msg(LOG_WARN, "store.fault", "{s:s, s:s, s:s}", "kind", kind, "point", points[point], "sql",
            head);
    /* The same answers the SQLite driver gives for these result codes. */
    if (strcmp(kind, "busy") == 0)
        return usher_error_set(err, USHER_EUNAVAIL, NULL, NULL, "database busy");
    return usher_error_set(err, USHER_EUNAVAIL, NULL, NULL, "database unavailable");
}

#else

/* ISO C wants at least one declaration in a translation unit. */
typedef int store_fault_unused;

#endif
