/* Email change: the signed-in person's request (password proved under the sign-in throttle,
 * limited per account, one pending change at a time), the link's single use from any browser
 * (address still free, every session ended, the old address told), cancelling, and the hourly
 * purge of old email-change and password-reset rows. */
#include "app/email_change.h"

#include <string.h>

#include "app/account_int.h"
#include "app/account_link.h"
#include "app/audit.h"
#include "app/email_change_int.h"
#include "app/password.h"
#include "app/throttle.h"
#include "base/clock.h"
#include "base/crypto.h"
#include "base/error.h"
#include "base/text.h"
#include "mail/mail.h"
#include "store/store_email_change.h"
#include "store/store_session.h"

#define INVALID_MESSAGE "this email change link is not valid: it is unknown, used or expired"
#define TAKEN_MESSAGE   "another account has this email address"

static const struct app_account_link_kind change_link = {
    &store_email_changes, "email_change",  "/email-change",
    USHER_EINVAL,         "invalid_token", INVALID_MESSAGE,
};

/* Copies the first UTF-8 sequence of s (or nothing for ""). */
static size_t first_char_len(const char *s)
{
    unsigned char c = (unsigned char)s[0];
    size_t n = c == 0 ? 0 : c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : 4;
    for (size_t i = 1; i < n; i++)
        if (s[i] == '\0')
            return i;
    return n;
}

const char *app_email_mask(struct arena *a, const char *email)
{
    const char *at = strrchr(email, '@');
    if (!at)
        return arena_printf(a, "%.*s…", (int)first_char_len(email), email);
    const char *domain = at + 1;
    const char *dot = strrchr(domain, '.');
    const char *tld = dot && dot != domain ? dot : "";
    return arena_printf(a, "%.*s…@%.*s…%s", (int)first_char_len(email), email,
                        (int)first_char_len(domain), domain, tld);
}

int app_email_change_link(const char **out_url, struct app *app, struct arena *a, const char *id,
                          struct usher_error *err)
{
    /* A used, voided, cancelled or expired change's email is dropped, not sent. */
    return app_account_link_url(out_url, app, a, &change_link, id, err);
}

/* Only the person themselves, with a session of their own. */
static int self_only(const struct app_call *call, const char *session_hash, const char *what)
{
    if (call->actor->user_id && !call->actor->impersonator_id && session_hash)
        return 0;
    return usher_error_set(call->err, USHER_EFORBIDDEN, NULL, NULL,
                           "only the person themselves, signed in, %s", what);
}

static int self_load(struct store_user *out, const struct app_call *call)
{
    struct store_conn *c = NULL;
    int rc = store_conn_get(call->app->store, &c, call->err);
    if (rc)
        goto done;
    rc = store_user_get(out, c, call->arena, call->actor->user_id, call->err);
done:
    store_conn_put(c);
    return rc;
}

/* Whether an account other than user_id has email: USHER_ECONFLICT "email_taken" when one
 * does. */
static int address_free(struct store_conn *c, const struct app_call *call, const char *user_id,
                        const char *email)
{
    struct store_user other;
    struct usher_error lookup = {0};
    int rc = store_user_by_email(&other, c, call->arena, email, &lookup);
    if (rc == USHER_ENOTFOUND)
        return 0;
    if (rc)
        return usher_error_set(call->err, rc, NULL, NULL, "%s", lookup.message);
    if (strcmp(other.id, user_id) == 0)
        return 0;
    return usher_error_set(call->err, USHER_ECONFLICT, "email_taken", "email", TAKEN_MESSAGE);
}

/* The limit, the void of the older change, the new row, the audit row and both emails, in one
 * transaction. */
