/* Single-use emailed links (email changes, password resets): the row every link table shares,
 * and the reads and writes that are the same for each. */
#ifndef USHER_STORE_STORE_LINK_H
#define USHER_STORE_STORE_LINK_H

#include <stdint.h>

#include "store/store.h"

/* One table of links: its name, the name of its address column and what a missing row is
 * called in USHER_ENOTFOUND's message. The two tables are below. */
struct store_link_table {
    const char *name;
    const char *email_column;
    const char *missing;
};

extern const struct store_link_table store_email_changes;   /* email_changes */
extern const struct store_link_table store_password_resets; /* password_resets */

/* One link row; strings live in the arena it was read into. */
struct store_link {
    const char *id;
    const char *user_id; /* password resets: NULL when the address had no account */
    const char *email;   /* normalised: the new address of an email change, the address a
                            reset was asked for */
    const char *status;  /* "pending", "used", "voided", and "cancelled" (email changes) or
                            "throttled" (password resets) */
    const char *token_nonce;
    const char *token_hash;
    const char *source_ip; /* may be NULL */
    int64_t created_at;
    int64_t expires_at;
    int64_t used_at;
};

/* Inserts l into t (every field but used_at). Errors: USHER_ECONFLICT on a duplicate id or
 * hash (and, for email changes, a second pending change of one account). */
int store_link_insert(struct store_conn *c, struct arena *a, const struct store_link_table *t,
                      const struct store_link *l, struct usher_error *err);

/* Loads the row of t with this id, or with this token hash. Errors: USHER_ENOTFOUND. */
int store_link_get(struct store_link *out, struct store_conn *c, struct arena *a,
                   const struct store_link_table *t, const char *id, struct usher_error *err);
int store_link_by_token_hash(struct store_link *out, struct store_conn *c, struct arena *a,
                             const struct store_link_table *t, const char *token_hash,
                             struct usher_error *err);

/* Loads the first row of t matching `where` (SQL after WHERE, with n parameters p). Errors:
 * USHER_ENOTFOUND. */
int store_link_find(struct store_link *out, struct store_conn *c, struct arena *a,
                    const struct store_link_table *t, const char *where,
                    const struct store_value *p, size_t n, struct usher_error *err);

/* Marks link id of t "used" at `at` if it is still pending and not expired at `at`; *out_used
 * receives 1 when it was, 0 otherwise. */
int store_link_use(int64_t *out_used, struct store_conn *c, struct arena *a,
                   const struct store_link_table *t, const char *id, int64_t at,
                   struct usher_error *err);

/* Deletes the rows of t made before `before` (Unix ms); *out_deleted (may be NULL) receives how
 * many. */
int store_link_purge(int64_t *out_deleted, struct store_conn *c, struct arena *a,
                     const struct store_link_table *t, int64_t before, struct usher_error *err);

#endif
