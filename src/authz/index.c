/* The decision index: interned tables of users, places and custom roles under one reader-writer
 * lock; each check gathers the user's grants in the target's agency and hands them to
 * policy_decide_check. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "policy/catalogue.h"
#include "authz/authz_int.h"
#include "base/clock.h"
#include "base/hmap.h"

#define GRANTS_ON_STACK 32
#define CHUNK_FIRST     (16 * 1024)
#define HUGE_BYTES      (2 * 1024 * 1024) /* a huge page; memory this large is mapped alone */

/* --- memory --- */

static size_t huge_round(size_t bytes)
{
    return (bytes + HUGE_BYTES - 1) & ~(size_t)(HUGE_BYTES - 1);
}

/* Zeroed memory; from HUGE_BYTES on, a mapping of its own aligned for huge pages. */
static void *big_alloc(size_t bytes)
{
    if (bytes < HUGE_BYTES)
        return xcalloc(1, bytes);
    size_t len = huge_round(bytes);
    unsigned char *p =
        mmap(NULL, len + HUGE_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        fputs("usher: out of memory\n", stderr);
        abort();
    }
    unsigned char *start = (unsigned char *)huge_round((uintptr_t)p);
    if (start > p)
        munmap(p, (size_t)(start - p));
    munmap(start + len, (size_t)(p + HUGE_BYTES - start));
    /* Only advice: without huge pages the index works the same, a little slower. */
    madvise(start, len, MADV_HUGEPAGE);
    return start;
}

/* Frees what big_alloc gave for the same number of bytes; accepts NULL. */
static void big_free(void *p, size_t bytes)
{
    if (!p)
        return;
    if (bytes < HUGE_BYTES)
        free(p);
    else
        munmap(p, huge_round(bytes));
}

/* Grows a big_alloc block from old_bytes to new_bytes, keeping its content. */
static void *big_grow(void *p, size_t old_bytes, size_t new_bytes)
{
    if (new_bytes < HUGE_BYTES)
        return xrealloc(p, new_bytes);
    void *q = big_alloc(new_bytes);
    if (p)
        memcpy(q, p, old_bytes);
    big_free(p, old_bytes);
    return q;
}

static void chunks_free(struct ix_chunk *c)
{
    while (c) {
        struct ix_chunk *next = c->next;
        big_free(c, sizeof(*c) + c->size);
        c = next;
    }
}

/* len bytes (aligned to 8 when is_aligned) from the chunk list; chunks double up to
 * HUGE_BYTES. */
static void *chunk_take(struct ix_chunk **list, size_t len, bool is_aligned)
{
    struct ix_chunk *c = *list;
    size_t at = c ? (is_aligned ? (c->used + 7) & ~(size_t)7 : c->used) : 0;
    if (!c || at + len > c->size) {
        size_t size = c ? c->size * 2 : CHUNK_FIRST;
        if (size > HUGE_BYTES - sizeof(*c))
            size = HUGE_BYTES - sizeof(*c);
        if (size < len)
            size = len;
        c = big_alloc(sizeof(*c) + size);
        c->size = size;
        c->used = 0;
        c->next = *list;
        *list = c;
        at = 0;
    }
    c->used = at + len;
    return c->data + at;
}

/* --- interned names --- */

static uint32_t name_hash(const char *s)
{
    uint64_t h = hmap_hash(s);
    return (uint32_t)(h ^ (h >> 32));
}

static void names_dispose(struct ix_names *n)
{
    chunks_free(n->chunks);
    big_free(n->strs, (size_t)n->cap * sizeof(*n->strs));
    big_free(n->slots, n->slot_count * sizeof(*n->slots));
    memset(n, 0, sizeof(*n));
}

static uint32_t names_find(const struct ix_names *n, const char *id, uint32_t h)
{
    if (n->slot_count == 0)
        return IX_NONE;
    size_t mask = n->slot_count - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        uint64_t slot = n->slots[i];
        if (slot == 0)
            return IX_NONE;
        uint32_t handle = (uint32_t)slot - 1;
        if ((uint32_t)(slot >> 32) == h && strcmp(n->strs[handle], id) == 0)
            return handle;
    }
}

static void slots_insert(uint64_t *slots, size_t slot_count, uint64_t slot)
{
    size_t mask = slot_count - 1;
    size_t i = (size_t)(slot >> 32) & mask;
    while (slots[i])
        i = (i + 1) & mask;
    slots[i] = slot;
}

/* Keeps the hash table at most half full. */
static void slots_reserve(struct ix_names *n)
{
    if ((size_t)(n->count + 1) * 2 <= n->slot_count)
        return;
    size_t count = n->slot_count ? n->slot_count * 2 : 64;
    uint64_t *slots = big_alloc(count * sizeof(*slots));
    for (size_t i = 0; i < n->slot_count; i++) {
        if (n->slots[i])
            slots_insert(slots, count, n->slots[i]);
    }
    big_free(n->slots, n->slot_count * sizeof(*n->slots));
    n->slots = slots;
    n->slot_count = count;
}

