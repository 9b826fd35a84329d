/* What the email-change files share inside app/: the three emails it sends. */
#ifndef USHER_APP_EMAIL_CHANGE_INT_H
#define USHER_APP_EMAIL_CHANGE_INT_H

#include <stdint.h>

#include "base/arena.h"

struct store_conn;
struct store_link;
struct store_user;
struct usher_error;

/* When and from where a change was asked for or confirmed, for the emails. Borrowed. */
struct app_email_change_when {
    int64_t at;            /* Unix ms */
    const char *source_ip; /* NULL when unknown */
};

/* Queues the email with the confirmation link (a placeholder the sender fills in at send time)
 * to e->email, in the caller's transaction on c. It names neither the account nor its
 * person: the new address may be mistyped. Store errors. */
int app_email_change_link_mail_queue(struct store_conn *c, struct arena *a,
                                     const struct store_link *e, struct usher_error *err);

/* Queues the notice that a change to e->email (masked) was asked for, to user->email (the
 * old address), in the caller's transaction on c. Store errors. */
int app_email_change_asked_mail_queue(struct store_conn *c, struct arena *a,
                                      const struct store_user *user, const struct store_link *e,
                                      const struct app_email_change_when *when,
                                      struct usher_error *err);

/* Queues the notice that the email of user (as it was, user->email the old address) became
 * new_email (masked), to the old address, in the caller's transaction on c. Store errors. */
int app_email_change_done_mail_queue(struct store_conn *c, struct arena *a,
                                     const struct store_user *user, const char *new_email,
                                     const struct app_email_change_when *when,
                                     struct usher_error *err);

#endif
