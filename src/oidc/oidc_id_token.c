/* ID token verification: a pure function of the token, the key set, the allow-list, the
 * expected issuer, client and nonce, and the time. libjose checks only the signature; every
 * algorithm and claim decision is made here, and each failure has its own reason code. */
#include <jose/jose.h>
#include <string.h>

#include "base/crypto.h"
#include "base/error.h"
#include "oidc/oidc.h"
#include "oidc/oidc_int.h"

#define KID_MAX  256
#define AUD_MAX  32          /* audiences read from one token */
#define TIME_MAX (1LL << 40) /* claims past this are nonsense, and cannot overflow */

struct parts {
    const char *seg[3];
    size_t len[3];
};

static int fail(struct usher_error *err, const char *problem, const char *message)
{
    return usher_error_set(err, USHER_EUNAUTH, problem, "id_token", "%s", message);
}

static bool b64url_chars(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_'))
            return false;
    }
    return true;
}

static bool parts_split(struct parts *p, const char *token)
{
    const char *s = token;
    for (int i = 0; i < 3; i++) {
        const char *dot = strchr(s, '.');
        if ((i < 2 && !dot) || (i == 2 && dot))
            return false;
        p->seg[i] = s;
        p->len[i] = i < 2 ? (size_t)(dot - s) : strlen(s);
        if (p->len[i] == 0 || !b64url_chars(p->seg[i], p->len[i]))
            return false;
        s = dot ? dot + 1 : s;
    }
    return true;
}

/* The decoded JSON object of a base64url segment, or NULL. */
static json_t *segment_object(struct arena *a, const char *seg, size_t len)
{
    size_t n = 0;
    unsigned char *raw = oidc_b64url_decode(a, seg, len, &n);
    return raw ? oidc_json_object((const char *)raw, n) : NULL;
}

static bool key_fits(const json_t *key, unsigned alg)
{
    const char *kty = json_string_value(json_object_get(key, "kty"));
    const char *kalg = json_string_value(json_object_get(key, "alg"));
    if (!kty)
        return false;
    if (kalg && oidc_alg_from_name(kalg) != alg)
        return false;
    if (alg == OIDC_ALG_ES256)
        return strcmp(kty, "EC") == 0;
    return strcmp(kty, "RSA") == 0;
}

/* libjose verifies with a copy of key whose alg is the header's (already allow-listed), so
 * neither the token nor a key without alg can steer it to another algorithm. */
static bool signature_ok(const struct parts *p, const json_t *key, const char *alg)
{
    json_t *k = json_deep_copy(key);
    json_t *jws = json_pack("{s:s%, s:s%, s:s%}", "protected", p->seg[0], p->len[0], "payload",
                            p->seg[1], p->len[1], "signature", p->seg[2], p->len[2]);
    bool ok = false;
    if (k && jws && json_object_set_new(k, "alg", json_string(alg)) == 0)
        ok = jose_jws_ver(NULL, jws, NULL, k, false);
    json_decref(jws);
    json_decref(k);
    return ok;
}

static int key_check(const struct parts *p, const json_t *jwks, const json_t *header, unsigned alg,
                     struct usher_error *err)
{
    const char *alg_name = oidc_alg_name(alg);
    const char *kid = NULL;
    if (oidc_json_string(&kid, header, "kid", KID_MAX) < 0)
        return fail(err, "id_token_malformed", "ID token header has a bad kid");
    json_t *keys = json_object_get(jwks, "keys");
    size_t i;
    json_t *k;
    if (kid) {
        json_array_foreach(keys, i, k)
        {
            const char *have = json_string_value(json_object_get(k, "kid"));
            if (!have || strcmp(have, kid) != 0)
                continue;
            if (!key_fits(k, alg))
                return fail(err, "id_token_alg_key_mismatch",
                            "ID token's alg does not fit the key its kid names");
            if (signature_ok(p, k, alg_name))
                return 0;
            return fail(err, "id_token_bad_signature", "ID token signature does not verify");
        }
        return fail(err, "id_token_unknown_kid", "ID token names a key the IdP does not publish");
    }
    /* No kid: every key of the right type is a candidate; the signature decides. */
    size_t tried = 0;
    json_array_foreach(keys, i, k)
    {
        if (!key_fits(k, alg))
            continue;
        tried++;
        if (signature_ok(p, k, alg_name))
            return 0;
    }
    if (tried == 0)
        return fail(err, "id_token_no_key", "the IdP publishes no key for the ID token's alg");
    return fail(err, "id_token_bad_signature", "ID token signature does not verify");
}

