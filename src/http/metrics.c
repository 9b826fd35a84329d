/* Metric storage: small fixed tables of series, rendered on demand. Counting a request takes no
 * lock: a series, once added (under a mutex, the first time it is seen), is immutable but for
 * its atomic counters, and each thread remembers the last series it used. */
#include "http/metrics.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"

#define METRICS_SERIES_MAX 512
#define METRICS_ERRORS_MAX 64

static const double latency_buckets[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                         0.05,   0.1,   0.25,   0.5,   1,    2.5};
#define BUCKETS (sizeof(latency_buckets) / sizeof(latency_buckets[0]))

/* The methods counted by name; anything else is "other". */
static const char *const methods[] = {"GET",   "HEAD",   "POST",    "PUT",
                                      "PATCH", "DELETE", "OPTIONS", "other"};
#define METHOD_OTHER 7

struct request_series {
    const char *route;
    int method; /* index into methods */
    int status;
    atomic_ullong count;
};

struct latency_series {
    const char *route;
    atomic_ullong buckets[BUCKETS + 1]; /* per bucket, not cumulative; the last is past 2.5 s */
    atomic_ullong sum_ns;
};

struct error_series {
    char problem[48];
    unsigned long long count;
};

/* Adding a series, errors and the hashing figures take this lock; counting requests does not. */
static pthread_mutex_t metrics_lock = PTHREAD_MUTEX_INITIALIZER;
static struct request_series requests[METRICS_SERIES_MAX];
static atomic_size_t request_count;
static struct latency_series latencies[METRICS_SERIES_MAX];
static atomic_size_t latency_count;
static struct error_series errors[METRICS_ERRORS_MAX];
static size_t error_count;
static unsigned long long hash_count;
static double hash_wait_sum, hash_sum;
static atomic_long connections_open;

/* The method as a label: one of the standard methods, else "other". The method is the
 * client's text, so passing it through would let anyone add series without bound or break
 * the exposition format with a quote. */
static int method_label(const char *method)
{
    for (int i = 0; i < METHOD_OTHER; i++) {
        if (strcmp(method, methods[i]) == 0)
            return i;
    }
    return METHOD_OTHER;
}

static struct request_series *request_find(size_t n, const char *route, int method, int status)
{
    for (size_t i = 0; i < n; i++) {
        struct request_series *rs = &requests[i];
        if (rs->route == route && rs->status == status && rs->method == method)
            return rs;
    }
    return NULL;
}

/* The series for (route, method, status), added when new; NULL when the table is full. */
static struct request_series *request_series_get(const char *route, int method, int status)
{
    static _Thread_local struct request_series *last;
    if (last && last->route == route && last->status == status && last->method == method)
        return last;
    struct request_series *rs = request_find(
        atomic_load_explicit(&request_count, memory_order_acquire), route, method, status);
    if (!rs) {
        pthread_mutex_lock(&metrics_lock);
        size_t n = atomic_load_explicit(&request_count, memory_order_relaxed);
        rs = request_find(n, route, method, status);
        if (!rs && n < METRICS_SERIES_MAX) {
            rs = &requests[n];
            rs->route = route;
            rs->method = method;
            rs->status = status;
            atomic_store_explicit(&request_count, n + 1, memory_order_release);
        }
        pthread_mutex_unlock(&metrics_lock);
    }
    if (rs)
        last = rs;
    return rs;
}

static struct latency_series *latency_find(size_t n, const char *route)
{
    for (size_t i = 0; i < n; i++) {
        if (latencies[i].route == route)
            return &latencies[i];
    }
    return NULL;
}

static struct latency_series *latency_series_get(const char *route)
{
    static _Thread_local struct latency_series *last;
    if (last && last->route == route)
        return last;
    struct latency_series *ls =
        latency_find(atomic_load_explicit(&latency_count, memory_order_acquire), route);
    if (!ls) {
        pthread_mutex_lock(&metrics_lock);
        size_t n = atomic_load_explicit(&latency_count, memory_order_relaxed);
        ls = latency_find(n, route);
        if (!ls && n < METRICS_SERIES_MAX) {
            ls = &latencies[n];
            ls->route = route;
            atomic_store_explicit(&latency_count, n + 1, memory_order_release);
        }
        pthread_mutex_unlock(&metrics_lock);
    }
    if (ls)
        last = ls;
    return ls;
}

void metrics_request_observe(const char *route, const char *method, int status, double seconds)
{
    struct request_series *rs = request_series_get(route, method_label(method), status);
    if (rs)
        atomic_fetch_add_explicit(&rs->count, 1, memory_order_relaxed);
    struct latency_series *ls = latency_series_get(route);
    if (!ls)
        return;
    size_t b = 0;
    while (b < BUCKETS && seconds > latency_buckets[b])
        b++;
    atomic_fetch_add_explicit(&ls->buckets[b], 1, memory_order_relaxed);
    unsigned long long ns = seconds > 0 ? (unsigned long long)(seconds * 1e9) : 0;
    atomic_fetch_add_explicit(&ls->sum_ns, ns, memory_order_relaxed);
}

