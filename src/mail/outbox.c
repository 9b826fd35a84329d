/* The outbox and its sender: rows queued in the caller's transaction are claimed one at a
 * time with a lease (several instances on one database take different rows), rendered with
 * their link derived at send time, delivered through the transport outside any transaction,
 * and marked sent; failures back off exponentially. A crash between delivery and marking
 * re-sends with the same Message-ID, so delivery is at least once and duplicates are
 * recognisable. Claims left by a crashed process on this host are released when the next
 * sender starts; those of a process on another host end with their lease. */
#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/crypto.h"
#include "base/log.h"
#include "mail/mail.h"
#include "store/store_outbox.h"

#define OUTBOX_BATCH 20
/* A claim's lease: longer than one delivery can take (the SMTP transport gives up after
 * 60 s), so a live sender never loses a row it is sending. */
#define OUTBOX_LEASE_MS 120000

struct mail_sender {
    struct mail_sender_options opts;
    char *from;
    char *domain;
    char worker[96]; /* wrk_<random>@<host>:<pid>, the claimant of rows being sent */
    pthread_t thread;
    bool is_running;
    bool stop;
    bool wake;
    pthread_mutex_t lock;
    pthread_cond_t cond;
};

int mail_outbox_enqueue(const char **out_id, struct store_conn *c, struct arena *a,
                        const struct mail_outbox_item *item, struct usher_error *err)
{
    int64_t now = clock_now_ms();
    struct store_outbox_row row = {
        .id = crypto_id_new(a, "msg"),
        .created_at = now,
        .recipient = item->recipient,
        .subject = item->subject,
        .body_text = item->text,
        .body_html = item->html,
        .link_kind = item->link_kind,
        .link_ref = item->link_ref,
        .link_generation = item->link_generation,
    };
    int rc = store_outbox_insert(c, a, &row, now, err);
    if (rc == 0 && out_id)
        *out_id = row.id;
    return rc;
}

/* Replaces every placeholder in s with value. */
static char *replace_all(struct arena *a, const char *s, const char *value)
{
    size_t plen = strlen(MAIL_LINK_PLACEHOLDER), vlen = strlen(value), n = 0;
    for (const char *p = strstr(s, MAIL_LINK_PLACEHOLDER); p;
         p = strstr(p + plen, MAIL_LINK_PLACEHOLDER))
        n++;
    size_t len = strlen(s) + n * vlen - n * plen;
    char *out = arena_alloc(a, len + 1), *w = out;
    const char *r = s;
    for (const char *p = strstr(r, MAIL_LINK_PLACEHOLDER); p;
         p = strstr(r, MAIL_LINK_PLACEHOLDER)) {
        memcpy(w, r, (size_t)(p - r));
        w += p - r;
        memcpy(w, value, vlen);
        w += vlen;
        r = p + plen;
    }
    memcpy(w, r, strlen(r) + 1);
    return out;
}

/* Escapes the characters that matter inside an HTML attribute or text. */
static char *html_escape(struct arena *a, const char *s)
{
    size_t len = 0;
    for (const char *p = s; *p; p++)
        len += (*p == '&') ? 5 : (*p == '<' || *p == '>') ? 4 : (*p == '"') ? 6 : 1;
    char *out = arena_alloc(a, len + 1), *w = out;
    for (const char *p = s; *p; p++) {
        const char *rep = *p == '&'   ? "&amp;"
                          : *p == '<' ? "&lt;"
                          : *p == '>' ? "&gt;"
                          : *p == '"' ? "&quot;"
                                      : NULL;
        if (rep) {
            size_t rl = strlen(rep);
            memcpy(w, rep, rl);
            w += rl;
        } else {
            *w++ = *p;
        }
    }
    *w = '\0';
    return out;
}

static int64_t backoff_ms(const struct mail_sender_options *o, int64_t attempts)
{
    int64_t d = o->retry_base_ms;
    for (int64_t i = 0; i < attempts && d < o->retry_max_ms; i++)
        d *= 2;
    return d < o->retry_max_ms ? d : o->retry_max_ms;
}

/* Runs one store call on its own pooled connection (autocommit). */
#define WITH_CONN(s, err, call)                                                                    \
    do {                                                                                           \
        struct store_conn *conn_ = NULL;                                                           \
        rc = store_conn_get((s)->opts.store, &conn_, err);                                         \
        if (rc == 0) {                                                                             \
            rc = (call);                                                                           \
            store_conn_put(conn_);                                                                 \
        }                                                                                          \
    } while (0)

