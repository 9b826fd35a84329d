/* Metric storage: a small fixed table of series under one mutex, rendered on demand. */
#include "http/metrics.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"

#define METRICS_SERIES_MAX 512
#define METRICS_ERRORS_MAX 64

static const double latency_buckets[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                         0.05,   0.1,   0.25,   0.5,   1,    2.5};
#define BUCKETS (sizeof(latency_buckets) / sizeof(latency_buckets[0]))

struct request_series {
    const char *route;
    char method[8];
    int status;
    unsigned long long count;
};

struct latency_series {
    const char *route;
    unsigned long long buckets[BUCKETS];
    unsigned long long count;
    double sum;
};

struct error_series {
    char problem[48];
    unsigned long long count;
};

static pthread_mutex_t metrics_lock = PTHREAD_MUTEX_INITIALIZER;
static struct request_series requests[METRICS_SERIES_MAX];
static size_t request_count;
static struct latency_series latencies[METRICS_SERIES_MAX];
static size_t latency_count;
static struct error_series errors[METRICS_ERRORS_MAX];
static size_t error_count;
static unsigned long long hash_count;
static double hash_wait_sum, hash_sum;
static atomic_long connections_open;

/* The method as a label: one of the standard methods, else "other". The method is the
 * client's text, so passing it through would let anyone add series without bound or break
 * the exposition format with a quote. */
static const char *method_label(const char *method)
{
    static const char *const known[] = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"};
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
        if (strcmp(method, known[i]) == 0)
            return known[i];
    }
    return "other";
}

void metrics_request_observe(const char *route, const char *method, int status, double seconds)
{
    method = method_label(method);
    pthread_mutex_lock(&metrics_lock);
    struct request_series *rs = NULL;
    for (size_t i = 0; i < request_count; i++) {
        if (requests[i].route == route && requests[i].status == status &&
            strcmp(requests[i].method, method) == 0) {
            rs = &requests[i];
            break;
        }
    }
    if (!rs && request_count < METRICS_SERIES_MAX) {
        rs = &requests[request_count++];
        rs->route = route;
        snprintf(rs->method, sizeof(rs->method), "%s", method);
        rs->status = status;
    }
    if (rs)
        rs->count++;
    struct latency_series *ls = NULL;
    for (size_t i = 0; i < latency_count; i++) {
        if (latencies[i].route == route) {
            ls = &latencies[i];
            break;
        }
    }
    if (!ls && latency_count < METRICS_SERIES_MAX) {
        ls = &latencies[latency_count++];
        ls->route = route;
    }
    if (ls) {
        for (size_t b = 0; b < BUCKETS; b++) {
            if (seconds <= latency_buckets[b])
                ls->buckets[b]++;
        }
        ls->count++;
        ls->sum += seconds;
    }
    pthread_mutex_unlock(&metrics_lock);
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

void metrics_connections_set(long open)
{
    atomic_store(&connections_open, open);
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
    pthread_mutex_lock(&metrics_lock);
    text_add(&t, "# HELP usher_http_requests_total HTTP requests by route, method and status.\n"
                 "# TYPE usher_http_requests_total counter\n");
    for (size_t i = 0; i < request_count; i++)
        text_add(&t, "usher_http_requests_total{route=\"%s\",method=\"%s\",status=\"%d\"} %llu\n",
                 requests[i].route, requests[i].method, requests[i].status, requests[i].count);
    text_add(&t, "# HELP usher_http_request_duration_seconds Time from request to response.\n"
                 "# TYPE usher_http_request_duration_seconds histogram\n");
    for (size_t i = 0; i < latency_count; i++) {
        const struct latency_series *ls = &latencies[i];
        for (size_t b = 0; b < BUCKETS; b++)
            text_add(&t,
                     "usher_http_request_duration_seconds_bucket{route=\"%s\",le=\"%g\"} %llu\n",
                     ls->route, latency_buckets[b], ls->buckets[b]);
        text_add(&t,
                 "usher_http_request_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} %llu\n"
                 "usher_http_request_duration_seconds_sum{route=\"%s\"} %.6f\n"
                 "usher_http_request_duration_seconds_count{route=\"%s\"} %llu\n",
                 ls->route, ls->count, ls->route, ls->sum, ls->route, ls->count);
    }
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