void metrics_error_observe(const char *problem)
{
    pthread_mutex_lock(&metrics_lock);
    struct error_series *es = NULL;
    for (size_t i = 0; i < error_count; i++) {
        if (strcmp(errors[i].problem, problem) == 0) {
            es = &errors[i];
            break;
        }
    }
    if (!es && error_count < METRICS_ERRORS_MAX) {
        es = &errors[error_count++];
        snprintf(es->problem, sizeof(es->problem), "%s", problem);
    }
    if (es)
        es->count++;
    pthread_mutex_unlock(&metrics_lock);
}

void metrics_hash_observe(double wait_seconds, double hash_seconds)
{
    pthread_mutex_lock(&metrics_lock);
    hash_count++;
    hash_wait_sum += wait_seconds;
    hash_sum += hash_seconds;
    pthread_mutex_unlock(&metrics_lock);
}

void metrics_connections_add(long delta)
{
    atomic_fetch_add(&connections_open, delta);
}

struct text {
    char *buf;
    size_t len, cap;
};

static void text_add(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void text_add(struct text *t, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(t->buf + t->len, t->cap - t->len, fmt, ap);
        va_end(ap);
        if (n >= 0 && (size_t)n < t->cap - t->len) {
            t->len += (size_t)n;
            return;
        }
        t->cap = t->cap * 2 + (n > 0 ? (size_t)n : 0);
        t->buf = xrealloc(t->buf, t->cap);
    }
}

char *metrics_render(size_t *len)
{
    struct text t = {xmalloc(8192), 0, 8192};
    t.buf[0] = '\0';
    text_add(&t, "# HELP usher_http_requests_total HTTP requests by route, method and status.\n"
                 "# TYPE usher_http_requests_total counter\n");
    size_t n = atomic_load_explicit(&request_count, memory_order_acquire);
    for (size_t i = 0; i < n; i++)
        text_add(&t, "usher_http_requests_total{route=\"%s\",method=\"%s\",status=\"%d\"} %llu\n",
                 requests[i].route, methods[requests[i].method], requests[i].status,
                 atomic_load_explicit(&requests[i].count, memory_order_relaxed));
    text_add(&t, "# HELP usher_http_request_duration_seconds Time from request to response.\n"
                 "# TYPE usher_http_request_duration_seconds histogram\n");
    n = atomic_load_explicit(&latency_count, memory_order_acquire);
    for (size_t i = 0; i < n; i++) {
        struct latency_series *ls = &latencies[i];
        unsigned long long cumulative = 0;
        for (size_t b = 0; b < BUCKETS; b++) {
            cumulative += atomic_load_explicit(&ls->buckets[b], memory_order_relaxed);
            text_add(&t,
                     "usher_http_request_duration_seconds_bucket{route=\"%s\",le=\"%g\"} %llu\n",
                     ls->route, latency_buckets[b], cumulative);
        }
        cumulative += atomic_load_explicit(&ls->buckets[BUCKETS], memory_order_relaxed);
        double sum = (double)atomic_load_explicit(&ls->sum_ns, memory_order_relaxed) / 1e9;
        text_add(&t,
                 "usher_http_request_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} %llu\n"
                 "usher_http_request_duration_seconds_sum{route=\"%s\"} %.6f\n"
                 "usher_http_request_duration_seconds_count{route=\"%s\"} %llu\n",
                 ls->route, cumulative, ls->route, sum, ls->route, cumulative);
    }
    pthread_mutex_lock(&metrics_lock);
    text_add(&t, "# HELP usher_http_errors_total Error answers by problem code.\n"
                 "# TYPE usher_http_errors_total counter\n");
    for (size_t i = 0; i < error_count; i++)
        text_add(&t, "usher_http_errors_total{code=\"%s\"} %llu\n", errors[i].problem,
                 errors[i].count);
    text_add(&t,
             "# HELP usher_password_hashes_total Password hashes computed by the hashing pool.\n"
             "# TYPE usher_password_hashes_total counter\n"
             "usher_password_hashes_total %llu\n"
             "# HELP usher_password_hash_wait_seconds_total Time spent waiting for a slot.\n"
             "# TYPE usher_password_hash_wait_seconds_total counter\n"
             "usher_password_hash_wait_seconds_total %.6f\n"
             "# HELP usher_password_hash_seconds_total Time spent hashing.\n"
             "# TYPE usher_password_hash_seconds_total counter\n"
             "usher_password_hash_seconds_total %.6f\n",
             hash_count, hash_wait_sum, hash_sum);
    pthread_mutex_unlock(&metrics_lock);
    text_add(&t,
             "# HELP usher_http_connections Open HTTP connections.\n"
             "# TYPE usher_http_connections gauge\n"
             "usher_http_connections %ld\n",
             atomic_load(&connections_open));
    *len = t.len;
    return t.buf;
}
