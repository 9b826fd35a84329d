/* SQL for the sign-in throttle's shared windows: counting a window, holding a place, turning a
 * hold into a failure, clearing after a success and pruning old rows. */
#include "store/store_throttle.h"

int store_throttle_count(int64_t *out_failures, int64_t *out_holds, struct store_conn *c,
                         struct arena *a, int kind, const char *hash, int64_t since, int64_t now,
                         struct usher_error *err)
{
    /* A live hold was taken less than a lease ago, so it is also after since. */
    static const char sql[] =
        "SELECT coalesce(SUM(CASE WHEN hold_id IS NULL THEN 1 ELSE 0 END), 0), "
        "coalesce(SUM(CASE WHEN hold_id IS NULL THEN 0 ELSE 1 END), 0) FROM throttle_events "
        "WHERE kind = $1 AND hash = $2 AND at > $3 AND (hold_id IS NULL OR hold_until > $4)";
    struct store_value p[] = {store_int(kind), store_text(hash), store_int(since), store_int(now)};
    struct store_rows rows;
    *out_failures = 0;
    *out_holds = 0;
    int rc = store_exec(c, a, sql, p, 4, &rows, NULL, err);
    if (rc)
        return rc;
    if (rows.count == 1) {
        *out_failures = store_cell_int(&rows, 0, 0);
        *out_holds = store_cell_int(&rows, 0, 1);
    }
    return 0;
}

int store_throttle_failure_at(int64_t *out_at, bool *out_found, struct store_conn *c,
                              struct arena *a, int kind, const char *hash, int64_t since,
                              int64_t skip, struct usher_error *err)
{
    static const char sql[] = "SELECT at FROM throttle_events "
                              "WHERE kind = $1 AND hash = $2 AND at > $3 AND hold_id IS NULL "
                              "ORDER BY at DESC LIMIT 1 OFFSET $4";
    struct store_value p[] = {store_int(kind), store_text(hash), store_int(since), store_int(skip)};
    struct store_rows rows;
    *out_at = 0;
    *out_found = false;
    int rc = store_exec(c, a, sql, p, 4, &rows, NULL, err);
    if (rc)
        return rc;
    if (rows.count == 1) {
        *out_at = store_cell_int(&rows, 0, 0);
        *out_found = true;
    }
    return 0;
}

int store_throttle_hold(struct store_conn *c, struct arena *a, int kind, const char *hash,
                        const char *hold_id, int64_t at, int64_t until, struct usher_error *err)
{
    static const char sql[] = "INSERT INTO throttle_events (kind, hash, at, hold_id, hold_until) "
                              "VALUES ($1, $2, $3, $4, $5)";
    struct store_value p[] = {store_int(kind), store_text(hash), store_int(at), store_text(hold_id),
                              store_int(until)};
    return store_exec(c, a, sql, p, 5, NULL, NULL, err);
}

int store_throttle_fail(struct store_conn *c, struct arena *a, const char *hold_id, int64_t at,
                        struct usher_error *err)
{
    static const char sql[] = "UPDATE throttle_events SET at = $2, hold_id = NULL, "
                              "hold_until = NULL WHERE hold_id = $1";
    struct store_value p[] = {store_text(hold_id), store_int(at)};
    return store_exec(c, a, sql, p, 2, NULL, NULL, err);
}

int store_throttle_clear(struct store_conn *c, struct arena *a, const char *hold_id,
                         const int *clear_kinds, const char *const *clear_hashes, int n,
                         struct usher_error *err)
{
    static const char sql[] =
        "DELETE FROM throttle_events WHERE hold_id = $1 OR (hold_id IS NULL AND ("
        "(kind = $2 AND hash = $3) OR (kind = $4 AND hash = $5) OR (kind = $6 AND hash = $7)))";
    struct store_value p[7] = {store_text(hold_id)};
    for (int i = 0; i < 3; i++) {
        bool is_used = i < n && clear_hashes[i];
        p[1 + 2 * i] = store_int(is_used ? clear_kinds[i] : -1);
        p[2 + 2 * i] = store_text(is_used ? clear_hashes[i] : NULL);
    }
    return store_exec(c, a, sql, p, 7, NULL, NULL, err);
}

int store_throttle_prune(int64_t *out_removed, struct store_conn *c, struct arena *a,
                         int64_t before, struct usher_error *err)
{
    static const char sql[] = "DELETE FROM throttle_events WHERE at < $1";
    struct store_value p[] = {store_int(before)};
    int64_t changes = 0;
    int rc = store_exec(c, a, sql, p, 1, NULL, &changes, err);
    if (out_removed)
        *out_removed = rc == 0 ? changes : 0;
    return rc;
}
