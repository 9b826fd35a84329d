/* The request authenticator is api_auth_authenticate in api/auth.h: it reads HTTP headers and
 * cookies, so it lives with the other HTTP-facing code. This header only keeps the former name
 * for callers that still include it (src/cli/cmd_serve.c); delete it once they include
 * api/auth.h. */
#ifndef USHER_APP_AUTH_H
#define USHER_APP_AUTH_H

#include "api/auth.h"

/* Former name of api_auth_authenticate. */
static inline int app_auth_authenticate(struct http_request *req)
{
    return api_auth_authenticate(req);
}

#endif
