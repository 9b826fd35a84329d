/* SQL for OpenID Connect: connections and their domains, identities, and sign-in states. */
#include "store/store_oidc.h"

#include <string.h>

#define COUNT(x) (sizeof(x) / sizeof((x)[0]))

#define CONNECTION_COLUMNS                                                                         \
    "id, agency_id, name, issuer, client_id, client_secret_sealed, algorithms, required, "         \
    "created_at, updated_at"

static void connection_row(struct store_oidc_connection *out, const struct store_rows *rows,
                           size_t r)
{
    out->id = store_cell_text(rows, r, 0);
    out->agency_id = store_cell_text(rows, r, 1);
    out->name = store_cell_text(rows, r, 2);
    out->issuer = store_cell_text(rows, r, 3);
    out->client_id = store_cell_text(rows, r, 4);
    out->client_secret_sealed = store_cell_text(rows, r, 5);
    out->algorithms = store_cell_text(rows, r, 6);
    out->required = store_cell_int(rows, r, 7) != 0;
    out->created_at = store_cell_int(rows, r, 8);
    out->updated_at = store_cell_int(rows, r, 9);
}

int store_oidc_connection_insert(struct store_conn *c, struct arena *a,
                                 const struct store_oidc_connection *conn, struct usher_error *err)
{
    static const char sql[] = "INSERT INTO oidc_connections (" CONNECTION_COLUMNS
                              ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";
    struct store_value p[] = {
        store_text(conn->id),         store_text(conn->agency_id),
        store_text(conn->name),       store_text(conn->issuer),
        store_text(conn->client_id),  store_text(conn->client_secret_sealed),
        store_text(conn->algorithms), store_int(conn->required ? 1 : 0),
        store_int(conn->created_at),  store_int(conn->updated_at),
    };
    return store_exec(c, a, sql, p, COUNT(p), NULL, NULL, err);
}

int store_oidc_connection_update(struct store_conn *c, struct arena *a,
                                 const struct store_oidc_connection *conn, struct usher_error *err)
{
    static const char sql[] =
        "UPDATE oidc_connections SET name = $2, issuer = $3, client_id = $4, "
        "client_secret_sealed = $5, algorithms = $6, required = $7, updated_at = $8 WHERE id = $1";
    struct store_value p[] = {
        store_text(conn->id),
        store_text(conn->name),
        store_text(conn->issuer),
        store_text(conn->client_id),
        store_text(conn->client_secret_sealed),
        store_text(conn->algorithms),
        store_int(conn->required ? 1 : 0),
        store_int(conn->updated_at),
    };
    int64_t changed = 0;
    int rc = store_exec(c, a, sql, p, COUNT(p), NULL, &changed, err);
    if (rc == 0 && changed == 0)
        rc = usher_error_set(err, USHER_ENOTFOUND, NULL, NULL, "connection not found");
    return rc;
}

int store_oidc_connection_delete(struct store_conn *c, struct arena *a, const char *agency_id,
                                 const char *id, struct usher_error *err)
{
    /* The domains are deleted first: they name the connection, and SQLite and PostgreSQL
     * would both cascade, but explicit rows keep the order plain on either. */
    static const char domains[] = "DELETE FROM oidc_domains WHERE connection_id = $1";
    static const char sql[] = "DELETE FROM oidc_connections WHERE id = $1 AND agency_id = $2";
    struct store_value p[] = {store_text(id), store_text(agency_id)};
    int64_t changed = 0;
    int rc = store_exec(c, a, domains, p, 1, NULL, NULL, err);
    if (rc == 0)
        rc = store_exec(c, a, sql, p, COUNT(p), NULL, &changed, err);
    if (rc == 0 && changed == 0)
        rc = usher_error_set(err, USHER_ENOTFOUND, NULL, NULL, "connection not found");
    return rc;
}

int store_oidc_connection_get(struct store_oidc_connection *out, struct store_conn *c,
                              struct arena *a, const char *id, struct usher_error *err)
{
    static const char sql[] = "SELECT " CONNECTION_COLUMNS " FROM oidc_connections WHERE id = $1";
    struct store_value p[] = {store_text(id)};
    struct store_rows rows;
    int rc = store_exec(c, a, sql, p, COUNT(p), &rows, NULL, err);
    if (rc)
        return rc;
    if (rows.count == 0)
        return usher_error_set(err, USHER_ENOTFOUND, NULL, NULL, "connection not found");
    connection_row(out, &rows, 0);
    return 0;
}

