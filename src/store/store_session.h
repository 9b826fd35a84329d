/* Session records, keyed by the keyed hash of the session token (the token itself is never
 * stored). Functions work on a checked-out connection; strings in results live in the arena.
 * Errors are those listed in store.h. */
#ifndef USHER_STORE_STORE_SESSION_H
#define USHER_STORE_STORE_SESSION_H

#include <stdint.h>

#include "store/store.h"

struct store_session {
    const char *token_hash; /* crypto_hmac_hex of the token under the server secret */
    const char *user_id;
    int64_t created_at;
    int64_t last_seen_at;
    int64_t expires_at;                  /* absolute end: created_at + the absolute timeout */
    const char *impersonator_id;         /* set on a "view as" session, else NULL */
    const char *impersonation_agency_id; /* the one agency such a session sees */
    const char *impersonation_reason;    /* NULL when none was given */
    const char *public_id;       /* "ses_…": shown to the owner, names the session to end it */
    const char *source_ip;       /* the address it was started from, NULL when unknown */
    const char *user_agent;      /* the User-Agent it was started with (bounded), NULL when none */
    const char *method;          /* "password" (NULL is taken as it) or "oidc" */
    const char *connection_id;   /* the connection an "oidc" session signed in through */
    const char *id_token_sealed; /* its ID token, sealed, for the provider's sign-out */
};

/* Inserts s. Errors: USHER_ECONFLICT (hash taken, or no such user). */
int store_session_insert(struct store_conn *c, struct arena *a, const struct store_session *s,
                         struct usher_error *err);

/* Reads the session with this token hash. Errors: USHER_ENOTFOUND. */
int store_session_get(struct store_session *out, struct store_conn *c, struct arena *a,
                      const char *token_hash, struct usher_error *err);

/* Reads the session with this public id. Errors: USHER_ENOTFOUND. */
int store_session_get_public(struct store_session *out, struct store_conn *c, struct arena *a,
                             const char *public_id, struct usher_error *err);

/* The live sessions of user_id (not ended by now: before their absolute end and used within
 * idle_ms), newest first, "view as" sessions left out. *out is an arena array (NULL when
 * none). */
int store_session_list_user(struct store_session **out, size_t *out_count, struct store_conn *c,
                            struct arena *a, const char *user_id, int64_t now, int64_t idle_ms,
                            struct usher_error *err);

/* Deletes every session of user_id, and every "view as" session they started, except the one
 * whose token hash is keep_hash; *out_deleted (may be NULL) receives how many. */
int store_session_delete_others(int64_t *out_deleted, struct store_conn *c, struct arena *a,
                                const char *user_id, const char *keep_hash,
                                struct usher_error *err);

/* Sets last_seen_at to at. A missing session is not an error. */
int store_session_touch(struct store_conn *c, struct arena *a, const char *token_hash, int64_t at,
                        struct usher_error *err);

/* Deletes one session; *out_deleted (may be NULL) receives 1 or 0. */
int store_session_delete(int64_t *out_deleted, struct store_conn *c, struct arena *a,
                         const char *token_hash, struct usher_error *err);

/* Deletes every impersonation session started by impersonator_id. */
int store_session_delete_impersonations(int64_t *out_deleted, struct store_conn *c, struct arena *a,
                                        const char *impersonator_id, struct usher_error *err);

/* Deletes every session of a user; *out_deleted (may be NULL) receives how many. */
int store_session_delete_user(int64_t *out_deleted, struct store_conn *c, struct arena *a,
                              const char *user_id, struct usher_error *err);

/* Deletes the sessions that ended by now: absolute expiry reached, or unused since
 * now - idle_ms. user_id limits the purge to one user, or NULL for all. *out_deleted (may be
 * NULL) receives how many. */
int store_session_purge(int64_t *out_deleted, struct store_conn *c, struct arena *a,
                        const char *user_id, int64_t now, int64_t idle_ms, struct usher_error *err);

#endif
