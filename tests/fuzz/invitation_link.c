/* Fuzzes invitation tokens and links: deriving a link for any id and nonce
 * (app_invitation_url, app_invitation_token) and looking up a presented token
 * (app_invitation_lookup against a seeded store with one pending invitation). Input: id NUL
 * nonce NUL presented token. Properties: a link is the public URL, the accept path and one
 * 43-character base64url token in the fragment, equal to the derived token; only the seeded
 * invitation's token finds it; anything else is refused without a match. */
#include <stdlib.h>
#include <string.h>

#include "app/invitation.h"
#include "fuzz.h"

static const char b64url[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_world *w = fuzz_world_get();
    char *f[3];
    fuzz_fields_split(f, 3, data, size);
    struct arena a;
    arena_init(&a);

    char *url = app_invitation_url(&a, &w->app, f[0], f[1]);
    const char *frag = strstr(url, "/invitations/accept#token=");
    FUZZ_CHECK(frag != NULL && strncmp(url, w->app.public_url, strlen(w->app.public_url)) == 0);
    const char *token = frag + strlen("/invitations/accept#token=");
    FUZZ_CHECK(strlen(token) == CRYPTO_TOKEN_CHARS && strspn(token, b64url) == CRYPTO_TOKEN_CHARS);
    char derived[CRYPTO_TOKEN_CHARS + 1];
    app_invitation_token(derived, &w->app, f[0], f[1]);
    FUZZ_CHECK(strcmp(derived, token) == 0);

    struct app_invitation_view v;
    struct usher_error err = {0};
    struct app_actor anonymous = {0};
    struct app_call call = {&w->app, &a, &anonymous, &err};
    int rc = app_invitation_lookup(&v, &call, f[2]);
    if (strcmp(f[2], w->invite_token) == 0) {
        FUZZ_CHECK(rc == 0 && strcmp(v.inv.id, FUZZ_ID_INVITE) == 0);
    } else {
        FUZZ_CHECK(rc == USHER_EINVAL || rc == USHER_ENOTFOUND);
        FUZZ_CHECK(rc != USHER_EINVAL || strcmp(err.field, "token") == 0);
    }
    if (rc == 0)
        app_invitation_view_dispose(&v);
    arena_dispose(&a);
    fuzz_fields_free(f, 3);
    return 0;
}
