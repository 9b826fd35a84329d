/* Email: the outbox (rows written in the caller's transaction), the transports (SMTP through
 * libcurl, or .eml files), and the sender thread that delivers at least once with back-off.
 *
 * Bodies may hold the placeholder MAIL_LINK_PLACEHOLDER; the sender replaces it with the URL
 * that the link resolver derives for (link_kind, link_ref, link_generation) at send time, so
 * the outbox never stores a working link. */
#ifndef USHER_MAIL_MAIL_H
#define USHER_MAIL_MAIL_H

#include <stdbool.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/error.h"

struct store;
struct store_conn;

#define MAIL_LINK_PLACEHOLDER "{{link}}"

/* A message ready to go on the wire. Strings are borrowed. */
struct mail_message {
    const char *id; /* outbox id: names the .eml file */
    const char *from;
    const char *to;
    const char *subject;
    const char *text;
    const char *html;
    const char *message_id; /* "<id@host>", stable across retries */
    int64_t date_ms;
};

/* A delivery method, chosen at start-up. */
struct mail_transport {
    const char *name; /* "smtp" or "file" */
    /* Delivers one rendered message; USHER_EUNAVAIL for a temporary failure (retry later). */
    int (*send)(struct mail_transport *t, const struct mail_message *m, const char *raw,
                size_t raw_len, struct usher_error *err);
    void (*free)(struct mail_transport *t);
};

/* SMTP submission to url (smtp:// with STARTTLS when offered, smtps://; user and password may
 * be in the URL). */
int mail_transport_smtp_new(struct mail_transport **out, const char *url, struct usher_error *err);

/* Writes each message as <dir>/<outbox id>.eml (dir is created, mode 0700). */
int mail_transport_file_new(struct mail_transport **out, const char *dir, struct usher_error *err);

/* Releases a transport; accepts NULL. */
void mail_transport_free(struct mail_transport *t);

/* Renders m as an RFC 5322 multipart/alternative message (quoted-printable parts) into the
 * arena; *out_len gets its length. Refuses header values holding CR or LF (USHER_EINVAL). */
int mail_message_render(char **out, size_t *out_len, struct arena *a, const struct mail_message *m,
                        struct usher_error *err);

/* One message to queue. Strings are borrowed. */
struct mail_outbox_item {
    const char *recipient;
    const char *subject;
    const char *text;
    const char *html;
    const char *link_kind; /* NULL when the bodies hold no placeholder */
    const char *link_ref;
    int64_t link_generation;
};

/* Queues item on conn, inside the caller's transaction. *out_id (may be NULL) gets the id,
 * arena-owned. */
int mail_outbox_enqueue(const char **out_id, struct store_conn *c, struct arena *a,
                        const struct mail_outbox_item *item, struct usher_error *err);

/* Derives the URL for a link reference at send time. Returns 0 with *out_url set, or
 * USHER_ENOTFOUND when the link is superseded (the message is then dropped, not sent). */
typedef int (*mail_link_resolver)(void *ctx, struct arena *a, const char *kind, const char *ref,
                                  int64_t generation, const char **out_url,
                                  struct usher_error *err);

struct mail_sender;

struct mail_sender_options {
    struct store *store;
    struct mail_transport *transport; /* borrowed */
    const char *from;
    const char *message_id_domain; /* right-hand side of Message-ID */
    mail_link_resolver resolve;    /* may be NULL when no message carries a link */
    void *resolve_ctx;
    int poll_ms;           /* how often to look for due rows without a wake-up */
    int64_t retry_base_ms; /* first back-off; doubles per attempt */
    int64_t retry_max_ms;  /* back-off cap */
    int64_t give_up_ms;    /* a message still failing this long after creation is dropped */
};

/* Prepares a sender without starting its thread. */
int mail_sender_new(struct mail_sender **out, const struct mail_sender_options *opts,
                    struct usher_error *err);

/* Starts the background thread. */
int mail_sender_start(struct mail_sender *s, struct usher_error *err);

/* Asks the sender to look for due rows now (after a commit that queued mail). Accepts NULL. */
void mail_sender_wake(struct mail_sender *s);

/* Delivers every due row once, in the calling thread; *out_sent gets how many were sent.
 * Used by the thread and by tests. */
int mail_sender_run_once(struct mail_sender *s, int *out_sent, struct usher_error *err);

/* Stops the thread (after the message in progress) and frees the sender; accepts NULL. */
void mail_sender_free(struct mail_sender *s);

#endif
