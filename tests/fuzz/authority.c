/* Fuzzes the authority rules of app/access.c without a store: the input's bytes make the
 * caller's grants and a member's grants in one agency (an agency grant, grants on environments
 * E1 and E2, a grant on bot B1 in E1), and one requested grant. Properties, each the rule
 * restated from the decision function alone:
 * - may_grant accepts exactly when the caller holds the right at the grant's scope (users.invite
 *   or users.manage; bot.delegate for a bot), every authority permission the grant gives there,
 *   and, for the owner role, owns the agency; its refusal reason is set exactly when it refuses;
 * - may_act_on accepts only when, at every target, the caller holds users.manage and every
 *   authority permission the member holds there, and an owner is acted on only by an owner;
 * - a platform admin passes both. */
#include <string.h>

#include "app/access.h"
#include "fuzz.h"
#include "policy/catalogue.h"

#define AGENCY "agy_A"
#define ENV1   "env_1"
#define ENV2   "env_2"
#define BOT1   "bot_1"

/* A cursor over the input: each read takes bytes, or zeros once the input runs out. */
struct bytes {
    const uint8_t *p;
    size_t left;
};

static uint64_t take(struct bytes *b, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        v = (v << 8) | (b->left ? *b->p : 0);
        if (b->left) {
            b->p++;
            b->left--;
        }
    }
    return v;
}

/* Up to four grants (agency, E1, E2, B1), each present when its first byte is odd. */
static void grants_take(struct policy_decide_grants *out, struct policy_decide_grant store[4],
                        struct bytes *b)
{
    memset(out, 0, sizeof(*out));
    static const char *const scope_ids[] = {AGENCY, ENV1, ENV2, BOT1};
    size_t envs = 0;
    for (size_t i = 0; i < 4; i++) {
        bool present = take(b, 1) & 1;
        uint64_t roles = take(b, 2) & POLICY_ROLES_ALL;
        uint64_t extra = take(b, 4) & POLICY_PERMS_ALL;
        if (!present)
            continue;
        store[i] = (struct policy_decide_grant){scope_ids[i], i == 3 ? ENV1 : NULL, roles, extra};
        if (i == 0)
            out->agency = &store[0];
        else if (i < 3)
            envs++;
        else
            out->bots = &store[3], out->bot_count = 1;
    }
    /* Environment grants sit side by side in store[1..2]; compact them. */
    if (envs) {
        if (!store[1].scope_id)
            store[1] = store[2];
        out->environments = &store[1];
        out->environment_count = envs;
    }
}

static uint64_t held_at(const struct policy_decide_grants *g, const struct policy_decide_target *t)
{
    struct policy_decide_effective eff;
    policy_decide_effective(&eff, g, t);
    return eff.permissions;
}

static bool is_owner(const struct policy_decide_grants *g)
{
    return g->agency && (g->agency->roles & POLICY_BIT(POLICY_ROLE_OWNER));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct bytes b = {data, size};
    struct policy_decide_grant mine_store[4] = {0}, theirs_store[4] = {0};
    struct policy_decide_grants mine, theirs;
    grants_take(&mine, mine_store, &b);
    grants_take(&theirs, theirs_store, &b);
    unsigned pick = (unsigned)take(&b, 1);
    bool is_admin = pick & 0x80;
    const char *needed = (pick & 0x40) ? "users.manage" : "users.invite";
    static const struct policy_decide_target targets[] = {
        {POLICY_SCOPE_AGENCY, AGENCY, NULL},
        {POLICY_SCOPE_ENVIRONMENT, ENV1, NULL},
        {POLICY_SCOPE_ENVIRONMENT, ENV2, NULL},
        {POLICY_SCOPE_BOT, BOT1, ENV1},
    };
    const struct policy_decide_target *where = &targets[pick & 3];

    struct app_grant g = {.scope = where->scope,
                          .scope_id = where->scope_id,
                          .environment_id = where->environment_id,
                          .bot_id = where->scope == POLICY_SCOPE_BOT ? BOT1 : NULL};
    g.roles = take(&b, 2) & policy_catalogue_roles_at(where->scope);
    g.extra = take(&b, 4) & POLICY_PERMS_ALL;
    g.permissions = policy_catalogue_roles_permissions(g.roles) | g.extra;

    struct app_actor actor = {.user_id = "usr_caller", .is_platform_admin = is_admin};
    struct app_access acc = {.actor = &actor,
                             .agency_id = AGENCY,
                             .is_admin = is_admin,
                             .is_owner = is_admin || is_owner(&mine),
                             .grants = mine};
    struct arena a;
    arena_init(&a);
    struct usher_error err = {0};

    /* Rule 4, restated. */
    uint64_t held = is_admin ? POLICY_PERMS_ALL : held_at(&mine, where);
    const char *right = where->scope == POLICY_SCOPE_BOT ? "bot.delegate" : needed;
    bool expect = is_admin || ((held & policy_catalogue_permission_bit(right)) &&
                               !(g.permissions & POLICY_PERMS_AUTHORITY & ~held) &&
                               (!(g.roles & POLICY_BIT(POLICY_ROLE_OWNER)) || acc.is_owner));
    int rc = app_access_may_grant(&acc, &a, &g, 1, needed, "grants", &err);
    FUZZ_CHECK((rc == 0) == expect);
    FUZZ_CHECK(rc == 0 || (rc == USHER_EFORBIDDEN && strcmp(err.problem, "grant_ceiling") == 0));
    FUZZ_CHECK((app_access_grant_refusal(&acc, &a, &g, needed) == NULL) == expect);
    usher_error_clear(&err);

    /* Authority over the member at the scopes of their grants. */
    struct policy_decide_target *ts = NULL;
    size_t count = 0;
    app_access_member_targets(&ts, &count, &a, AGENCY, &theirs, NULL);
    bool over = true;
    if (!is_admin) {
        over = !is_owner(&theirs) || acc.is_owner;
        uint64_t manage = POLICY_BIT(POLICY_PERM_USERS_MANAGE);
        if (count == 0)
            over = over && (held_at(&mine, &targets[0]) & manage);
        for (size_t i = 0; i < count && over; i++) {
            uint64_t mine_there = held_at(&mine, &ts[i]);
            over = (mine_there & manage) &&
                   !(held_at(&theirs, &ts[i]) & POLICY_PERMS_AUTHORITY & ~mine_there);
        }
    }
    rc = app_access_may_act_on(&acc, "usr_member", &theirs, ts, count, &err);
    FUZZ_CHECK((rc == 0) == over);
    usher_error_clear(&err);
    arena_dispose(&a);
    return 0;
}
