/* Region allocator backed by a list of heap blocks that grow geometrically. */
#include "base/arena.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_ALIGN       16
#define ARENA_FIRST_BLOCK 4096

struct arena_block {
    struct arena_block *next;
    size_t size;
    size_t used;
    _Alignas(ARENA_ALIGN) unsigned char data[];
};

void *xmalloc(size_t size)
{
    void *p = malloc(size ? size : 1);
    if (!p) {
        fputs("usher: out of memory\n", stderr);
        abort();
    }
    return p;
}

void *xcalloc(size_t count, size_t size)
{
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (!p) {
        fputs("usher: out of memory\n", stderr);
        abort();
    }
    return p;
}

void *xrealloc(void *p, size_t size)
{
    void *q = realloc(p, size ? size : 1);
    if (!q) {
        fputs("usher: out of memory\n", stderr);
        abort();
    }
    return q;
}

char *xstrdup(const char *s)
{
    size_t len = strlen(s);
    char *p = xmalloc(len + 1);
    memcpy(p, s, len + 1);
    return p;
}

void arena_init(struct arena *a)
{
    a->head = NULL;
    a->total = 0;
}

void arena_dispose(struct arena *a)
{
    struct arena_block *b = a->head;
    while (b) {
        struct arena_block *next = b->next;
        free(b);
        b = next;
    }
    a->head = NULL;
    a->total = 0;
}

void arena_reset(struct arena *a)
{
    /* Keep one block of the first size, whatever else the task needed. */
    struct arena_block *b = a->head, *kept = NULL;
    while (b) {
        struct arena_block *next = b->next;
        if (!kept && b->size == ARENA_FIRST_BLOCK)
            kept = b;
        else
            free(b);
        b = next;
    }
    if (kept) {
        kept->used = 0;
        kept->next = NULL;
    }
    a->head = kept;
    a->total = 0;
}

void *arena_alloc(struct arena *a, size_t size)
{
    size_t need = (size + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
    /* Both the rounding and the block header must fit in a size_t, or the block would be
     * smaller than the request. */
    if (need < size || need > SIZE_MAX - sizeof(struct arena_block)) {
        fputs("usher: arena request overflows\n", stderr);
        abort();
    }
    struct arena_block *b = a->head;
    if (!b || b->size - b->used < need) {
        size_t block = b ? b->size * 2 : ARENA_FIRST_BLOCK;
        if (block > 1024 * 1024)
            block = 1024 * 1024;
        if (block < need)
            block = need;
        struct arena_block *nb = xmalloc(sizeof(*nb) + block);
        nb->size = block;
        nb->used = 0;
        /* A block for one oversized request goes behind the head so the head keeps its
         * free space for small allocations. */
        if (b && need > b->size) {
            nb->next = b->next;
            b->next = nb;
        } else {
            nb->next = b;
            a->head = nb;
        }
        b = nb;
    }
    void *p = b->data + b->used;
    b->used += need;
    a->total += need;
    memset(p, 0, size);
    return p;
}

char *arena_strndup(struct arena *a, const char *s, size_t len)
{
    char *p = arena_alloc(a, len + 1);
    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

char *arena_strdup(struct arena *a, const char *s)
{
    return s ? arena_strndup(a, s, strlen(s)) : NULL;
}

char *arena_printf(struct arena *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return arena_strdup(a, "");
    char *p = arena_alloc(a, (size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}