static char *chunk_copy(struct ix_names *n, const char *id)
{
    size_t len = strlen(id) + 1;
    char *copy = chunk_take(&n->chunks, len, false);
    memcpy(copy, id, len);
    return copy;
}

/* --- tables --- */

static void table_init(struct ix_table *t, size_t rec_size)
{
    memset(t, 0, sizeof(*t));
    t->rec_size = rec_size;
}

static void table_dispose(struct ix_table *t)
{
    big_free(t->recs, (size_t)t->names.cap * t->rec_size);
    t->recs = NULL;
    names_dispose(&t->names);
}

uint32_t ix_find(const struct ix_table *t, const char *id)
{
    if (!id)
        return IX_NONE;
    return names_find(&t->names, id, name_hash(id));
}

uint32_t ix_intern(struct ix_table *t, const char *id)
{
    struct ix_names *n = &t->names;
    uint32_t h = name_hash(id);
    uint32_t found = names_find(n, id, h);
    if (found != IX_NONE)
        return found;
    if (n->count == n->cap) {
        uint32_t cap = n->cap ? n->cap * 2 : 16;
        n->strs =
            big_grow(n->strs, (size_t)n->cap * sizeof(*n->strs), (size_t)cap * sizeof(*n->strs));
        t->recs = big_grow(t->recs, (size_t)n->cap * t->rec_size, (size_t)cap * t->rec_size);
        n->cap = cap;
    }
    slots_reserve(n);
    uint32_t handle = n->count++;
    n->strs[handle] = chunk_copy(n, id);
    memset(ix_rec(t, handle), 0, t->rec_size);
    slots_insert(n->slots, n->slot_count, ((uint64_t)h << 32) | ((uint64_t)handle + 1));
    return handle;
}

void ix_data_init(struct ix_data *d)
{
    d->sets = NULL;
    table_init(&d->users, sizeof(struct ix_user));
    table_init(&d->agencies, sizeof(struct ix_agency));
    table_init(&d->envs, sizeof(struct ix_place));
    table_init(&d->bots, sizeof(struct ix_place));
    table_init(&d->roles, sizeof(struct ix_role));
}

void ix_data_dispose(struct ix_data *d)
{
    for (uint32_t h = 0; h < d->users.names.count; h++) {
        struct ix_user *u = ix_rec(&d->users, h);
        if (!(u->flags & IX_POOLED))
            free(u->set);
    }
    chunks_free(d->sets);
    d->sets = NULL;
    table_dispose(&d->users);
    table_dispose(&d->agencies);
    table_dispose(&d->envs);
    table_dispose(&d->bots);
    table_dispose(&d->roles);
}

/* --- changes (callers hold the write lock, or own d alone) --- */

/* A place named by a grant: its agency (and a bot's environment) are taken from the grant's
 * row while the place itself has not been seen. */
static uint32_t place_from_grant(struct ix_data *d, const struct ix_grant_row *row)
{
    switch (row->kind) {
    case POLICY_SCOPE_AGENCY:
        return ix_intern(&d->agencies, row->scope_id);
    case POLICY_SCOPE_ENVIRONMENT:
    case POLICY_SCOPE_BOT: {
        struct ix_table *t = row->kind == POLICY_SCOPE_BOT ? &d->bots : &d->envs;
        uint32_t h = ix_intern(t, row->scope_id);
        if (((struct ix_place *)ix_rec(t, h))->flags & IX_KNOWN)
            return h;
        uint32_t agency = row->agency_id ? ix_intern(&d->agencies, row->agency_id) : IX_NONE;
        uint32_t env = row->kind == POLICY_SCOPE_BOT && row->bot_env_id
                           ? ix_intern(&d->envs, row->bot_env_id)
                           : IX_NONE;
        struct ix_place *p = ix_rec(t, h);
        p->agency = agency;
        p->env = env;
        p->flags |= IX_KNOWN;
        return h;
    }
    default:
        return IX_NONE;
    }
}

/* Custom role ids are unique only within their agency, so the roles table interns them as
 * "<agency id>/<role id>" (agency ids hold no '/'). False when the key does not fit out. */
static bool role_key(char *out, size_t size, const char *agency_id, const char *role_id)
{
    int n = snprintf(out, size, "%s/%s", agency_id ? agency_id : "", role_id);
    return agency_id && n > 0 && (size_t)n < size;
}

#define ROLE_KEY_MAX 192

static void count_custom(void *ctx, int builtin, const char *custom_id)
{
    if (builtin < 0 && custom_id)
        (*(size_t *)ctx)++;
}

struct grant_fill {
    struct ix_data *d;
    struct ix_grant *g;
    const char *agency_id; /* the agency of the row being filled */
    uint32_t *customs;
    uint32_t custom_count;
};

static void fill_role(void *ctx, int builtin, const char *custom_id)
{
    struct grant_fill *f = ctx;
    char key[ROLE_KEY_MAX];
    if (builtin >= 0)
        f->g->roles |= (uint16_t)POLICY_BIT(builtin);
    else if (custom_id && role_key(key, sizeof(key), f->agency_id, custom_id))
        f->customs[f->custom_count++] = ix_intern(&f->d->roles, key);
}

