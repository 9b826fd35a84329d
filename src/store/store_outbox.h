/* Rows of the mail outbox (see sql/<dialect>/0002_outbox.sql). */
#ifndef USHER_STORE_STORE_OUTBOX_H
#define USHER_STORE_STORE_OUTBOX_H

#include <stdbool.h>

#include "store/store.h"

struct store_outbox_row {
    const char *id;
    int64_t created_at;
    const char *recipient;
    const char *subject;
    const char *body_text;
    const char *body_html;
    const char *link_kind; /* NULL when the bodies hold no link placeholder */
    const char *link_ref;
    int64_t link_generation;
    int64_t attempts;
};

/* Inserts a row due at next_attempt_at, in the caller's transaction. */
int store_outbox_insert(struct store_conn *c, struct arena *a, const struct store_outbox_row *r,
                        int64_t next_attempt_at, struct usher_error *err);

/* Claims for worker, until `until`, the oldest row that is not sent, not dropped, due by now
 * and not claimed by a live worker (no claim, or one whose lease ended before now), and reads
 * it into *out (strings in a). *out_found is false when no row is free. Run it outside a
 * transaction: on PostgreSQL it locks only the row it takes (FOR UPDATE SKIP LOCKED), so
 * concurrent senders take different rows without waiting for each other or for writers. */
int store_outbox_claim_next(struct store_outbox_row *out, bool *out_found, struct store_conn *c,
                            struct arena *a, const char *worker, int64_t now, int64_t until,
                            struct usher_error *err);

/* The distinct workers holding a live claim (claimed_until >= now) on a row not yet sent or
 * dropped. *out is an arena array of *count strings. */
int store_outbox_claimants(const char ***out, size_t *count, struct store_conn *c, struct arena *a,
                           int64_t now, struct usher_error *err);

/* Releases every claim worker holds on rows not yet sent or dropped (the worker is gone), so
 * they are due again at once. *out_released (may be NULL) gets how many. */
int store_outbox_release(int64_t *out_released, struct store_conn *c, struct arena *a,
                         const char *worker, struct usher_error *err);

/* Marks a row delivered. */
int store_outbox_mark_sent(struct store_conn *c, struct arena *a, const char *id, int64_t now,
                           struct usher_error *err);

/* Records a failed attempt and when to try again. error_text names no secret. */
int store_outbox_mark_failed(struct store_conn *c, struct arena *a, const char *id,
                             int64_t next_attempt_at, const char *error_text,
                             struct usher_error *err);

/* Gives a row up (superseded link, or failing for too long). */
int store_outbox_mark_dropped(struct store_conn *c, struct arena *a, const char *id, int64_t now,
                              const char *reason, struct usher_error *err);

#endif
