/* JSON-lines logger: builds each line with jansson and writes it in one call under a mutex. */
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

static enum log_level log_min = LOG_INFO;
static int log_fd = 2;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void log_set_level(enum log_level level)
{
    log_min = level;
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
    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    gmtime_r(&tv.tv_sec, &tm);
    char ts[40];
    size_t n = strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(ts + n, sizeof(ts) - n, ".%03ldZ", (long)(tv.tv_usec / 1000));
    json_object_set_new(line, "ts", json_string(ts));
    json_object_set_new(line, "level", json_string(level_names[level]));
    json_object_set_new(line, "event", json_string(event));
    /* Six significant digits keep durations readable (0.0507, not 0.050695999999999998). */
    char *text = json_dumps(line, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6));
    json_decref(line);
    if (!text)
        return;
    size_t len = strlen(text);
    pthread_mutex_lock(&log_lock);
    /* The newline is written with the line so concurrent writers never interleave. */
    char *full = text;
    char stackbuf[2048];
    if (len + 1 <= sizeof(stackbuf)) {
        memcpy(stackbuf, text, len);
        full = stackbuf;
    } else {
        full = realloc(text, len + 2);
        if (!full) {
            pthread_mutex_unlock(&log_lock);
            free(text);
            return;
        }
        text = full;
    }
    full[len] = '\n';
    ssize_t off = 0;
    while ((size_t)off < len + 1) {
        ssize_t w = write(log_fd, full + off, len + 1 - (size_t)off);
        if (w <= 0)
            break;
        off += w;
    }
    pthread_mutex_unlock(&log_lock);
    free(text);
}