struct ix_grant_set *ix_grant_set_build(struct ix_data *d, const struct ix_grant_row *rows,
                                        size_t count, bool is_pooled)
{
    if (count == 0)
        return NULL;
    size_t customs = 0;
    int64_t first_expiry = IX_NEVER;
    for (size_t i = 0; i < count; i++) {
        policy_catalogue_roles_each(rows[i].roles, count_custom, &customs);
        if (rows[i].expires_at > 0 && rows[i].expires_at < first_expiry)
            first_expiry = rows[i].expires_at;
    }
    size_t bytes = ix_set_expiries_offset(count, customs);
    if (first_expiry != IX_NEVER)
        bytes += count * sizeof(int64_t);
    struct ix_grant_set *set = is_pooled ? chunk_take(&d->sets, bytes, true) : xmalloc(bytes);
    set->count = (uint32_t)count;
    set->first_expiry = first_expiry;
    struct grant_fill f = {d, NULL, NULL, (uint32_t *)(void *)(set->grants + count), 0};
    for (size_t i = 0; i < count; i++) {
        struct ix_grant *g = &set->grants[i];
        memset(g, 0, sizeof(*g));
        g->kind = (uint8_t)rows[i].kind;
        g->scope = place_from_grant(d, &rows[i]);
        g->extra = (uint32_t)(rows[i].extra & POLICY_PERMS_ALL);
        g->custom = f.custom_count;
        f.g = g;
        f.agency_id = rows[i].agency_id;
        policy_catalogue_roles_each(rows[i].roles, fill_role, &f);
    }
    set->custom_count = f.custom_count;
    if (first_expiry != IX_NEVER) {
        int64_t *expiries =
            (int64_t *)(void *)((char *)set + ix_set_expiries_offset(count, f.custom_count));
        for (size_t i = 0; i < count; i++)
            expiries[i] = rows[i].expires_at > 0 ? rows[i].expires_at : IX_NEVER;
    }
    return set;
}

void ix_user_set(struct ix_data *d, const char *user_id, uint32_t flags, struct ix_grant_set *set)
{
    uint32_t h = flags ? ix_intern(&d->users, user_id) : ix_find(&d->users, user_id);
    if (h == IX_NONE) {
        free(set);
        return;
    }
    struct ix_user *u = ix_rec(&d->users, h);
    if (!(u->flags & IX_POOLED))
        free(u->set);
    u->set = flags ? set : NULL;
    u->flags = flags;
    if (!flags)
        free(set);
}

void ix_agency_set(struct ix_data *d, const char *agency_id, bool is_present)
{
    uint32_t h = is_present ? ix_intern(&d->agencies, agency_id) : ix_find(&d->agencies, agency_id);
    if (h == IX_NONE)
        return;
    struct ix_agency *a = ix_rec(&d->agencies, h);
    a->flags = is_present ? a->flags | IX_PRESENT : a->flags & ~IX_PRESENT;
}

void ix_agency_second_factor_set(struct ix_data *d, const char *agency_id, bool required)
{
    struct ix_agency *a = ix_rec(&d->agencies, ix_intern(&d->agencies, agency_id));
    a->flags = required ? a->flags | IX_SECOND : a->flags & ~IX_SECOND;
}

/* The flags of agency handle h (0 when out of range). */
static uint32_t agency_flags(const struct ix_data *d, uint32_t h)
{
    if (h == IX_NONE || h >= d->agencies.names.count)
        return 0;
    return ((const struct ix_agency *)ix_rec(&d->agencies, h))->flags;
}

void ix_agency_suspended_set(struct ix_data *d, const char *agency_id, bool suspended)
{
    struct ix_agency *a = ix_rec(&d->agencies, ix_intern(&d->agencies, agency_id));
    a->flags = suspended ? a->flags | IX_SUSPENDED : a->flags & ~IX_SUSPENDED;
}

static void place_set(struct ix_data *d, struct ix_table *t, const char *id, const char *env_id,
                      const char *agency_id)
{
    if (!agency_id) {
        uint32_t h = ix_find(t, id);
        if (h != IX_NONE)
            ((struct ix_place *)ix_rec(t, h))->flags &= ~IX_PRESENT;
        return;
    }
    uint32_t h = ix_intern(t, id);
    uint32_t agency = ix_intern(&d->agencies, agency_id);
    uint32_t env = env_id ? ix_intern(&d->envs, env_id) : IX_NONE;
    struct ix_place *p = ix_rec(t, h);
    p->agency = agency;
    p->env = env;
    p->flags |= IX_PRESENT | IX_KNOWN;
}

void ix_env_set(struct ix_data *d, const char *env_id, const char *agency_id)
{
    place_set(d, &d->envs, env_id, NULL, agency_id);
}

void ix_bot_set(struct ix_data *d, const char *bot_id, const char *env_id, const char *agency_id)
{
    place_set(d, &d->bots, bot_id, env_id, agency_id);
}

