/* Sign-in with an agency's own OpenID Connect provider (docs/internals/oidc.md): the agency's
 * connections to providers, the email-domain discovery of the sign-in form, the authorization
 * code flow (start and callback), the identities that tie provider accounts to usher accounts,
 * the "SSO required" policy and the provider's sign-out.
 *
 * Operations take the call context of app/app.h; results live in call->arena; errors are
 * detailed in call->err. The protocol itself (discovery, keys, ID tokens, the code exchange)
 * is src/oidc; the provider cache here keeps one oidc_provider per connection. */
#ifndef USHER_APP_OIDC_H
#define USHER_APP_OIDC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "app/account.h"
#include "app/app.h"
#include "oidc/oidc.h"
#include "store/store_oidc.h"

#define APP_OIDC_DOMAINS_MAX    20     /* domains one connection claims */
#define APP_OIDC_STATE_TTL_MS   600000 /* a sign-in under way: ten minutes */
#define APP_OIDC_STATES_MAX     100000 /* sign-ins under way at once, platform-wide */
#define APP_OIDC_RETURN_TO_MAX  512    /* bytes of a return_to path */
#define APP_OIDC_NAME_MAX       100    /* bytes of a connection's name */
#define APP_OIDC_CLIENT_ID_MAX  255    /* bytes of a client id */
#define APP_OIDC_BROWSER_CHARS  OIDC_RANDOM_CHARS
#define APP_OIDC_COOKIE_MAX_AGE 600

/* The per-connection cache of discovery documents and key sets. */
struct app_oidc_cache;

/* A new, empty cache. Free with app_oidc_cache_free (NULL is fine). */
struct app_oidc_cache *app_oidc_cache_new(void);
void app_oidc_cache_free(struct app_oidc_cache *cache);

/* ---- Connections ---- */

/* A connection as the API shows it. Strings in call->arena. */
struct app_oidc_connection_view {
    struct store_oidc_connection conn; /* client_secret_sealed is never shown */
    const char **domains;
    size_t domain_count;
    unsigned algs;            /* OIDC_ALG_* bits */
    const char *redirect_uri; /* {public_url}/api/v1/oidc/callback */
};

/* What a create or an update gives; on update NULL strings and has_* false leave a field. */
struct app_oidc_connection_input {
    const char *name;
    const char *issuer;
    const char *client_id;
    const char *client_secret;
    const char *const *domains; /* as typed; normalised (lower case) here */
    size_t domain_count;
    bool has_domains;
    const char *const *algorithms; /* names */
    size_t algorithm_count;
    bool has_algorithms;
    bool required;
    bool has_required;
};

/* Creates a connection in agency_id: the actor needs agency.manage there (owners and platform
 * admins have it). Writes "oidc_connection.created" (never the secret). Errors: USHER_EINVAL
 * naming the field ("insecure_issuer" for an issuer the URL rule refuses, "oidc_alg_refused"
 * or "oidc_alg_unknown" for algorithms); USHER_ECONFLICT "domain_claimed" (field domains);
 * USHER_ENOTFOUND (agency not visible); USHER_EFORBIDDEN. */
int app_oidc_connection_create(struct app_oidc_connection_view *out, const struct app_call *call,
                               const char *agency_id, const struct app_oidc_connection_input *in);

/* Changes the fields given, as create checks them; "oidc_connection.updated" names the fields
 * that changed (the secret only as changed, never its value). The provider cache forgets the
 * connection. Errors: as create; USHER_ENOTFOUND for another agency's or no connection. */
int app_oidc_connection_update(struct app_oidc_connection_view *out, const struct app_call *call,
                               const char *agency_id, const char *id,
                               const struct app_oidc_connection_input *in);

/* Deletes a connection ("oidc_connection.deleted"); identities made through it stay. */
int app_oidc_connection_delete(const struct app_call *call, const char *agency_id, const char *id);

/* One connection, or all of the agency's (agency.manage needed). */
int app_oidc_connection_get(struct app_oidc_connection_view *out, const struct app_call *call,
                            const char *agency_id, const char *id);
int app_oidc_connection_list(struct app_oidc_connection_view **out, size_t *out_count,
                             const struct app_call *call, const char *agency_id);

/* The agency's connections (only id and name are for showing), for a caller who was already
 * let see the agency (the invite dialog). *out is an arena array. Store errors. */
int app_oidc_connection_names(struct store_oidc_connection **out, size_t *out_count,
                              const struct app_call *call, const char *agency_id);

/* What testing a connection found. */
struct app_oidc_test {
    bool ok;
    const char **problems; /* words for people, arena strings */
    size_t problem_count;
    struct oidc_discovery discovery; /* members NULL when discovery failed */
    size_t keys;
};

/* Fetches the provider's discovery document and key set afresh (bypassing the cache) and
 * reports what is wrong in words. Errors: access as get; the provider's problems are not
 * errors, they are in out. */
