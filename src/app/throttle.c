/* Fixed-size tables of recent sign-in failures and of attempts in flight. Each entry keeps
 * the times of its last `limit` failures in a ring, which gives an exact sliding window and an
 * exact Retry-After, and a count of reservations not yet ended. Keys are keyed hashes (random
 * per process), so memory holds no email, address or cookie and cannot be steered into one
 * bucket. One mutex guards every table, so a reservation across several is atomic. */
#include "app/throttle.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/error.h"

#define THROTTLE_PROBE     8    /* slots searched from a key's home slot */
#define THROTTLE_INFLIGHT  1000 /* retry delay when only attempts in flight fill a window */
#define THROTTLE_KEY_BYTES APP_THROTTLE_KEY_BYTES

enum throttle_window {
    WINDOW_ACCOUNT, /* untrusted failures of an account, from everywhere */
    WINDOW_PAIR,    /* untrusted failures of an account from one address */
    WINDOW_ADDRESS, /* untrusted failures from one address, across accounts */
    WINDOW_DEVICE,  /* failures of one trusted device */
};

const struct app_throttle_limits app_throttle_defaults = {
    .account_failures = 20,
    .pair_failures = 10,
    .address_failures = 50,
    .device_failures = 10,
    .window_ms = 15 * 60 * 1000,
    .slots = 4096,
};

struct window_entry {
    unsigned char key[THROTTLE_KEY_BYTES];
    bool is_used;
    unsigned count;   /* failures held in the ring, at most the table's limit */
    unsigned head;    /* next ring position; the oldest failure once the ring is full */
    unsigned pending; /* reservations not yet ended */
    int64_t last_ms;  /* the newest failure, or when the entry was taken */
    int64_t *times;   /* ring of `limit` failure times */
};

struct window_table {
    struct window_entry *entries;
    int64_t *times;
    size_t mask;
    unsigned limit; /* 0 turns the window off */
    int64_t window_ms;
};

struct app_throttle {
    pthread_mutex_t lock;
    unsigned char hash_key[crypto_generichash_KEYBYTES];
    struct window_table tables[APP_THROTTLE_WINDOWS];
};

static void table_init(struct window_table *t, size_t slots, unsigned limit, int64_t window_ms)
{
    t->limit = limit;
    t->window_ms = window_ms;
    t->mask = slots - 1;
    if (limit == 0)
        return;
    t->entries = xcalloc(slots, sizeof(*t->entries));
    t->times = xcalloc(slots * limit, sizeof(*t->times));
    for (size_t i = 0; i < slots; i++)
        t->entries[i].times = t->times + i * limit;
}

static void table_dispose(struct window_table *t)
{
    free(t->entries);
    free(t->times);
}

static bool entry_is_idle(const struct window_table *t, const struct window_entry *e,
                          int64_t now_ms)
{
    return !e->is_used || (e->pending == 0 && e->last_ms + t->window_ms <= now_ms);
}

/* Finds the entry for key; with create, claims a free or expired slot near the key's home
 * slot, else the least recently failing one, preferring entries with no attempt in flight.
 * Returns NULL when absent and not created. */
static struct window_entry *table_find(struct window_table *t, const unsigned char *key,
                                       int64_t now_ms, bool create)
{
    uint64_t home;
    memcpy(&home, key, sizeof(home));
    for (size_t i = 0; i < THROTTLE_PROBE; i++) {
        struct window_entry *e = &t->entries[(home + i) & t->mask];
        if (e->is_used && memcmp(e->key, key, THROTTLE_KEY_BYTES) == 0)
            return e;
    }
    if (!create)
        return NULL;
    struct window_entry *victim = NULL;
    for (size_t i = 0; i < THROTTLE_PROBE; i++) {
        struct window_entry *e = &t->entries[(home + i) & t->mask];
        if (entry_is_idle(t, e, now_ms)) {
            victim = e;
            break;
        }
        bool is_better =
            !victim || (victim->pending > 0 && e->pending == 0) ||
            ((victim->pending > 0) == (e->pending > 0) && e->last_ms < victim->last_ms);
        if (is_better)
            victim = e;
    }
    memcpy(victim->key, key, THROTTLE_KEY_BYTES);
    victim->is_used = true;
    victim->count = 0;
    victim->head = 0;
    victim->pending = 0;
    victim->last_ms = now_ms;
    return victim;
}

/* The time at which the entry has room for one more attempt, or 0 when it has room now. Room
 * means fewer than `limit` failures within the window plus attempts in flight. */
