/* Open-addressing hash map keyed by strings. */
#include "base/hmap.h"

#include <stdlib.h>
#include <string.h>

#include "base/arena.h"

static char tombstone_key;
#define TOMBSTONE (&tombstone_key)

struct hmap_slot {
    char *key; /* NULL: empty; TOMBSTONE: removed */
    uint64_t hash;
    void *value;
};

uint64_t hmap_hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h;
}

void hmap_init(struct hmap *m)
{
    memset(m, 0, sizeof(*m));
}

void hmap_dispose(struct hmap *m)
{
    for (size_t i = 0; i < m->cap; i++) {
        if (m->slots[i].key && m->slots[i].key != TOMBSTONE)
            free(m->slots[i].key);
    }
    free(m->slots);
    hmap_init(m);
}

static struct hmap_slot *find(const struct hmap *m, const char *key, uint64_t h)
{
    if (m->cap == 0)
        return NULL;
    size_t mask = m->cap - 1;
    for (size_t i = h & mask, n = 0; n < m->cap; i = (i + 1) & mask, n++) {
        struct hmap_slot *s = &m->slots[i];
        if (!s->key)
            return NULL;
        if (s->key != TOMBSTONE && s->hash == h && strcmp(s->key, key) == 0)
            return s;
    }
    return NULL;
}

void *hmap_get(const struct hmap *m, const char *key)
{
    struct hmap_slot *s = find(m, key, hmap_hash(key));
    return s ? s->value : NULL;
}

static void grow(struct hmap *m)
{
    size_t ncap = m->cap ? m->cap * 2 : 16;
    /* Rehash at the same size when tombstones, not live entries, filled the table. */
    if (m->cap && m->count * 2 < m->cap)
        ncap = m->cap;
    struct hmap_slot *old = m->slots;
    size_t old_cap = m->cap;
    m->slots = xcalloc(ncap, sizeof(*m->slots));
    m->cap = ncap;
    m->used = m->count;
    size_t mask = ncap - 1;
    for (size_t i = 0; i < old_cap; i++) {
        if (!old[i].key || old[i].key == TOMBSTONE)
            continue;
        size_t j = old[i].hash & mask;
        while (m->slots[j].key)
            j = (j + 1) & mask;
        m->slots[j] = old[i];
    }
    free(old);
}

void *hmap_put(struct hmap *m, const char *key, void *value)
{
    uint64_t h = hmap_hash(key);
    struct hmap_slot *s = find(m, key, h);
    if (s) {
        void *prev = s->value;
        s->value = value;
        return prev;
    }
    if ((m->used + 1) * 4 > m->cap * 3)
        grow(m);
    size_t mask = m->cap - 1;
    size_t i = h & mask;
    while (m->slots[i].key && m->slots[i].key != TOMBSTONE)
        i = (i + 1) & mask;
    if (!m->slots[i].key)
        m->used++;
    m->slots[i].key = xstrdup(key);
    m->slots[i].hash = h;
    m->slots[i].value = value;
    m->count++;
    return NULL;
}

void *hmap_remove(struct hmap *m, const char *key)
{
    struct hmap_slot *s = find(m, key, hmap_hash(key));
    if (!s)
        return NULL;
    void *prev = s->value;
    free(s->key);
    s->key = TOMBSTONE;
    s->value = NULL;
    m->count--;
    return prev;
}

int hmap_next(const struct hmap *m, size_t *pos, const char **key, void **value)
{
    while (*pos < m->cap) {
        struct hmap_slot *s = &m->slots[(*pos)++];
        if (s->key && s->key != TOMBSTONE) {
            *key = s->key;
            *value = s->value;
            return 1;
        }
    }
    return 0;
}