void ix_role_set(struct ix_data *d, const char *role_id, const char *agency_id, uint64_t perms,
                 bool is_present)
{
    char key[ROLE_KEY_MAX];
    if (!role_key(key, sizeof(key), agency_id, role_id))
        return;
    if (!is_present) {
        uint32_t h = ix_find(&d->roles, key);
        if (h != IX_NONE)
            ((struct ix_role *)ix_rec(&d->roles, h))->flags &= ~IX_PRESENT;
        return;
    }
    uint32_t h = ix_intern(&d->roles, key);
    uint32_t agency = ix_intern(&d->agencies, agency_id);
    struct ix_role *r = ix_rec(&d->roles, h);
    r->agency = agency;
    r->perms = perms;
    r->flags = IX_PRESENT;
}

void ix_roles_drop_agency(struct ix_data *d, const char *agency_id)
{
    uint32_t agency = ix_find(&d->agencies, agency_id);
    if (agency == IX_NONE)
        return;
    for (uint32_t h = 0; h < d->roles.names.count; h++) {
        struct ix_role *r = ix_rec(&d->roles, h);
        if (r->agency == agency)
            r->flags &= ~IX_PRESENT;
    }
}

/* --- the public face --- */

struct authz_index *authz_index_new(void)
{
    struct authz_index *ix = xcalloc(1, sizeof(*ix));
    /* Writers go first, so a steady stream of checks never holds a change back. */
    pthread_rwlockattr_t attr;
    pthread_rwlockattr_init(&attr);
    pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&ix->lock, &attr);
    pthread_rwlockattr_destroy(&attr);
    ix_data_init(&ix->d);
    atomic_init(&ix->current_until_ns, INT64_MAX);
    return ix;
}

void authz_index_current_until(struct authz_index *ix, int64_t mono_ns)
{
    atomic_store_explicit(&ix->current_until_ns, mono_ns, memory_order_release);
}

bool authz_index_is_current(struct authz_index *ix)
{
    int64_t until = atomic_load_explicit(&ix->current_until_ns, memory_order_acquire);
    return until == INT64_MAX || clock_mono_ns() < until;
}

void authz_index_free(struct authz_index *ix)
{
    if (!ix)
        return;
    ix_data_dispose(&ix->d);
    pthread_rwlock_destroy(&ix->lock);
    free(ix);
}

int64_t authz_index_cursor(struct authz_index *ix)
{
    pthread_rwlock_rdlock(&ix->lock);
    int64_t cursor = ix->cursor;
    pthread_rwlock_unlock(&ix->lock);
    return cursor;
}

void authz_index_forget_user(struct authz_index *ix, const char *user_id)
{
    pthread_rwlock_wrlock(&ix->lock);
    ix_user_set(&ix->d, user_id, 0, NULL);
    ix->installs++;
    pthread_rwlock_unlock(&ix->lock);
}

void authz_index_put_agency(struct authz_index *ix, const char *agency_id)
{
    pthread_rwlock_wrlock(&ix->lock);
    ix->installs++;
    ix_agency_set(&ix->d, agency_id, true);
    pthread_rwlock_unlock(&ix->lock);
}

void authz_index_put_agency_status(struct authz_index *ix, const char *agency_id, bool suspended)
{
    pthread_rwlock_wrlock(&ix->lock);
    ix->installs++;
    ix_agency_suspended_set(&ix->d, agency_id, suspended);
    pthread_rwlock_unlock(&ix->lock);
}

enum authz_agency_state authz_agency_state(struct authz_index *ix, const char *agency_id)
{
    enum authz_agency_state state = AUTHZ_AGENCY_UNKNOWN;
    pthread_rwlock_rdlock(&ix->lock);
    uint32_t h = ix_find(&ix->d.agencies, agency_id);
    if (h != IX_NONE) {
        uint32_t flags = ((const struct ix_agency *)ix_rec(&ix->d.agencies, h))->flags;
        if (flags & IX_PRESENT)
            state = flags & IX_SUSPENDED ? AUTHZ_AGENCY_SUSPENDED : AUTHZ_AGENCY_ACTIVE;
    }
    pthread_rwlock_unlock(&ix->lock);
    return state;
}

void authz_index_put_agency_policy(struct authz_index *ix, const char *agency_id,
                                   bool require_second_factor)
{
    pthread_rwlock_wrlock(&ix->lock);
    ix->installs++;
    ix_agency_second_factor_set(&ix->d, agency_id, require_second_factor);
    pthread_rwlock_unlock(&ix->lock);
}

bool authz_user_second_factor(struct authz_index *ix, const char *user_id)
{
    pthread_rwlock_rdlock(&ix->lock);
    uint32_t h = ix_find(&ix->d.users, user_id);
    bool on = h != IX_NONE && (((struct ix_user *)ix_rec(&ix->d.users, h))->flags & IX_SECOND);
    pthread_rwlock_unlock(&ix->lock);
    return on;
}

/* The agency handle of grant g's scope, or IX_NONE. */
static uint32_t grant_agency(const struct ix_data *d, const struct ix_grant *g)
{
    if (g->kind == POLICY_SCOPE_AGENCY)
        return g->scope;
    const struct ix_table *t = g->kind == POLICY_SCOPE_ENVIRONMENT ? &d->envs : &d->bots;
    if (g->scope >= t->names.count)
        return IX_NONE;
    return ((const struct ix_place *)ix_rec(t, g->scope))->agency;
}

