/* Error slot helpers and the mapping of error codes to default problem codes and statuses. */
#include "base/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"

void usher_error_clear(struct usher_error *err)
{
    if (err)
        memset(err, 0, sizeof(*err));
}

const char *usher_error_default_problem(int code)
{
    switch (code) {
    case USHER_EINVAL:
        return "invalid_input";
    case USHER_ENOTFOUND:
        return "not_found";
    case USHER_ECONFLICT:
        return "conflict";
    case USHER_EFORBIDDEN:
        return "forbidden";
    case USHER_EUNAUTH:
        return "unauthenticated";
    case USHER_ELIMIT:
        return "rate_limited";
    case USHER_EUNAVAIL:
        return "unavailable";
    case USHER_EEXPIRED:
        return "expired";
    default:
        return "internal";
    }
}

int usher_error_http_status(int code)
{
    switch (code) {
    case USHER_EINVAL:
        return 400;
    case USHER_ENOTFOUND:
        return 404;
    case USHER_ECONFLICT:
        return 409;
    case USHER_EFORBIDDEN:
        return 403;
    case USHER_EUNAUTH:
        return 401;
    case USHER_ELIMIT:
        return 429;
    case USHER_EUNAVAIL:
        return 503;
    case USHER_EEXPIRED:
        return 410;
    default:
        return 500;
    }
}

int usher_error_set(struct usher_error *err, int code, const char *problem, const char *field,
                    const char *fmt, ...)
{
    if (!err || err->code != 0)
        return code;
    err->code = code;
    snprintf(err->problem, sizeof(err->problem), "%s",
             problem ? problem : usher_error_default_problem(code));
    snprintf(err->field, sizeof(err->field), "%s", field ? field : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof(err->message), fmt, ap);
    va_end(ap);
    return code;
}

void usher_assert_fail(const char *expr, const char *file, int line)
{
    log_msg(LOG_ERROR, "assertion_failed", "{s:s, s:s, s:i}", "expr", expr, "file", file, "line",
            line);
#ifdef USHER_DEBUG_ASSERT
    abort();
#endif
}
