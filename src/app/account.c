/* Accounts and sessions: user creation, password sign-in with throttling and a constant-cost
 * answer, session tokens stored as keyed hashes with idle and absolute timeouts, CSRF tokens
 * derived from the session, and the first platform admin. */
#include "app/account.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "app/account_int.h"
#include "app/audit.h"
#include "app/device.h"
#include "app/password.h"
#include "app/password_strength.h"
#include "app/second_factor.h"
#include "app/throttle.h"
#include "base/clock.h"
#include "base/error.h"
#include "base/log.h"
#include "base/text.h"
#include "config/config.h"
#include "store/store_session.h"

#define SESSION_TOUCH_MS            60000 /* last_seen_at is written at most this often */
#define SESSION_TOKEN_MAX           512   /* longer presented tokens are refused unread */
#define INVALID_CREDENTIALS         "invalid_credentials"
#define INVALID_CREDENTIALS_MESSAGE "the email address or the password is not correct"

#define SESSION_USER_AGENT_MAX 256 /* bytes of the User-Agent kept with a session */

int64_t app_account_idle_ms(const struct app *app)
{
    return app->cfg->session_idle_seconds * 1000;
}

static int64_t session_idle_ms(const struct app *app)
{
    return app_account_idle_ms(app);
}

const char *app_account_user_agent_clean(struct arena *a, const char *ua)
{
    if (!ua || !*ua)
        return NULL;
    size_t len = strnlen(ua, SESSION_USER_AGENT_MAX);
    char *out = arena_alloc(a, len + 1);
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)ua[i];
        out[i] = ch >= 0x20 && ch < 0x7f ? (char)ch : '?';
    }
    out[len] = '\0';
    return out;
}

/* Writes are spread out for long idle timeouts; a short one (tests) is tracked closely so a
 * session in use never looks idle. */
static int64_t session_touch_ms(const struct app *app)
{
    int64_t quarter = session_idle_ms(app) / 4;
    return quarter < SESSION_TOUCH_MS ? quarter : SESSION_TOUCH_MS;
}

int app_account_insert(struct store_user *out, struct store_conn *c, struct arena *a,
                       const struct app_actor *actor, const char *email, const char *first_name,
                       const char *last_name, const char *password_hash, bool is_platform_admin,
                       const char *via, struct usher_error *err)
{
    struct store_user u = {
        .id = crypto_id_new(a, "usr"),
        .email = email,
        .first_name = first_name ? first_name : "",
        .last_name = last_name ? last_name : "",
        .password_hash = password_hash,
        .status = STORE_USER_ACTIVE,
        .is_platform_admin = is_platform_admin,
        .created_at = clock_now_ms(),
    };
    struct store_user existing;
    struct usher_error lookup = {0};
    int rc = store_user_by_email(&existing, c, a, email, &lookup);
    if (rc == 0)
        return usher_error_set(err, USHER_ECONFLICT, "account_exists", "email",
                               "an account with this email address already exists");
    if (rc != USHER_ENOTFOUND)
        return usher_error_set(err, rc, NULL, NULL, "%s", lookup.message);
    struct usher_error insert = {0};
    rc = store_user_insert(c, a, &u, &insert);
    if (rc == USHER_ECONFLICT)
        return usher_error_set(err, USHER_ECONFLICT, "account_exists", "email",
                               "an account with this email address already exists");
    if (rc)
        return usher_error_set(err, rc, NULL, NULL, "%s", insert.message);
    struct app_audit_event ev = {
        .action = "user.created",
        .subject_user_id = u.id,
        .details = json_pack("{s:s, s:b, s:s}", "email", email, "is_platform_admin",
                             is_platform_admin, "via", via ? via : "api"),
    };
    rc = app_audit_record(c, a, actor, &ev, err);
    if (rc)
        return rc;
    if (out)
        *out = u;
    return 0;
}

