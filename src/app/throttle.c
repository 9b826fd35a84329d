/* The sign-in throttle's windows as rows of throttle_events (see store/store_throttle.h): a
 * reservation is a write transaction that counts every window of the attempt and holds a place
 * in each, all or none; the end of a reservation is one statement. Writers run one at a time
 * across every instance on the database, so two instances never both take the last place. */
#include "app/throttle.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/error.h"
#include "base/log.h"
#include "store/store.h"
#include "store/store_throttle.h"

#define THROTTLE_INFLIGHT  1000 /* retry delay when only attempts in flight fill a window */
#define THROTTLE_KEY_BYTES APP_THROTTLE_KEY_BYTES
#define THROTTLE_DOMAIN    "usher sign-in throttle v1"

/* The window kinds, as stored in throttle_events.kind. */
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
    .lease_ms = 60 * 1000,
    .prune_every_ms = 60 * 1000,
};

struct app_throttle {
    struct store *store;
    unsigned char hash_key[crypto_generichash_KEYBYTES];
    unsigned limits[APP_THROTTLE_WINDOWS]; /* 0 turns a window off */
    int64_t window_ms;
    int64_t lease_ms;
    int64_t prune_every_ms;
    pthread_mutex_t lock; /* guards next_prune_ms */
    int64_t next_prune_ms;
};

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

struct app_throttle *app_throttle_new(const struct app_throttle_limits *limits, struct store *store,
                                      const unsigned char secret[CRYPTO_SECRET_BYTES])
{
    if (!limits)
        limits = &app_throttle_defaults;
    struct app_throttle *t = xcalloc(1, sizeof(*t));
    t->store = store;
    /* Every instance derives the same key, and it serves nothing else. */
    crypto_generichash(t->hash_key, sizeof(t->hash_key), (const unsigned char *)THROTTLE_DOMAIN,
                       strlen(THROTTLE_DOMAIN), secret, CRYPTO_SECRET_BYTES);
    t->limits[WINDOW_ACCOUNT] = limits->account_failures;
    t->limits[WINDOW_PAIR] = limits->pair_failures;
    t->limits[WINDOW_ADDRESS] = limits->address_failures;
    t->limits[WINDOW_DEVICE] = limits->device_failures;
    t->window_ms = limits->window_ms;
    t->lease_ms = limits->lease_ms > 0 ? limits->lease_ms : app_throttle_defaults.lease_ms;
    t->prune_every_ms = limits->prune_every_ms;
    pthread_mutex_init(&t->lock, NULL);
    return t;
}

void app_throttle_free(struct app_throttle *t)
{
    if (!t)
        return;
    sodium_memzero(t->hash_key, sizeof(t->hash_key));
    pthread_mutex_destroy(&t->lock);
    free(t);
}

static bool ticket_is_holding(const struct app_throttle_ticket *ticket)
{
    for (int w = 0; w < APP_THROTTLE_WINDOWS; w++)
        if (ticket->is_held[w])
            return true;
    return false;
}

static const char *key_hex(struct arena *a, const unsigned char key[THROTTLE_KEY_BYTES])
{
    char *hex = arena_alloc(a, THROTTLE_KEY_BYTES * 2 + 1);
    sodium_bin2hex(hex, THROTTLE_KEY_BYTES * 2 + 1, key, THROTTLE_KEY_BYTES);
    return hex;
}

/* True when this instance should prune now (at most once per prune_every_ms). */
static bool prune_is_due(struct app_throttle *t, int64_t now_ms)
{
    pthread_mutex_lock(&t->lock);
    bool is_due = now_ms >= t->next_prune_ms || now_ms + t->prune_every_ms < t->next_prune_ms;
    if (is_due)
        t->next_prune_ms = now_ms + t->prune_every_ms;
    pthread_mutex_unlock(&t->lock);
    return is_due;
}

/* The time at which window w of ticket has room for one more attempt, or 0 when it has room
 * now. Room means fewer than the limit of failures within the window plus attempts in
 * flight. */
static int window_blocked_until(int64_t *out, struct app_throttle *t, struct store_conn *c,
                                struct arena *a, int w, const char *hash, int64_t now_ms,
                                struct usher_error *err)
{
    int64_t since = now_ms - t->window_ms, failures = 0, holds = 0;
    *out = 0;
    int rc = store_throttle_count(&failures, &holds, c, a, w, hash, since, now_ms, err);
    if (rc)
        return rc;
    int64_t limit = t->limits[w];
    if (holds >= limit) {
        *out = now_ms + THROTTLE_INFLIGHT;
        return 0;
    }
    int64_t allowed = limit - holds; /* failures the window may hold */
    if (failures < allowed)
        return 0;
    /* The allowed-th newest failure: once it leaves the window there is room. */
    int64_t at = 0;
    bool found = false;
    rc = store_throttle_failure_at(&at, &found, c, a, w, hash, since, allowed - 1, err);
    if (rc)
        return rc;
    *out = found && at + t->window_ms > now_ms ? at + t->window_ms : now_ms + THROTTLE_INFLIGHT;
    return 0;
}

/* In one write transaction: prunes when due, finds the latest time at which a window of the
 * ticket is full (*out_until, 0 when none is) and, when none is, holds a place in each. */
