/* Invitation links: the token is derived from the server secret, the invitation id and the
 * current nonce, so the database alone yields no working link, copy link can show the current
 * link again, and resend (a new nonce) retires every older one. */
#include <sodium.h>
#include <string.h>

#include "app/app_mail.h"
#include "app/email_change.h"
#include "app/invitation.h"
#include "app/password_reset.h"
#include "base/clock.h"
#include "store/store_invitation.h"

void app_invitation_token(char out[CRYPTO_TOKEN_CHARS + 1], const struct app *app, const char *id,
                          const char *nonce)
{
    crypto_link_token(out, app->secret, sizeof(app->secret), "invitation", id, nonce);
}

void app_invitation_token_hash(char out[CRYPTO_HASH_HEX + 1], const struct app *app,
                               const char *token)
{
    crypto_hmac_hex(out, app->secret, sizeof(app->secret), token, strlen(token));
}

char *app_invitation_url(struct arena *a, const struct app *app, const char *id, const char *nonce)
{
    char token[CRYPTO_TOKEN_CHARS + 1];
    app_invitation_token(token, app, id, nonce);
    char *url = arena_printf(a, "%s/invitations/accept#token=%s", app->public_url, token);
    sodium_memzero(token, sizeof(token));
    return url;
}

int app_mail_link_resolve(void *ctx, struct arena *a, const char *kind, const char *ref,
                          int64_t generation, const char **out_url, struct usher_error *err)
{
    struct app *app = ctx;
    if (strcmp(kind, "password_reset") == 0)
        return app_password_reset_link(out_url, app, a, ref, err);
    if (strcmp(kind, "email_change") == 0)
        return app_email_change_link(out_url, app, a, ref, err);
    if (strcmp(kind, "invitation") != 0)
        return USHER_ENOTFOUND;
    struct store_conn *c = NULL;
    int rc = store_conn_get(app->store, &c, err);
    if (rc)
        return rc;
    struct store_invitation inv;
    rc = store_invitation_get(&inv, c, a, ref, err);
    store_conn_put(c);
    if (rc)
        return rc;
    /* A resent, decided or expired invitation's older email is not sent. */
    if (strcmp(inv.status, "pending") != 0 || inv.generation != generation ||
        inv.expires_at <= clock_now_ms())
        return USHER_ENOTFOUND;
    *out_url = app_invitation_url(a, app, inv.id, inv.token_nonce);
    return 0;
}
