/* Prometheus metrics: requests by route, method and status, a latency histogram, errors by
 * problem code, and a few gauges. Rendered in the text exposition format at /metrics. */
#ifndef USHER_HTTP_METRICS_H
#define USHER_HTTP_METRICS_H

#include <stddef.h>

/* Counts one finished request. route is a static pattern string; a method other than the
 * seven standard ones is counted as "other". */
void metrics_request_observe(const char *route, const char *method, int status, double seconds);

/* Counts one error answer by its problem code. */
void metrics_error_observe(const char *problem);

/* Counts one password hash (for the hashing pool's figures). */
void metrics_hash_observe(double wait_seconds, double hash_seconds);

/* Counts connections opened (delta 1) and closed (-1), over every listener. */
void metrics_connections_add(long delta);

/* The exposition text in a malloc'ed string (caller frees); *len gets its length. */
char *metrics_render(size_t *len);

#endif