int store_oidc_connection_list(struct store_oidc_connection **out, size_t *out_count,
                               struct store_conn *c, struct arena *a, const char *agency_id,
                               struct usher_error *err)
{
    static const char sql[] = "SELECT " CONNECTION_COLUMNS " FROM oidc_connections WHERE "
                              "agency_id = $1 ORDER BY created_at, id LIMIT $2";
    struct store_value p[] = {store_text(agency_id), store_int(STORE_OIDC_CONNECTIONS_MAX)};
    struct store_rows rows;
    *out = NULL;
    *out_count = 0;
    int rc = store_exec(c, a, sql, p, COUNT(p), &rows, NULL, err);
    if (rc)
        return rc;
    struct store_oidc_connection *items = arena_alloc(a, (rows.count + 1) * sizeof(*items));
    for (size_t r = 0; r < rows.count; r++)
        connection_row(&items[r], &rows, r);
    *out = items;
    *out_count = rows.count;
    return 0;
}

int store_oidc_connection_required_other(const char **out, struct store_conn *c, struct arena *a,
                                         const char *agency_id, const char *except_id,
                                         struct usher_error *err)
{
    static const char sql[] = "SELECT id FROM oidc_connections WHERE agency_id = $1 AND "
                              "required = 1 AND (CAST($2 AS TEXT) IS NULL OR id <> $2) "
                              "ORDER BY id LIMIT 1";
    struct store_value p[] = {store_text(agency_id), store_text(except_id)};
    struct store_rows rows;
    *out = NULL;
    int rc = store_exec(c, a, sql, p, COUNT(p), &rows, NULL, err);
    if (rc == 0 && rows.count > 0)
        *out = store_cell_text(&rows, 0, 0);
    return rc;
}

int store_oidc_domains_set(struct store_conn *c, struct arena *a, const char *connection_id,
                           const char *const *domains, size_t count, struct usher_error *err)
{
    static const char clear[] = "DELETE FROM oidc_domains WHERE connection_id = $1";
    static const char add[] = "INSERT INTO oidc_domains (domain, connection_id) VALUES ($1, $2)";
    struct store_value p[] = {store_text(connection_id)};
    int rc = store_exec(c, a, clear, p, COUNT(p), NULL, NULL, err);
    for (size_t i = 0; rc == 0 && i < count; i++) {
        struct store_value q[] = {store_text(domains[i]), store_text(connection_id)};
        rc = store_exec(c, a, add, q, COUNT(q), NULL, NULL, err);
    }
    return rc;
}

int store_oidc_domains_list(const char ***out, size_t *out_count, struct store_conn *c,
                            struct arena *a, const char *connection_id, struct usher_error *err)
{
    static const char sql[] =
        "SELECT domain FROM oidc_domains WHERE connection_id = $1 ORDER BY domain";
    struct store_value p[] = {store_text(connection_id)};
    struct store_rows rows;
    *out = NULL;
    *out_count = 0;
    int rc = store_exec(c, a, sql, p, COUNT(p), &rows, NULL, err);
    if (rc)
        return rc;
    const char **items = arena_alloc(a, (rows.count + 1) * sizeof(*items));
    for (size_t r = 0; r < rows.count; r++)
        items[r] = store_cell_text(&rows, r, 0);
    *out = items;
    *out_count = rows.count;
    return 0;
}

int store_oidc_domain_owner(const char **out, struct store_conn *c, struct arena *a,
                            const char *domain, struct usher_error *err)
{
    static const char sql[] = "SELECT connection_id FROM oidc_domains WHERE domain = $1";
    struct store_value p[] = {store_text(domain)};
    struct store_rows rows;
    *out = NULL;
    int rc = store_exec(c, a, sql, p, COUNT(p), &rows, NULL, err);
    if (rc == 0 && rows.count > 0)
        *out = store_cell_text(&rows, 0, 0);
    return rc;
}

#define IDENTITY_COLUMNS "id, user_id, issuer, subject, connection_id, email, created_at"

static void identity_row(struct store_identity *out, const struct store_rows *rows, size_t r)
{
    memset(out, 0, sizeof(*out));
    out->id = store_cell_text(rows, r, 0);
    out->user_id = store_cell_text(rows, r, 1);
    out->issuer = store_cell_text(rows, r, 2);
    out->subject = store_cell_text(rows, r, 3);
    out->connection_id = store_cell_text(rows, r, 4);
    out->email = store_cell_text(rows, r, 5);
    out->created_at = store_cell_int(rows, r, 6);
}