int app_oidc_connection_test(struct app_oidc_test *out, const struct app_call *call,
                             const char *agency_id, const char *id);

/* ---- Sign-in ---- */

/* The connection an email's domain belongs to: *out_found false when none (a password
 * sign-in). Errors: USHER_EINVAL field email. */
int app_oidc_discover(struct store_oidc_connection *out, bool *out_found,
                      const struct app_call *call, const char *email);

/* Whether path may be a return_to: a path of the console ("/" then no "/" or "\\"), no
 * scheme, no backslash, no control character, at most APP_OIDC_RETURN_TO_MAX bytes. */
bool app_oidc_return_to_valid(const char *path);

struct app_oidc_start_in {
    const char *connection_id;
    const char *invitation_token; /* NULL when not accepting an invitation */
    const char *return_to;        /* NULL: "/" ("/account" when linking) */
    bool link;                    /* link to call->actor's account (must be signed in) */
};

struct app_oidc_start_out {
    const char *location;                     /* the provider's authorization URL */
    char browser[APP_OIDC_BROWSER_CHARS + 1]; /* the value of the browser-binding cookie */
    const char *reason;                       /* non-NULL: go to the problem page instead */
};

/* Starts a sign-in: the state, nonce and PKCE verifier, stored for ten minutes with the hash
 * of a new browser cookie value, and the provider's authorization URL. A provider that cannot
 * be reached, or an invitation that cannot be accepted through this connection, is not an
 * error: out->reason says "idp_unreachable" or "invitation_invalid". Errors: USHER_ELIMIT
 * "rate_limited" past APP_OIDC_STATES_MAX sign-ins under way; USHER_EINVAL
 * "connection_not_found" (no connection_id) or "return_to_invalid"; USHER_ENOTFOUND
 * "connection_not_found"; USHER_EUNAUTH for link without a signed-in person; USHER_EFORBIDDEN
 * for link in a "view as" session. The route sends each to the problem page. */
int app_oidc_start(struct app_oidc_start_out *out, const struct app_call *call,
                   const struct app_oidc_start_in *in);

struct app_oidc_callback_in {
    const char *code;
    const char *state;
    const char *error; /* the provider's error parameter */
    const char *browser_cookie;
};

struct app_oidc_callback_out {
    const char *reason;    /* NULL on success; else the problem page's reason */
    const char *return_to; /* on success */
    bool has_session;      /* a session was started (not for linking) */
    struct app_session_new session;
};

/* Finishes a sign-in: takes the state once (bound to the browser), exchanges the code and
 * verifies the ID token without holding the database's write lock, then in one short write
 * transaction signs in the identity's account, links a verified address of a claimed domain to
 * its account, accepts an invitation, or links the identity to the signed-in account. Every
 * refusal is out->reason, with "user.sign_in_failed" in the audit log and the precise cause in
 * the log. Errors only for a store that fails. */
int app_oidc_callback(struct app_oidc_callback_out *out, const struct app_call *call,
                      const struct app_oidc_callback_in *in);

/* ---- Accounts ---- */

/* The identities of user_id, oldest first. */
int app_oidc_identities(struct store_identity **out, size_t *out_count, const struct app_call *call,
                        const char *user_id);

/* Unlinks identity id from call->actor's account ("identity.unlinked"). Errors:
 * USHER_ENOTFOUND; USHER_ECONFLICT "last_sign_in_method" when the account has no password and
 * no other identity. */
int app_oidc_identity_unlink(const struct app_call *call, const char *id);

/* The provider's sign-out URL for the session session_hash (an "oidc" session whose provider
 * names an end_session_endpoint): with id_token_hint, post_logout_redirect_uri
 * {public_url}/signed-out and a state. *out is NULL otherwise, or when the provider cannot be
 * reached (signing out of usher never waits on it). */
int app_oidc_end_session_url(const char **out, const struct app_call *call,
                             const char *session_hash);

/* The SSO policy for the actor in agency_id, on c: USHER_EFORBIDDEN "sso_required" when the
 * agency has a required connection, the actor is a person in a session that is not a platform
 * admin, and the session did not sign in through that connection. */
int app_oidc_sso_check(struct store_conn *c, struct arena *a, const struct app_actor *actor,
                       const char *agency_id, struct usher_error *err);

/* For each of count agencies, whether app_oidc_sso_check holds the actor back there:
 * out[i] true for "sso_required". Store errors. */
int app_oidc_sso_flags(bool *out, const struct app_call *call, const char *const *agency_ids,
                       size_t count);

/* How user_id can sign in: *out_password and *out_oidc. */
int app_oidc_sign_in_methods(bool *out_password, bool *out_oidc, struct store_conn *c,
                             struct arena *a, const char *user_id, struct usher_error *err);

#endif
