/* The second factor: a TOTP authenticator (RFC 6238: SHA-1, 6 digits, 30-second steps, one step
 * of drift either way) with ten single-use recovery codes, two-step sign-in, the agency policy
 * that requires one, and its reset by a platform admin.
 *
 * The TOTP secret (160 random bits) is sealed with XChaCha20-Poly1305 under a key derived from
 * the server secret, the account id as associated data; recovery codes and two-step tokens are
 * kept as keyed hashes under keys derived for them alone. A code is accepted once: the newest
 * accepted time step is stored and only a later one is taken, by a conditional update. Every
 * code check reserves a place in the sign-in throttle (app/throttle.h) first, so guessing codes
 * is limited exactly as guessing passwords.
 *
 * A sign-in with the right password for an account with the factor on (app_account_sign_in,
 * app_password_reset_confirm) starts no session: it answers a two-step token, valid
 * APP_MFA_TOKEN_TTL_MS for one account, that app_second_factor_sign_in turns into a session
 * with a code or a recovery code. A wrong code leaves the token usable until it has failed
 * APP_MFA_TOKEN_MAX_FAILURES times. */
#ifndef USHER_APP_SECOND_FACTOR_H
#define USHER_APP_SECOND_FACTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "app/account.h"
#include "app/app.h"
#include "base/crypto.h"

struct store_agency;
struct store_conn;

#define APP_SECOND_FACTOR_SECRET_BYTES   20 /* 160 bits, as RFC 4226 recommends */
#define APP_SECOND_FACTOR_SECRET_CHARS   32 /* base32 of 20 bytes, without padding */
#define APP_SECOND_FACTOR_STEP_SECONDS   30
#define APP_SECOND_FACTOR_WINDOW         1 /* steps of drift accepted either way */
#define APP_RECOVERY_CODE_COUNT          10
#define APP_RECOVERY_CODE_SYMBOLS        10 /* base32 symbols, 50 random bits */
#define APP_RECOVERY_CODE_CHARS          12 /* groups of 4, 4 and 2, e.g. "7kq2-m9zd-4h" */
#define APP_MFA_TOKEN_TTL_MS             (5LL * 60 * 1000)
#define APP_MFA_TOKEN_MAX_FAILURES       5
#define APP_SECOND_FACTOR_SECRET_BOX_MAX 256 /* hex of nonce, ciphertext and tag, with room */

/* --- building blocks (pure; used by the operations below and by the unit tests) --- */

/* Seals secret (len bytes) for account user_id under a key derived from server_secret: hex of
 * a random nonce then the ciphertext and tag, in out (at least
 * APP_SECOND_FACTOR_SECRET_BOX_MAX bytes). Returns 0 or USHER_EINVAL when it does not fit. */
int app_second_factor_seal(char *out, size_t out_size,
                           const unsigned char server_secret[CRYPTO_SECRET_BYTES],
                           const char *user_id, const unsigned char *secret, size_t len);

/* Opens a box made by app_second_factor_seal for user_id into out (exactly
 * APP_SECOND_FACTOR_SECRET_BYTES). Returns 0, or USHER_EINTERNAL when the box is malformed,
 * was sealed for another account or under another server secret. */
int app_second_factor_open(unsigned char out[APP_SECOND_FACTOR_SECRET_BYTES],
                           const unsigned char server_secret[CRYPTO_SECRET_BYTES],
                           const char *user_id, const char *box);

/* Checks a 6-digit code against secret at now_ms with liboath, APP_SECOND_FACTOR_WINDOW steps
 * either way. On a match, *out_step is the time step (Unix seconds / 30) the code belongs to
 * and the result is true. Anything but six ASCII digits is false. Replays are the caller's
 * business (the stored last step). */
bool app_second_factor_code_check(int64_t *out_step,
                                  const unsigned char secret[APP_SECOND_FACTOR_SECRET_BYTES],
                                  const char *code, int64_t now_ms);