int app_account_create(struct store_user *out, const struct app_call *call,
                       const struct app_account_new *in)
{
    const char *email = NULL, *first = NULL, *last = NULL;
    struct store_conn *c = NULL;
    char hash[APP_PASSWORD_HASH_MAX];
    int rc =
        text_email_normalize(&email, call->arena, in->email ? in->email : "", "email", call->err);
    if (rc)
        goto done;
    rc = app_password_check(in->password, "password", call->err);
    if (rc)
        goto done;
    rc = text_name_optional_check(&first, call->arena, in->first_name, "first_name", call->err);
    if (rc)
        goto done;
    rc = text_name_optional_check(&last, call->arena, in->last_name, "last_name", call->err);
    if (rc)
        goto done;
    struct app_password_inputs known = {email, first, last};
    rc = app_password_strength_check(in->password, "password", &known, call->err);
    if (rc)
        goto done;
    rc = app_password_hash(call->app->hash_pool, hash, in->password, call->err);
    if (rc)
        goto done;
    rc = app_call_begin(&c, call, true);
    if (rc)
        goto done;
    rc = app_account_insert(out, c, call->arena, call->actor, email, first, last,
                            arena_strdup(call->arena, hash), in->is_platform_admin, in->via,
                            call->err);
    if (rc)
        goto done;
    rc = store_commit(c, call->err);
done:
    store_conn_put(c);
    return rc;
}

void app_account_csrf_token(char out[CRYPTO_HASH_HEX + 1], const struct app *app,
                            const char *session_hash)
{
    char input[8 + CRYPTO_HASH_HEX + 1];
    int len = snprintf(input, sizeof(input), "csrf:%s", session_hash);
    crypto_hmac_hex(out, app->secret, sizeof(app->secret), input, (size_t)len);
}

bool app_account_csrf_valid(const struct app *app, const char *session_hash, const char *presented)
{
    if (!session_hash || !presented)
        return false;
    char expected[CRYPTO_HASH_HEX + 1];
    app_account_csrf_token(expected, app, session_hash);
    return crypto_str_equal(expected, presented);
}

int app_account_session_start(struct app_session_new *out, struct app *app, struct store_conn *c,
                              struct arena *a, const struct app_actor *actor,
                              const struct store_user *user, struct usher_error *err)
{
    return app_account_session_start_with(out, app, c, a, actor, user, NULL, err);
}

/* How a session is made: the method, and for "oidc" the connection and the sealed ID token. */
struct session_how {
    const char *method;
    const char *second_factor;
    const char *connection_id;
    const char *issuer;
    const char *id_token_sealed;
};

/* The audit details of a new session: the method, and what of the rest applies. */
static json_t *session_details(const struct session_how *how)
{
    json_t *d = json_pack("{s:s}", "method", how->method);
    if (how->second_factor)
        json_object_set_new(d, "second_factor", json_string(how->second_factor));
    if (how->connection_id)
        json_object_set_new(d, "connection_id", json_string(how->connection_id));
    if (how->issuer)
        json_object_set_new(d, "issuer", json_string(how->issuer));
    return d;
}

static int session_start(struct app_session_new *out, struct app *app, struct store_conn *c,
                         struct arena *a, const struct app_actor *actor,
                         const struct store_user *user, const struct session_how *how,
                         struct usher_error *err)
{
    int64_t now = clock_now_ms();
    crypto_token_new(out->token);
    crypto_hmac_hex(out->token_hash, app->secret, sizeof(app->secret), out->token,
                    strlen(out->token));
    app_account_csrf_token(out->csrf_token, app, out->token_hash);
    out->expires_at = now + app->cfg->session_absolute_seconds * 1000;
    out->user = *user;
    out->user.last_active_at = now;
    out->device_cookie[0] = '\0';
    out->mfa_required = false;
    out->mfa_token[0] = '\0';
    out->mfa_expires_at = 0;
    struct store_session s = {
        .token_hash = out->token_hash,
        .user_id = user->id,
        .created_at = now,
        .last_seen_at = now,
        .expires_at = out->expires_at,
        .public_id = crypto_id_new(a, "ses"),
        .source_ip = actor ? actor->source_ip : NULL,
        .user_agent = app_account_user_agent_clean(a, actor ? actor->user_agent : NULL),
        .method = how->method,
        .connection_id = how->connection_id,
        .id_token_sealed = how->id_token_sealed,
    };
    int rc = store_session_insert(c, a, &s, err);
    if (rc)
        return rc;
    rc = store_user_touch(c, a, user->id, now, err);
    if (rc)
        return rc;
    /* Ended sessions of this user go now, so a user's rows stay few without a sweeper. */
    rc = store_session_purge(NULL, c, a, user->id, now, session_idle_ms(app), err);
    if (rc)
        return rc;
    struct app_actor who = actor ? *actor : (struct app_actor){0};
    who.user_id = user->id;
    struct app_audit_event ev = {
        .action = "session.created",
        .subject_user_id = user->id,
        .details = session_details(how),
    };
    return app_audit_record(c, a, &who, &ev, err);
}

