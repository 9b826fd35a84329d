/* A string-keyed hash map with open addressing (linear probing) and tombstones. Keys are
 * copied and owned by the map; values are opaque pointers owned by the caller. Not
 * thread-safe: callers lock around it. */
#ifndef USHER_BASE_HMAP_H
#define USHER_BASE_HMAP_H

#include <stddef.h>
#include <stdint.h>

struct hmap_slot;

struct hmap {
    struct hmap_slot *slots;
    size_t cap;   /* power of two, 0 before the first insert */
    size_t count; /* live entries */
    size_t used;  /* live entries plus tombstones */
};

/* Prepares caller storage; takes no memory until the first insert. */
void hmap_init(struct hmap *m);

/* Frees the slots and keys (not the values). */
void hmap_dispose(struct hmap *m);

/* The value for key, or NULL. */
void *hmap_get(const struct hmap *m, const char *key);

/* Inserts or replaces; returns the previous value or NULL. */
void *hmap_put(struct hmap *m, const char *key, void *value);

/* Removes key; returns its value or NULL. */
void *hmap_remove(struct hmap *m, const char *key);

/* Iterates: start with *pos = 0; returns 0 at the end, else 1 with *key and *value set. */
int hmap_next(const struct hmap *m, size_t *pos, const char **key, void **value);

/* The 64-bit FNV-1a hash of a string. */
uint64_t hmap_hash(const char *s);

#endif
