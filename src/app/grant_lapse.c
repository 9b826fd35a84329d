/* The lapse job: removes grants whose expires_at has passed, with their audit entries, and
 * queues the three-day notices, each grant in its own transaction (app/grant_lapse.h). */
#include "app/grant_lapse.h"

#include <string.h>

#include "app/audit.h"
#include "app/grants.h"
#include "base/clock.h"
#include "base/json.h"
#include "base/log.h"
#include "mail/mail.h"
#include "store/store_member.h"
#include "store/store_tenancy.h"
#include "store/store_user.h"

#define LAPSE_BATCH       100
#define LAPSE_BATCHES_MAX 50 /* per run; the next run carries on */

static const char *scope_type(const struct store_grant_due *g)
{
    return g->bot_id ? "bot" : g->environment_id ? "environment" : "agency";
}

/* Removes lapsed grant g, in its own transaction: the row (if no other instance did), the
 * membership when it was the person's last grant in the agency, and the grant.lapsed entry.
 * *out_done says whether this call removed it. */
static int lapse_one(bool *out_done, struct store_conn *c, struct arena *a,
                     const struct store_grant_due *g, int64_t now, struct usher_error *err)
{
    bool deleted = false, left_agency = false;
    int64_t remaining = 0;
    *out_done = false;
    int rc = store_begin(c, true, err);
    if (rc)
        goto done;
    rc = store_grant_lapse_delete(&deleted, c, a, g->id, now, err);
    if (rc || !deleted)
        goto done;
    rc = store_grant_count(&remaining, c, a, g->agency_id, g->user_id, err);
    if (rc)
        goto done;
    if (remaining == 0) {
        rc = store_member_remove(&left_agency, c, a, g->agency_id, g->user_id, err);
        if (rc)
            goto done;
    }
    struct store_grant row = {
        .environment_id = g->environment_id,
        .bot_id = g->bot_id,
        .scope_id = g->scope_id,
        .roles = g->roles,
        .extra_permissions = g->extra_permissions,
    };
    struct app_grant grant;
    json_t *shown = app_grant_from_row(&grant, a, &row, g->agency_id, NULL)
                        ? app_grants_json(&grant, 1, NULL)
                        : json_array();
    struct app_actor nobody = {0};
    struct app_audit_event ev = {
        .agency_id = g->agency_id,
        .action = "grant.lapsed",
        .subject_user_id = g->user_id,
        .scope_type = scope_type(g),
        .scope_id = g->scope_id,
        .details = json_pack("{s:o, s:o, s:b}", "grants", shown, "expires_at",
                             json_time_ms(a, g->expires_at), "left_agency", left_agency),
    };
    rc = app_audit_record(c, a, &nobody, &ev, err);
    if (rc)
        goto done;
    rc = store_commit(c, err);
    *out_done = rc == 0;
done:
    if (rc || !*out_done)
        store_rollback(c);
    return rc;
}

/* The name of g's scope for the notice, and its agency's name. */
static int names_read(const char **out_agency, const char **out_scope, struct store_conn *c,
                      struct arena *a, const struct store_grant_due *g, int64_t now,
                      struct usher_error *err)
{
    struct store_agency agency;
    int rc = store_agency_get(&agency, c, a, g->agency_id, err);
    if (rc)
        return rc;
    *out_agency = agency.name;
    if (g->bot_id) {
        struct store_bot bot;
        rc = store_bot_get(&bot, c, a, g->bot_id, now, err);
        *out_scope = rc ? NULL : arena_printf(a, "the bot %s", bot.name);
    } else if (g->environment_id) {
        struct store_environment env;
        rc = store_environment_get(&env, c, a, g->environment_id, err);
        *out_scope = rc ? NULL : arena_printf(a, "the environment %s", env.name);
    } else {
        *out_scope = "the whole agency";
    }
    return rc;
}

/* Announces grant g ending soon, in its own transaction, unless another instance did: one
 * email to the holder (when active) and one to the person who set it (when known, active and
 * not the holder). *out_done says whether this call announced it. */
static int notice_one(bool *out_done, struct store_conn *c, struct arena *a,
                      const struct store_grant_due *g, int64_t now, struct usher_error *err)
{
    bool claimed = false;
    const char *agency_name = NULL, *scope_name = NULL;
    struct store_user holder, granter;
    bool has_granter = false;
    *out_done = false;
    int rc = store_begin(c, true, err);
    if (rc)
        goto done;
    rc = store_grant_notice_claim(&claimed, c, a, g->id, now, err);
    if (rc || !claimed)
        goto done;
    rc = names_read(&agency_name, &scope_name, c, a, g, now, err);
    if (rc)
        goto done;
    /* A holder erased in the meantime is told nothing; the claim still stands. */
    struct usher_error gone = {0};
    bool has_holder = store_user_get(&holder, c, a, g->user_id, &gone) == 0 &&
                      strcmp(holder.status, STORE_USER_ACTIVE) == 0;
    if (g->granted_by && strcmp(g->granted_by, g->user_id) != 0) {
        usher_error_clear(&gone);
        has_granter = store_user_get(&granter, c, a, g->granted_by, &gone) == 0 &&
                      strcmp(granter.status, STORE_USER_ACTIVE) == 0;
    }
    if (has_holder) {
        rc = app_grant_lapse_mail_queue(c, a, g, agency_name, scope_name, &holder,
                                        has_granter ? &granter : NULL, err);
        if (rc)
            goto done;
    }
    rc = store_commit(c, err);
    *out_done = rc == 0;
done:
    if (rc || !*out_done)
        store_rollback(c);
    return rc;
}

int app_grant_lapse_run(struct app_grant_lapse_result *out, struct app *app, int64_t now,
                        struct usher_error *err)
{
    memset(out, 0, sizeof(*out));
    struct arena a;
    arena_init(&a);
    struct store_conn *c = NULL;
    int rc = store_conn_get(app->store, &c, err);
    for (int batch = 0; rc == 0 && batch < LAPSE_BATCHES_MAX; batch++) {
        struct store_grant_due *due = NULL;
        size_t count = 0;
        arena_reset(&a);
        rc = store_grant_due_list(&due, &count, c, &a, now, now + APP_GRANT_NOTICE_MS, LAPSE_BATCH,
                                  err);
        for (size_t i = 0; rc == 0 && i < count; i++) {
            bool done = false;
            if (due[i].expires_at <= now) {
                rc = lapse_one(&done, c, &a, &due[i], now, err);
                if (rc == 0 && done) {
                    out->lapsed++;
                    app_grants_refresh(app, c, due[i].user_id);
                }
            } else {
                rc = notice_one(&done, c, &a, &due[i], now, err);
                out->noticed += rc == 0 && done;
            }
        }
        if (rc || count < LAPSE_BATCH)
            break;
    }
    store_conn_put(c);
    arena_dispose(&a);
    if (out->noticed > 0)
        mail_sender_wake(app->mail);
    return rc;
}
