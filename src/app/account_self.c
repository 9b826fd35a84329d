/* Account self-service: a signed-in person changes their own names and password, lists their
 * live sessions and ends one of them. A password change proves the current password under the
 * sign-in throttle, ends every other session and tells the person by email. */
#include <sodium.h>
#include <string.h>

#include "app/account.h"
#include "app/account_int.h"
#include "app/audit.h"
#include "app/password.h"
#include "app/password_strength.h"
#include "app/throttle.h"
#include "base/clock.h"
#include "base/error.h"
#include "base/text.h"
#include "mail/mail.h"
#include "store/store_directory.h"
#include "store/store_email_change.h"
#include "store/store_session.h"

int app_account_names_set(struct store_user *out, const struct app_call *call,
                          const struct app_account_names *in)
{
    struct store_conn *c = NULL;
    struct store_user u;
    const char *first = NULL, *last = NULL;
    json_t *details = NULL;
    int rc = 0;
    if (!call->actor->user_id || call->actor->impersonator_id) {
        rc = usher_error_set(call->err, USHER_EFORBIDDEN, NULL, NULL,
                             "only the person themselves changes their names");
        goto done;
    }
    if (in->first_name) {
        rc = text_name_optional_check(&first, call->arena, in->first_name, "first_name", call->err);
        if (rc)
            goto done;
    }
    if (in->last_name) {
        rc = text_name_optional_check(&last, call->arena, in->last_name, "last_name", call->err);
        if (rc)
            goto done;
    }
    rc = app_call_begin(&c, call, true);
    if (rc)
        goto done;
    rc = store_user_get(&u, c, call->arena, call->actor->user_id, call->err);
    if (rc)
        goto done;
    const char *old_first = u.first_name ? u.first_name : "";
    const char *old_last = u.last_name ? u.last_name : "";
    details = json_object();
    if (first && strcmp(first, old_first) != 0)
        json_object_set_new(details, "first_name", json_string(first));
    if (last && strcmp(last, old_last) != 0)
        json_object_set_new(details, "last_name", json_string(last));
    if (json_object_size(details) > 0) {
        u.first_name = first ? first : old_first;
        u.last_name = last ? last : old_last;
        rc = store_directory_names_set(c, call->arena, u.id, u.first_name, u.last_name, call->err);
        if (rc)
            goto done;
        struct app_audit_event ev = {
            .action = "user.updated",
            .subject_user_id = u.id,
            .details = details,
        };
        details = NULL; /* the audit row takes it */
        rc = app_audit_record(c, call->arena, call->actor, &ev, call->err);
        if (rc)
            goto done;
    }
    rc = store_commit(c, call->err);
    if (rc)
        goto done;
    if (out)
        *out = u;
done:
    json_decref(details);
    store_conn_put(c);
    return rc;
}

/* The signed-in person's user row, read without holding a connection afterwards. */
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

int app_account_password_refused(const struct app_call *call, struct app_throttle_ticket *ticket,
                                 const struct store_user *user, const char *action,
                                 const char *reason)
{
    app_throttle_failure(call->app->throttle, ticket, clock_now_ms());
    struct store_conn *c = NULL;
    int rc = app_call_begin(&c, call, true);
    if (rc)
        goto done;
    struct app_audit_event ev = {
        .action = action,
        .subject_user_id = user->id,
        .details = json_pack("{s:s}", "reason", reason),
    };
    rc = app_audit_record(c, call->arena, call->actor, &ev, call->err);
    if (rc)
        goto done;
    rc = store_commit(c, call->err);
    if (rc)
        goto done;
    rc = usher_error_set(call->err, USHER_EFORBIDDEN, "invalid_credentials", "current_password",
                         APP_ACCOUNT_WRONG_PASSWORD);
done:
    store_conn_put(c);
    return rc;
}

/* The new hash, the end of the other sessions, the audit row and the email, in one
 * transaction. */
