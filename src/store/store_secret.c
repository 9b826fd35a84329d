/* The secret_check row: read it, or write it once. */
#include "store/store_secret.h"

int store_secret_check_get(const char **out, bool *found, struct store_conn *c, struct arena *a,
                           struct usher_error *err)
{
    static const char sql[] = "SELECT mac FROM secret_check WHERE id = 1";
    struct store_rows rows;
    int rc = store_exec(c, a, sql, NULL, 0, &rows, NULL, err);
    if (rc)
        return rc;
    *found = rows.count > 0;
    *out = rows.count > 0 ? store_cell_text(&rows, 0, 0) : NULL;
    return 0;
}

int store_secret_check_put(struct store_conn *c, struct arena *a, const char *mac, int64_t now,
                           struct usher_error *err)
{
    static const char sql[] = "INSERT INTO secret_check (id, mac, created_at) VALUES (1, $1, $2)";
    struct store_value p[] = {store_text(mac), store_int(now)};
    return store_exec(c, a, sql, p, 2, NULL, NULL, err);
}