/* A new recovery code, e.g. "7kq2-m9zd-4h" (lower-case Crockford base32) in out. */
void app_recovery_code_new(char out[APP_RECOVERY_CODE_CHARS + 1]);

/* The canonical symbols of a recovery code as typed: case, spaces and dashes ignored, and the
 * look-alikes i/l (1) and o (0) read as Crockford base32 does. False when it is not
 * APP_RECOVERY_CODE_SYMBOLS symbols of that alphabet. */
bool app_recovery_code_normalize(char out[APP_RECOVERY_CODE_SYMBOLS + 1], const char *typed);

/* The keyed hash of a normalised recovery code of account user_id, as hex, under a key derived
 * from server_secret for recovery codes alone. */
void app_recovery_code_hash(char out[CRYPTO_HASH_HEX + 1],
                            const unsigned char server_secret[CRYPTO_SECRET_BYTES],
                            const char *user_id, const char *normal);

/* Whether the hash of a normalised code is one of hashes (count of them), comparing every one
 * in constant time; *out_index gets the match. */
bool app_recovery_code_find(size_t *out_index, const char *hash, const char *const *hashes,
                            size_t count);

/* The otpauth:// URL of a secret (base32) for the account email, percent-encoded, in a. */
const char *app_second_factor_otpauth_url(struct arena *a, const char *email,
                                          const char *secret_base32);

/* An SVG drawing of the QR code of text (one path, a four-module quiet zone, a fixed viewBox,
 * no external references), in a. Errors: USHER_EINTERNAL when the text does not fit a QR code
 * or libqrencode fails. */
int app_second_factor_qr_svg(const char **out, struct arena *a, const char *text,
                             struct usher_error *err);

/* --- the signed-in person's own factor --- */

/* What POST /me/totp answers: shown once, never stored in the clear. */
struct app_second_factor_enrolment {
    const char *secret;      /* base32 */
    const char *otpauth_url; /* otpauth://totp/usher:<email>?secret=… */
    const char *qr_svg;      /* the QR code of otpauth_url */
};

/* What proves the factor: exactly one of code and recovery_code. */
struct app_second_factor_proof {
    const char *code;          /* six digits from the authenticator */
    const char *recovery_code; /* one of the recovery codes */
};

/* Starts (or restarts) call->actor's enrolment after proving current_password under the
 * sign-in throttle (a wrong one counts as a failed sign-in: USHER_EFORBIDDEN
 * "invalid_credentials" naming current_password, as a password change answers): a new secret,
 * sealed and stored unconfirmed, returned with its otpauth URL and QR code in call->arena.
 * Errors: USHER_ECONFLICT "second_factor_on" when the factor is already on,
 * "second_factor_needs_password" for an account without a password (it signs in only through
 * a provider, and a provider sign-in never asks for usher's code); USHER_EFORBIDDEN
 * for no person or a "view as" actor; USHER_ELIMIT "rate_limited" with *out_retry_after;
 * USHER_EUNAVAIL; store errors. */
int app_second_factor_enrol(struct app_second_factor_enrolment *out, int64_t *out_retry_after,
                            const struct app_call *call, const char *current_password,
                            const char *device_cookie);

/* Confirms call->actor's unconfirmed enrolment with a code (under the throttle): turns the
 * factor on, makes APP_RECOVERY_CODE_COUNT recovery codes (returned once in *out_codes, an
 * array in call->arena), writes "second_factor.enabled" and queues the "two-step verification
 * turned on" email, in one transaction. Errors: USHER_EINVAL "invalid_code" naming code (a
 * wrong, reused or malformed code); USHER_ECONFLICT "second_factor_on" when already on,
 * "no_enrolment" when no enrolment was started; USHER_ELIMIT; store errors. */
int app_second_factor_confirm(const char ***out_codes, int64_t *out_retry_after,
                              const struct app_call *call, const char *code,
                              const char *device_cookie);

