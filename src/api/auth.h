/* Request authentication: turns the Authorization header or the session cookie into the
 * request's principal, and enforces the CSRF token on cookie-authenticated writes. */
#ifndef USHER_API_AUTH_H
#define USHER_API_AUTH_H

struct http_request;

#define API_AUTH_CSRF_HEADER "X-CSRF-Token"

/* The server's http_authenticator. Reads `Authorization: Bearer <token>` first, then the
 * session cookie (req->app->cookie_name), and fills req->principal for an active session of
 * an active user. A Bearer token starting "usk_" is an API token: a working one makes a
 * service principal (is_service, token_id, token_agency_id; no user). An unknown, expired or
 * disabled session, or an unknown or revoked API token, leaves the request anonymous (a
 * route needing a caller then answers 401). Errors, with req->err set: USHER_EUNAUTH for an
 * Authorization header that is not a well-formed Bearer token (401); USHER_EFORBIDDEN
 * "csrf_failed" when a cookie-authenticated POST, PUT, PATCH or DELETE lacks the session's
 * X-CSRF-Token (403); USHER_EUNAVAIL / USHER_EINTERNAL when the store fails (never
 * anonymous by accident). */
int api_auth_authenticate(struct http_request *req);

/* The token of a well-formed "Bearer <token>" header value (scheme in any case, then spaces,
 * then 1..512 characters of RFC 6750's b64token), pointing into header; NULL otherwise. */
const char *api_auth_bearer_token(const char *header);

#endif
