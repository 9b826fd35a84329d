/* Fixed-size tables of recent sign-in failures. Each entry keeps the times of its last
 * `limit` failures in a ring, which gives an exact sliding window and an exact Retry-After.
 * Keys are keyed hashes (random per process), so memory holds no email or address and
 * cannot be steered into one bucket. One mutex guards both tables. */
#include "app/throttle.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/error.h"

#define THROTTLE_KEY_BYTES 16
#define THROTTLE_PROBE     8 /* slots searched from a key's home slot */

const struct app_throttle_limits app_throttle_defaults = {
    .account_failures = 10,
    .account_window_ms = 15 * 60 * 1000,
    .address_failures = 50,
    .address_window_ms = 15 * 60 * 1000,
    .slots = 4096,
};

struct window_entry {
    unsigned char key[THROTTLE_KEY_BYTES];
    bool is_used;
    unsigned count;  /* failures held in the ring, at most the table's limit */
    unsigned head;   /* next ring position; the oldest failure once the ring is full */
    int64_t last_ms; /* the newest failure */
    int64_t *times;  /* ring of `limit` failure times */
};

struct window_table {
    struct window_entry *entries;
    int64_t *times;
    size_t mask;
    unsigned limit;
    int64_t window_ms;
};

struct app_throttle {
    pthread_mutex_t lock;
    unsigned char hash_key[crypto_generichash_KEYBYTES];
    struct window_table account;
    struct window_table address;
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

/* Finds the entry for key; with create, claims a free, expired or least recently failing
 * slot near the key's home slot. Returns NULL when absent and not created. */
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
        if (!e->is_used || e->last_ms + t->window_ms <= now_ms) {
            victim = e;
            break;
        }
        if (!victim || e->last_ms < victim->last_ms)
            victim = e;
    }
    memcpy(victim->key, key, THROTTLE_KEY_BYTES);
    victim->is_used = true;
    victim->count = 0;
    victim->head = 0;
    victim->last_ms = now_ms;
    return victim;
}

/* The time at which key's window has room again, or 0 when it has room now. */
static int64_t table_blocked_until(struct window_table *t, const unsigned char *key, int64_t now_ms)
{
    if (t->limit == 0)
        return 0;
    struct window_entry *e = table_find(t, key, now_ms, false);
    if (!e || e->count < t->limit)
        return 0;
    int64_t until = e->times[e->head] + t->window_ms;
    return until > now_ms ? until : 0;
}

static void table_record(struct window_table *t, const unsigned char *key, int64_t now_ms)
{
    if (t->limit == 0)
        return;
    struct window_entry *e = table_find(t, key, now_ms, true);
    e->times[e->head] = now_ms;
    e->head = (e->head + 1) % t->limit;
    if (e->count < t->limit)
        e->count++;
    e->last_ms = now_ms;
}

static void table_forget(struct window_table *t, const unsigned char *key)
{
    if (t->limit == 0)
        return;
    struct window_entry *e = table_find(t, key, 0, false);
    if (e) {
        memset(e->key, 0, sizeof(e->key));
        e->is_used = false;
    }
}

static void key_derive(unsigned char out[THROTTLE_KEY_BYTES], const struct app_throttle *t,
                       char kind, const void *data, size_t len)
{
    crypto_generichash_state st;
    crypto_generichash_init(&st, t->hash_key, sizeof(t->hash_key), THROTTLE_KEY_BYTES);
    crypto_generichash_update(&st, (const unsigned char *)&kind, 1);
    crypto_generichash_update(&st, data, len);
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
            key_derive(out, t, '4', v6 + 12, 4);
            return;
        }
        memset(v6 + 8, 0, 8);
        key_derive(out, t, '6', v6, sizeof(v6));
        return;
    }
    if (inet_pton(AF_INET, address, &v4) == 1) {
        key_derive(out, t, '4', &v4, 4);
        return;
    }
    key_derive(out, t, 's', address, strlen(address));
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
    table_init(&t->account, slots, limits->account_failures, limits->account_window_ms);
    table_init(&t->address, slots, limits->address_failures, limits->address_window_ms);
    return t;
}

void app_throttle_free(struct app_throttle *t)
{
    if (!t)
        return;
    table_dispose(&t->account);
    table_dispose(&t->address);
    pthread_mutex_destroy(&t->lock);
    free(t);
}

int app_throttle_check(struct app_throttle *t, int64_t *out_retry_after, const char *account,
                       const char *address, int64_t now_ms, struct usher_error *err)
{
    *out_retry_after = 0;
    unsigned char akey[THROTTLE_KEY_BYTES], skey[THROTTLE_KEY_BYTES];
    if (account)
        key_derive(akey, t, 'a', account, strlen(account));
    if (address)
        address_key(skey, t, address);
    pthread_mutex_lock(&t->lock);
    int64_t by_account = account ? table_blocked_until(&t->account, akey, now_ms) : 0;
    int64_t by_address = address ? table_blocked_until(&t->address, skey, now_ms) : 0;
    pthread_mutex_unlock(&t->lock);
    int64_t until = by_account > by_address ? by_account : by_address;
    if (until == 0)
        return 0;
    int64_t seconds = (until - now_ms + 999) / 1000;
    *out_retry_after = seconds < 1 ? 1 : seconds;
    return usher_error_set(err, USHER_ELIMIT, "rate_limited", NULL,
                           "too many failed sign-ins, try again in %lld seconds",
                           (long long)*out_retry_after);
}

void app_throttle_failure(struct app_throttle *t, const char *account, const char *address,
                          int64_t now_ms)
{
    unsigned char akey[THROTTLE_KEY_BYTES], skey[THROTTLE_KEY_BYTES];
    if (account)
        key_derive(akey, t, 'a', account, strlen(account));
    if (address)
        address_key(skey, t, address);
    pthread_mutex_lock(&t->lock);
    if (account)
        table_record(&t->account, akey, now_ms);
    if (address)
        table_record(&t->address, skey, now_ms);
    pthread_mutex_unlock(&t->lock);
}

void app_throttle_success(struct app_throttle *t, const char *account)
{
    if (!account)
        return;
    unsigned char akey[THROTTLE_KEY_BYTES];
    key_derive(akey, t, 'a', account, strlen(account));
    pthread_mutex_lock(&t->lock);
    table_forget(&t->account, akey);
    pthread_mutex_unlock(&t->lock);
}
