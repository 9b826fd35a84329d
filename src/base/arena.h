/* Region allocator: one arena per request (or per task), released all at once.
 * Handlers allocate from the request's arena and never call free. Out of memory aborts. */
#ifndef USHER_BASE_ARENA_H
#define USHER_BASE_ARENA_H

#include <stdarg.h>
#include <stddef.h>

struct arena_block;

struct arena {
    struct arena_block *head;
    size_t total; /* bytes handed out, for limits and metrics */
};

/* Prepares caller-owned storage; no memory is taken until the first allocation. */
void arena_init(struct arena *a);

/* Releases every block; the arena may be used again afterwards. */
void arena_dispose(struct arena *a);

/* Forgets everything allocated but keeps the first block for the next use, so an arena reused
 * for one small task after another stops calling malloc. */
void arena_reset(struct arena *a);

/* Zeroed memory aligned for any type, valid until arena_dispose. */
void *arena_alloc(struct arena *a, size_t size);

/* Copies a NUL-terminated string (NULL gives NULL). */
char *arena_strdup(struct arena *a, const char *s);

/* Copies len bytes and adds a NUL. */
char *arena_strndup(struct arena *a, const char *s, size_t len);

/* Formats into the arena. */
char *arena_printf(struct arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Heap helpers that abort on exhaustion. */
void *xmalloc(size_t size);
void *xcalloc(size_t count, size_t size);
void *xrealloc(void *p, size_t size);
char *xstrdup(const char *s);

#endif