/* Delivers row, which this sender has claimed, and records the outcome. */
static int deliver_one(struct mail_sender *s, struct arena *a, const struct store_outbox_row *row,
                       bool *sent)
{
    struct usher_error err = {0};
    int rc = 0;
    int64_t now = clock_now_ms();
    *sent = false;
    const char *text = row->body_text, *html = row->body_html;
    if (row->link_kind) {
        const char *url = NULL;
        rc = s->opts.resolve ? s->opts.resolve(s->opts.resolve_ctx, a, row->link_kind,
                                               row->link_ref, row->link_generation, &url, &err)
                             : USHER_ENOTFOUND;
        if (rc == USHER_ENOTFOUND) {
            struct usher_error e2 = {0};
            WITH_CONN(s, &e2, store_outbox_mark_dropped(conn_, a, row->id, now, "superseded", &e2));
            log_msg(LOG_INFO, "mail.dropped", "{s:s, s:s}", "outbox_id", row->id, "reason",
                    "superseded");
            return rc;
        }
        if (rc == 0) {
            text = replace_all(a, text, url);
            html = replace_all(a, html, html_escape(a, url));
        }
    }
    char *raw = NULL;
    size_t raw_len = 0;
    struct mail_message m = {
        .id = row->id,
        .from = s->from,
        .to = row->recipient,
        .subject = row->subject,
        .text = text,
        .html = html,
        .message_id = arena_printf(a, "<%s@%s>", row->id, s->domain),
        .date_ms = now,
    };
    if (rc == 0)
        rc = mail_message_render(&raw, &raw_len, a, &m, &err);
    if (rc == 0)
        rc = s->opts.transport->send(s->opts.transport, &m, raw, raw_len, &err);
    struct usher_error e2 = {0};
    int mark_rc = 0;
    if (rc == 0) {
        int64_t done_at = clock_now_ms();
        rc = 0;
        WITH_CONN(s, &e2, store_outbox_mark_sent(conn_, a, row->id, done_at, &e2));
        mark_rc = rc;
        log_msg(LOG_INFO, "mail.sent", "{s:s, s:s, s:s, s:I}", "outbox_id", row->id, "transport",
                s->opts.transport->name, "message_id", m.message_id, "attempt",
                (json_int_t)(row->attempts + 1));
        *sent = mark_rc == 0;
        return mark_rc;
    }
    now = clock_now_ms();
    if (now - row->created_at > s->opts.give_up_ms) {
        WITH_CONN(s, &e2, store_outbox_mark_dropped(conn_, a, row->id, now, err.message, &e2));
        log_msg(LOG_ERROR, "mail.given_up", "{s:s, s:s, s:I}", "outbox_id", row->id, "error",
                err.message, "attempts", (json_int_t)(row->attempts + 1));
        return USHER_EUNAVAIL;
    }
    int64_t next = now + backoff_ms(&s->opts, row->attempts);
    WITH_CONN(s, &e2, store_outbox_mark_failed(conn_, a, row->id, next, err.message, &e2));
    log_msg(LOG_WARN, "mail.retry", "{s:s, s:s, s:I, s:I}", "outbox_id", row->id, "error",
            err.message, "attempts", (json_int_t)(row->attempts + 1), "retry_in_ms",
            (json_int_t)(next - now));
    return USHER_EUNAVAIL;
}

int mail_sender_run_once(struct mail_sender *s, int *out_sent, struct usher_error *err)
{
    struct arena a;
    arena_init(&a);
    int sent = 0, rc = 0;
    for (int i = 0; rc == 0 && i < OUTBOX_BATCH; i++) {
        struct store_outbox_row row;
        bool found = false, ok = false;
        int64_t now = clock_now_ms();
        WITH_CONN(s, err,
                  store_outbox_claim_next(&row, &found, conn_, &a, s->worker, now,
                                          now + OUTBOX_LEASE_MS, err));
        if (rc || !found)
            break;
        deliver_one(s, &a, &row, &ok);
        sent += ok;
    }
    arena_dispose(&a);
    if (out_sent)
        *out_sent = sent;
    return rc;
}

/* True when worker names a sender of an earlier process on this host that no longer runs. */
static bool claimant_is_gone(const struct mail_sender *s, const char *worker)
{
    const char *at = strrchr(worker, '@'), *colon = strrchr(worker, ':');
    const char *mine = strrchr(s->worker, '@'), *my_colon = strrchr(s->worker, ':');
    if (!at || !colon || colon < at || !mine || !my_colon || strcmp(worker, s->worker) == 0)
        return false;
    if ((size_t)(colon - at) != (size_t)(my_colon - mine) || strncmp(at, mine, colon - at) != 0)
        return false; /* another host: its lease runs out instead */
    char *end = NULL;
    long pid = strtol(colon + 1, &end, 10);
    if (*end || pid <= 0)
        return false;
    /* This pid is now ours, or no process has it: the claimant died. */
    return pid == (long)getpid() || (kill((pid_t)pid, 0) != 0 && errno == ESRCH);
}

