/* OpenID Connect records: an agency's connections to identity providers and the email domains
 * they claim, the identities (connection, issuer, subject) that belong to accounts, and the
 * states of sign-ins under way. Functions work on a checked-out connection so they can join the
 * caller's transaction; strings in results live in the arena. Errors are those listed in store.h.
 */
#ifndef USHER_STORE_STORE_OIDC_H
#define USHER_STORE_STORE_OIDC_H

#include <stdbool.h>
#include <stdint.h>

#include "store/store.h"

struct store_oidc_connection {
    const char *id; /* "oic_…" */
    const char *agency_id;
    const char *name;
    const char *issuer;
    const char *client_id;
    const char *client_secret_sealed; /* oidc_secret_seal's text, bound to id */
    const char *algorithms;           /* comma-separated names */
    bool required;
    int64_t created_at, updated_at;
};

/* Inserts conn. Errors: USHER_ECONFLICT (id taken, no such agency). */
int store_oidc_connection_insert(struct store_conn *c, struct arena *a,
                                 const struct store_oidc_connection *conn, struct usher_error *err);

/* Writes every field of conn but id, agency_id and created_at. Errors: USHER_ENOTFOUND. */
int store_oidc_connection_update(struct store_conn *c, struct arena *a,
                                 const struct store_oidc_connection *conn, struct usher_error *err);

/* Deletes connection id of agency_id (its domains and states go with it; its identities stay,
 * without connection). Errors: USHER_ENOTFOUND. */
int store_oidc_connection_delete(struct store_conn *c, struct arena *a, const char *agency_id,
                                 const char *id, struct usher_error *err);

/* Reads connection id. Errors: USHER_ENOTFOUND. */
int store_oidc_connection_get(struct store_oidc_connection *out, struct store_conn *c,
                              struct arena *a, const char *id, struct usher_error *err);

/* The connections of agency_id, oldest first (at most STORE_OIDC_CONNECTIONS_MAX). *out is an
 * arena array. */
#define STORE_OIDC_CONNECTIONS_MAX 50
int store_oidc_connection_list(struct store_oidc_connection **out, size_t *out_count,
                               struct store_conn *c, struct arena *a, const char *agency_id,
                               struct usher_error *err);

/* The id of a connection of agency_id with required = 1 other than except_id (may be NULL);
 * *out is NULL when there is none. */
int store_oidc_connection_required_other(const char **out, struct store_conn *c, struct arena *a,
                                         const char *agency_id, const char *except_id,
                                         struct usher_error *err);

/* Replaces the domains of connection_id with domains (normalised, distinct). Errors:
 * USHER_ECONFLICT when another connection claims one of them. */
int store_oidc_domains_set(struct store_conn *c, struct arena *a, const char *connection_id,
                           const char *const *domains, size_t count, struct usher_error *err);

/* The domains of connection_id, sorted. *out is an arena array of strings. */
int store_oidc_domains_list(const char ***out, size_t *out_count, struct store_conn *c,
                            struct arena *a, const char *connection_id, struct usher_error *err);

/* The connection claiming domain (normalised); *out is NULL when none does. */
int store_oidc_domain_owner(const char **out, struct store_conn *c, struct arena *a,
                            const char *domain, struct usher_error *err);

struct store_identity {
    const char *id; /* "idn_…" */
    const char *user_id;
    const char *issuer;
    const char *subject;
    const char *connection_id;   /* NULL once the connection was deleted */
    const char *connection_name; /* read by the list, NULL otherwise or when gone */
    const char *email;           /* the provider's email claim when linked, may be NULL */
    int64_t created_at;
    bool usable; /* read by the list: its connection exists and still has its issuer */
};

/* Inserts id. Errors: USHER_ECONFLICT when (connection_id, issuer, subject) belongs to an
 * account already. The same (issuer, subject) may be linked through several connections. */
int store_identity_insert(struct store_conn *c, struct arena *a, const struct store_identity *id,
                          struct usher_error *err);

/* The identity (issuer, subject) linked through connection_id: the only one a sign-in through
 * that connection may use. The caller passes the connection's current issuer, so an identity
 * recorded under an earlier issuer does not match. Errors: USHER_ENOTFOUND. */
int store_identity_by_connection(struct store_identity *out, struct store_conn *c, struct arena *a,
                                 const char *connection_id, const char *issuer, const char *subject,
                                 struct usher_error *err);

/* Whether (issuer, subject) is linked, usably, through a connection other than connection_id
 * (another agency's connection to the same provider, say). */
int store_identity_elsewhere(bool *out, struct store_conn *c, struct arena *a,
                             const char *connection_id, const char *issuer, const char *subject,
                             struct usher_error *err);

/* The identities of user_id, oldest first, with their connection's name (at most
 * STORE_IDENTITIES_MAX). *out is an arena array. */
#define STORE_IDENTITIES_MAX 50
int store_identity_list_user(struct store_identity **out, size_t *out_count, struct store_conn *c,
                             struct arena *a, const char *user_id, struct usher_error *err);

/* Deletes identity id of user_id. Errors: USHER_ENOTFOUND. */
int store_identity_delete(struct store_conn *c, struct arena *a, const char *user_id,
                          const char *id, struct usher_error *err);

/* Whether user_id holds an identity through connection_id. */
int store_identity_user_has_connection(bool *out, struct store_conn *c, struct arena *a,
                                       const char *user_id, const char *connection_id,
                                       struct usher_error *err);

/* How user_id can sign in: with a password (*out_password) and through a provider
 * (*out_identity: at least one usable identity, whose connection exists and still has the
 * identity's issuer). Both false for an unknown user. */
int store_identity_sign_in_methods(bool *out_password, bool *out_identity, struct store_conn *c,
                                   struct arena *a, const char *user_id, struct usher_error *err);

struct store_oidc_state {
    const char *state_hash;   /* keyed hash of the state parameter */
    const char *browser_hash; /* keyed hash of the browser cookie's value */
    const char *nonce;
    const char *code_verifier_sealed;
    const char *connection_id;
    const char *purpose;       /* sign_in | link | invitation */
    const char *invitation_id; /* purpose invitation */
    const char *link_user_id;  /* purpose link: who started; invitation: who was signed in */
    const char *return_to;
    int64_t created_at, expires_at, used_at; /* used_at 0 while unused */
};

/* Inserts s, after deleting the states that expired before now. Errors: USHER_ELIMIT
 * "rate_limited" when max_live states are under way already. */
int store_oidc_state_insert(struct store_conn *c, struct arena *a, const struct store_oidc_state *s,
                            int64_t now, int64_t max_live, struct usher_error *err);

/* The state with this hash. Errors: USHER_ENOTFOUND. */
int store_oidc_state_get(struct store_oidc_state *out, struct store_conn *c, struct arena *a,
                         const char *state_hash, struct usher_error *err);

/* Marks the state used at now when it is still unused and unexpired: *out_taken is true for
 * the one caller that did. */
int store_oidc_state_take(bool *out_taken, struct store_conn *c, struct arena *a,
                          const char *state_hash, int64_t now, struct usher_error *err);

#endif
