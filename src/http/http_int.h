/* What the http module's own files share: request deadlines (deadline.c) for the listener. */
#ifndef USHER_HTTP_HTTP_INT_H
#define USHER_HTTP_HTTP_INT_H

#include <stdbool.h>

struct http_deadlines;
struct http_deadline_slot;

/* Starts the watcher that shuts down any connection whose client takes longer than seconds to
 * send a whole request (request line, headers and body), counted from the connection's start
 * or from its previous answer. Returns NULL when seconds is 0 (no deadline). */
struct http_deadlines *http_deadlines_new(int seconds);

/* Stops the watcher and frees everything; every slot must be closed. Accepts NULL. */
void http_deadlines_free(struct http_deadlines *d);

/* Starts timing the connection on socket fd; returns its slot (NULL when d is NULL). */
struct http_deadline_slot *http_deadline_open(struct http_deadlines *d, int fd);

/* Stops timing; called before the socket is closed, so the watcher never touches a reused
 * descriptor. Accepts NULL. */
void http_deadline_close(struct http_deadlines *d, struct http_deadline_slot *s);

/* is_answering true: the request is complete, the handler and the answer are not timed.
 * false: the answer is done, timing of the next request starts now. Accepts NULL. */
void http_deadline_answering(struct http_deadlines *d, struct http_deadline_slot *s,
                             bool is_answering);

/* Connections shut down for missing their deadline so far. */
long http_deadlines_expired(const struct http_deadlines *d);

#endif