int app_account_session_start_with(struct app_session_new *out, struct app *app,
                                   struct store_conn *c, struct arena *a,
                                   const struct app_actor *actor, const struct store_user *user,
                                   const char *second_factor, struct usher_error *err)
{
    struct session_how how = {.method = "password", .second_factor = second_factor};
    return session_start(out, app, c, a, actor, user, &how, err);
}

int app_account_session_start_oidc(struct app_session_new *out, struct app *app,
                                   struct store_conn *c, struct arena *a,
                                   const struct app_actor *actor, const struct store_user *user,
                                   const char *connection_id, const char *issuer,
                                   const char *id_token_sealed, struct usher_error *err)
{
    struct session_how how = {
        .method = "oidc",
        .connection_id = connection_id,
        .issuer = issuer,
        .id_token_sealed = id_token_sealed,
    };
    return session_start(out, app, c, a, actor, user, &how, err);
}

/* The failure path: one throttle mark, one audit row, one answer for every cause. */
static int sign_in_failed(const struct app_call *call, struct app_throttle_ticket *ticket,
                          const char *email, const struct store_user *user, const char *reason)
{
    app_throttle_failure(call->app->throttle, ticket, clock_now_ms());
    struct store_conn *c = NULL;
    int rc = app_call_begin(&c, call, true);
    if (rc)
        goto done;
    struct app_audit_event ev = {
        .action = "session.failed",
        .subject_user_id = user ? user->id : NULL,
        .details = json_pack("{s:s, s:s}", "email", email, "reason", reason),
    };
    rc = app_audit_record(c, call->arena, call->actor, &ev, call->err);
    if (rc)
        goto done;
    rc = store_commit(c, call->err);
    if (rc)
        goto done;
    rc = usher_error_set(call->err, USHER_EUNAUTH, INVALID_CREDENTIALS, NULL,
                         INVALID_CREDENTIALS_MESSAGE);
done:
    store_conn_put(c);
    return rc;
}

/* Reserves the attempt's place in the throttle (shared by every instance on the database): a
 * device cookie made for this account makes it a trusted attempt, judged by that device
 * alone. A database that cannot take the reservation answers USHER_EUNAVAIL. */
int app_account_throttle_reserve(struct app_throttle_ticket *out, int64_t *out_retry_after,
                                 const struct app_call *call, const char *email,
                                 const char *device_cookie)
{
    char nonce[APP_DEVICE_NONCE_CHARS + 1];
    struct app_throttle_attempt attempt = {
        .account = email,
        .address = call->actor ? call->actor->source_ip : NULL,
    };
    if (app_device_cookie_verify(nonce, call->app->secret, email, device_cookie))
        attempt.device = nonce;
    int rc = app_throttle_reserve(out, out_retry_after, call->app->throttle, &attempt,
                                  clock_now_ms(), call->err);
    if (rc == USHER_ELIMIT)
        log_msg(LOG_WARN, "account.sign_in_throttled", "{s:s?, s:b, s:I}", "remote",
                attempt.address, "trusted_device", attempt.device != NULL, "retry_after",
                (json_int_t)*out_retry_after);
    return rc;
}

/* The user with email, or *out_found false. The connection is not held while hashing: a hash
 * takes tens of milliseconds. */
static int sign_in_user_find(struct store_user *out, bool *out_found, const struct app_call *call,
                             const char *email)
{
    struct store_conn *c = NULL;
    struct usher_error lookup = {0};
    *out_found = false;
    int rc = store_conn_get(call->app->store, &c, call->err);
    if (rc)
        goto done;
    rc = store_user_by_email(out, c, call->arena, email, &lookup);
    if (rc == 0)
        *out_found = true;
    else if (rc == USHER_ENOTFOUND)
        rc = 0;
    else
        rc = usher_error_set(call->err, rc, NULL, NULL, "%s", lookup.message);
done:
    store_conn_put(c);
    return rc;
}

