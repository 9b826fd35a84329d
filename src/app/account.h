/* Accounts and sessions: creating users, signing in and out, resolving a presented session
 * token, CSRF tokens, and the platform admin created at first start.
 *
 * A session token is 256 random bits shown once to the client; the database holds only its
 * keyed hash (crypto_hmac_hex under the server secret). A session ends after
 * cfg->session_idle_seconds without use or cfg->session_absolute_seconds after sign-in,
 * whichever comes first, and at sign-out. Every sign-in makes a new token.
 *
 * The operations a caller makes (create, sign in and out, profile) take the call context of
 * app/app.h: call->actor is who acts (its address keys the sign-in throttle) and results live
 * in call->arena. Resolving a presented token comes before there is an actor, and what runs
 * inside a caller's transaction takes its connection: those keep their own arguments. */
#ifndef USHER_APP_ACCOUNT_H
#define USHER_APP_ACCOUNT_H

#include <stdbool.h>
#include <stdint.h>

#include "app/app.h"
#include "app/device.h"
#include "base/crypto.h"
#include "store/store_user.h"

struct usher_error;
struct store_conn;

/* A new session, as returned once to the client. */
struct app_session_new {
    char token[CRYPTO_TOKEN_CHARS + 1];              /* the secret; never logged or stored */
    char token_hash[CRYPTO_HASH_HEX + 1];            /* what the sessions table holds */
    char csrf_token[CRYPTO_HASH_HEX + 1];            /* required on cookie-authenticated writes */
    int64_t expires_at;                              /* absolute end, Unix ms */
    struct store_user user;                          /* the signed-in user (arena strings) */
    char device_cookie[APP_DEVICE_COOKIE_CHARS + 1]; /* set by a password sign-in, else "" */
    /* A first step that proved the password of an account with a second factor starts no
     * session: mfa_required is true and only the two-step token below is set (the fields
     * above are not). See app/second_factor.h. */
    bool mfa_required;
    char mfa_token[CRYPTO_TOKEN_CHARS + 1]; /* the secret; never logged or stored */
    int64_t mfa_expires_at;                 /* Unix ms */
};

/* What a new account is made of. */
struct app_account_new {
    const char *email;      /* as typed; validated and normalised here */
    const char *password;   /* checked for length and strength, then hashed */
    const char *first_name; /* may be NULL or "" */
    const char *last_name;  /* may be NULL or "" */
    bool is_platform_admin;
    const char *via; /* how it was made, for the audit row: "cli", "bootstrap", ... */
};

/* Creates a user with a password in its own transaction, with a "user.created" audit row
 * (agency NULL). *out (may be NULL) receives the row, strings in call->arena. Errors: USHER_EINVAL
 * naming email, password, first_name or last_name ("weak_password" for a password easy to
 * guess, judged with the email and names); USHER_ECONFLICT "account_exists" when the
 * email already has an account; USHER_EUNAVAIL (hashing pool saturated, database busy). */
int app_account_create(struct store_user *out, const struct app_call *call,
                       const struct app_account_new *in);

/* Inserts a user inside the caller's transaction on c, with its "user.created" audit row.
 * email must be normalised and password_hash made by app_password_hash (or NULL). Fills
 * *out. Errors: USHER_ECONFLICT "account_exists". */
int app_account_insert(struct store_user *out, struct store_conn *c, struct arena *a,
                       const struct app_actor *actor, const char *email, const char *first_name,
                       const char *last_name, const char *password_hash, bool is_platform_admin,
                       const char *via, struct usher_error *err);

/* What a sign-in presents. Strings are borrowed. */
struct app_sign_in {
    const char *email;         /* as typed */
    const char *password;      /* as typed */
    const char *device_cookie; /* the device cookie the client sent (app/device.h), or NULL */
};

/* Signs in: validates in->email (field "email") and in->password (field "password"), reserves
 * a place in the sign-in throttle before any hashing (a valid device cookie for this account
 * is judged by that device's failures; anyone else by the account's, the address's and the
 * pair's), verifies the password (against a dummy hash when the email is unknown, so the
 * answer and its time do not tell whether the account exists), re-hashes a password stored
 * with older parameters, and on success starts a session and fills out->device_cookie with a
 * new device cookie. When the account has a second factor on, no session starts: out carries
 * a two-step token instead (out->mfa_required), the throttle reservation ends without
 * forgiving earlier failures, and app_second_factor_sign_in finishes the sign-in. Failures write a
 * "session.failed" audit row. Errors: USHER_EINVAL; USHER_EUNAUTH "invalid_credentials" (unknown
 * email, wrong password, disabled account, no password: all alike); USHER_ELIMIT "rate_limited"
 * with *out_retry_after in seconds; USHER_EUNAVAIL. out_retry_after may be NULL. */
int app_account_sign_in(struct app_session_new *out, int64_t *out_retry_after,
                        const struct app_call *call, const struct app_sign_in *in);

/* Starts a session for user inside the caller's transaction on c: a fresh token, its row and
 * a "session.created" audit row; the user's last_active_at is set. Used by sign-in and by
 * flows that sign a user in (accepting an invitation). */
int app_account_session_start(struct app_session_new *out, struct app *app, struct store_conn *c,
                              struct arena *a, const struct app_actor *actor,
                              const struct store_user *user, struct usher_error *err);

/* As app_account_session_start, for a sign-in that also proved a second factor: the audit row
 * names it (second_factor "totp" or "recovery_code"; NULL for none). */
