/* JSON-lines logging on standard error: one object per line with ts, level, event and fields.
 * Never pass a password, token, link or secret as a field. */
#ifndef USHER_BASE_LOG_H
#define USHER_BASE_LOG_H

#include <stdbool.h>
#include <stddef.h>

enum log_level { LOG_DEBUG = 0, LOG_INFO = 1, LOG_WARN = 2, LOG_ERROR = 3 };

/* Sets the lowest level written (default LOG_INFO). */
void log_set_level(enum log_level level);

/* Parses "debug", "info", "warn", "error"; returns 0 or USHER_EINVAL. */
int log_level_parse(enum log_level *out, const char *name);

/* Redirects output to fd (default 2). */
void log_set_fd(int fd);

/* Writes one line. fields_fmt is a jansson json_pack format building an object (or NULL for no
 * fields), followed by its arguments. Thread-safe; a line is written with one write(2). */
void log_msg(enum log_level level, const char *event, const char *fields_fmt, ...);

/* True when a line at level would be written. */
bool log_enabled(enum log_level level);

/* Writes one line whose fields are already JSON text: fields holds len bytes of object
 * members ("\"a\":1,\"b\":\"x\"", possibly empty), to which ts, level and event are added as
 * log_msg adds them. For lines written on every request: nothing is built with jansson. */
void log_line(enum log_level level, const char *event, const char *fields, size_t len);

#endif
