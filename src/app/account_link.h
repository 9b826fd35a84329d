/* What the email change and the password reset share inside app/: their single-use emailed
 * links, sealed when made, rebuilt for the email, and read and taken when followed. */
#ifndef USHER_APP_ACCOUNT_LINK_H
#define USHER_APP_ACCOUNT_LINK_H

#include <stdint.h>

#include "app/app.h"
#include "base/arena.h"
#include "base/crypto.h"
#include "store/store_link.h"

struct store_conn;
struct store_user;
struct usher_error;

/* One kind of link and the feature's own rules for it. */
struct app_account_link_kind {
    const struct store_link_table *table;
    const char *label; /* keeps the kinds' tokens apart: "email_change", "password_reset" */
    const char *path;  /* the console page the link opens, e.g. "/email-change" */
    int code;          /* the one answer for every unusable link: USHER_EINVAL, USHER_EEXPIRED */
    const char *error; /* its error code, e.g. "invalid_token" */
    const char *message;
};

/* Gives l (id set) a new nonce (in a) and the keyed hash of its token, written into hash, which
 * l->token_hash then points at. The token itself is not kept: the email is sent with it rebuilt
 * from the id and nonce. */
void app_account_link_seal(struct store_link *l, char hash[CRYPTO_HASH_HEX + 1],
                           const struct app *app, struct arena *a,
                           const struct app_account_link_kind *k);

/* The page address with the token of link id (in a) for its email. USHER_ENOTFOUND, with
 * nothing in err, when the link is used, voided, expired or has no account (its email is then
 * dropped); store errors. */
int app_account_link_url(const char **out_url, struct app *app, struct arena *a,
                         const struct app_account_link_kind *k, const char *id,
                         struct usher_error *err);

/* Reads on c the link token names (token NULL counts as "") and its account, as they stand at
 * now. Every unusable link (unknown, not pending, expired, without an account, or whose account
 * is gone or not active) is k's one answer in call->err; store errors otherwise. */
int app_account_link_open(struct store_link *out, struct store_user *out_user, struct store_conn *c,
                          const struct app_call *call, const struct app_account_link_kind *k,
                          const char *token, int64_t now);

/* Uses link l in the caller's write transaction on c: only one of two racing uses finds it still
 * pending and not expired at now; the other gets k's one answer in call->err. Store errors. */
int app_account_link_take(struct store_conn *c, const struct app_call *call,
                          const struct app_account_link_kind *k, const struct store_link *l,
                          int64_t now);

#endif
