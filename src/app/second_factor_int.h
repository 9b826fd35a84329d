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

/* app_second_factor_self_check, then app_second_factor_state_load for call->actor, then
 * USHER_ECONFLICT "second_factor_on" or "second_factor_off" unless the factor is on exactly when
 * want_on. */
int app_second_factor_state_expect(struct store_user *out_user, struct store_second_factor *out_sf,
                                   bool *out_has, const struct app_call *call, bool want_on);

/* What a checked proof will take when the write commits. */
struct app_second_factor_match {
    bool is_recovery;
    int64_t step;                   /* a code's time step */
    char hash[CRYPTO_HASH_HEX + 1]; /* a recovery code's hash */
};

/* Takes the matched proof inside the write transaction on c: the step (only if still newer;
 * with enable, only on an unconfirmed enrolment, which it turns on) or the recovery code (only
 * if still unused). *out_taken false when a concurrent use won. Store errors. */
int app_second_factor_proof_take(bool *out_taken, struct store_conn *c, const struct app_call *call,
                                 const char *user_id, const struct app_second_factor_match *m,
                                 bool enable);

/* The change a proof of the second factor allows. It runs once the proof checked, takes the
 * proof (app_second_factor_proof_take) in its own write transaction together with the change,
 * and leaves *out_taken false, with nothing changed, when a concurrent use of the same proof won.
 * m is NULL when the account has no factor to prove. Returns 0 or an error set in call->err
 * (which ends the attempt neither as a success nor as a failure). */
typedef int app_second_factor_write_fn(bool *out_taken, const struct app_call *call,
                                       const struct app_second_factor_match *m, void *ctx);

/* Counts and records a wrong proof in place of the default audit row (the sign-in's second step,
 * which also spends a try of its token). Must end ticket with app_throttle_failure. */
typedef void app_second_factor_failed_fn(const struct app_call *call,
                                         struct app_throttle_ticket *ticket, void *ctx);

/* One action guarded by possession of the second factor (and the current password). Strings and
 * rows are borrowed. */
struct app_second_factor_guard {
    const struct store_user *user;               /* whose factor; its address keys the throttle */
    const struct store_second_factor *sf;        /* NULL: no factor to prove, password only */
    const struct app_second_factor_proof *proof; /* checked against sf */
    const char *password;      /* proved first when not NULL (the current password) */
    const char *failed_action; /* audit action of a wrong password or proof */
    int refusal;               /* the code of a wrong proof: USHER_EINVAL or USHER_EUNAUTH */
    const char *device_cookie; /* the sign-in throttle's device cookie, may be NULL */
    app_second_factor_write_fn *write;
    app_second_factor_failed_fn *failed; /* NULL: a failed_action row with reason wrong_code */
    void *ctx;                           /* handed to write and failed */
};

/* The one way usher accepts a proof of possession: reserves a place in the sign-in throttle
 * (before any hashing), verifies the password when g->password is set, checks the proof against
 * g->sf when set, then runs g->write. A wrong password answers USHER_EFORBIDDEN
 * "invalid_credentials"; a wrong, replayed or concurrently used proof answers g->refusal
 * "invalid_code"; both count as failed sign-ins and are audited as g->failed_action (or through
 * g->failed). *out_retry_after (may be NULL) is set with USHER_ELIMIT when the throttle refuses.
 * Other errors: as app_password_verify, app_second_factor_proof_check and g->write. */
int app_second_factor_guard_run(int64_t *out_retry_after, const struct app_call *call,
                                const struct app_second_factor_guard *g);

/* USHER_EINVAL naming code unless exactly one of code and recovery_code is given. */
int app_second_factor_proof_shape(const struct app_call *call,
                                  const struct app_second_factor_proof *proof);

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