/* Reads a NumericDate claim; false when missing, not a number or out of range. */
static bool time_claim(int64_t *out, const json_t *payload, const char *key)
{
    json_t *v = json_object_get(payload, key);
    double d;
    if (json_is_integer(v))
        d = (double)json_integer_value(v);
    else if (json_is_real(v))
        d = json_real_value(v);
    else
        return false;
    if (!(d >= 0 && d < (double)TIME_MAX))
        return false;
    *out = (int64_t)d;
    return true;
}

/* Whether v is the JSON string s exactly (an embedded NUL makes it differ). */
static bool json_string_is(const json_t *v, const char *s)
{
    return json_is_string(v) && json_string_length(v) == strlen(s) &&
           memcmp(json_string_value(v), s, json_string_length(v)) == 0;
}

static int audience_check(const json_t *payload, const char *client_id, struct usher_error *err)
{
    json_t *aud = json_object_get(payload, "aud");
    size_t count = 0;
    bool found = false;
    if (json_is_string(aud)) {
        count = 1;
        found = json_string_is(aud, client_id);
    } else if (json_is_array(aud) && json_array_size(aud) <= AUD_MAX) {
        size_t i;
        json_t *v;
        json_array_foreach(aud, i, v)
        {
            if (!json_is_string(v))
                return fail(err, "id_token_wrong_audience", "ID token has a bad aud");
            found = found || json_string_is(v, client_id);
        }
        count = json_array_size(aud);
    }
    if (!found)
        return fail(err, "id_token_wrong_audience", "ID token is not meant for this client");
    const char *azp = NULL;
    int has_azp = oidc_json_string(&azp, payload, "azp", 1024);
    if (has_azp < 0 || (has_azp == 0 && count > 1))
        return fail(err, "id_token_azp_missing", "ID token with several audiences lacks azp");
    if (azp && strcmp(azp, client_id) != 0)
        return fail(err, "id_token_wrong_azp", "ID token was issued to another party (azp)");
    return 0;
}

static int times_check(struct oidc_claims *out, const json_t *payload,
                       const struct oidc_id_token_check *check, struct usher_error *err)
{
    int64_t skew = check->skew_s < 0 ? OIDC_SKEW_DEFAULT_S : check->skew_s;
    if (!time_claim(&out->exp, payload, "exp"))
        return fail(err, "id_token_bad_claim", "ID token lacks a numeric exp");
    if (!time_claim(&out->iat, payload, "iat"))
        return fail(err, "id_token_bad_claim", "ID token lacks a numeric iat");
    if (out->exp <= check->now_s - skew)
        return fail(err, "id_token_expired", "ID token has expired");
    if (out->iat > check->now_s + skew)
        return fail(err, "id_token_issued_in_future", "ID token is issued in the future");
    int64_t nbf = 0;
    if (json_object_get(payload, "nbf") &&
        (!time_claim(&nbf, payload, "nbf") || nbf > check->now_s + skew))
        return fail(err, "id_token_issued_in_future", "ID token is not valid yet (nbf)");
    return 0;
}

static int profile_read(struct oidc_claims *out, struct arena *a, const json_t *payload,
                        struct usher_error *err)
{
    static const char *const keys[] = {"email", "name", "given_name", "family_name"};
    const char **slots[] = {&out->email, &out->name, &out->given_name, &out->family_name};
    for (size_t i = 0; i < 4; i++) {
        const char *s = NULL;
        int found = oidc_json_string(&s, payload, keys[i], OIDC_CLAIM_MAX);
        if (found < 0 && !(json_is_string(json_object_get(payload, keys[i])) &&
                           json_string_length(json_object_get(payload, keys[i])) == 0))
            return usher_error_set(err, USHER_EUNAUTH, "id_token_bad_claim", keys[i],
                                   "ID token has a bad %s claim", keys[i]);
        *slots[i] = s ? arena_strdup(a, s) : NULL;
    }
    out->email_verified = json_is_true(json_object_get(payload, "email_verified"));
    return 0;
}

