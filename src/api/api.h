/* The HTTP API: one file per resource, each exporting its route table. */
#ifndef USHER_API_API_H
#define USHER_API_API_H

#include "app/app.h"
#include "app/tenancy.h"
#include "http/http.h"

extern const struct http_route_table api_health_routes;  /* /healthz, /readyz */
extern const struct http_route_table api_metrics_routes; /* /metrics */
/* GET /metrics answering 404, for the main listener when metrics are served elsewhere. */
extern const struct http_route_table api_metrics_elsewhere_routes;
extern const struct http_route_table api_sessions_routes;
extern const struct http_route_table api_password_reset_routes;
extern const struct http_route_table api_email_change_routes;
extern const struct http_route_table api_me_routes;
extern const struct http_route_table api_second_factor_routes; /* /me/totp */
extern const struct http_route_table api_agency_routes;
extern const struct http_route_table api_environment_routes;
extern const struct http_route_table api_bot_routes;
extern const struct http_route_table api_catalogue_routes;
extern const struct http_route_table api_role_routes;
extern const struct http_route_table api_invitation_routes;
extern const struct http_route_table api_invitation_bulk_routes; /* CSV of invitations */
extern const struct http_route_table api_bot_manager_routes;
extern const struct http_route_table api_impersonation_routes;
extern const struct http_route_table api_token_routes;
extern const struct http_route_table api_check_routes;
extern const struct http_route_table api_audit_routes;
extern const struct http_route_table api_member_routes;
extern const struct http_route_table api_grantable_routes;
extern const struct http_route_table api_user_routes;
extern const struct http_route_table api_oidc_routes;            /* sign-in through a provider */
extern const struct http_route_table api_oidc_connection_routes; /* an agency's providers */

/* Every table, NULL-terminated, in match order. */
extern const struct http_route_table *const api_route_tables[];

/* The main listener's tables: api_route_tables, or, when metrics have a listener of their own
 * (metrics_elsewhere), the same with GET /metrics answering 404. Static; never NULL. */
const struct http_route_table *const *api_route_tables_main(bool metrics_elsewhere);

/* The tables of that metrics listener: GET /metrics and GET /healthz. */
extern const struct http_route_table *const api_metrics_listener_tables[];

/* The actor of a request: the signed-in principal, address, user agent and request id. */
struct app_actor api_actor(struct http_request *req);

/* The call context of a request for app_* operations: req->app, the request's arena and error
 * slot, and the actor (api_actor) written into *actor_storage, which must outlive the call. */
struct app_call api_call(struct http_request *req, struct app_actor *actor_storage);

/* The query parameters of a page of a list: limit and cursor (api_page_query). */
extern const char *const api_page_params[];

/* Reads the `limit` and `cursor` query parameters into a page. */
struct app_page;
int api_page_query(struct app_page *out, struct http_request *req);

/* Reads ?dry_run=: true for "1" or "true", false when absent; any other value is
 * USHER_EINVAL naming dry_run. */
int api_dry_run_query(bool *out, struct http_request *req);

/* Answers 200 with what a dry run found: {dry_run: true, changes: [{scope_type, scope_id,
 * scope_name, gained, lost}], notification_recipients: {added, removed}}, each recipient entry
 * {user_id (when known), email, environment_id, environment_name}. */
struct app_grants_preview;
void api_preview_response(struct http_response *res, struct http_request *req,
                          const struct app_grants_preview *p);

/* Answers 200 with {items, next_cursor}; takes the items reference. */
void api_list_response(struct http_response *res, struct http_request *req, json_t *items,
                       const char *next_cursor);

/* Reads a body that is exactly {"name": "..."} (the name is validated by the rules). */
int api_name_body(const char **out, struct http_request *req);

/* {"grants_removed", "invitations_revoked", "people_affected", "memberships_ended"}: what
 * deleting an environment or a bot takes (or would take) with it. */
json_t *api_removal_json(const struct app_place_removal *r);

/* The i-th {param} of the matched pattern. */
const char *api_param(struct http_request *req, size_t i);

/* The built-in roles as the API shows them: [{name, description, built_in: true, scopes,
 * permissions}] in catalogue order. New reference. */
json_t *api_catalogue_roles_json(void);

struct store_user;

/* A user as the API shows it: {id, email, first_name, last_name, status, created_at,
 * last_active_at} with RFC 3339 times (last_active_at null when never). New reference. */
json_t *api_user_json(struct http_request *req, const struct store_user *u);

/* Sets the session cookie on res (and the device cookie, when s carries one: a password
 * sign-in) and returns {token, csrf_token, expires_at, user} for a session just started
 * (sign-in, or accepting an invitation as a new user). */
struct app_session_new;
json_t *api_session_json(struct http_request *req, struct http_response *res,
                         const struct app_session_new *s);

/* {mfa_required: true, mfa_token, expires_at}: the answer of a first step that proved the
 * password of an account with a second factor (s->mfa_required). No cookie is set. */
json_t *api_mfa_challenge_json(struct http_request *req, const struct app_session_new *s);

/* Sets Retry-After (seconds, at least 1) when rc is USHER_ELIMIT or USHER_EUNAVAIL. */
void api_retry_after(struct http_request *req, struct http_response *res, int rc,
                     int64_t retry_after);

/* Sets the Set-Cookie header that removes the session cookie (sign-out). */
void api_session_cookie_clear(struct http_request *req, struct http_response *res);

/* Reads an invitation body: refuses fields not in fields (NULL-terminated), validates the email
 * (normalised), names, shortcode, send_email, expires_in_seconds and sign_in, and leaves the
 * grants array for the rules to read against the agency. Strings live in the request's arena.
 * USHER_EINVAL naming the field, in req->err. */
struct app_invitation_new;
int api_invitation_new_parse(struct app_invitation_new *out, struct http_request *req, json_t *body,
                             const char *const *fields);

/* The JSON of an invitation for those who manage it (consumes the view's grants). */
struct app_invitation_view;
json_t *api_invitation_json(struct http_request *req, struct app_invitation_view *v);

#endif
