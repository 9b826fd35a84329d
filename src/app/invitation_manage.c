/* Managing invitations: listing those the caller may manage, one with its current link (copy
 * link), and revoking. Each takes the authority it takes to create the invitation. */
#include "app/invitation.h"

#include <string.h>

#include "app/access.h"
#include "app/audit.h"
#include "app/invitation_int.h"
#include "app/tenancy.h"
#include "base/clock.h"
#include "base/json.h"
#include "base/log.h"
#include "base/text.h"
#include "mail/mail.h"
#include "policy/catalogue.h"
#include "store/store_directory.h"
#include "store/store_member.h"
#include "store/store_tenancy.h"
#include "store/store_user.h"

/* Fills out with up to page->limit views of agency_id's invitations (of status, when given)
 * the caller may manage, newest first after the page's cursor. Rows the caller may not manage
 * are skipped, and more are read until the page is full. */
static int list_fill(struct app_invitation_page *out, struct store_conn *c,
                     const struct app_call *call, const char *agency_id, const char *status,
                     const struct app_page *page)
{
    out->items = arena_alloc(call->arena, (page->limit + 1) * sizeof(*out->items));
    int64_t before_at = page->after.is_set ? page->after.created_at : 0;
    const char *before_id = page->after.is_set ? page->after.id : NULL;
    bool more = true;
    while (more && out->count < page->limit) {
        struct store_invitation *rows = NULL;
        size_t got = 0;
        int batch = (int)page->limit + 1;
        int rc = store_invitation_list(&rows, &got, c, call->arena, agency_id, status, before_at,
                                       before_id, batch, call->err);
        if (rc)
            return rc;
        more = got == (size_t)batch;
        for (size_t i = 0; i < got && out->count < page->limit; i++) {
            before_at = rows[i].created_at;
            before_id = rows[i].id;
            struct usher_error e2 = {0};
            if (app_invitation_manage_check(c, call->arena, call->actor, &rows[i], &e2) != 0)
                continue;
            rc = app_invitation_view_fill(&out->items[out->count], c, call->arena, &rows[i],
                                          call->err);
            if (rc)
                return rc;
            out->count++;
            if (out->count == page->limit && (i + 1 < got || more))
                out->next_cursor = store_cursor_encode(call->arena, rows[i].created_at, rows[i].id);
        }
    }
    return 0;
}

int app_invitation_list(struct app_invitation_page *out, const struct app_call *call,
                        const char *agency_id, const struct app_invitation_query *q)
{
    static const char *const statuses[] = {"pending", "accepted", "declined",
                                           "revoked", "expired",  NULL};
    memset(out, 0, sizeof(*out));
    struct store_conn *c = NULL;
    struct app_page page;
    int rc = 0;
    if (q->status) {
        bool known = false;
        for (const char *const *s = statuses; *s; s++)
            known = known || strcmp(*s, q->status) == 0;
        if (!known) {
            rc = usher_error_set(call->err, USHER_EINVAL, NULL, "status",
                                 "status must be pending, accepted, declined, revoked or "
                                 "expired");
            goto done;
        }
    }
    rc = app_page_parse(&page, call->arena, q->limit, q->cursor, call->err);
    if (rc)
        goto done;
    rc = app_agency_check_visible(call, agency_id);
    if (rc)
        goto done;
    rc = store_conn_get(call->app->store, &c, call->err);
    if (rc)
        goto done;
    /* Expired invitations are stored as such before listing, so the status filter is exact. */
    rc = store_invitation_expire_due(c, call->arena, agency_id, NULL, clock_now_ms(), call->err);
    if (rc)
        goto done;
    rc = list_fill(out, c, call, agency_id, q->status, &page);
done:
    store_conn_put(c);
    if (rc) {
        for (size_t i = 0; i < out->count; i++)
            app_invitation_view_dispose(&out->items[i]);
        memset(out, 0, sizeof(*out));
    }
    return rc;
}

int app_invitation_get(struct app_invitation_view *out, const struct app_call *call, const char *id,
                       bool with_link)
{
    memset(out, 0, sizeof(*out));
    struct store_conn *c = NULL;
    struct store_invitation inv;
    int rc = store_conn_get(call->app->store, &c, call->err);
    if (rc)
        goto done;
    rc = app_invitation_load_managed(&inv, c, call->arena, call->actor, id, call->err);
    if (rc)
        goto done;
    if (with_link) {
        rc = app_invitation_not_pending(&inv, call->err);
        if (rc)
            goto done;
    }
    rc = app_invitation_view_fill(out, c, call->arena, &inv, call->err);
    if (rc)
        goto done;
    if (with_link)
        out->url = app_invitation_url(call->arena, call->app, inv.id, inv.token_nonce);
done:
    store_conn_put(c);
    return rc;
}

int app_invitation_revoke(const struct app_call *call, const char *id)
{
    struct store_conn *c = NULL;
    struct store_invitation inv;
    bool changed = false;
    int rc = app_call_begin(&c, call, true);
    if (rc)
        goto done;
    rc = app_invitation_load_managed(&inv, c, call->arena, call->actor, id, call->err);
    if (rc)
        goto done;
    rc = app_invitation_not_pending(&inv, call->err);
    if (rc)
        goto done;
    rc = store_invitation_decide(&changed, c, call->arena, inv.id, "revoked", call->actor->user_id,
                                 clock_now_ms(), call->err);
    if (rc)
        goto done;
    if (!changed) {
        rc = usher_error_set(call->err, USHER_ECONFLICT, "invitation_not_pending", NULL,
                             "this invitation is %s", inv.status);
        goto done;
    }
    struct app_audit_event ev = {
        .agency_id = inv.agency_id,
        .action = "invitation.revoked",
        .scope_type = "agency",
        .scope_id = inv.agency_id,
        .details = json_pack("{s:s, s:s}", "invitation_id", inv.id, "email", inv.email),
    };
    rc = app_audit_record(c, call->arena, call->actor, &ev, call->err);
    if (rc)
        goto done;
    rc = store_commit(c, call->err);
done:
    store_conn_put(c);
    return rc;
}
