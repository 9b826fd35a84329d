/* Request deadlines against slow clients: libmicrohttpd's timeout counts idle time only, so a
 * client sending one byte a second could hold a connection for ever. A watcher thread looks at
 * every connection still reading its request and shuts down the socket of one past its
 * deadline whose bytes have all been read (so the wait is the client's, not a busy server's);
 * libmicrohttpd then sees the connection fail and closes it as usual. */
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>

#include "base/arena.h"
#include "base/clock.h"
#include "base/error.h"
#include "base/log.h"
#include "http/http_int.h"

#define DEADLINE_TICK_MS 200

struct http_deadline_slot {
    int fd;
    int64_t since_ns;
    bool is_answering;
    bool is_expired;
    struct http_deadline_slot *prev, *next;
};

struct http_deadlines {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    pthread_t thread;
    bool stop;
    int64_t limit_ns;
    struct http_deadline_slot head; /* sentinel of a circular list */
    atomic_long expired;
};

static void expire_due(struct http_deadlines *d, int64_t now)
{
    for (struct http_deadline_slot *s = d->head.next; s != &d->head; s = s->next) {
        if (s->is_answering || s->is_expired || now - s->since_ns < d->limit_ns)
            continue;
        /* Bytes the server has not read yet mean a busy server, not a slow client: the
         * request may be complete, waiting for a thread. */
        int unread = 0;
        if (ioctl(s->fd, FIONREAD, &unread) == 0 && unread > 0)
            continue;
        /* Under the lock, and the slot is closed before its socket: fd is still this
         * connection's. */
        shutdown(s->fd, SHUT_RDWR);
        s->is_expired = true;
        atomic_fetch_add(&d->expired, 1);
        log_msg(LOG_WARN, "http.request_timeout", "{s:I}", "waited_ms",
                (json_int_t)((now - s->since_ns) / 1000000));
    }
}

static void *watch(void *arg)
{
    struct http_deadlines *d = arg;
    pthread_mutex_lock(&d->lock);
    while (!d->stop) {
        expire_due(d, clock_mono_ns());
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += DEADLINE_TICK_MS * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&d->cond, &d->lock, &until);
    }
    pthread_mutex_unlock(&d->lock);
    return NULL;
}

struct http_deadlines *http_deadlines_new(int seconds)
{
    if (seconds <= 0)
        return NULL;
    struct http_deadlines *d = xcalloc(1, sizeof(*d));
    d->limit_ns = (int64_t)seconds * 1000000000LL;
    d->head.next = d->head.prev = &d->head;
    pthread_mutex_init(&d->lock, NULL);
    pthread_cond_init(&d->cond, NULL);
    if (pthread_create(&d->thread, NULL, watch, d) != 0) {
        pthread_mutex_destroy(&d->lock);
        pthread_cond_destroy(&d->cond);
        free(d);
        log_msg(LOG_ERROR, "http.deadlines_unavailable", NULL);
        return NULL;
    }
    return d;
}

void http_deadlines_free(struct http_deadlines *d)
{
    if (!d)
        return;
    pthread_mutex_lock(&d->lock);
    d->stop = true;
    pthread_cond_signal(&d->cond);
    pthread_mutex_unlock(&d->lock);
    pthread_join(d->thread, NULL);
    USHER_ASSERT(d->head.next == &d->head);
    pthread_mutex_destroy(&d->lock);
    pthread_cond_destroy(&d->cond);
    free(d);
}

struct http_deadline_slot *http_deadline_open(struct http_deadlines *d, int fd)
{
    if (!d)
        return NULL;
    struct http_deadline_slot *s = xcalloc(1, sizeof(*s));
    s->fd = fd;
    s->since_ns = clock_mono_ns();
    pthread_mutex_lock(&d->lock);
    s->next = d->head.next;
    s->prev = &d->head;
    d->head.next->prev = s;
    d->head.next = s;
    pthread_mutex_unlock(&d->lock);
    return s;
}

void http_deadline_close(struct http_deadlines *d, struct http_deadline_slot *s)
{
    if (!d || !s)
        return;
    pthread_mutex_lock(&d->lock);
    s->prev->next = s->next;
    s->next->prev = s->prev;
    pthread_mutex_unlock(&d->lock);
    free(s);
}

void http_deadline_answering(struct http_deadlines *d, struct http_deadline_slot *s,
                             bool is_answering)
{
    if (!d || !s)
        return;
    pthread_mutex_lock(&d->lock);
    s->is_answering = is_answering;
    if (!is_answering)
        s->since_ns = clock_mono_ns();
    pthread_mutex_unlock(&d->lock);
}

long http_deadlines_expired(const struct http_deadlines *d)
{
    return d ? atomic_load(&d->expired) : 0;
}