/* After a verified password: the re-hash when due, then the session, in one transaction. */
static int sign_in_session_start(struct app_session_new *out, const struct app_call *call,
                                 const struct store_user *user, const char *password,
                                 bool needs_rehash)
{
    char rehashed[APP_PASSWORD_HASH_MAX] = "";
    struct store_conn *c = NULL;
    if (needs_rehash && app_password_hash(call->app->hash_pool, rehashed, password, NULL) != 0)
        rehashed[0] = '\0'; /* upgrading can wait for the next sign-in */
    int rc = app_call_begin(&c, call, true);
    if (rc)
        goto done;
    if (rehashed[0]) {
        rc = store_user_password_set(c, call->arena, user->id, rehashed, call->err);
        if (rc)
            goto done;
        log_msg(LOG_INFO, "account.password_rehashed", "{s:s}", "user_id", user->id);
    }
    rc = app_second_factor_challenge(out, call->app, c, call->arena, user, "password", call->err);
    if (rc)
        goto done;
    if (!out->mfa_required) {
        rc =
            app_account_session_start(out, call->app, c, call->arena, call->actor, user, call->err);
        if (rc)
            goto done;
    }
    rc = store_commit(c, call->err);
done:
    store_conn_put(c);
    sodium_memzero(rehashed, sizeof(rehashed));
    return rc;
}

int app_account_sign_in(struct app_session_new *out, int64_t *out_retry_after,
                        const struct app_call *call, const struct app_sign_in *in)
{
    struct app_throttle_ticket ticket = {0};
    struct store_user user;
    const char *normal = NULL;
    bool found = false, ok = false, needs_rehash = false;
    int64_t retry_after = 0;
    out->mfa_required = false; /* until a second factor asks for one */
    int rc =
        text_email_normalize(&normal, call->arena, in->email ? in->email : "", "email", call->err);
    if (rc)
        goto done;
    rc = app_password_check(in->password, "password", call->err);
    if (rc)
        goto done;
    rc = app_account_throttle_reserve(&ticket, &retry_after, call, normal, in->device_cookie);
    if (rc)
        goto done;
    rc = sign_in_user_find(&user, &found, call, normal);
    if (rc)
        goto done;
    rc = app_password_verify(call->app->hash_pool, &ok, &needs_rehash,
                             found ? user.password_hash : NULL, in->password, call->err);
    if (rc)
        goto done;
    if (!found)
        rc = sign_in_failed(call, &ticket, normal, NULL, "unknown_email");
    else if (!user.password_hash)
        rc = sign_in_failed(call, &ticket, normal, &user, "no_password");
    else if (!ok)
        rc = sign_in_failed(call, &ticket, normal, &user, "wrong_password");
    else if (strcmp(user.status, STORE_USER_ACTIVE) != 0)
        rc = sign_in_failed(call, &ticket, normal, &user, "disabled");
    else
        rc = sign_in_session_start(out, call, &user, in->password, needs_rehash);
    if (rc)
        goto done;
    /* Only the second step forgives failures: a known password must not clear the count of
     * wrong codes. The reservation ends below without counting. */
    if (out->mfa_required)
        goto done;
    app_throttle_success(call->app->throttle, &ticket);
    app_device_cookie_new(out->device_cookie, call->app->secret, normal);
done:
    /* A reservation not ended above (store or hashing pool trouble) counts for nothing. */
    app_throttle_release(call->app->throttle, &ticket);
    if (out_retry_after)
        *out_retry_after = retry_after;
    return rc;
}

int app_account_sign_out(const struct app_call *call, const char *session_hash)
{
    struct store_conn *c = NULL;
    struct store_session s;
    struct usher_error lookup = {0};
    int rc = app_call_begin(&c, call, true);
    if (rc)
        goto done;
    rc = store_session_get(&s, c, call->arena, session_hash, &lookup);
    if (rc == USHER_ENOTFOUND) {
        rc = 0;
        goto done;
    }
    if (rc) {
        rc = usher_error_set(call->err, rc, NULL, NULL, "%s", lookup.message);
        goto done;
    }
    rc = store_session_delete(NULL, c, call->arena, session_hash, call->err);
    if (rc)
        goto done;
    struct app_audit_event ev = {
        .action = "session.ended",
        .subject_user_id = s.user_id,
        .details = json_pack("{s:s}", "reason", "sign_out"),
    };
    rc = app_audit_record(c, call->arena, call->actor, &ev, call->err);
    if (rc)
        goto done;
    rc = store_commit(c, call->err);
done:
    store_conn_put(c);
    return rc;
}