static int request_write(int64_t *out_retry_after, const struct app_call *call,
                         const struct store_user *user, const char *email)
{
    struct store_conn *c = NULL;
    int64_t count = 0, oldest = 0, voided = 0;
    int64_t now = clock_now_ms();
    int rc = app_call_begin(&c, call, true);
    if (rc)
        goto done;
    rc = store_email_change_count(&count, &oldest, c, call->arena, user->id,
                                  now - APP_EMAIL_CHANGE_WINDOW_MS, call->err);
    if (rc)
        goto done;
    if (count >= APP_EMAIL_CHANGE_PER_ACCOUNT) {
        *out_retry_after = (oldest + APP_EMAIL_CHANGE_WINDOW_MS - now) / 1000 + 1;
        rc = usher_error_set(call->err, USHER_ELIMIT, "rate_limited", NULL,
                             "too many email changes asked for in the last hour; try again later");
        goto done;
    }
    rc = address_free(c, call, user->id, email);
    if (rc)
        goto done;
    rc = store_email_change_end_user(&voided, c, call->arena, user->id, "voided", call->err);
    if (rc)
        goto done;
    char hash[CRYPTO_HASH_HEX + 1];
    struct store_link e = {
        .id = crypto_id_new(call->arena, "emc"),
        .user_id = user->id,
        .email = email,
        .status = "pending",
        .source_ip = call->actor->source_ip,
        .created_at = now,
        .expires_at = now + APP_EMAIL_CHANGE_TTL_MS,
    };
    app_account_link_seal(&e, hash, call->app, call->arena, &change_link);
    rc = store_link_insert(c, call->arena, &store_email_changes, &e, call->err);
    if (rc)
        goto done;
    struct app_audit_event ev = {
        .action = "email.change_requested",
        .subject_user_id = user->id,
        .details = json_pack("{s:s, s:s, s:I}", "change_id", e.id, "new_email", email, "voided",
                             (json_int_t)voided),
    };
    rc = app_audit_record(c, call->arena, call->actor, &ev, call->err);
    if (rc)
        goto done;
    rc = app_email_change_link_mail_queue(c, call->arena, &e, call->err);
    if (rc)
        goto done;
    struct app_email_change_when when = {now, call->actor->source_ip};
    rc = app_email_change_asked_mail_queue(c, call->arena, user, &e, &when, call->err);
    if (rc)
        goto done;
    rc = store_commit(c, call->err);
done:
    store_conn_put(c);
    return rc;
}

int app_email_change_request(const char **out_pending, int64_t *out_retry_after,
                             const struct app_call *call, const struct app_email_change_request *in)
{
    struct app_throttle_ticket ticket = {0};
    struct store_user user;
    const char *email = NULL;
    bool ok = false, needs_rehash = false;
    int64_t retry_after = 0;
    int rc = self_only(call, in->session_hash, "changes their email address");
    if (rc)
        goto done;
    rc = text_email_normalize(&email, call->arena, in->email ? in->email : "", "email", call->err);
    if (rc)
        goto done;
    rc = app_password_check(in->current_password, "current_password", call->err);
    if (rc)
        goto done;
    rc = self_load(&user, call);
    if (rc)
        goto done;
    if (strcmp(email, user.email) == 0) {
        rc = usher_error_set(call->err, USHER_EINVAL, "same_email", "email",
                             "this is already the account's email address");
        goto done;
    }
    /* The place in the throttle comes before any hashing, as for a sign-in; whether the address
     * is taken is told only after the password is proved. */
    rc = app_account_throttle_reserve(&ticket, &retry_after, call, user.email, in->device_cookie);
    if (rc)
        goto done;
    rc = app_password_verify(call->app->hash_pool, &ok, &needs_rehash, user.password_hash,
                             in->current_password, call->err);
    if (rc)
        goto done;
    if (!user.password_hash) {
        rc = app_account_password_refused(call, &ticket, &user, "email.change_failed",
                                          "no_password");
        goto done;
    }
    if (!ok) {
        rc = app_account_password_refused(call, &ticket, &user, "email.change_failed",
                                          "wrong_password");
        goto done;
    }
    app_throttle_success(call->app->throttle, &ticket);
    rc = request_write(&retry_after, call, &user, email);
    if (rc)
        goto done;
    mail_sender_wake(call->app->mail);
    *out_pending = email;
done:
    app_throttle_release(call->app->throttle, &ticket);
    if (out_retry_after)
        *out_retry_after = retry_after;
    return rc;
}

