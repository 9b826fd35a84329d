/* Password recovery: the "forgot password" request (same answer for every address, limits
 * counted in the database), the email with its link, and the link's single use that sets the
 * new password, ends every session and signs the person in. */
#include "app/password_reset.h"

#include <sodium.h>
#include <string.h>

#include "app/account_int.h"
#include "app/account_link.h"
#include "app/app_mail.h"
#include "app/audit.h"
#include "app/password.h"
#include "app/password_strength.h"
#include "app/second_factor.h"
#include "base/clock.h"
#include "base/error.h"
#include "base/text.h"
#include "mail/mail.h"
#include "store/store_email_change.h"
#include "store/store_password_reset.h"
#include "store/store_session.h"
#include "store/store_user.h"

#define EXPIRED_MESSAGE "this password reset link has expired or was already used"

static const struct app_account_link_kind reset_link = {
    &store_password_resets, "password_reset",         "/password-reset",
    USHER_EEXPIRED,         "password_reset_expired", EXPIRED_MESSAGE,
};

int app_password_reset_link(const char **out_url, struct app *app, struct arena *a, const char *id,
                            struct usher_error *err)
{
    /* A used, voided or expired request's email is dropped, not sent. */
    return app_account_link_url(out_url, app, a, &reset_link, id, err);
}

/* The email with the link (a placeholder the sender fills in at send time); by_admin when a
 * platform admin sent it rather than someone asking with the address. */
static int reset_mail_queue(struct store_conn *c, struct arena *a, const struct store_user *user,
                            const struct store_link *r, bool by_admin, struct usher_error *err)
{
    struct app_mail_buf text = {a, NULL, 0, 0}, html = {a, NULL, 0, 0};
    const char *until = clock_format_ms(a, r->expires_at);
    app_mail_buf_add(&text, "Hello");
    app_mail_buf_add(&html, "<!DOCTYPE html><html><body><p>Hello");
    if (user->first_name && *user->first_name) {
        app_mail_buf_add(&text, " ");
        app_mail_buf_add(&html, " ");
        app_mail_buf_add(&text, user->first_name);
        app_mail_buf_html(&html, user->first_name);
    }
    const char *opening = by_admin ? "A platform administrator sent you a link to reset the "
                                     "password of your account "
                                   : "Someone asked to reset the password of your account ";
    app_mail_buf_add(&text, ",\n\n");
    app_mail_buf_add(&text, opening);
    app_mail_buf_add(&html, ",</p><p>");
    app_mail_buf_add(&html, opening);
    app_mail_buf_add(&html, "<strong>");
    app_mail_buf_add(&text, user->email);
    app_mail_buf_html(&html, user->email);
    app_mail_buf_add(&text, ". Open this link to choose a new one:\n\n" MAIL_LINK_PLACEHOLDER
                            "\n\nThe link works once and expires at ");
    app_mail_buf_add(
        &html,
        "</strong>. Open this link to choose a new one:</p><p><a href=\"" MAIL_LINK_PLACEHOLDER
        "\">Choose a new password</a></p><p>The link works once and expires at ");
    app_mail_buf_add(&text, until);
    app_mail_buf_html(&html, until);
    const char *closing = by_admin ? "If you do not need a new password, ignore this email: "
                                     "your password stays as it is."
                                   : "If you did not ask for this, ignore this email: your "
                                     "password stays as it is.";
    app_mail_buf_add(&text, " (UTC). Choosing a new password signs out every session of the "
                            "account.\n\n");
    app_mail_buf_add(&text, closing);
    app_mail_buf_add(&text, "\n");
    app_mail_buf_add(&html, " (UTC). Choosing a new password signs out every session of the "
                            "account.</p><p>");
    app_mail_buf_add(&html, closing);
    app_mail_buf_add(&html, "</p></body></html>");
    struct mail_outbox_item item = {
        .recipient = user->email,
        .subject = "Reset your password",
        .text = text.data,
        .html = html.data,
        .link_kind = "password_reset",
        .link_ref = r->id,
        .link_generation = 1,
    };
    return mail_outbox_enqueue(NULL, c, a, &item, err);
}