bool app_account_session_live(const struct app *app, const struct store_session *s, int64_t now)
{
    return s->expires_at > now && s->last_seen_at + session_idle_ms(app) > now;
}

/* Refreshes the last-seen times of session s, stored under hash, in a transaction of its own,
 * and those of its user unless someone is viewing as them: that does not make the user active.
 * A failure only shortens the idle window: it is logged and the request goes on. */
static void session_touch(struct store_user *user, struct store_conn *c, struct arena *a,
                          const struct store_session *s, const char *hash, int64_t now)
{
    struct usher_error touch = {0};
    int rc = store_begin(c, true, &touch);
    if (rc)
        goto done;
    rc = store_session_touch(c, a, hash, now, &touch);
    if (rc)
        goto done;
    if (!s->impersonator_id) {
        rc = store_user_touch(c, a, s->user_id, now, &touch);
        if (rc)
            goto done;
    }
    rc = store_commit(c, &touch);
done:
    if (rc) {
        store_rollback(c);
        log_msg(LOG_WARN, "account.session_touch_failed", "{s:s}", "message", touch.message);
    } else if (!s->impersonator_id) {
        user->last_active_at = now;
    }
}

int app_account_session_resolve(struct store_user *out_user, char out_hash[CRYPTO_HASH_HEX + 1],
                                struct app *app, struct arena *a, const char *token,
                                struct usher_error *err)
{
    struct store_session session;
    return app_account_session_lookup(out_user, &session, out_hash, app, a, token, err);
}

int app_account_session_lookup(struct store_user *out_user, struct store_session *out_session,
                               char out_hash[CRYPTO_HASH_HEX + 1], struct app *app, struct arena *a,
                               const char *token, struct usher_error *err)
{
    struct store_conn *c = NULL;
    struct store_session s;
    struct usher_error inner = {0};
    int rc = 0;
    size_t len = token ? strlen(token) : 0;
    if (len == 0 || len > SESSION_TOKEN_MAX) {
        rc = usher_error_set(err, USHER_EUNAUTH, NULL, NULL, "unknown session");
        goto done;
    }
    crypto_hmac_hex(out_hash, app->secret, sizeof(app->secret), token, len);
    int64_t now = clock_now_ms();
    rc = store_conn_get(app->store, &c, err);
    if (rc)
        goto done;
    rc = store_session_get(&s, c, a, out_hash, &inner);
    if (rc == USHER_ENOTFOUND) {
        rc = usher_error_set(err, USHER_EUNAUTH, NULL, NULL, "unknown session");
        goto done;
    }
    if (rc) {
        rc = usher_error_set(err, rc, NULL, NULL, "%s", inner.message);
        goto done;
    }
    if (!app_account_session_live(app, &s, now)) {
        store_session_delete(NULL, c, a, out_hash, &inner);
        rc = usher_error_set(err, USHER_EUNAUTH, NULL, NULL, "session expired");
        goto done;
    }
    rc = store_user_get(out_user, c, a, s.user_id, &inner);
    if (rc == USHER_ENOTFOUND || (rc == 0 && strcmp(out_user->status, STORE_USER_ACTIVE) != 0)) {
        rc = usher_error_set(err, USHER_EUNAUTH, NULL, NULL, "account not active");
        goto done;
    }
    if (rc) {
        rc = usher_error_set(err, rc, NULL, NULL, "%s", inner.message);
        goto done;
    }
    *out_session = s;
    if (now - s.last_seen_at >= session_touch_ms(app))
        session_touch(out_user, c, a, &s, out_hash, now);
done:
    store_conn_put(c);
    return rc;
}

