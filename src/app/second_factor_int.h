/* What the second factor's files share inside app/: who may act, the state read, the password
 * and the proof checked under the sign-in throttle, and the emails. */
#ifndef USHER_APP_SECOND_FACTOR_INT_H
#define USHER_APP_SECOND_FACTOR_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "app/app.h"
#include "app/second_factor.h"
#include "app/throttle.h"
#include "base/arena.h"

struct store_conn;
struct store_second_factor;
struct store_user;
struct usher_error;

/* USHER_EFORBIDDEN unless call->actor is a person acting as themselves (not "view as"). */
int app_second_factor_self_check(const struct app_call *call);

/* Reads user_id's account into *out_user and factor into *out_sf (*out_has false when there is
 * none), without holding a connection afterwards. Errors: USHER_ENOTFOUND for no account;
 * store errors. */
int app_second_factor_state_load(struct store_user *out_user, struct store_second_factor *out_sf,
                                 bool *out_has, const struct app_call *call, const char *user_id);

/* Ends ticket as a failed attempt and writes an audit row action (subject user_id, details
 * {"reason": reason}) in a transaction of its own. Returns the store's error, if any (the
 * caller's error slot is left alone). */
int app_second_factor_attempt_failed(const struct app_call *call,
                                     struct app_throttle_ticket *ticket, const char *action,
                                     const char *user_id, const char *reason);

/* Verifies user's current password with a place already reserved in ticket; a wrong one (or
 * none) counts as a failed sign-in, writes "second_factor.change_failed" and answers
 * USHER_EFORBIDDEN "invalid_credentials" naming current_password. USHER_EINVAL for a password
 * of a bad length; USHER_EUNAVAIL when the hashing pool is full. */
int app_second_factor_password_prove(const struct app_call *call,
                                     struct app_throttle_ticket *ticket,
                                     const struct store_user *user, const char *password);

/* What a checked proof will take when the write commits. */
struct app_second_factor_match {
    bool is_recovery;
    int64_t step;                   /* a code's time step */
    char hash[CRYPTO_HASH_HEX + 1]; /* a recovery code's hash */
};

/* Checks proof against sf: a code with liboath on the opened secret, for a step after the last
 * accepted one; a recovery code by its hash among the unused ones (constant time). *out_ok
 * false for a wrong, replayed or malformed one; *m says what to take. Errors: USHER_EINTERNAL
 * when the secret does not open; store errors. */
int app_second_factor_proof_check(bool *out_ok, struct app_second_factor_match *m,
                                  const struct app_call *call, const struct store_second_factor *sf,
                                  const struct app_second_factor_proof *proof);

/* Takes the matched proof inside the write transaction on c: the step (only if still newer;
 * with enable, only on an unconfirmed enrolment, which it turns on) or the recovery code (only
 * if still unused). *out_taken false when a concurrent use won. Store errors. */
int app_second_factor_proof_take(bool *out_taken, struct store_conn *c, const struct app_call *call,
                                 const char *user_id, const struct app_second_factor_match *m,
                                 bool enable);

/* USHER_EINVAL naming code unless exactly one of code and recovery_code is given. */
int app_second_factor_proof_shape(const struct app_call *call,
                                  const struct app_second_factor_proof *proof);

/* Sets the "invalid_code" error with code (USHER_EINVAL or USHER_EUNAUTH), naming the field m
 * was about, and returns code. */
int app_second_factor_code_refused(const struct app_call *call, int code,
                                   const struct app_second_factor_match *m);

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

/* The mail details of a change made now by call->actor (address, cleaned user agent). */
struct app_second_factor_mail app_second_factor_mail_now(const struct app_call *call,
                                                         enum app_second_factor_mail_kind kind);

/* Queues the email about a change of user's second factor (text and HTML) in the caller's
 * transaction on c. Store errors. */
int app_second_factor_mail_queue(struct store_conn *c, struct arena *a,
                                 const struct store_user *user,
                                 const struct app_second_factor_mail *m, struct usher_error *err);

#endif