static int reserve_run(int64_t *out_until, struct app_throttle *t,
                       const struct app_throttle_ticket *ticket, struct arena *a, int64_t now_ms,
                       struct usher_error *err)
{
    struct store_conn *c = NULL;
    const char *hashes[APP_THROTTLE_WINDOWS] = {0};
    *out_until = 0;
    int rc = store_conn_get(t->store, &c, err);
    if (rc)
        goto done;
    rc = store_begin(c, true, err);
    if (rc)
        goto done;
    if (t->prune_every_ms > 0 && prune_is_due(t, now_ms)) {
        int64_t removed = 0;
        rc = store_throttle_prune(&removed, c, a, now_ms - t->window_ms, err);
        if (rc)
            goto done;
        if (removed > 0)
            log_msg(LOG_DEBUG, "throttle.pruned", "{s:I}", "rows", (json_int_t)removed);
    }
    for (int w = 0; w < APP_THROTTLE_WINDOWS; w++) {
        if (!ticket->is_held[w])
            continue;
        hashes[w] = key_hex(a, ticket->keys[w]);
        int64_t blocked = 0;
        rc = window_blocked_until(&blocked, t, c, a, w, hashes[w], now_ms, err);
        if (rc)
            goto done;
        if (blocked > *out_until)
            *out_until = blocked;
    }
    if (*out_until) {
        store_rollback(c);
        goto done;
    }
    for (int w = 0; w < APP_THROTTLE_WINDOWS; w++) {
        if (!ticket->is_held[w])
            continue;
        rc = store_throttle_hold(c, a, w, hashes[w], ticket->hold_id, now_ms, now_ms + t->lease_ms,
                                 err);
        if (rc)
            goto done;
    }
    rc = store_commit(c, err);
done:
    store_conn_put(c);
    return rc;
}

int app_throttle_reserve(struct app_throttle_ticket *out, int64_t *out_retry_after,
                         struct app_throttle *t, const struct app_throttle_attempt *attempt,
                         int64_t now_ms, struct usher_error *err)
{
    struct arena a;
    int64_t until = 0;
    *out_retry_after = 0;
    ticket_plan(out, t, attempt);
    for (int w = 0; w < APP_THROTTLE_WINDOWS; w++)
        if (t->limits[w] == 0)
            out->is_held[w] = false;
    if (!ticket_is_holding(out))
        return 0;
    unsigned char id[APP_THROTTLE_HOLD_CHARS / 2];
    randombytes_buf(id, sizeof(id));
    sodium_bin2hex(out->hold_id, sizeof(out->hold_id), id, sizeof(id));
    arena_init(&a);
    int rc = reserve_run(&until, t, out, &a, now_ms, err);
    arena_dispose(&a);
    if (rc == 0 && until == 0)
        return 0;
    memset(out, 0, sizeof(*out));
    if (rc)
        return rc;
    int64_t seconds = (until - now_ms + 999) / 1000;
    *out_retry_after = seconds < 1 ? 1 : seconds;
    return usher_error_set(err, USHER_ELIMIT, "rate_limited", NULL,
                           "too many failed sign-ins, try again in %lld seconds",
                           (long long)*out_retry_after);
}

/* How an ended reservation is written: a failure, a success (clearing) or a release. */
enum ticket_end { END_FAILURE, END_SUCCESS, END_RELEASE };

/* Ends ticket in one autocommitted statement; a store failure is logged, and the reservation
 * then counts until its lease ends. */
static void ticket_end(struct app_throttle *t, struct app_throttle_ticket *ticket,
                       enum ticket_end how, int64_t now_ms)
{
    if (!ticket_is_holding(ticket))
        return;
    struct arena a;
    struct usher_error err = {0};
    struct store_conn *c = NULL;
    arena_init(&a);
    int rc = store_conn_get(t->store, &c, &err);
    if (rc)
        goto done;
    if (how == END_FAILURE) {
        rc = store_throttle_fail(c, &a, ticket->hold_id, now_ms, &err);
        goto done;
    }
    /* A success forgets the account's (or the device's) failures; the address keeps its
     * count, which may be a spray across other accounts. A release forgets nothing. */
    int kinds[3];
    const char *hashes[3];
    int n = 0;
    for (int w = 0; how == END_SUCCESS && w < APP_THROTTLE_WINDOWS; w++) {
        if (!ticket->is_held[w] || w == WINDOW_ADDRESS)
            continue;
        kinds[n] = w;
        hashes[n] = key_hex(&a, ticket->keys[w]);
        n++;
    }
    rc = store_throttle_clear(c, &a, ticket->hold_id, kinds, hashes, n, &err);
done:
    if (rc)
        log_msg(LOG_WARN, "throttle.store_failed", "{s:s}", "error", err.message);
    store_conn_put(c);
    arena_dispose(&a);
    memset(ticket, 0, sizeof(*ticket));
}

void app_throttle_failure(struct app_throttle *t, struct app_throttle_ticket *ticket,
                          int64_t now_ms)
{
    ticket_end(t, ticket, END_FAILURE, now_ms);
}

void app_throttle_success(struct app_throttle *t, struct app_throttle_ticket *ticket)
{
    ticket_end(t, ticket, END_SUCCESS, 0);
}

void app_throttle_release(struct app_throttle *t, struct app_throttle_ticket *ticket)
{
    ticket_end(t, ticket, END_RELEASE, 0);
}