static int claims_check(struct oidc_claims *out, struct arena *a, const json_t *payload,
                        const struct oidc_id_token_check *check, struct usher_error *err)
{
    const char *iss = NULL;
    if (oidc_json_string(&iss, payload, "iss", OIDC_URL_MAX) != 1 || !check->issuer ||
        strcmp(iss, check->issuer) != 0)
        return fail(err, "id_token_wrong_issuer", "ID token was issued by another issuer");
    int rc = audience_check(payload, check->client_id ? check->client_id : "", err);
    if (rc)
        return rc;
    rc = times_check(out, payload, check, err);
    if (rc)
        return rc;
    json_t *nonce = json_object_get(payload, "nonce");
    if (!json_is_string(nonce))
        return fail(err, "id_token_nonce_missing", "ID token lacks the nonce");
    /* Constant time over the bytes; an embedded NUL cannot cut the comparison short. */
    if (!check->nonce || json_string_length(nonce) != strlen(check->nonce) ||
        !crypto_str_equal(json_string_value(nonce), check->nonce))
        return fail(err, "id_token_wrong_nonce", "ID token's nonce is not the one sent");
    json_t *sub = json_object_get(payload, "sub");
    if (!json_is_string(sub) || json_string_length(sub) == 0 ||
        memchr(json_string_value(sub), '\0', json_string_length(sub)))
        return fail(err, "id_token_sub_missing", "ID token lacks a subject");
    if (json_string_length(sub) > OIDC_SUB_MAX)
        return fail(err, "id_token_sub_too_long", "ID token's subject is longer than 255 bytes");
    out->sub = arena_strdup(a, json_string_value(sub));
    return profile_read(out, a, payload, err);
}

int oidc_id_token_verify(struct oidc_claims *out, struct arena *a, const char *token,
                         const json_t *jwks, const struct oidc_id_token_check *check,
                         struct usher_error *err)
{
    int rc = 0;
    json_t *header = NULL, *payload = NULL;
    struct parts p;
    memset(out, 0, sizeof(*out));
    if (!token || strnlen(token, OIDC_TOKEN_MAX + 1) > OIDC_TOKEN_MAX) {
        rc = fail(err, token ? "id_token_too_large" : "id_token_malformed",
                  token ? "ID token is larger than 16 KiB" : "no ID token");
        goto done;
    }
    if (!parts_split(&p, token) || !(header = segment_object(a, p.seg[0], p.len[0]))) {
        rc = fail(err, "id_token_malformed", "ID token is not a compact JWS");
        goto done;
    }
    const char *alg_name = NULL;
    unsigned algs = check->algs ? check->algs : OIDC_ALGS_DEFAULT;
    oidc_json_string(&alg_name, header, "alg", 16);
    unsigned alg = oidc_alg_from_name(alg_name);
    if (!(alg & algs)) {
        rc = fail(err, "id_token_alg_refused", "ID token's alg is not allowed");
        goto done;
    }
    /* Extensions usher does not understand must not be ignored (RFC 7515 4.1.11). */
    if (json_object_get(header, "crit")) {
        rc = fail(err, "id_token_malformed", "ID token header has crit");
        goto done;
    }
    rc = key_check(&p, jwks, header, alg, err);
    if (rc)
        goto done;
    payload = segment_object(a, p.seg[1], p.len[1]);
    if (!payload) {
        rc = fail(err, "id_token_malformed", "ID token payload is not a JSON object");
        goto done;
    }
    rc = claims_check(out, a, payload, check, err);
done:
    json_decref(header);
    json_decref(payload);
    if (rc)
        memset(out, 0, sizeof(*out));
    return rc;
}

const char *oidc_id_token_kid(struct arena *a, const char *token)
{
    if (!token || strnlen(token, OIDC_TOKEN_MAX + 1) > OIDC_TOKEN_MAX)
        return NULL;
    const char *dot = strchr(token, '.');
    if (!dot || !b64url_chars(token, (size_t)(dot - token)))
        return NULL;
    json_t *header = segment_object(a, token, (size_t)(dot - token));
    const char *kid = NULL;
    const char *copy = NULL;
    if (header && oidc_json_string(&kid, header, "kid", KID_MAX) == 1)
        copy = arena_strdup(a, kid);
    json_decref(header);
    return copy;
}