bool authz_second_factor_required(struct authz_index *ix, const char *user_id)
{
    bool required = false;
    pthread_rwlock_rdlock(&ix->lock);
    const struct ix_data *d = &ix->d;
    uint32_t h = ix_find(&d->users, user_id);
    const struct ix_user *u = h != IX_NONE ? ix_rec(&d->users, h) : NULL;
    if (u && !(u->flags & IX_SECOND) && u->set) {
        /* A lapsed grant no longer makes the person a member the agency's policy binds. */
        int64_t now_ms = u->set->first_expiry == IX_NEVER ? 0 : clock_now_ms();
        for (uint32_t i = 0; i < u->set->count && !required; i++) {
            if (ix_grant_lapsed(u->set, i, now_ms))
                continue;
            uint32_t agency = grant_agency(d, &u->set->grants[i]);
            uint32_t flags = agency_flags(d, agency);
            required = (flags & IX_PRESENT) && (flags & IX_SECOND);
        }
    }
    pthread_rwlock_unlock(&ix->lock);
    return required;
}

void authz_index_put_environment(struct authz_index *ix, const char *environment_id,
                                 const char *agency_id)
{
    pthread_rwlock_wrlock(&ix->lock);
    ix->installs++;
    ix_env_set(&ix->d, environment_id, agency_id);
    pthread_rwlock_unlock(&ix->lock);
}

void authz_index_put_bot(struct authz_index *ix, const char *bot_id, const char *environment_id,
                         const char *agency_id)
{
    pthread_rwlock_wrlock(&ix->lock);
    ix->installs++;
    ix_bot_set(&ix->d, bot_id, environment_id, agency_id);
    pthread_rwlock_unlock(&ix->lock);
}

/* A place that goes, as handles: an agency takes its environments and bots, an environment
 * its bots, a bot only itself. */
struct gone {
    enum policy_scope kind;
    uint32_t scope; /* handle in the table of its kind */
};

/* Whether place p (of an environment or bot table) is under g. */
static bool place_under(const struct ix_place *p, const struct gone *g, bool is_bot)
{
    switch (g->kind) {
    case POLICY_SCOPE_AGENCY:
        return p->agency == g->scope;
    case POLICY_SCOPE_ENVIRONMENT:
        return is_bot && p->env == g->scope;
    default:
        return false;
    }
}

/* Whether grant x names g's place or a place under it. */
static bool grant_under(const struct ix_data *d, const struct ix_grant *x, const struct gone *g)
{
    if (x->kind == g->kind && x->scope == g->scope)
        return true;
    if (x->kind == POLICY_SCOPE_AGENCY)
        return false;
    const struct ix_table *t = x->kind == POLICY_SCOPE_ENVIRONMENT ? &d->envs : &d->bots;
    if (x->scope >= t->names.count)
        return false;
    return place_under(ix_rec(t, x->scope), g, x->kind == POLICY_SCOPE_BOT);
}

/* Clears IX_PRESENT on every place of t under g. */
static void places_drop_under(struct ix_table *t, const struct gone *g, bool is_bot)
{
    for (uint32_t h = 0; h < t->names.count; h++) {
        struct ix_place *p = ix_rec(t, h);
        if (place_under(p, g, is_bot))
            p->flags &= ~IX_PRESENT;
    }
}

size_t authz_index_place_gone(const char ***out_users, struct authz_index *ix,
                              enum policy_scope kind, const char *place_id, struct arena *a)
{
    *out_users = NULL;
    size_t count = 0;
    pthread_rwlock_wrlock(&ix->lock);
    ix->installs++;
    struct ix_data *d = &ix->d;
    struct gone g = {.kind = kind, .scope = IX_NONE};
    if (kind == POLICY_SCOPE_AGENCY)
        g.scope = ix_find(&d->agencies, place_id);
    else if (kind == POLICY_SCOPE_ENVIRONMENT)
        g.scope = ix_find(&d->envs, place_id);
    else if (kind == POLICY_SCOPE_BOT)
        g.scope = ix_find(&d->bots, place_id);
    if (g.scope == IX_NONE)
        goto done;
    if (kind == POLICY_SCOPE_AGENCY) {
        ix_agency_set(d, place_id, false);
        ix_roles_drop_agency(d, place_id);
        places_drop_under(&d->envs, &g, false);
    } else if (kind == POLICY_SCOPE_ENVIRONMENT)
        ix_env_set(d, place_id, NULL);
    else
        ix_bot_set(d, place_id, NULL, NULL);
    places_drop_under(&d->bots, &g, true);
    for (uint32_t h = 0; h < d->users.names.count; h++) {
        const struct ix_user *u = ix_rec(&d->users, h);
        for (uint32_t i = 0; u->set && i < u->set->count; i++) {
            if (!grant_under(d, &u->set->grants[i], &g))
                continue;
            if (!*out_users)
                *out_users = arena_alloc(a, (size_t)d->users.names.count * sizeof(**out_users));
            (*out_users)[count++] = arena_strdup(a, ix_name(&d->users, h));
            break;
        }
    }
done:
    pthread_rwlock_unlock(&ix->lock);
    return count;
}

