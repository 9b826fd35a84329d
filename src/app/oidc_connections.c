/* An agency's connections to OpenID Connect providers: create, change, delete, read and test,
 * for those who hold agency.manage. The client secret is sealed before it reaches the store and
 * never leaves it again; audit rows name what changed, never the secret. */
#include "app/oidc_int.h"

#include <sodium.h>
#include <string.h>

#include "app/access.h"
#include "app/audit.h"
#include "base/clock.h"
#include "base/crypto.h"
#include "base/text.h"
#include "config/config.h"

#define DOMAIN_MAX 253

static int manage_check(struct store_conn *c, const struct app_call *call, const char *agency_id)
{
    return app_access_demand(c, call->arena, call->actor, agency_id, POLICY_SCOPE_AGENCY, agency_id,
                             "agency.manage", "agency", call->err);
}

/* A domain as claimed: lower case letters, digits, '-' and '.', dotted, at most 253 bytes. */
static int domain_normalize(const char **out, struct arena *a, const char *in,
                            struct usher_error *err)
{
    size_t len = in ? strlen(in) : 0;
    bool dotted = false;
    if (len == 0 || len > DOMAIN_MAX)
        goto bad;
    char *d = arena_strdup(a, in);
    for (size_t i = 0; i < len; i++) {
        char ch = d[i];
        if (ch >= 'A' && ch <= 'Z')
            d[i] = (char)(ch - 'A' + 'a');
        else if (ch == '.') {
            if (i == 0 || i + 1 == len || d[i - 1] == '.')
                goto bad;
            dotted = true;
        } else if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-'))
            goto bad;
    }
    if (!dotted)
        goto bad;
    *out = d;
    return 0;
bad:
    return usher_error_set(err, USHER_EINVAL, NULL, "domains",
                           "each domain must be a DNS name such as example.com");
}

/* The checked form of an input, applied over cur (an update) or a blank connection. */
struct checked {
    struct store_oidc_connection conn;
    const char **domains;
    size_t domain_count;
    bool set_domains;
    const char *secret; /* a new secret, NULL to keep the sealed one */
    json_t *changed;    /* names of the fields that change (audit) */
};

static int check_strings(struct checked *x, const struct app_call *call,
                         const struct app_oidc_connection_input *in)
{
    int rc = 0;
    if (in->name) {
        rc = text_name_check(&x->conn.name, call->arena, in->name, "name", APP_OIDC_NAME_MAX,
                             call->err);
        if (rc)
            return rc;
        json_array_append_new(x->changed, json_string("name"));
    }
    if (in->issuer) {
        if (!oidc_url_allowed(in->issuer, call->app->cfg->oidc_allow_insecure_loopback))
            return usher_error_set(call->err, USHER_EINVAL, "insecure_issuer", "issuer",
                                   "the issuer must be an https:// URL without user, fragment or "
                                   "spaces (http:// only to this machine, with "
                                   "oidc_allow_insecure_loopback)");
        x->conn.issuer = in->issuer;
        json_array_append_new(x->changed, json_string("issuer"));
    }
    if (in->client_id) {
        size_t len = strlen(in->client_id);
        if (len == 0 || len > APP_OIDC_CLIENT_ID_MAX)
            return usher_error_set(call->err, USHER_EINVAL, NULL, "client_id",
                                   "client_id must be 1 to %d bytes", APP_OIDC_CLIENT_ID_MAX);
        rc = text_chars_check(in->client_id, len, "client_id", call->err);
        if (rc)
            return rc;
        x->conn.client_id = in->client_id;
        json_array_append_new(x->changed, json_string("client_id"));
    }
    if (in->client_secret) {
        size_t len = strlen(in->client_secret);
        if (len == 0 || len > OIDC_SECRET_MAX)
            return usher_error_set(call->err, USHER_EINVAL, NULL, "client_secret",
                                   "client_secret must be 1 to %d bytes", OIDC_SECRET_MAX);
        x->secret = in->client_secret;
        json_array_append_new(x->changed, json_string("client_secret"));
    }
    return 0;
}

