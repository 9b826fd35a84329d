/* SQL for password reset requests beyond what every link table shares (store_link.c). */
#include "store/store_password_reset.h"

int store_password_reset_counts(int64_t *out_email, int64_t *out_user, struct store_conn *c,
                                struct arena *a, const char *email, const char *user_id,
                                int64_t since, struct usher_error *err)
{
    struct store_value p[] = {store_text(email), store_text(user_id), store_int(since)};
    struct store_rows rows;
    int rc = store_exec(c, a,
                        "SELECT "
                        "(SELECT COUNT(*) FROM password_resets WHERE email = $1 "
                        "AND created_at > $3 AND status <> 'throttled'), "
                        "(SELECT COUNT(*) FROM password_resets WHERE user_id = $2 "
                        "AND created_at > $3 AND status <> 'throttled')",
                        p, 3, &rows, NULL, err);
    if (rc)
        return rc;
    *out_email = rows.count ? store_cell_int(&rows, 0, 0) : 0;
    *out_user = rows.count ? store_cell_int(&rows, 0, 1) : 0;
    return 0;
}

int store_password_reset_void_user(int64_t *out_voided, struct store_conn *c, struct arena *a,
                                   const char *user_id, struct usher_error *err)
{
    struct store_value p[] = {store_text(user_id)};
    return store_exec(c, a,
                      "UPDATE password_resets SET status = 'voided' "
                      "WHERE user_id = $1 AND status = 'pending'",
                      p, 1, NULL, out_voided, err);
}
