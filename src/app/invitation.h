/* Invitations (SPEC §4): create, list, show, copy link, resend, revoke, look up, accept as a
 * new or an existing user, decline. */
#ifndef USHER_APP_INVITATION_H
#define USHER_APP_INVITATION_H

#include "app/app.h"
#include "base/arena.h"
#include "base/crypto.h"

/* The link token of invitation id with nonce: base64url HMAC under the server secret. */
void app_invitation_token(char out[CRYPTO_TOKEN_CHARS + 1], const struct app *app, const char *id,
                          const char *nonce);

/* The keyed hash under which a token is looked up. */
void app_invitation_token_hash(char out[CRYPTO_HASH_HEX + 1], const struct app *app,
                               const char *token);

/* The accept URL "{public_url}/invitations/accept#token=..." in the arena. */
char *app_invitation_url(struct arena *a, const struct app *app, const char *id, const char *nonce);

#endif