void authz_index_put_custom_role(struct authz_index *ix, const char *role_id, const char *agency_id,
                                 uint64_t permissions, bool is_deleted)
{
    pthread_rwlock_wrlock(&ix->lock);
    ix->installs++;
    ix_role_set(&ix->d, role_id, agency_id, permissions, !is_deleted);
    pthread_rwlock_unlock(&ix->lock);
}

/* --- questions (callers hold the read lock) --- */

/* A scope a question may name, resolved to its agency (and a bot's environment). */
struct target {
    enum policy_scope kind;
    uint32_t scope;  /* handle in the table of its kind */
    uint32_t agency; /* handle in agencies */
    uint32_t env;    /* environments: the scope itself; bots: their environment; else IX_NONE */
};

/* How a scope resolved: to a place that answers, to nothing, or to a place of a suspended
 * agency (which answers nothing either, but says why). */
enum resolved { RESOLVED, RESOLVED_UNKNOWN, RESOLVED_SUSPENDED };

/* Resolves a scope to its agency (and a bot's environment). A place answers only while it,
 * its agency and a bot's environment are present: deleting an environment or an agency thus
 * takes everything under it out at once, whatever the feed says about the places below. */
static enum resolved scope_resolve(struct target *out, const struct ix_data *d,
                                   enum policy_scope scope, const char *scope_id)
{
    out->kind = scope;
    out->scope = out->agency = out->env = IX_NONE;
    if (!scope_id || !*scope_id)
        return RESOLVED_UNKNOWN;
    switch (scope) {
    case POLICY_SCOPE_AGENCY: {
        uint32_t h = ix_find(&d->agencies, scope_id);
        if (!(agency_flags(d, h) & IX_PRESENT))
            return RESOLVED_UNKNOWN;
        out->scope = out->agency = h;
        break;
    }
    case POLICY_SCOPE_ENVIRONMENT:
    case POLICY_SCOPE_BOT: {
        const struct ix_table *t = scope == POLICY_SCOPE_BOT ? &d->bots : &d->envs;
        uint32_t h = ix_find(t, scope_id);
        if (h == IX_NONE)
            return RESOLVED_UNKNOWN;
        const struct ix_place *p = ix_rec(t, h);
        if (!(p->flags & IX_PRESENT) || !(agency_flags(d, p->agency) & IX_PRESENT))
            return RESOLVED_UNKNOWN;
        if (scope == POLICY_SCOPE_BOT && p->env != IX_NONE &&
            !(((const struct ix_place *)ix_rec(&d->envs, p->env))->flags & IX_PRESENT))
            return RESOLVED_UNKNOWN;
        out->scope = h;
        out->agency = p->agency;
        out->env = scope == POLICY_SCOPE_BOT ? p->env : h;
        break;
    }
    default:
        return RESOLVED_UNKNOWN;
    }
    return agency_flags(d, out->agency) & IX_SUSPENDED ? RESOLVED_SUSPENDED : RESOLVED;
}

/* Whether grant g can matter at target t. The decision function only ever looks at the agency
 * grant, the grant on the target's environment and the grant on the target bot, so the others
 * are left out; what it answers is the same, and it reads less. */
static bool grant_bears_on(const struct ix_grant *g, const struct target *t)
{
    switch (g->kind) {
    case POLICY_SCOPE_AGENCY:
        return g->scope == t->agency;
    case POLICY_SCOPE_ENVIRONMENT:
        return t->env != IX_NONE && g->scope == t->env;
    case POLICY_SCOPE_BOT:
        return t->kind == POLICY_SCOPE_BOT && g->scope == t->scope;
    default:
        return false;
    }
}

static const char *scope_name(const struct ix_data *d, const struct ix_grant *g)
{
    switch (g->kind) {
    case POLICY_SCOPE_AGENCY:
        return ix_name(&d->agencies, g->scope);
    case POLICY_SCOPE_ENVIRONMENT:
        return ix_name(&d->envs, g->scope);
    default:
        return ix_name(&d->bots, g->scope);
    }
}

/* Gathers the user's grants that bear on target t into decide's shape; custom roles of the
 * target's agency are folded into the extra permissions. The arrays hold at most set->count
 * entries. */