static int64_t entry_blocked_until(const struct window_table *t, const struct window_entry *e,
                                   int64_t now_ms)
{
    if (e->pending >= t->limit)
        return now_ms + THROTTLE_INFLIGHT;
    unsigned allowed = t->limit - e->pending; /* failures the window may hold */
    if (e->count < allowed)
        return 0;
    /* The allowed-th newest failure: once it leaves the window there is room. */
    int64_t until = e->times[(e->head + t->limit - allowed) % t->limit] + t->window_ms;
    return until > now_ms ? until : 0;
}

static void entry_record(const struct window_table *t, struct window_entry *e, int64_t now_ms)
{
    e->times[e->head] = now_ms;
    e->head = (e->head + 1) % t->limit;
    if (e->count < t->limit)
        e->count++;
    e->last_ms = now_ms;
}

/* Ends one reservation on the entry; an entry that holds nothing any more frees its slot. */
static void entry_unreserve(struct window_entry *e)
{
    if (e->pending > 0)
        e->pending--;
    if (e->pending == 0 && e->count == 0) {
        memset(e->key, 0, sizeof(e->key));
        e->is_used = false;
    }
}

static void key_derive(unsigned char out[THROTTLE_KEY_BYTES], const struct app_throttle *t,
                       char kind, const void *data, size_t len, const void *more, size_t more_len)
{
    crypto_generichash_state st;
    crypto_generichash_init(&st, t->hash_key, sizeof(t->hash_key), THROTTLE_KEY_BYTES);
    crypto_generichash_update(&st, (const unsigned char *)&kind, 1);
    crypto_generichash_update(&st, data, len);
    if (more) {
        /* The separator keeps ("ab", "c") and ("a", "bc") apart. */
        crypto_generichash_update(&st, (const unsigned char *)"", 1);
        crypto_generichash_update(&st, more, more_len);
    }
    crypto_generichash_final(&st, out, THROTTLE_KEY_BYTES);
}

/* One person on IPv6 usually holds a whole /64, so addresses are grouped by it; an
 * IPv4-mapped address counts as the IPv4 address. */
static void address_key(unsigned char out[THROTTLE_KEY_BYTES], const struct app_throttle *t,
                        const char *address)
{
    unsigned char v6[16];
    struct in_addr v4;
    if (inet_pton(AF_INET6, address, v6) == 1) {
        static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        if (memcmp(v6, mapped, sizeof(mapped)) == 0) {
            key_derive(out, t, '4', v6 + 12, 4, NULL, 0);
            return;
        }
        memset(v6 + 8, 0, 8);
        key_derive(out, t, '6', v6, sizeof(v6), NULL, 0);
        return;
    }
    if (inet_pton(AF_INET, address, &v4) == 1) {
        key_derive(out, t, '4', &v4, 4, NULL, 0);
        return;
    }
    key_derive(out, t, 's', address, strlen(address), NULL, 0);
}

/* Fills the keys of the windows attempt is judged by and marks them wanted. */
static void ticket_plan(struct app_throttle_ticket *out, const struct app_throttle *t,
                        const struct app_throttle_attempt *attempt)
{
    memset(out, 0, sizeof(*out));
    const char *account = attempt->account;
    if (account && attempt->device) {
        key_derive(out->keys[WINDOW_DEVICE], t, 'd', account, strlen(account), attempt->device,
                   strlen(attempt->device));
        out->is_held[WINDOW_DEVICE] = true;
        return;
    }
    unsigned char where[THROTTLE_KEY_BYTES];
    if (attempt->address) {
        address_key(where, t, attempt->address);
        memcpy(out->keys[WINDOW_ADDRESS], where, THROTTLE_KEY_BYTES);
        out->is_held[WINDOW_ADDRESS] = true;
    }
    if (account) {
        key_derive(out->keys[WINDOW_ACCOUNT], t, 'a', account, strlen(account), NULL, 0);
        out->is_held[WINDOW_ACCOUNT] = true;
    }
    if (account && attempt->address) {
        key_derive(out->keys[WINDOW_PAIR], t, 'p', account, strlen(account), where, sizeof(where));
        out->is_held[WINDOW_PAIR] = true;
    }
}

