/* What the second factor's files share inside app/: its emails. */
#ifndef USHER_APP_SECOND_FACTOR_INT_H
#define USHER_APP_SECOND_FACTOR_INT_H

#include <stdint.h>

#include "base/arena.h"

struct store_conn;
struct store_user;
struct usher_error;

enum app_second_factor_mail_kind {
    APP_SECOND_FACTOR_MAIL_ENABLED,  /* the person turned it on */
    APP_SECOND_FACTOR_MAIL_DISABLED, /* the person turned it off */
    APP_SECOND_FACTOR_MAIL_RESET,    /* a platform admin turned it off */
};

/* Which email, and when and from where the change was made. Strings are borrowed. */
struct app_second_factor_mail {
    enum app_second_factor_mail_kind kind;
    int64_t at;             /* Unix ms */
    const char *source_ip;  /* NULL when unknown */
    const char *user_agent; /* NULL when none was sent */
};

/* Queues the email about a change of user's second factor (text and HTML) in the caller's
 * transaction on c. Store errors. */
int app_second_factor_mail_queue(struct store_conn *c, struct arena *a,
                                 const struct store_user *user,
                                 const struct app_second_factor_mail *m, struct usher_error *err);

#endif