int app_password_reset_request(const struct app_call *call, const char *email)
{
    struct store_conn *c = NULL;
    struct store_user user;
    struct usher_error lookup = {0};
    const char *normal = NULL, *outcome = "sent";
    int64_t by_email = 0, by_user = 0;
    bool queued = false;
    int rc = text_email_normalize(&normal, call->arena, email ? email : "", "email", call->err);
    if (rc)
        goto done;
    rc = app_call_begin(&c, call, true);
    if (rc)
        goto done;
    rc = store_user_by_email(&user, c, call->arena, normal, &lookup);
    if (rc && rc != USHER_ENOTFOUND) {
        rc = usher_error_set(call->err, rc, NULL, NULL, "%s", lookup.message);
        goto done;
    }
    bool known = rc == 0 && strcmp(user.status, STORE_USER_ACTIVE) == 0;
    int64_t now = clock_now_ms();
    /* The same reads and writes whatever the address: the counts, the void, the row. */
    rc = store_password_reset_counts(&by_email, &by_user, c, call->arena, normal,
                                     known ? user.id : NULL, now - APP_PASSWORD_RESET_WINDOW_MS,
                                     call->err);
    if (rc)
        goto done;
    if (!known)
        outcome = "no_active_account";
    else if (by_email >= APP_PASSWORD_RESET_PER_ADDRESS ||
             by_user >= APP_PASSWORD_RESET_PER_ACCOUNT)
        outcome = "throttled";
    bool send = strcmp(outcome, "sent") == 0;
    rc = store_password_reset_void_user(NULL, c, call->arena, send ? user.id : "", call->err);
    if (rc)
        goto done;
    char hash[CRYPTO_HASH_HEX + 1];
    struct store_link r = {
        .id = crypto_id_new(call->arena, "pwr"),
        .email = normal,
        .user_id = known ? user.id : NULL,
        .status = strcmp(outcome, "throttled") == 0 ? "throttled" : "pending",
        .source_ip = call->actor->source_ip,
        .created_at = now,
        .expires_at = now + APP_PASSWORD_RESET_TTL_MS,
    };
    app_account_link_seal(&r, hash, call->app, call->arena, &reset_link);
    rc = store_link_insert(c, call->arena, &store_password_resets, &r, call->err);
    if (rc)
        goto done;
    struct app_audit_event ev = {
        .action = "user.password_reset_requested",
        .subject_user_id = known ? user.id : NULL,
        .details =
            json_pack("{s:s, s:s, s:s}", "email", normal, "outcome", outcome, "request_id", r.id),
    };
    rc = app_audit_record(c, call->arena, call->actor, &ev, call->err);
    if (rc)
        goto done;
    if (send) {
        rc = reset_mail_queue(c, call->arena, &user, &r, false, call->err);
        if (rc)
            goto done;
        queued = true;
    }
    rc = store_commit(c, call->err);
    if (rc)
        goto done;
    if (queued)
        mail_sender_wake(call->app->mail);
done:
    store_conn_put(c);
    return rc;
}

/* The request and its active account for a presented token, or the uniform expired error. */
static int reset_load(struct store_link *out_r, struct store_user *out_user,
                      const struct app_call *call, const char *token)
{
    struct store_conn *c = NULL;
    int rc = app_call_begin(&c, call, false);
    if (rc)
        goto done;
    rc = app_account_link_open(out_r, out_user, c, call, &reset_link, token, clock_now_ms());
    if (rc)
        goto done;
    rc = store_commit(c, call->err);
done:
    store_conn_put(c);
    return rc;
}

/* The link used, the new hash, every session ended, a new one started, the audit row and the
 * email, in one transaction. */
static int reset_write(struct app_session_new *out, const struct app_call *call,
                       const struct store_link *r, const struct store_user *user, const char *hash)
{
    struct store_conn *c = NULL;
    int64_t ended = 0, ended_views = 0;
    int64_t now = clock_now_ms();
    int rc = app_call_begin(&c, call, true);
    if (rc)
        goto done;
    /* Only one of two racing confirmations finds the link still pending. */
    rc = app_account_link_take(c, call, &reset_link, r, now);
    if (rc)
        goto done;
    rc = store_user_password_set(c, call->arena, user->id, hash, call->err);
    if (rc)
        goto done;
    rc = store_session_delete_user(&ended, c, call->arena, user->id, call->err);
    if (rc)
        goto done;
    rc = store_session_delete_impersonations(&ended_views, c, call->arena, user->id, call->err);
    if (rc)
        goto done;
    /* A change of email asked for by whoever had the old password goes with it. */
    rc = store_email_change_end_user(NULL, c, call->arena, user->id, "voided", call->err);
    if (rc)
        goto done;
    struct app_audit_event ev = {
        .action = "user.password_changed",
        .subject_user_id = user->id,
        .details = json_pack("{s:s, s:s, s:I}", "via", "password_reset", "request_id", r->id,
                             "sessions_ended", (json_int_t)(ended + ended_views)),
    };
    rc = app_audit_record(c, call->arena, call->actor, &ev, call->err);
    if (rc)
        goto done;
    /* The link proves the mailbox, not the second factor: with one on, the new password
     * leads to the same second step as a sign-in. */
    rc = app_second_factor_challenge(out, call->app, c, call->arena, user, "password_reset",
                                     call->err);
    if (rc)
        goto done;
    if (!out->mfa_required) {
        rc =
            app_account_session_start(out, call->app, c, call->arena, call->actor, user, call->err);
        if (rc)
            goto done;
    }
    struct app_account_mail_when when = {
        .at = now,
        .source_ip = call->actor->source_ip,
        .user_agent = app_account_user_agent_clean(call->arena, call->actor->user_agent),
    };
    rc = app_account_password_mail_queue(c, call->arena, user, &when, call->err);
    if (rc)
        goto done;
    rc = store_commit(c, call->err);
done:
    store_conn_put(c);
    return rc;
}