int app_email_change_confirm(struct store_user *out, const struct app_call *call, const char *token)
{
    struct store_conn *c = NULL;
    struct store_link e;
    struct store_user user;
    int64_t ended = 0, ended_views = 0;
    int64_t now = clock_now_ms();
    int rc = app_call_begin(&c, call, true);
    if (rc)
        goto done;
    rc = app_account_link_open(&e, &user, c, call, &change_link, token, now);
    if (rc)
        goto done;
    rc = address_free(c, call, user.id, e.email);
    if (rc)
        goto done;
    /* Only one of two racing confirmations finds the change still pending. */
    rc = app_account_link_take(c, call, &change_link, &e, now);
    if (rc)
        goto done;
    /* The unique index has the last word when another account took the address meanwhile. */
    struct usher_error set_err = {0};
    rc = store_user_email_set(c, call->arena, user.id, e.email, &set_err);
    if (rc == USHER_ECONFLICT) {
        rc = usher_error_set(call->err, USHER_ECONFLICT, "email_taken", "email", TAKEN_MESSAGE);
        goto done;
    }
    if (rc) {
        rc = usher_error_set(call->err, rc, NULL, NULL, "%s", set_err.message);
        goto done;
    }
    rc = store_session_delete_user(&ended, c, call->arena, user.id, call->err);
    if (rc)
        goto done;
    rc = store_session_delete_impersonations(&ended_views, c, call->arena, user.id, call->err);
    if (rc)
        goto done;
    struct app_audit_event ev = {
        .action = "email.changed",
        .subject_user_id = user.id,
        .details =
            json_pack("{s:s, s:s, s:s, s:I}", "change_id", e.id, "old_email", user.email,
                      "new_email", e.email, "sessions_ended", (json_int_t)(ended + ended_views)),
    };
    rc = app_audit_record(c, call->arena, call->actor, &ev, call->err);
    if (rc)
        goto done;
    struct app_email_change_when when = {now, call->actor->source_ip};
    rc = app_email_change_done_mail_queue(c, call->arena, &user, e.email, &when, call->err);
    if (rc)
        goto done;
    rc = store_commit(c, call->err);
    if (rc)
        goto done;
    mail_sender_wake(call->app->mail);
    user.email = e.email;
    user.password_hash = NULL;
    *out = user;
done:
    store_conn_put(c);
    return rc;
}

int app_email_change_cancel(const struct app_call *call, const char *session_hash)
{
    struct store_conn *c = NULL;
    int64_t cancelled = 0;
    int rc = self_only(call, session_hash, "cancels a change of their email address");
    if (rc)
        goto done;
    rc = app_call_begin(&c, call, true);
    if (rc)
        goto done;
    rc = store_email_change_end_user(&cancelled, c, call->arena, call->actor->user_id, "cancelled",
                                     call->err);
    if (rc)
        goto done;
    if (cancelled == 0) {
        rc = usher_error_set(call->err, USHER_ENOTFOUND, NULL, NULL,
                             "no change of email address is pending");
        goto done;
    }
    struct app_audit_event ev = {
        .action = "email.change_cancelled",
        .subject_user_id = call->actor->user_id,
    };
    rc = app_audit_record(c, call->arena, call->actor, &ev, call->err);
    if (rc)
        goto done;
    rc = store_commit(c, call->err);
done:
    store_conn_put(c);
    return rc;
}

int app_email_change_pending(const char **out_email, const struct app_call *call,
                             const char *user_id)
{
    struct store_conn *c = NULL;
    struct store_link e;
    struct usher_error lookup = {0};
    *out_email = NULL;
    int rc = store_conn_get(call->app->store, &c, call->err);
    if (rc)
        goto done;
    rc = store_email_change_pending(&e, c, call->arena, user_id, clock_now_ms(), &lookup);
    if (rc == 0)
        *out_email = e.email;
    else if (rc == USHER_ENOTFOUND)
        rc = 0;
    else
        rc = usher_error_set(call->err, rc, NULL, NULL, "%s", lookup.message);
done:
    store_conn_put(c);
    return rc;
}

int app_account_links_purge(int64_t *out_deleted, struct app *app, struct usher_error *err)
{
    struct store_conn *c = NULL;
    struct arena a;
    arena_init(&a);
    int64_t before = clock_now_ms() - APP_ACCOUNT_LINKS_KEEP_MS, changes = 0, resets = 0;
    int rc = store_conn_get(app->store, &c, err);
    if (rc)
        goto done;
    rc = store_begin(c, true, err);
    if (rc)
        goto done;
    rc = store_link_purge(&changes, c, &a, &store_email_changes, before, err);
    if (rc)
        goto done;
    rc = store_link_purge(&resets, c, &a, &store_password_resets, before, err);
    if (rc)
        goto done;
    rc = store_commit(c, err);
    if (rc)
        goto done;
    if (out_deleted)
        *out_deleted = changes + resets;
done:
    store_conn_put(c);
    arena_dispose(&a);
    return rc;
}