static void grants_collect(struct policy_decide_grants *out,
                           struct policy_decide_grant *agency_slot,
                           struct policy_decide_grant *envs, struct policy_decide_grant *bots,
                           const struct ix_data *d, const struct ix_grant_set *set,
                           const struct target *t)
{
    memset(out, 0, sizeof(*out));
    out->environments = envs;
    out->bots = bots;
    if (!set)
        return;
    const uint32_t *customs = (const uint32_t *)(const void *)(set->grants + set->count);
    /* Most sets hold no grant that ends: one compare, and the clock is not even read. */
    int64_t now_ms = set->first_expiry == IX_NEVER ? 0 : clock_now_ms();
    for (uint32_t i = 0; i < set->count; i++) {
        const struct ix_grant *g = &set->grants[i];
        if (!grant_bears_on(g, t) || ix_grant_lapsed(set, i, now_ms))
            continue;
        const char *env = NULL;
        if (g->kind == POLICY_SCOPE_BOT) {
            uint32_t h = ((const struct ix_place *)ix_rec(&d->bots, g->scope))->env;
            env = h != IX_NONE ? ix_name(&d->envs, h) : NULL;
        }
        struct policy_decide_grant dg = {scope_name(d, g), env, g->roles, g->extra};
        uint32_t end = i + 1 < set->count ? set->grants[i + 1].custom : set->custom_count;
        for (uint32_t k = g->custom; k < end && g->kind != POLICY_SCOPE_BOT; k++) {
            const struct ix_role *r = ix_rec(&d->roles, customs[k]);
            if ((r->flags & IX_PRESENT) && r->agency == t->agency)
                dg.extra |= r->perms;
        }
        switch (g->kind) {
        case POLICY_SCOPE_AGENCY:
            *agency_slot = dg;
            out->agency = agency_slot;
            break;
        case POLICY_SCOPE_ENVIRONMENT:
            envs[out->environment_count++] = dg;
            break;
        case POLICY_SCOPE_BOT:
            bots[out->bot_count++] = dg;
            break;
        default:
            break;
        }
    }
}

/* Runs fn with the user's grants at the target gathered; handles the stack/heap choice. */
static void with_grants(const struct ix_data *d, const struct ix_grant_set *set,
                        const struct target *t,
                        void (*fn)(void *ctx, const struct policy_decide_grants *g), void *ctx)
{
    struct policy_decide_grant env_stack[GRANTS_ON_STACK], bot_stack[GRANTS_ON_STACK], agency_slot;
    struct policy_decide_grant *envs = env_stack, *bots = bot_stack;
    if (set && set->count > GRANTS_ON_STACK) {
        envs = xcalloc(set->count, sizeof(*envs));
        bots = xcalloc(set->count, sizeof(*bots));
    }
    struct policy_decide_grants g;
    grants_collect(&g, &agency_slot, envs, bots, d, set, t);
    fn(ctx, &g);
    if (envs != env_stack) {
        free(envs);
        free(bots);
    }
}

/* The environment decide is told about: a bot's (NULL when unknown), nothing otherwise. */
static const char *target_env(const struct ix_data *d, const struct target *t)
{
    return t->kind == POLICY_SCOPE_BOT && t->env != IX_NONE ? ix_name(&d->envs, t->env) : NULL;
}

/* The active user named user_id, or NULL. */
static const struct ix_user *user_find(const struct ix_data *d, const char *user_id)
{
    uint32_t h = ix_find(&d->users, user_id);
    if (h == IX_NONE)
        return NULL;
    const struct ix_user *u = ix_rec(&d->users, h);
    return (u->flags & IX_PRESENT) && (u->flags & IX_ACTIVE) ? u : NULL;
}

struct check_ctx {
    const struct policy_decide_target *target;
    const char *permission;
    struct policy_decide_result result;
};

static void check_fn(void *ctx, const struct policy_decide_grants *g)
{
    struct check_ctx *c = ctx;
    policy_decide_check(&c->result, g, c->target, c->permission);
}

void authz_check(struct authz_answer *out, struct authz_index *ix, const struct authz_question *q,
                 struct arena *a)
{
    memset(out, 0, sizeof(*out));
    if (!q->user_id || !q->permission || policy_catalogue_permission_bit(q->permission) == 0 ||
        !authz_index_is_current(ix))
        return;
    pthread_rwlock_rdlock(&ix->lock);
    const struct ix_data *d = &ix->d;
    const struct ix_user *u = user_find(d, q->user_id);
    struct target t;
    enum resolved r = u ? scope_resolve(&t, d, q->scope, q->scope_id) : RESOLVED_UNKNOWN;
    if (r == RESOLVED_UNKNOWN)
        goto done;
    const char *agency_id = ix_name(&d->agencies, t.agency);
    if (q->limit_agency_id && strcmp(q->limit_agency_id, agency_id) != 0)
        goto done;
    out->agency_id = a ? arena_strdup(a, agency_id) : NULL;
    if (r == RESOLVED_SUSPENDED) {
        /* Nobody, platform admins included, is allowed anything in a suspended agency. */
        out->agency_suspended = true;
        goto done;
    }
    if (u->flags & IX_ADMIN) {
        out->allowed = true;
        out->is_platform_admin = true;
        goto done;
    }
    struct policy_decide_target target = {q->scope, q->scope_id, target_env(d, &t)};
    struct check_ctx ctx = {&target, q->permission, {0}};
    with_grants(d, u->set, &t, check_fn, &ctx);
    out->allowed = ctx.result.allowed;
    out->source = ctx.result.source;
    for (size_t i = 0; i < ctx.result.role_count; i++)
        out->roles[out->role_count++] = ctx.result.roles[i];
done:
    pthread_rwlock_unlock(&ix->lock);
}

struct effective_ctx {
    const struct policy_decide_target *target;
    struct policy_decide_effective *out;
};