struct app_throttle *app_throttle_new(const struct app_throttle_limits *limits)
{
    if (!limits)
        limits = &app_throttle_defaults;
    size_t slots = THROTTLE_PROBE;
    while (slots < limits->slots)
        slots *= 2;
    struct app_throttle *t = xcalloc(1, sizeof(*t));
    pthread_mutex_init(&t->lock, NULL);
    randombytes_buf(t->hash_key, sizeof(t->hash_key));
    table_init(&t->tables[WINDOW_ACCOUNT], slots, limits->account_failures, limits->window_ms);
    table_init(&t->tables[WINDOW_PAIR], slots, limits->pair_failures, limits->window_ms);
    table_init(&t->tables[WINDOW_ADDRESS], slots, limits->address_failures, limits->window_ms);
    table_init(&t->tables[WINDOW_DEVICE], slots, limits->device_failures, limits->window_ms);
    return t;
}

void app_throttle_free(struct app_throttle *t)
{
    if (!t)
        return;
    for (int w = 0; w < APP_THROTTLE_WINDOWS; w++)
        table_dispose(&t->tables[w]);
    pthread_mutex_destroy(&t->lock);
    free(t);
}

int app_throttle_reserve(struct app_throttle_ticket *out, int64_t *out_retry_after,
                         struct app_throttle *t, const struct app_throttle_attempt *attempt,
                         int64_t now_ms, struct usher_error *err)
{
    *out_retry_after = 0;
    ticket_plan(out, t, attempt);
    for (int w = 0; w < APP_THROTTLE_WINDOWS; w++)
        if (t->tables[w].limit == 0)
            out->is_held[w] = false;
    int64_t until = 0;
    pthread_mutex_lock(&t->lock);
    for (int w = 0; w < APP_THROTTLE_WINDOWS; w++) {
        if (!out->is_held[w])
            continue;
        struct window_entry *e = table_find(&t->tables[w], out->keys[w], now_ms, false);
        int64_t blocked = e ? entry_blocked_until(&t->tables[w], e, now_ms) : 0;
        if (blocked > until)
            until = blocked;
    }
    if (until == 0)
        for (int w = 0; w < APP_THROTTLE_WINDOWS; w++)
            if (out->is_held[w])
                table_find(&t->tables[w], out->keys[w], now_ms, true)->pending++;
    pthread_mutex_unlock(&t->lock);
    if (until == 0)
        return 0;
    memset(out, 0, sizeof(*out));
    int64_t seconds = (until - now_ms + 999) / 1000;
    *out_retry_after = seconds < 1 ? 1 : seconds;
    return usher_error_set(err, USHER_ELIMIT, "rate_limited", NULL,
                           "too many failed sign-ins, try again in %lld seconds",
                           (long long)*out_retry_after);
}

void app_throttle_failure(struct app_throttle *t, struct app_throttle_ticket *ticket,
                          int64_t now_ms)
{
    pthread_mutex_lock(&t->lock);
    for (int w = 0; w < APP_THROTTLE_WINDOWS; w++) {
        if (!ticket->is_held[w])
            continue;
        /* An entry pushed out while the attempt was in flight comes back with this failure. */
        struct window_entry *e = table_find(&t->tables[w], ticket->keys[w], now_ms, true);
        if (e->pending > 0)
            e->pending--;
        entry_record(&t->tables[w], e, now_ms);
        ticket->is_held[w] = false;
    }
    pthread_mutex_unlock(&t->lock);
}

void app_throttle_success(struct app_throttle *t, struct app_throttle_ticket *ticket)
{
    pthread_mutex_lock(&t->lock);
    for (int w = 0; w < APP_THROTTLE_WINDOWS; w++) {
        if (!ticket->is_held[w])
            continue;
        struct window_entry *e = table_find(&t->tables[w], ticket->keys[w], 0, false);
        /* The address keeps its failures: they may be a spray across other accounts. */
        if (e && w != WINDOW_ADDRESS) {
            e->count = 0;
            e->head = 0;
        }
        if (e)
            entry_unreserve(e);
        ticket->is_held[w] = false;
    }
    pthread_mutex_unlock(&t->lock);
}

void app_throttle_release(struct app_throttle *t, struct app_throttle_ticket *ticket)
{
    bool is_holding = false;
    for (int w = 0; w < APP_THROTTLE_WINDOWS; w++)
        is_holding = is_holding || ticket->is_held[w];
    if (!is_holding)
        return;
    pthread_mutex_lock(&t->lock);
    for (int w = 0; w < APP_THROTTLE_WINDOWS; w++) {
        if (!ticket->is_held[w])
            continue;
        struct window_entry *e = table_find(&t->tables[w], ticket->keys[w], 0, false);
        if (e)
            entry_unreserve(e);
        ticket->is_held[w] = false;
    }
    pthread_mutex_unlock(&t->lock);
}
