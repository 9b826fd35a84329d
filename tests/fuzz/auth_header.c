/* Fuzzes the credentials a request presents: the Authorization header
 * (api_auth_bearer_token), the API-token prefix, the session lookup behind a Bearer token or
 * cookie value (app_account_session_lookup against a seeded store) and the CSRF comparison.
 * Input: header value NUL CSRF token. Properties: an accepted Bearer token is a non-empty
 * b64token suffix of the header; only the seeded session tokens authenticate, and only as
 * their own user; only the session's own CSRF token is valid. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "app/account.h"
#include "api/auth.h"
#include "app/tokens.h"
#include "fuzz.h"
#include "store/store_session.h"
#include "store/store_user.h"

static void session_check(struct fuzz_world *w, const char *token)
{
    struct arena a;
    arena_init(&a);
    struct store_user user;
    struct store_session session;
    char hash[CRYPTO_HASH_HEX + 1];
    struct usher_error err = {0};
    int rc = app_account_session_lookup(&user, &session, hash, &w->app, &a, token, &err);
    if (strcmp(token, w->admin_token) == 0)
        FUZZ_CHECK(rc == 0 && strcmp(user.id, FUZZ_ID_ADMIN) == 0 && user.is_platform_admin);
    else if (strcmp(token, w->owner_token) == 0)
        FUZZ_CHECK(rc == 0 && strcmp(user.id, FUZZ_ID_OWNER) == 0);
    else if (strcmp(token, w->agent_token) == 0)
        FUZZ_CHECK(rc == 0 && strcmp(user.id, FUZZ_ID_AGENT) == 0);
    else
        FUZZ_CHECK(rc == USHER_EUNAUTH);
    arena_dispose(&a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_world *w = fuzz_world_get();
    char *f[2];
    fuzz_fields_split(f, 2, data, size);
    const char *token = api_auth_bearer_token(f[0]);
    if (token) {
        FUZZ_CHECK(strncasecmp(f[0], "Bearer ", 7) == 0);
        size_t len = strlen(token);
        FUZZ_CHECK(len >= 1 && len <= 512 && token + len == f[0] + strlen(f[0]));
        FUZZ_CHECK(strspn(token, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                 "0123456789-._~+/=") == len);
        if (!app_token_is_api_token(token))
            session_check(w, token);
    }
    /* A cookie value reaches the same lookup without the header's shape check. */
    if (!app_token_is_api_token(f[0]))
        session_check(w, f[0]);
    char hash[CRYPTO_HASH_HEX + 1];
    crypto_hmac_hex(hash, w->app.secret, sizeof(w->app.secret), w->admin_token,
                    strlen(w->admin_token));
    bool valid = app_account_csrf_valid(&w->app, hash, f[1]);
    FUZZ_CHECK(valid == (strcmp(f[1], w->admin_csrf) == 0));
    fuzz_fields_free(f, 2);
    return 0;
}