/* Replaces call->actor's recovery codes after proving current_password and a code, under the
 * throttle: the old set stops working, the new one is returned once in *out_codes (call->arena),
 * "second_factor.recovery_codes_replaced" is written. Errors: as app_second_factor_disable
 * (a code only). */
int app_second_factor_codes_replace(const char ***out_codes, int64_t *out_retry_after,
                                    const struct app_call *call, const char *current_password,
                                    const char *code, const char *device_cookie);

/* Turns call->actor's factor off after proving current_password and the factor (a code or a
 * recovery code), under the throttle: deletes it with the recovery codes, writes
 * "second_factor.disabled" and queues the "turned off" email. Errors: as
 * app_second_factor_enrol for the password; USHER_EINVAL "invalid_code" naming code or
 * recovery_code; USHER_ECONFLICT "second_factor_off" when it is not on. */
int app_second_factor_disable(int64_t *out_retry_after, const struct app_call *call,
                              const char *current_password,
                              const struct app_second_factor_proof *proof,
                              const char *device_cookie);

/* A platform admin turns the factor of user_id off (a lost authenticator): the factor, its
 * recovery codes and pending two-step tokens deleted, "second_factor.reset" written and the
 * "reset by an administrator" email queued. Errors: USHER_EFORBIDDEN for anyone else;
 * USHER_ENOTFOUND for an unknown account; USHER_ECONFLICT "second_factor_off" when it has no
 * factor. */
int app_second_factor_reset(const struct app_call *call, const char *user_id);

/* Whether user_id's factor is on, read from the store. */
int app_second_factor_is_on(bool *out, const struct app_call *call, const char *user_id);

/* Whether user_id's factor is on, from the decision index (no SQL). */
bool app_second_factor_on_cached(struct app *app, const char *user_id);

/* Whether a session of user_id is held back until they enrol: some agency they hold a grant in
 * requires a second factor and they have none. From the decision index (no SQL). */
bool app_second_factor_required(struct app *app, const char *user_id);

/* --- two-step sign-in --- */

/* Inside the caller's write transaction on c, after the first step proved who user is: when
 * user's factor is on, stores a new two-step token for them (purging expired ones) and sets
 * out->mfa_required, out->mfa_token and out->mfa_expires_at (the session fields emptied);
 * otherwise out->mfa_required is false and nothing is written. via names the first step
 * ("password", "password_reset"). Store errors. */
int app_second_factor_challenge(struct app_session_new *out, struct app *app, struct store_conn *c,
                                struct arena *a, const struct store_user *user, const char *via,
                                struct usher_error *err);

/* The second step: a two-step token and a code or recovery code. Reserves a place in the
 * sign-in throttle (account, address, device); a wrong code counts as a failed sign-in, adds a
 * failure to the token and writes "session.failed" (reason "wrong_code"). A right one uses the
 * token and the code (or recovery code) once and starts a session in *out (audited with the
 * second factor used) with a new device cookie. Errors: USHER_EUNAUTH "mfa_token_invalid"
 * (unknown, used, expired, failed too often, or its account no longer active),
 * "invalid_code" naming code or recovery_code; USHER_EINVAL for a body with both or neither;
 * USHER_ELIMIT "rate_limited" with *out_retry_after; USHER_EUNAVAIL. */
int app_second_factor_sign_in(struct app_session_new *out, int64_t *out_retry_after,
                              const struct app_call *call, const char *mfa_token,
                              const struct app_second_factor_proof *proof,
                              const char *device_cookie);

/* --- agency policy --- */

/* Sets whether agency_id requires its members to have a second factor (owner or agency.manage
 * at agency scope, or a platform admin), with an "agency.updated" audit row; the decision index
 * follows at once here and through the change feed elsewhere. *out receives the agency. This is
 * app_agency_update (app/tenancy.h) with only this change. Errors: USHER_ENOTFOUND outside the
 * agency; USHER_EFORBIDDEN without agency.manage. */
int app_agency_second_factor_set(struct store_agency *out, const struct app_call *call,
                                 const char *agency_id, bool required);

#endif