static void effective_fn(void *ctx, const struct policy_decide_grants *g)
{
    struct effective_ctx *c = ctx;
    policy_decide_effective(c->out, g, c->target);
}

bool authz_effective(struct policy_decide_effective *out, bool *out_is_admin,
                     struct authz_index *ix, const char *user_id, enum policy_scope scope,
                     const char *scope_id, const char **out_agency_id, struct arena *a)
{
    memset(out, 0, sizeof(*out));
    *out_is_admin = false;
    if (out_agency_id)
        *out_agency_id = NULL;
    if (!authz_index_is_current(ix))
        return false;
    bool found = false;
    pthread_rwlock_rdlock(&ix->lock);
    const struct ix_data *d = &ix->d;
    const struct ix_user *u = user_id ? user_find(d, user_id) : NULL;
    struct target t;
    if (!u || scope_resolve(&t, d, scope, scope_id) != RESOLVED)
        goto done;
    found = true;
    if (out_agency_id)
        *out_agency_id = arena_strdup(a, ix_name(&d->agencies, t.agency));
    *out_is_admin = (u->flags & IX_ADMIN) != 0;
    struct policy_decide_target target = {scope, scope_id, target_env(d, &t)};
    struct effective_ctx ctx = {&target, out};
    with_grants(d, u->set, &t, effective_fn, &ctx);
done:
    pthread_rwlock_unlock(&ix->lock);
    return found;
}

int64_t authz_effective_until(struct authz_index *ix, const char *user_id, enum policy_scope scope,
                              const char *scope_id)
{
    int64_t until = 0;
    struct target t;
    pthread_rwlock_rdlock(&ix->lock);
    const struct ix_data *d = &ix->d;
    const struct ix_user *u = user_id ? user_find(d, user_id) : NULL;
    if (u && u->set && u->set->first_expiry != IX_NEVER &&
        scope_resolve(&t, d, scope, scope_id) == RESOLVED) {
        const int64_t *expiries = ix_set_expiries(u->set);
        int64_t now_ms = clock_now_ms();
        for (uint32_t i = 0; i < u->set->count; i++) {
            int64_t at = expiries[i];
            if (grant_bears_on(&u->set->grants[i], &t) && at != IX_NEVER && now_ms < at &&
                (until == 0 || at < until))
                until = at;
        }
    }
    pthread_rwlock_unlock(&ix->lock);
    return until;
}

const char *authz_scope_agency(struct authz_index *ix, enum policy_scope scope,
                               const char *scope_id, struct arena *a)
{
    const char *copy = NULL;
    struct target t;
    pthread_rwlock_rdlock(&ix->lock);
    if (scope_resolve(&t, &ix->d, scope, scope_id) != RESOLVED_UNKNOWN)
        copy = arena_strdup(a, ix_name(&ix->d.agencies, t.agency));
    pthread_rwlock_unlock(&ix->lock);
    return copy;
}

static size_t present_count(const struct ix_table *t, size_t flags_offset)
{
    size_t n = 0;
    for (uint32_t h = 0; h < t->names.count; h++) {
        uint32_t flags;
        memcpy(&flags, (const unsigned char *)ix_rec(t, h) + flags_offset, sizeof(flags));
        n += (flags & IX_PRESENT) != 0;
    }
    return n;
}

/* Memory held by a table: its records, handles, hash slots and strings. */
static size_t table_bytes(const struct ix_table *t)
{
    size_t bytes = (size_t)t->names.cap * (t->rec_size + sizeof(char *)) +
                   t->names.slot_count * sizeof(uint64_t);
    for (const struct ix_chunk *c = t->names.chunks; c; c = c->next)
        bytes += sizeof(*c) + c->size;
    return bytes;
}

void authz_index_stats(struct authz_stats *out, struct authz_index *ix)
{
    memset(out, 0, sizeof(*out));
    pthread_rwlock_rdlock(&ix->lock);
    const struct ix_data *d = &ix->d;
    out->users = present_count(&d->users, offsetof(struct ix_user, flags));
    out->agencies = present_count(&d->agencies, offsetof(struct ix_agency, flags));
    out->environments = present_count(&d->envs, offsetof(struct ix_place, flags));
    out->bots = present_count(&d->bots, offsetof(struct ix_place, flags));
    out->custom_roles = present_count(&d->roles, offsetof(struct ix_role, flags));
    out->bytes = table_bytes(&d->users) + table_bytes(&d->agencies) + table_bytes(&d->envs) +
                 table_bytes(&d->bots) + table_bytes(&d->roles);
    for (uint32_t h = 0; h < d->users.names.count; h++) {
        const struct ix_user *u = ix_rec(&d->users, h);
        if (!u->set)
            continue;
        out->grants += u->set->count;
        out->bytes += sizeof(*u->set) + u->set->count * sizeof(struct ix_grant) +
                      u->set->custom_count * sizeof(uint32_t);
        if (u->set->first_expiry != IX_NEVER)
            out->bytes += u->set->count * sizeof(int64_t);
    }
    pthread_rwlock_unlock(&ix->lock);
}
