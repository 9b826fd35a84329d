/* JSON-lines logger: each line is built in memory (with jansson for log_msg, as text for
 * log_line) and written with one write(2) under a mutex, so lines never interleave. The
 * timestamp's date and time are formatted once a second per thread. */
#include "base/log.h"

#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "base/error.h"
#include "base/json_writer.h"

#define LOG_LINE_STACK 2048

static enum log_level log_min = LOG_INFO;
static int log_fd = 2;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void log_set_level(enum log_level level)
{
    log_min = level;
}

bool log_enabled(enum log_level level)
{
    return level >= log_min;
}

int log_level_parse(enum log_level *out, const char *name)
{
    for (int i = 0; i < 4; i++) {
        if (strcmp(name, level_names[i]) == 0) {
            *out = (enum log_level)i;
            return 0;
        }
    }
    return USHER_EINVAL;
}

void log_set_fd(int fd)
{
    log_fd = fd;
}

/* "2026-01-31T12:34:56.789Z" into out (at least 32 bytes); gmtime and strftime run once per
 * second and thread. */
static void timestamp(char *out, size_t cap)
{
    static _Thread_local time_t cached_sec = -1;
    static _Thread_local char cached[24];
    static _Thread_local size_t cached_len;
    struct timeval tv;
    gettimeofday(&tv, NULL);
    if (tv.tv_sec != cached_sec) {
        struct tm tm;
        gmtime_r(&tv.tv_sec, &tm);
        cached_len = strftime(cached, sizeof(cached), "%Y-%m-%dT%H:%M:%S", &tm);
        cached_sec = tv.tv_sec;
    }
    long ms = (long)(tv.tv_usec / 1000);
    if (cap < cached_len + 6)
        return;
    memcpy(out, cached, cached_len);
    char *p = out + cached_len;
    p[0] = '.';
    p[1] = (char)('0' + ms / 100);
    p[2] = (char)('0' + ms / 10 % 10);
    p[3] = (char)('0' + ms % 10);
    p[4] = 'Z';
    p[5] = '\0';
}

/* Writes len bytes and a newline with one write(2) where possible. */
static void line_write(char *text, size_t len)
{
    text[len] = '\n';
    pthread_mutex_lock(&log_lock);
    size_t off = 0;
    while (off < len + 1) {
        ssize_t w = write(log_fd, text + off, len + 1 - off);
        if (w <= 0)
            break;
        off += (size_t)w;
    }
    pthread_mutex_unlock(&log_lock);
}

void log_msg(enum log_level level, const char *event, const char *fields_fmt, ...)
{
    if (level < log_min)
        return;
    json_t *line = NULL;
    if (fields_fmt) {
        va_list ap;
        va_start(ap, fields_fmt);
        line = json_vpack_ex(NULL, 0, fields_fmt, ap);
        va_end(ap);
    }
    if (!json_is_object(line)) {
        json_decref(line);
        line = json_object();
    }
    char ts[32];
    timestamp(ts, sizeof(ts));
    json_object_set_new(line, "ts", json_string(ts));
    json_object_set_new(line, "level", json_string(level_names[level]));
    json_object_set_new(line, "event", json_string(event));
    /* Six significant digits keep durations readable (0.0507, not 0.050695999999999998). */
    char *text = json_dumps(line, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6));
    json_decref(line);
    if (!text)
        return;
    size_t len = strlen(text);
    /* The newline is written with the line so concurrent writers never interleave. */
    char *full = realloc(text, len + 2);
    if (!full) {
        free(text);
        return;
    }
    line_write(full, len);
    free(full);
}

void log_line(enum log_level level, const char *event, const char *fields, size_t len)
{
    if (level < log_min)
        return;
    char storage[LOG_LINE_STACK];
    char ts[32];
    timestamp(ts, sizeof(ts));
    struct json_writer w;
    json_writer_init(&w, storage, sizeof(storage));
    json_writer_raw(&w, "{", 1);
    if (len > 0) {
        json_writer_raw(&w, fields, len);
        json_writer_raw(&w, ",", 1);
    }
    json_writer_lit(&w, "\"ts\":");
    json_writer_string(&w, ts);
    json_writer_lit(&w, ",\"level\":");
    json_writer_string(&w, level_names[level]);
    json_writer_lit(&w, ",\"event\":");
    json_writer_string(&w, event);
    /* Room for the newline line_write adds. */
    json_writer_raw(&w, "}\n", 2);
    line_write(w.data, w.len - 1);
    json_writer_dispose(&w);
}