int store_identity_insert(struct store_conn *c, struct arena *a, const struct store_identity *id,
                          struct usher_error *err)
{
    static const char sql[] =
        "INSERT INTO identities (" IDENTITY_COLUMNS ") VALUES ($1, $2, $3, $4, $5, $6, $7)";
    struct store_value p[] = {
        store_text(id->id),        store_text(id->user_id),       store_text(id->issuer),
        store_text(id->subject),   store_text(id->connection_id), store_text(id->email),
        store_int(id->created_at),
    };
    return store_exec(c, a, sql, p, COUNT(p), NULL, NULL, err);
}

int store_identity_by_connection(struct store_identity *out, struct store_conn *c, struct arena *a,
                                 const char *connection_id, const char *issuer, const char *subject,
                                 struct usher_error *err)
{
    static const char sql[] = "SELECT " IDENTITY_COLUMNS " FROM identities "
                              "WHERE connection_id = $1 AND issuer = $2 AND subject = $3";
    struct store_value p[] = {store_text(connection_id), store_text(issuer), store_text(subject)};
    struct store_rows rows;
    int rc = store_exec(c, a, sql, p, COUNT(p), &rows, NULL, err);
    if (rc)
        return rc;
    if (rows.count == 0)
        return usher_error_set(err, USHER_ENOTFOUND, NULL, NULL, "identity not found");
    identity_row(out, &rows, 0);
    return 0;
}

int store_identity_elsewhere(bool *out, struct store_conn *c, struct arena *a,
                             const char *connection_id, const char *issuer, const char *subject,
                             struct usher_error *err)
{
    static const char sql[] =
        "SELECT 1 FROM identities i JOIN oidc_connections o ON o.id = i.connection_id "
        "AND o.issuer = i.issuer WHERE i.issuer = $1 AND i.subject = $2 AND i.connection_id <> $3 "
        "LIMIT 1";
    struct store_value p[] = {store_text(issuer), store_text(subject), store_text(connection_id)};
    struct store_rows rows;
    *out = false;
    int rc = store_exec(c, a, sql, p, COUNT(p), &rows, NULL, err);
    if (rc == 0)
        *out = rows.count > 0;
    return rc;
}

int store_identity_list_user(struct store_identity **out, size_t *out_count, struct store_conn *c,
                             struct arena *a, const char *user_id, struct usher_error *err)
{
    static const char sql[] =
        "SELECT i.id, i.user_id, i.issuer, i.subject, i.connection_id, i.email, i.created_at, "
        "o.name, CASE WHEN o.issuer = i.issuer THEN 1 ELSE 0 END "
        "FROM identities i LEFT JOIN oidc_connections o ON o.id = i.connection_id "
        "WHERE i.user_id = $1 ORDER BY i.created_at, i.id LIMIT $2";
    struct store_value p[] = {store_text(user_id), store_int(STORE_IDENTITIES_MAX)};
    struct store_rows rows;
    *out = NULL;
    *out_count = 0;
    int rc = store_exec(c, a, sql, p, COUNT(p), &rows, NULL, err);
    if (rc)
        return rc;
    struct store_identity *items = arena_alloc(a, (rows.count + 1) * sizeof(*items));
    for (size_t r = 0; r < rows.count; r++) {
        identity_row(&items[r], &rows, r);
        items[r].connection_name = store_cell_text(&rows, r, 7);
        items[r].usable = store_cell_int(&rows, r, 8) != 0;
    }
    *out = items;
    *out_count = rows.count;
    return 0;
}

int store_identity_delete(struct store_conn *c, struct arena *a, const char *user_id,
                          const char *id, struct usher_error *err)
{
    static const char sql[] = "DELETE FROM identities WHERE id = $1 AND user_id = $2";
    struct store_value p[] = {store_text(id), store_text(user_id)};
    int64_t changed = 0;
    int rc = store_exec(c, a, sql, p, COUNT(p), NULL, &changed, err);
    if (rc == 0 && changed == 0)
        rc = usher_error_set(err, USHER_ENOTFOUND, NULL, NULL, "identity not found");
    return rc;
}

int store_identity_user_has_connection(bool *out, struct store_conn *c, struct arena *a,
                                       const char *user_id, const char *connection_id,
                                       struct usher_error *err)
{
    static const char sql[] =
        "SELECT 1 FROM identities WHERE user_id = $1 AND connection_id = $2 LIMIT 1";
    struct store_value p[] = {store_text(user_id), store_text(connection_id)};
    struct store_rows rows;
    *out = false;
    int rc = store_exec(c, a, sql, p, COUNT(p), &rows, NULL, err);
    if (rc == 0)
        *out = rows.count > 0;
    return rc;
}