static int check_lists(struct checked *x, const struct app_call *call,
                       const struct app_oidc_connection_input *in)
{
    if (in->has_algorithms) {
        unsigned algs = 0;
        char *list = arena_strdup(call->arena, "");
        for (size_t i = 0; i < in->algorithm_count; i++)
            list = arena_printf(call->arena, "%s%s%s", list, i ? "," : "", in->algorithms[i]);
        int rc = oidc_algs_parse(&algs, list, call->err);
        if (rc) {
            /* The parser names no field: name it, keeping its problem code. */
            struct usher_error parsed = *call->err;
            usher_error_clear(call->err);
            return usher_error_set(call->err, rc, parsed.problem, "algorithms", "%s",
                                   parsed.message);
        }
        char *names = arena_strdup(call->arena, "");
        for (unsigned bit = 1; bit && bit <= OIDC_ALGS_DEFAULT; bit <<= 1)
            if (algs & bit)
                names = arena_printf(call->arena, "%s%s%s", names, *names ? "," : "",
                                     oidc_alg_name(bit));
        x->conn.algorithms = names;
        json_array_append_new(x->changed, json_string("algorithms"));
    }
    if (in->has_domains) {
        if (in->domain_count > APP_OIDC_DOMAINS_MAX)
            return usher_error_set(call->err, USHER_EINVAL, NULL, "domains", "at most %d domains",
                                   APP_OIDC_DOMAINS_MAX);
        x->domains = arena_alloc(call->arena, (in->domain_count + 1) * sizeof(*x->domains));
        for (size_t i = 0; i < in->domain_count; i++) {
            const char *d = NULL;
            int rc = domain_normalize(&d, call->arena, in->domains[i], call->err);
            if (rc)
                return rc;
            bool dup = false;
            for (size_t j = 0; j < x->domain_count; j++)
                dup = dup || strcmp(x->domains[j], d) == 0;
            if (!dup)
                x->domains[x->domain_count++] = d;
        }
        x->set_domains = true;
        json_array_append_new(x->changed, json_string("domains"));
    }
    if (in->has_required) {
        x->conn.required = in->required;
        json_array_append_new(x->changed, json_string("required"));
    }
    return 0;
}

static int view_fill(struct app_oidc_connection_view *out, struct store_conn *c,
                     const struct app_call *call, const struct store_oidc_connection *conn)
{
    memset(out, 0, sizeof(*out));
    out->conn = *conn;
    out->conn.client_secret_sealed = NULL;
    out->algs = app_oidc_algs(conn);
    out->redirect_uri = arena_printf(call->arena, "%s/api/v1/oidc/callback", call->app->public_url);
    return store_oidc_domains_list(&out->domains, &out->domain_count, c, call->arena, conn->id,
                                   call->err);
}

/* Writes the checked connection (insert or update), its domains and its audit row. */
static int connection_write(struct checked *x, struct store_conn *c, const struct app_call *call,
                            bool is_new)
{
    int rc = 0;
    if (x->secret) {
        unsigned char key[OIDC_SECRET_KEY_BYTES];
        oidc_secret_key_derive(key, call->app->secret, sizeof(call->app->secret));
        char *sealed = NULL;
        rc = oidc_secret_seal(&sealed, call->arena, key, x->conn.id, x->secret, call->err);
        sodium_memzero(key, sizeof(key));
        if (rc)
            return rc;
        x->conn.client_secret_sealed = sealed;
    }
    x->conn.updated_at = clock_now_ms();
    if (!is_new && x->conn.updated_at <= x->conn.created_at)
        x->conn.updated_at = x->conn.created_at + 1;
    rc = is_new ? store_oidc_connection_insert(c, call->arena, &x->conn, call->err)
                : store_oidc_connection_update(c, call->arena, &x->conn, call->err);
    if (rc)
        return rc;
    if (x->set_domains) {
        rc = store_oidc_domains_set(c, call->arena, x->conn.id, x->domains, x->domain_count,
                                    call->err);
        if (rc == USHER_ECONFLICT) {
            usher_error_clear(call->err);
            return usher_error_set(call->err, USHER_ECONFLICT, "domain_claimed", "domains",
                                   "another connection already claims one of these domains");
        }
        if (rc)
            return rc;
    }
    struct app_audit_event ev = {
        .agency_id = x->conn.agency_id,
        .action = is_new ? "oidc_connection.created" : "oidc_connection.updated",
        .scope_type = "agency",
        .scope_id = x->conn.agency_id,
        .details = json_pack("{s:s, s:s, s:s, s:O}", "connection_id", x->conn.id, "name",
                             x->conn.name, "issuer", x->conn.issuer, "changed", x->changed),
    };
    return app_audit_record(c, call->arena, call->actor, &ev, call->err);
}