/* Releases the claims of senders that died mid-send (a crash), so their messages go out now
 * rather than when the lease runs out. Delivery stays at least once: a message the dead sender
 * had delivered but not marked goes again with the same Message-ID. */
static void claims_release(struct mail_sender *s)
{
    struct arena a;
    arena_init(&a);
    struct usher_error err = {0};
    const char **workers = NULL;
    size_t count = 0;
    int rc = 0;
    WITH_CONN(s, &err, store_outbox_claimants(&workers, &count, conn_, &a, clock_now_ms(), &err));
    for (size_t i = 0; rc == 0 && i < count; i++) {
        if (!claimant_is_gone(s, workers[i]))
            continue;
        int64_t released = 0;
        WITH_CONN(s, &err, store_outbox_release(&released, conn_, &a, workers[i], &err));
        if (rc == 0)
            log_msg(LOG_INFO, "mail.claims_released", "{s:s, s:I}", "worker", workers[i],
                    "messages", (json_int_t)released);
    }
    if (rc)
        log_msg(LOG_WARN, "mail.outbox_unavailable", "{s:s}", "error", err.message);
    arena_dispose(&a);
}

static void *sender_main(void *arg)
{
    struct mail_sender *s = arg;
    claims_release(s);
    pthread_mutex_lock(&s->lock);
    while (!s->stop) {
        s->wake = false;
        pthread_mutex_unlock(&s->lock);
        struct usher_error err = {0};
        int sent = 0;
        if (mail_sender_run_once(s, &sent, &err) != 0)
            log_msg(LOG_WARN, "mail.outbox_unavailable", "{s:s}", "error", err.message);
        pthread_mutex_lock(&s->lock);
        /* A full batch means more may be due: go round again at once. */
        if (sent >= OUTBOX_BATCH || s->wake || s->stop)
            continue;
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += s->opts.poll_ms / 1000;
        until.tv_nsec += (long)(s->opts.poll_ms % 1000) * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        while (!s->wake && !s->stop) {
            if (pthread_cond_timedwait(&s->cond, &s->lock, &until) != 0)
                break;
        }
    }
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

int mail_sender_new(struct mail_sender **out, const struct mail_sender_options *opts,
                    struct usher_error *err)
{
    *out = NULL;
    if (!opts->store || !opts->transport || !opts->from)
        return usher_error_set(err, USHER_EINVAL, NULL, NULL,
                               "mail sender needs a store, a "
                               "transport and a sender address");
    struct mail_sender *s = xcalloc(1, sizeof(*s));
    s->opts = *opts;
    s->from = xstrdup(opts->from);
    s->domain =
        xstrdup(opts->message_id_domain && *opts->message_id_domain ? opts->message_id_domain
                                                                    : "usher.invalid");
    s->opts.from = s->from;
    s->opts.message_id_domain = s->domain;
    if (s->opts.poll_ms <= 0)
        s->opts.poll_ms = 2000;
    if (s->opts.retry_base_ms <= 0)
        s->opts.retry_base_ms = 5000;
    if (s->opts.retry_max_ms <= 0)
        s->opts.retry_max_ms = 3600000;
    if (s->opts.give_up_ms <= 0)
        s->opts.give_up_ms = 3LL * 24 * 3600 * 1000;
    struct arena a;
    arena_init(&a);
    char host[64] = "";
    gethostname(host, sizeof(host) - 1);
    snprintf(s->worker, sizeof(s->worker), "%s@%.40s:%ld", crypto_id_new(&a, "wrk"), host,
             (long)getpid());
    arena_dispose(&a);
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->cond, NULL);
    *out = s;
    return 0;
}

int mail_sender_start(struct mail_sender *s, struct usher_error *err)
{
    if (pthread_create(&s->thread, NULL, sender_main, s) != 0)
        return usher_error_set(err, USHER_EINTERNAL, NULL, NULL, "cannot start the mail sender");
    s->is_running = true;
    return 0;
}

void mail_sender_wake(struct mail_sender *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->lock);
    s->wake = true;
    pthread_cond_signal(&s->cond);
    pthread_mutex_unlock(&s->lock);
}

void mail_sender_free(struct mail_sender *s)
{
    if (!s)
        return;
    if (s->is_running) {
        pthread_mutex_lock(&s->lock);
        s->stop = true;
        pthread_cond_signal(&s->cond);
        pthread_mutex_unlock(&s->lock);
        pthread_join(s->thread, NULL);
    }
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->cond);
    free(s->from);
    free(s->domain);
    free(s);
}
