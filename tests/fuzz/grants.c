/* Fuzzes the grant lists of invitations and member changes: app_grants_parse against a seeded
 * store (agency A with environments A1 and A2, bot A1, custom role "reviewer" named Reviewer;
 * agency B with environment B1), then the response and stored forms. The input is a JSON body
 * whose "grants" member is parsed. Properties: every accepted grant is in agency A (never B),
 * no two grants share a scope, each grant's permissions include its roles' and extras, every
 * custom role it holds is one of A's by a valid id, the response form is the stored form (roles
 * by id), and the stored form parses back to the same grants. */
#include <stdlib.h>
#include <string.h>

#include "policy/catalogue.h"
#include "app/grants.h"
#include "base/json.h"
#include "fuzz.h"
#include "store/store.h"

static bool in_agency_a(const struct app_grant *g)
{
    switch (g->scope) {
    case POLICY_SCOPE_AGENCY:
        return strcmp(g->scope_id, FUZZ_ID_AGENCY) == 0;
    case POLICY_SCOPE_ENVIRONMENT:
        return strcmp(g->scope_id, FUZZ_ID_ENV) == 0 || strcmp(g->scope_id, FUZZ_ID_ENV2) == 0;
    case POLICY_SCOPE_BOT:
        return strcmp(g->scope_id, FUZZ_ID_BOT) == 0 && g->environment_id &&
               strcmp(g->environment_id, FUZZ_ID_ENV) == 0;
    default:
        return false;
    }
}

static void grants_check(const struct app_grant *g, size_t n, const struct app_role_set *roles)
{
    FUZZ_CHECK(n <= APP_GRANTS_MAX);
    for (size_t i = 0; i < n; i++) {
        FUZZ_CHECK(in_agency_a(&g[i]));
        for (size_t k = 0; k < i; k++)
            FUZZ_CHECK(strcmp(g[i].scope_id, g[k].scope_id) != 0);
        uint64_t from_roles = policy_catalogue_roles_permissions(g[i].roles);
        FUZZ_CHECK((g[i].permissions & from_roles) == from_roles);
        FUZZ_CHECK((g[i].permissions & g[i].extra) == g[i].extra);
        FUZZ_CHECK((g[i].roles & ~policy_catalogue_roles_at(g[i].scope)) == 0);
        for (size_t k = 0; k < g[i].custom_count; k++) {
            const char *id = g[i].custom_ids[k];
            FUZZ_CHECK(app_role_set_find(roles, id, NULL) != NULL);
            FUZZ_CHECK(policy_catalogue_custom_id_valid(id, strlen(id)));
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_world *w = fuzz_world_get();
    json_t *body = NULL;
    struct usher_error err = {0};
    if (json_body_parse(&body, (const char *)data, size, &err) != 0)
        return 0;
    struct arena a;
    arena_init(&a);
    struct store_conn *c = NULL;
    FUZZ_CHECK(store_conn_get(w->app.store, &c, &err) == 0);
    struct app_role_set roles;
    FUZZ_CHECK(app_role_set_load(&roles, c, &a, FUZZ_ID_AGENCY, &err) == 0);
    struct app_grant *g = NULL;
    size_t n = 0;
    bool allow_empty = json_object_get(body, "allow_empty") == json_true();
    int rc = app_grants_parse(&g, &n, c, &a, FUZZ_ID_AGENCY, &roles,
                              json_object_get(body, "grants"), "grants", allow_empty, &err);
    if (rc == 0) {
        FUZZ_CHECK(n > 0 || allow_empty);
        grants_check(g, n, &roles);
        json_t *stored = app_grants_json(g, n, NULL);
        json_t *shown = app_grants_json(g, n, &roles);
        FUZZ_CHECK(stored && shown && json_array_size(stored) == n);
        FUZZ_CHECK(json_equal(stored, shown));
        struct app_grant *g2 = NULL;
        size_t n2 = 0;
        struct usher_error err2 = {0};
        FUZZ_CHECK(app_grants_parse(&g2, &n2, c, &a, FUZZ_ID_AGENCY, &roles, stored, "grants", true,
                                    &err2) == 0);
        FUZZ_CHECK(n2 == n);
        for (size_t i = 0; i < n; i++)
            FUZZ_CHECK(g2[i].permissions == g[i].permissions && g2[i].scope == g[i].scope &&
                       strcmp(g2[i].scope_id, g[i].scope_id) == 0);
        json_decref(stored);
        json_decref(shown);
    } else {
        FUZZ_CHECK(rc == USHER_EINVAL || rc == USHER_ENOTFOUND);
        FUZZ_CHECK(strncmp(err.field, "grants", 6) == 0);
    }
    store_conn_put(c);
    arena_dispose(&a);
    json_decref(body);
    return 0;
}