int app_oidc_connection_create(struct app_oidc_connection_view *out, const struct app_call *call,
                               const char *agency_id, const struct app_oidc_connection_input *in)
{
    memset(out, 0, sizeof(*out));
    struct checked x = {.changed = json_array()};
    x.conn.agency_id = agency_id;
    x.conn.algorithms = "RS256,PS256,ES256";
    x.conn.id = crypto_id_new(call->arena, "oic");
    x.conn.created_at = clock_now_ms();
    struct store_conn *c = NULL;
    int rc = 0;
    if (!in->name || !in->issuer || !in->client_id || !in->client_secret || !in->has_domains) {
        const char *field = !in->name            ? "name"
                            : !in->issuer        ? "issuer"
                            : !in->client_id     ? "client_id"
                            : !in->client_secret ? "client_secret"
                                                 : "domains";
        rc = usher_error_set(call->err, USHER_EINVAL, NULL, field, "%s is required", field);
        goto done;
    }
    rc = check_strings(&x, call, in);
    if (rc)
        goto done;
    rc = check_lists(&x, call, in);
    if (rc)
        goto done;
    rc = app_call_begin(&c, call, true);
    if (rc)
        goto done;
    rc = manage_check(c, call, agency_id);
    if (rc)
        goto done;
    rc = connection_write(&x, c, call, true);
    if (rc)
        goto done;
    rc = view_fill(out, c, call, &x.conn);
    if (rc)
        goto done;
    rc = store_commit(c, call->err);
done:
    store_conn_put(c);
    json_decref(x.changed);
    return rc;
}

int app_oidc_connection_update(struct app_oidc_connection_view *out, const struct app_call *call,
                               const char *agency_id, const char *id,
                               const struct app_oidc_connection_input *in)
{
    memset(out, 0, sizeof(*out));
    struct checked x = {.changed = json_array()};
    struct store_conn *c = NULL;
    int rc = app_call_begin(&c, call, true);
    if (rc)
        goto done;
    rc = manage_check(c, call, agency_id);
    if (rc)
        goto done;
    rc = app_oidc_connection_load(&x.conn, c, call->arena, agency_id, id, call->err);
    if (rc)
        goto done;
    rc = check_strings(&x, call, in);
    if (rc)
        goto done;
    rc = check_lists(&x, call, in);
    if (rc)
        goto done;
    rc = connection_write(&x, c, call, false);
    if (rc)
        goto done;
    rc = view_fill(out, c, call, &x.conn);
    if (rc)
        goto done;
    rc = store_commit(c, call->err);
done:
    store_conn_put(c);
    json_decref(x.changed);
    return rc;
}

int app_oidc_connection_delete(const struct app_call *call, const char *agency_id, const char *id)
{
    struct store_conn *c = NULL;
    struct store_oidc_connection conn;
    int rc = app_call_begin(&c, call, true);
    if (rc)
        goto done;
    rc = manage_check(c, call, agency_id);
    if (rc)
        goto done;
    rc = app_oidc_connection_load(&conn, c, call->arena, agency_id, id, call->err);
    if (rc)
        goto done;
    rc = store_oidc_connection_delete(c, call->arena, agency_id, id, call->err);
    if (rc)
        goto done;
    struct app_audit_event ev = {
        .agency_id = agency_id,
        .action = "oidc_connection.deleted",
        .scope_type = "agency",
        .scope_id = agency_id,
        .details = json_pack("{s:s, s:s, s:s}", "connection_id", id, "name", conn.name, "issuer",
                             conn.issuer),
    };
    rc = app_audit_record(c, call->arena, call->actor, &ev, call->err);
    if (rc)
        goto done;
    rc = store_commit(c, call->err);
done:
    store_conn_put(c);
    return rc;
}