int app_account_session_start_with(struct app_session_new *out, struct app *app,
                                   struct store_conn *c, struct arena *a,
                                   const struct app_actor *actor, const struct store_user *user,
                                   const char *second_factor, struct usher_error *err);

/* As app_account_session_start, for a sign-in through an OpenID Connect connection: the
 * session's method is "oidc", it names the connection, and keeps the ID token sealed
 * (id_token_sealed, for the provider's sign-out; may be NULL). The audit row names the
 * connection and the issuer, never a token. */
int app_account_session_start_oidc(struct app_session_new *out, struct app *app,
                                   struct store_conn *c, struct arena *a,
                                   const struct app_actor *actor, const struct store_user *user,
                                   const char *connection_id, const char *issuer,
                                   const char *id_token_sealed, struct usher_error *err);

/* Ends the session whose token hash is session_hash, with a "session.ended" audit row.
 * Ending a session that is already gone is not an error. */
int app_account_sign_out(const struct app_call *call, const char *session_hash);

/* Resolves a presented session token to its active user. On success fills *out_user and
 * out_hash and refreshes last-seen times (at most once a minute). Errors: USHER_EUNAUTH when
 * the token is unknown, expired, or its user is disabled or gone (an expired session's row is
 * deleted); USHER_EUNAVAIL / USHER_EINTERNAL when the store fails. */
int app_account_session_resolve(struct store_user *out_user, char out_hash[CRYPTO_HASH_HEX + 1],
                                struct app *app, struct arena *a, const char *token,
                                struct usher_error *err);

/* As app_account_session_resolve, and fills *out_session (impersonation fields included). */
struct store_session;
int app_account_session_lookup(struct store_user *out_user, struct store_session *out_session,
                               char out_hash[CRYPTO_HASH_HEX + 1], struct app *app, struct arena *a,
                               const char *token, struct usher_error *err);

/* Deletes every session that has ended (idle or absolute); *out_deleted may be NULL. */
int app_account_sessions_purge(int64_t *out_deleted, struct app *app, struct usher_error *err);

/* The CSRF token of a session: HMAC(secret, "csrf:" + session_hash) as hex. */
void app_account_csrf_token(char out[CRYPTO_HASH_HEX + 1], const struct app *app,
                            const char *session_hash);

/* Compares a presented CSRF token with the session's, in constant time. NULL is false. */
bool app_account_csrf_valid(const struct app *app, const char *session_hash, const char *presented);

/* The user user_id and their agencies with grants, for GET /me, in call->arena. Errors:
 * USHER_ENOTFOUND. */
int app_account_profile(struct store_user *out_user, struct store_user_membership **out_members,
                        size_t *out_count, const struct app_call *call, const char *user_id);

/* Names a person gives themselves: NULL leaves one as it is, "" clears it. */
struct app_account_names {
    const char *first_name;
    const char *last_name;
};

/* The signed-in person (call->actor, never while viewing as someone) sets their own names,
 * checked as everywhere (text_name_optional_check), with a "user.updated" audit row holding the
 * names that changed; nothing is written when nothing changes. *out (may be NULL) receives the
 * user, strings in call->arena. Errors: USHER_EINVAL naming first_name or last_name;
 * USHER_EFORBIDDEN for no person or a "view as" actor; USHER_ENOTFOUND; store errors. */
int app_account_names_set(struct store_user *out, const struct app_call *call,
                          const struct app_account_names *in);

/* A password change by the signed-in person. Strings are borrowed. */
struct app_password_change {
    const char *current_password;
    const char *new_password;
    const char *session_hash;  /* the session making the change: the one that stays */
    const char *device_cookie; /* the device cookie the client sent, or NULL */
};

/* Changes call->actor's password: checks both (fields current_password, new_password) and the
 * new one's strength (judged with the email and names), reserves a place in the sign-in
 * throttle before any hashing, verifies the current password (a wrong one counts as a failed
 * sign-in and writes "user.password_change_failed"), then in one transaction stores the new
 * hash, ends every other session of the account (and any "view as" session they started),
 * voids a pending change of email address,
 * writes "user.password_changed" and queues the "your password was changed" email. Errors:
 * USHER_EINVAL ("weak_password" for a guessable new password); USHER_EFORBIDDEN
 * "invalid_credentials" for a wrong current password, or for no person / a "view as" actor /
 * no session; USHER_ELIMIT "rate_limited" with *out_retry_after in seconds; USHER_EUNAVAIL.
 * out_retry_after may be NULL. */
int app_account_password_change(int64_t *out_retry_after, const struct app_call *call,
                                const struct app_password_change *in);

/* The live sessions of call->actor, newest first, without "view as" sessions. *out is an
 * array in call->arena (NULL when none). Store errors. */
struct store_session;
int app_account_sessions_list(struct store_session **out, size_t *out_count,
                              const struct app_call *call);

/* Ends call->actor's live session with this public id, with a "session.ended" audit row;
 * *out_was_current tells whether it was the one whose token hash is current_session_hash (may
 * be NULL). Errors: USHER_ENOTFOUND for an unknown id, another person's session, a "view as"
 * session or one already ended; store errors. */
int app_account_session_end(bool *out_was_current, const struct app_call *call,
                            const char *public_id, const char *current_session_hash);

/* At start: when no platform admin exists and cfg->admin_email and cfg->admin_password are
 * set, creates that admin. An existing user with that email is never promoted: the start
 * goes on and an error is logged. Errors: USHER_EINVAL when the configured email or password
 * is unusable ("weak_password" when the password is easy to guess; never checked once an admin
 * exists); store errors. */
int app_account_bootstrap(struct app *app, struct usher_error *err);

#endif