int store_identity_sign_in_methods(bool *out_password, bool *out_identity, struct store_conn *c,
                                   struct arena *a, const char *user_id, struct usher_error *err)
{
    static const char sql[] =
        "SELECT CASE WHEN password_hash IS NULL THEN 0 ELSE 1 END, "
        "(SELECT count(*) FROM identities i JOIN oidc_connections o "
        "ON o.id = i.connection_id AND o.issuer = i.issuer WHERE i.user_id = $1) "
        "FROM users WHERE id = $1";
    struct store_value p[] = {store_text(user_id)};
    struct store_rows rows;
    *out_password = false;
    *out_identity = false;
    int rc = store_exec(c, a, sql, p, COUNT(p), &rows, NULL, err);
    if (rc == 0 && rows.count > 0) {
        *out_password = store_cell_int(&rows, 0, 0) != 0;
        *out_identity = store_cell_int(&rows, 0, 1) > 0;
    }
    return rc;
}

#define STATE_COLUMNS                                                                              \
    "state_hash, browser_hash, nonce, code_verifier_sealed, connection_id, purpose, "              \
    "invitation_id, link_user_id, return_to, created_at, expires_at, used_at"

int store_oidc_state_insert(struct store_conn *c, struct arena *a, const struct store_oidc_state *s,
                            int64_t now, int64_t max_live, struct usher_error *err)
{
    static const char purge[] = "DELETE FROM oidc_states WHERE expires_at < $1";
    static const char live[] = "SELECT count(*) FROM (SELECT 1 FROM oidc_states LIMIT $1) t";
    static const char sql[] = "INSERT INTO oidc_states (" STATE_COLUMNS
                              ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, NULL)";
    struct store_value q[] = {store_int(now)};
    int rc = store_exec(c, a, purge, q, COUNT(q), NULL, NULL, err);
    if (rc)
        return rc;
    struct store_value m[] = {store_int(max_live)};
    struct store_rows rows;
    rc = store_exec(c, a, live, m, COUNT(m), &rows, NULL, err);
    if (rc)
        return rc;
    if (rows.count > 0 && store_cell_int(&rows, 0, 0) >= max_live)
        return usher_error_set(err, USHER_ELIMIT, "rate_limited", NULL,
                               "too many sign-ins are under way; try again in a few minutes");
    struct store_value p[] = {
        store_text(s->state_hash),    store_text(s->browser_hash),
        store_text(s->nonce),         store_text(s->code_verifier_sealed),
        store_text(s->connection_id), store_text(s->purpose),
        store_text(s->invitation_id), store_text(s->link_user_id),
        store_text(s->return_to),     store_int(s->created_at),
        store_int(s->expires_at),
    };
    return store_exec(c, a, sql, p, COUNT(p), NULL, NULL, err);
}

int store_oidc_state_get(struct store_oidc_state *out, struct store_conn *c, struct arena *a,
                         const char *state_hash, struct usher_error *err)
{
    static const char sql[] = "SELECT " STATE_COLUMNS " FROM oidc_states WHERE state_hash = $1";
    struct store_value p[] = {store_text(state_hash)};
    struct store_rows rows;
    int rc = store_exec(c, a, sql, p, COUNT(p), &rows, NULL, err);
    if (rc)
        return rc;
    if (rows.count == 0)
        return usher_error_set(err, USHER_ENOTFOUND, NULL, NULL, "no such sign-in state");
    out->state_hash = store_cell_text(&rows, 0, 0);
    out->browser_hash = store_cell_text(&rows, 0, 1);
    out->nonce = store_cell_text(&rows, 0, 2);
    out->code_verifier_sealed = store_cell_text(&rows, 0, 3);
    out->connection_id = store_cell_text(&rows, 0, 4);
    out->purpose = store_cell_text(&rows, 0, 5);
    out->invitation_id = store_cell_text(&rows, 0, 6);
    out->link_user_id = store_cell_text(&rows, 0, 7);
    out->return_to = store_cell_text(&rows, 0, 8);
    out->created_at = store_cell_int(&rows, 0, 9);
    out->expires_at = store_cell_int(&rows, 0, 10);
    out->used_at = store_cell_int(&rows, 0, 11);
    return 0;
}

int store_oidc_state_take(bool *out_taken, struct store_conn *c, struct arena *a,
                          const char *state_hash, int64_t now, struct usher_error *err)
{
    static const char sql[] = "UPDATE oidc_states SET used_at = $2 WHERE state_hash = $1 AND "
                              "used_at IS NULL AND expires_at > $2";
    struct store_value p[] = {store_text(state_hash), store_int(now)};
    int64_t changed = 0;
    *out_taken = false;
    int rc = store_exec(c, a, sql, p, COUNT(p), NULL, &changed, err);
    if (rc == 0)
        *out_taken = changed == 1;
    return rc;
}