int app_oidc_connection_get(struct app_oidc_connection_view *out, const struct app_call *call,
                            const char *agency_id, const char *id)
{
    memset(out, 0, sizeof(*out));
    struct store_conn *c = NULL;
    struct store_oidc_connection conn;
    int rc = store_conn_get(call->app->store, &c, call->err);
    if (rc)
        goto done;
    rc = manage_check(c, call, agency_id);
    if (rc)
        goto done;
    rc = app_oidc_connection_load(&conn, c, call->arena, agency_id, id, call->err);
    if (rc)
        goto done;
    rc = view_fill(out, c, call, &conn);
done:
    store_conn_put(c);
    return rc;
}

int app_oidc_connection_list(struct app_oidc_connection_view **out, size_t *out_count,
                             const struct app_call *call, const char *agency_id)
{
    *out = NULL;
    *out_count = 0;
    struct store_conn *c = NULL;
    struct store_oidc_connection *rows = NULL;
    size_t n = 0;
    int rc = store_conn_get(call->app->store, &c, call->err);
    if (rc)
        goto done;
    rc = manage_check(c, call, agency_id);
    if (rc)
        goto done;
    rc = store_oidc_connection_list(&rows, &n, c, call->arena, agency_id, call->err);
    if (rc)
        goto done;
    struct app_oidc_connection_view *items = arena_alloc(call->arena, (n + 1) * sizeof(*items));
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = view_fill(&items[i], c, call, &rows[i]);
    if (rc)
        goto done;
    *out = items;
    *out_count = n;
done:
    store_conn_put(c);
    return rc;
}

int app_oidc_connection_names(struct store_oidc_connection **out, size_t *out_count,
                              const struct app_call *call, const char *agency_id)
{
    struct store_conn *c = NULL;
    int rc = store_conn_get(call->app->store, &c, call->err);
    if (rc)
        goto done;
    rc = store_oidc_connection_list(out, out_count, c, call->arena, agency_id, call->err);
done:
    store_conn_put(c);
    return rc;
}

/* The stored connection id (its sealed secret and algorithms), on a connection of its own. */
static int connection_read(struct store_oidc_connection *out, const struct app_call *call,
                           const char *id)
{
    struct store_conn *c = NULL;
    int rc = store_conn_get(call->app->store, &c, call->err);
    if (rc)
        goto done;
    rc = store_oidc_connection_get(out, c, call->arena, id, call->err);
done:
    store_conn_put(c);
    return rc;
}

static void problem_add(struct app_oidc_test *out, struct arena *a, const char *what,
                        const struct usher_error *e)
{
    const char **grown = arena_alloc(a, (out->problem_count + 1) * sizeof(*grown));
    if (out->problem_count)
        memcpy(grown, out->problems, out->problem_count * sizeof(*grown));
    grown[out->problem_count++] =
        arena_printf(a, "%s: %s (%s)", what, e->message, e->problem[0] ? e->problem : "error");
    out->problems = grown;
    out->ok = false;
}

int app_oidc_connection_test(struct app_oidc_test *out, const struct app_call *call,
                             const char *agency_id, const char *id)
{
    memset(out, 0, sizeof(*out));
    struct store_oidc_connection conn;
    struct app_oidc_connection_view view;
    int rc = app_oidc_connection_get(&view, call, agency_id, id);
    if (rc)
        return rc;
    rc = connection_read(&conn, call, id);
    if (rc)
        return rc;
    out->ok = true;
    /* A provider of its own, not the cache's: the test sees the provider as it is now. */
    struct oidc_provider_options opt = {
        .issuer = conn.issuer,
        .algs = app_oidc_algs(&conn),
        .http = app_oidc_http_options(call->app),
    };
    struct oidc_provider *p = NULL;
    struct usher_error e = {0};
    if (oidc_provider_new(&p, &opt, &e) != 0) {
        problem_add(out, call->arena, "issuer", &e);
        return 0;
    }
    if (oidc_provider_discovery(&out->discovery, call->arena, p, &e) != 0) {
        problem_add(out, call->arena, "discovery", &e);
    } else {
        json_t *keys = NULL;
        usher_error_clear(&e);
        if (oidc_provider_keys_for(&keys, p, NULL, &e) != 0) {
            problem_add(out, call->arena, "keys", &e);
        } else {
            out->keys = json_array_size(json_object_get(keys, "keys"));
            json_decref(keys);
        }
    }
    oidc_provider_free(p);
    return 0;
}
