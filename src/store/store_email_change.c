/* SQL for email changes beyond what every link table shares (store_link.c). */
#include "store/store_email_change.h"

int store_email_change_pending(struct store_link *out, struct store_conn *c, struct arena *a,
                               const char *user_id, int64_t now, struct usher_error *err)
{
    struct store_value p[] = {store_text(user_id), store_int(now)};
    return store_link_find(out, c, a, &store_email_changes,
                           "user_id = $1 AND status = 'pending' AND expires_at > $2", p, 2, err);
}

int store_email_change_count(int64_t *out_count, int64_t *out_oldest, struct store_conn *c,
                             struct arena *a, const char *user_id, int64_t since,
                             struct usher_error *err)
{
    struct store_value p[] = {store_text(user_id), store_int(since)};
    struct store_rows rows;
    int rc = store_exec(c, a,
                        "SELECT COUNT(*), MIN(created_at) FROM email_changes "
                        "WHERE user_id = $1 AND created_at > $2",
                        p, 2, &rows, NULL, err);
    if (rc)
        return rc;
    *out_count = rows.count ? store_cell_int(&rows, 0, 0) : 0;
    *out_oldest = rows.count ? store_cell_int(&rows, 0, 1) : 0;
    return 0;
}

int store_email_change_end_user(int64_t *out_changed, struct store_conn *c, struct arena *a,
                                const char *user_id, const char *status, struct usher_error *err)
{
    struct store_value p[] = {store_text(user_id), store_text(status)};
    return store_exec(c, a,
                      "UPDATE email_changes SET status = $2 "
                      "WHERE user_id = $1 AND status = 'pending'",
                      p, 2, NULL, out_changed, err);
}
