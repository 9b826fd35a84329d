/* Error codes and the per-request error slot.
 *
 * A fallible function returns 0 or one negative USHER_E* code. The detail (a stable
 * machine-readable problem code, the offending field, a human message) is written once
 * into a struct usher_error by usher_error_set and passed up unchanged. */
#ifndef USHER_BASE_ERROR_H
#define USHER_BASE_ERROR_H

#include <stddef.h>

enum {
    USHER_OK = 0,
    USHER_EINVAL = -1,     /* bad input: 400 */
    USHER_ENOTFOUND = -2,  /* unknown or foreign object: 404 */
    USHER_ECONFLICT = -3,  /* state conflict: 409 */
    USHER_EFORBIDDEN = -4, /* authenticated but not allowed: 403 */
    USHER_EUNAUTH = -5,    /* no or bad credentials: 401 */
    USHER_ELIMIT = -6,     /* rate or size limit: 429 or 413 */
    USHER_EUNAVAIL = -7,   /* a dependency is down or busy: 503 */
    USHER_EINTERNAL = -8,  /* a bug or an unexpected failure: 500 */
    USHER_EEXPIRED = -9,   /* something that was valid has run out (a link, a token): 410 */
};

#define USHER_ERROR_CODE_MAX    48
#define USHER_ERROR_FIELD_MAX   96
#define USHER_ERROR_MESSAGE_MAX 256

struct usher_error {
    int code;                              /* one of USHER_E*, 0 when unset */
    int http_status;                       /* optional override of the default status, 0 if none */
    char problem[USHER_ERROR_CODE_MAX];    /* stable code, e.g. "invalid_input" */
    char field[USHER_ERROR_FIELD_MAX];     /* offending field path, "" if none */
    char message[USHER_ERROR_MESSAGE_MAX]; /* lower case, no final period */
};

/* Clears the slot. */
void usher_error_clear(struct usher_error *err);

/* Records an error once: a slot that already holds an error is left unchanged so the first,
 * most specific cause wins. problem may be NULL (the default for code is used), field may be
 * NULL. err may be NULL. Returns code so callers can write `return usher_error_set(...)`. */
int usher_error_set(struct usher_error *err, int code, const char *problem, const char *field,
                    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* The default problem code for an error code ("invalid_input", "not_found", ...). */
const char *usher_error_default_problem(int code);

/* The default HTTP status for an error code. */
int usher_error_http_status(int code);

/* Bugs are assertions: abort in debug and sanitizer builds, log and go on in release. */
void usher_assert_fail(const char *expr, const char *file, int line);
#define USHER_ASSERT(e) ((e) ? (void)0 : usher_assert_fail(#e, __FILE__, __LINE__))

#endif
