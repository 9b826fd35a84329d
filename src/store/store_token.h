/* API token records (the api_tokens table of 0003_invitations.sql). A token belongs to one
 * agency, or to the platform when agency_id is NULL. The secret is never stored: token_hash is
 * its keyed hash under the server secret. Functions work on a checked-out connection; strings
 * in results live in the arena. Errors are those listed in store.h. */
#ifndef USHER_STORE_STORE_TOKEN_H
#define USHER_STORE_STORE_TOKEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"
#include "store/store_tenancy.h"

struct store_token {
    const char *id;
    const char *agency_id; /* NULL for a platform token */
    const char *name;
    const char *token_hash; /* crypto_hmac_hex of the secret under the server secret */
    const char *created_by; /* NULL when made from the command line or the creator is gone */
    int64_t created_at;
    int64_t last_used_at; /* 0 when never used */
    int64_t revoked_at;   /* 0 while the token works */
};

/* Inserts t (every field used; last_used_at and revoked_at 0 are stored as NULL). Errors:
 * USHER_ECONFLICT when the id or hash is taken or the agency does not exist. */
int store_token_insert(struct store_conn *c, struct arena *a, const struct store_token *t,
                       struct usher_error *err);

/* Reads the token with this hash, revoked or not. Errors: USHER_ENOTFOUND. */
int store_token_by_hash(struct store_token *out, struct store_conn *c, struct arena *a,
                        const char *token_hash, struct usher_error *err);

/* Reads the token with this id. Errors: USHER_ENOTFOUND. */
int store_token_get(struct store_token *out, struct store_conn *c, struct arena *a, const char *id,
                    struct usher_error *err);

/* Lists up to limit tokens of agency_id (NULL: the platform tokens) after *after (may be
 * NULL), ordered by (created_at, id), revoked ones included. *out is an arena array of *count
 * rows; *has_more tells whether rows follow the last one. */
int store_token_list(struct store_token **out, size_t *count, bool *has_more, struct store_conn *c,
                     struct arena *a, const char *agency_id, const struct store_cursor *after,
                     size_t limit, struct usher_error *err);

/* Sets revoked_at to at on a token not yet revoked; *out_revoked (may be NULL) tells whether
 * this call revoked it. */
int store_token_revoke(bool *out_revoked, struct store_conn *c, struct arena *a, const char *id,
                       int64_t at, struct usher_error *err);

/* Sets last_used_at to at. A missing token is not an error. */
int store_token_touch(struct store_conn *c, struct arena *a, const char *id, int64_t at,
                      struct usher_error *err);

#endif