static int password_change_write(const struct app_call *call, const struct store_user *user,
                                 const char *hash, const char *keep_session_hash)
{
    struct store_conn *c = NULL;
    int64_t ended = 0;
    int rc = app_call_begin(&c, call, true);
    if (rc)
        goto done;
    rc = store_user_password_set(c, call->arena, user->id, hash, call->err);
    if (rc)
        goto done;
    rc =
        store_session_delete_others(&ended, c, call->arena, user->id, keep_session_hash, call->err);
    if (rc)
        goto done;
    /* A change of email asked for by whoever had the old password goes with it. */
    rc = store_email_change_end_user(NULL, c, call->arena, user->id, "voided", call->err);
    if (rc)
        goto done;
    struct app_audit_event ev = {
        .action = "user.password_changed",
        .subject_user_id = user->id,
        .details =
            json_pack("{s:s, s:I}", "via", "self_service", "sessions_ended", (json_int_t)ended),
    };
    rc = app_audit_record(c, call->arena, call->actor, &ev, call->err);
    if (rc)
        goto done;
    struct app_account_mail_when when = {
        .at = clock_now_ms(),
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

int app_account_password_change(int64_t *out_retry_after, const struct app_call *call,
                                const struct app_password_change *in)
{
    struct app_throttle_ticket ticket = {0};
    struct store_user user;
    char hash[APP_PASSWORD_HASH_MAX] = "";
    bool ok = false, needs_rehash = false;
    int64_t retry_after = 0;
    int rc = 0;
    if (!call->actor->user_id || call->actor->impersonator_id || !in->session_hash) {
        rc = usher_error_set(call->err, USHER_EFORBIDDEN, NULL, NULL,
                             "only the person themselves, signed in, changes their password");
        goto done;
    }
    rc = app_password_check(in->current_password, "current_password", call->err);
    if (rc)
        goto done;
    rc = app_password_check(in->new_password, "new_password", call->err);
    if (rc)
        goto done;
    rc = self_load(&user, call);
    if (rc)
        goto done;
    struct app_password_inputs known = {user.email, user.first_name, user.last_name};
    rc = app_password_strength_check(in->new_password, "new_password", &known, call->err);
    if (rc)
        goto done;
    /* The place in the throttle comes before any hashing, as for a sign-in. */
    rc = app_account_throttle_reserve(&ticket, &retry_after, call, user.email, in->device_cookie);
    if (rc)
        goto done;
    rc = app_password_verify(call->app->hash_pool, &ok, &needs_rehash, user.password_hash,
                             in->current_password, call->err);
    if (rc)
        goto done;
    if (!user.password_hash) {
        rc = app_account_password_refused(call, &ticket, &user, "user.password_change_failed",
                                          "no_password");
        goto done;
    }
    if (!ok) {
        rc = app_account_password_refused(call, &ticket, &user, "user.password_change_failed",
                                          "wrong_password");
        goto done;
    }
    rc = app_password_hash(call->app->hash_pool, hash, in->new_password, call->err);
    if (rc)
        goto done;
    rc = password_change_write(call, &user, hash, in->session_hash);
    if (rc)
        goto done;
    app_throttle_success(call->app->throttle, &ticket);
    mail_sender_wake(call->app->mail);
done:
    app_throttle_release(call->app->throttle, &ticket);
    sodium_memzero(hash, sizeof(hash));
    if (out_retry_after)
        *out_retry_after = retry_after;
    return rc;
}

int app_account_sessions_list(struct store_session **out, size_t *out_count,
                              const struct app_call *call)
{
    struct store_conn *c = NULL;
    *out = NULL;
    *out_count = 0;
    int rc = app_call_begin(&c, call, false);
    if (rc)
        goto done;
    rc = store_session_list_user(out, out_count, c, call->arena, call->actor->user_id,
                                 clock_now_ms(), app_account_idle_ms(call->app), call->err);
    if (rc)
        goto done;
    rc = store_commit(c, call->err);
done:
    store_conn_put(c);
    return rc;
}

int app_account_session_end(bool *out_was_current, const struct app_call *call,
                            const char *public_id, const char *current_session_hash)
{
    struct store_conn *c = NULL;
    struct store_session s;
    struct usher_error lookup = {0};
    *out_was_current = false;
    int rc = app_call_begin(&c, call, true);
    if (rc)
        goto done;
    rc = store_session_get_public(&s, c, call->arena, public_id, &lookup);
    /* Someone else's session, or a "view as" session, is as unknown as one that never was. */
    if (rc == 0 && (strcmp(s.user_id, call->actor->user_id) != 0 || s.impersonator_id ||
                    !app_account_session_live(call->app, &s, clock_now_ms())))
        rc = USHER_ENOTFOUND;
    if (rc == USHER_ENOTFOUND) {
        rc = usher_error_set(call->err, USHER_ENOTFOUND, NULL, NULL, "no such session");
        goto done;
    }
    if (rc) {
        rc = usher_error_set(call->err, rc, NULL, NULL, "%s", lookup.message);
        goto done;
    }
    bool current = current_session_hash && strcmp(s.token_hash, current_session_hash) == 0;
    rc = store_session_delete(NULL, c, call->arena, s.token_hash, call->err);
    if (rc)
        goto done;
    struct app_audit_event ev = {
        .action = "session.ended",
        .subject_user_id = s.user_id,
        .details = json_pack("{s:s, s:s}", "reason", current ? "sign_out" : "ended_by_owner",
                             "session_id", s.public_id),
    };
    rc = app_audit_record(c, call->arena, call->actor, &ev, call->err);
    if (rc)
        goto done;
    rc = store_commit(c, call->err);
    if (rc)
        goto done;
    *out_was_current = current;
done:
    store_conn_put(c);
    return rc;
}