int app_password_reset_confirm(struct app_session_new *out, const struct app_call *call,
                               const char *token, const char *password)
{
    struct store_link r;
    struct store_user user;
    char hash[APP_PASSWORD_HASH_MAX] = "";
    out->mfa_required = false; /* until a second factor asks for one */
    int rc = reset_load(&r, &user, call, token);
    if (rc)
        goto done;
    rc = app_password_check(password, "password", call->err);
    if (rc)
        goto done;
    struct app_password_inputs known = {user.email, user.first_name, user.last_name};
    rc = app_password_strength_check(password, "password", &known, call->err);
    if (rc)
        goto done;
    rc = app_password_hash(call->app->hash_pool, hash, password, call->err);
    if (rc)
        goto done;
    rc = reset_write(out, call, &r, &user, hash);
    if (rc)
        goto done;
    mail_sender_wake(call->app->mail);
done:
    sodium_memzero(hash, sizeof(hash));
    return rc;
}

/* The checks and writes of an admin-sent link, in one transaction on c. */
static int admin_send_write(struct store_conn *c, const struct app_call *call, const char *user_id)
{
    struct store_user user;
    int64_t by_email = 0, by_user = 0;
    int64_t now = clock_now_ms();
    int rc = store_user_get(&user, c, call->arena, user_id, call->err);
    if (rc)
        return rc;
    if (strcmp(user.status, STORE_USER_ACTIVE) != 0)
        return usher_error_set(call->err, USHER_ECONFLICT, "account_disabled", NULL,
                               "the account is disabled: enable it before sending a link");
    rc = store_password_reset_counts(&by_email, &by_user, c, call->arena, user.email, user.id,
                                     now - APP_PASSWORD_RESET_WINDOW_MS, call->err);
    if (rc)
        return rc;
    if (by_user >= APP_PASSWORD_RESET_PER_ACCOUNT)
        return usher_error_set(call->err, USHER_ELIMIT, "rate_limited", NULL,
                               "too many password reset emails for this account in the last "
                               "hour; try again later");
    rc = store_password_reset_void_user(NULL, c, call->arena, user.id, call->err);
    if (rc)
        return rc;
    char hash[CRYPTO_HASH_HEX + 1];
    struct store_link r = {
        .id = crypto_id_new(call->arena, "pwr"),
        .email = user.email,
        .user_id = user.id,
        .status = "pending",
        .source_ip = call->actor->source_ip,
        .created_at = now,
        .expires_at = now + APP_PASSWORD_RESET_TTL_MS,
    };
    app_account_link_seal(&r, hash, call->app, call->arena, &reset_link);
    rc = store_link_insert(c, call->arena, &store_password_resets, &r, call->err);
    if (rc)
        return rc;
    struct app_audit_event ev = {
        .action = "user.password_reset_requested",
        .subject_user_id = user.id,
        .details = json_pack("{s:s, s:s, s:s, s:s}", "email", user.email, "outcome", "sent",
                             "request_id", r.id, "via", "platform_admin"),
    };
    rc = app_audit_record(c, call->arena, call->actor, &ev, call->err);
    if (rc)
        return rc;
    return reset_mail_queue(c, call->arena, &user, &r, true, call->err);
}

int app_password_reset_send(const struct app_call *call, const char *user_id)
{
    struct store_conn *c = NULL;
    int rc = 0;
    if (!call->actor->is_platform_admin || call->actor->impersonator_id) {
        rc = usher_error_set(call->err, USHER_EFORBIDDEN, NULL, NULL,
                             "only platform admins send a password reset link");
        goto done;
    }
    rc = app_call_begin(&c, call, true);
    if (rc)
        goto done;
    rc = admin_send_write(c, call, user_id);
    if (rc)
        goto done;
    rc = store_commit(c, call->err);
    if (rc)
        goto done;
    mail_sender_wake(call->app->mail);
done:
    store_conn_put(c);
    return rc;
}