int app_account_sessions_purge(int64_t *out_deleted, struct app *app, struct usher_error *err)
{
    struct store_conn *c = NULL;
    struct arena a;
    arena_init(&a);
    int rc = store_conn_get(app->store, &c, err);
    if (rc)
        goto done;
    rc = store_session_purge(out_deleted, c, &a, NULL, clock_now_ms(), session_idle_ms(app), err);
done:
    store_conn_put(c);
    arena_dispose(&a);
    return rc;
}

int app_account_profile(struct store_user *out_user, struct store_user_membership **out_members,
                        size_t *out_count, const struct app_call *call, const char *user_id)
{
    struct store_conn *c = NULL;
    int rc = app_call_begin(&c, call, false);
    if (rc)
        goto done;
    rc = store_user_get(out_user, c, call->arena, user_id, call->err);
    if (rc)
        goto done;
    rc = store_user_memberships(out_members, out_count, c, call->arena, user_id, clock_now_ms(),
                                call->err);
    if (rc)
        goto done;
    rc = store_commit(c, call->err);
done:
    store_conn_put(c);
    return rc;
}

/* The configured admin's email (normalised into *out_email) and password, checked as for any
 * new account: USHER_EINVAL naming the setting. */
static int bootstrap_settings_check(const char **out_email, struct arena *a,
                                    const struct config *cfg, struct usher_error *err)
{
    struct usher_error check = {0};
    int rc = text_email_normalize(out_email, a, cfg->admin_email, "USHER_ADMIN_EMAIL", &check);
    if (rc)
        goto done;
    rc = app_password_check(cfg->admin_password, "USHER_ADMIN_PASSWORD", &check);
    if (rc)
        goto done;
    /* A new admin gets a password that holds; an admin made earlier is never checked again,
     * so a start with an old weak USHER_ADMIN_PASSWORD goes on once the admin exists. */
    struct app_password_inputs known = {.email = *out_email};
    rc = app_password_strength_check(cfg->admin_password, "USHER_ADMIN_PASSWORD", &known, &check);
done:
    if (rc)
        rc = usher_error_set(err, USHER_EINVAL, check.problem, check.field, "%s", check.message);
    return rc;
}

int app_account_bootstrap(struct app *app, struct usher_error *err)
{
    const struct config *cfg = app->cfg;
    struct arena a;
    arena_init(&a);
    struct store_conn *c = NULL;
    int64_t admins = 0;
    int rc = 0;
    if (!*cfg->admin_email)
        goto done;
    rc = store_conn_get(app->store, &c, err);
    if (rc)
        goto done;
    rc = store_user_admin_count(&admins, c, &a, err);
    if (rc || admins > 0)
        goto done;
    /* No connection is held while the password is hashed. */
    store_conn_put(c);
    c = NULL;
    const char *email = NULL;
    rc = bootstrap_settings_check(&email, &a, cfg, err);
    if (rc)
        goto done;
    struct app_account_new in = {
        .email = email,
        .password = cfg->admin_password,
        .is_platform_admin = true,
        .via = "bootstrap",
    };
    struct store_user admin;
    struct usher_error create = {0};
    struct app_actor service = {0}; /* the service itself: no user, no request */
    struct app_call call = {app, &a, &service, &create};
    rc = app_account_create(&admin, &call, &in);
    if (rc == USHER_ECONFLICT) {
        /* Another instance may have made the same admin a moment ago; anyone else with the
         * address is never promoted, which would hand the platform to whoever registered it
         * first. Either way the start goes on. */
        struct store_user existing;
        struct usher_error lookup = {0};
        bool made_elsewhere = store_conn_get(app->store, &c, err) == 0 &&
                              store_user_by_email(&existing, c, &a, email, &lookup) == 0 &&
                              existing.is_platform_admin;
        rc = 0;
        if (!made_elsewhere)
            log_msg(LOG_ERROR, "account.bootstrap_refused", "{s:s, s:s}", "email", email, "message",
                    "a user with this email address exists and is not a platform admin; "
                    "create the admin with `usher admin-create` and another address");
        goto done;
    }
    if (rc) {
        rc = usher_error_set(err, rc, NULL, create.field, "%s", create.message);
        goto done;
    }
    log_msg(LOG_INFO, "account.admin_bootstrapped", "{s:s, s:s}", "user_id", admin.id, "email",
            admin.email);
done:
    store_conn_put(c);
    arena_dispose(&a);
    return rc;
}
