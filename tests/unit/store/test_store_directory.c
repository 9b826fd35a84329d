/* The users overview on a real SQLite store: keyset pages in every order (also under ties),
 * search, filters, invited people, the sort keys kept by triggers, and the small writes of
 * member management. */
#include "../unit.h"

#include "../fixture.h"

#include "base/arena.h"
#include "base/error.h"
#include "store/store.h"
#include "store/store_directory.h"
#include "store/store_user.h"

#define NOW 1000000

struct fixture {
    char *dir;
    struct store *store;
    struct store_conn *conn;
    struct arena arena;
    struct usher_error err;
};

/* Adds a user and makes them a member of agency_id since created_at. */
static void person_add(struct fixture *f, const char *agency_id, const char *id, const char *first,
                       const char *last, const char *email, int64_t created_at)
{
    struct fixture_user u = {.id = id, .email = email, .first_name = first, .last_name = last};
    fixture_user_add_with(f->store, &u);
    struct store_value p[] = {store_text(agency_id), store_text(id), store_int(created_at)};
    fixture_sql(f->store,
                "INSERT INTO memberships (agency_id, user_id, created_at) VALUES ($1, $2, $3)", p,
                3);
}

/* Agency A: environments env_1 (bot bot_1) and env_2. Agency B: environment env_b, bot bot_b.
 * Members of A:
 *   usr_ada  Ada Lovelace, shortcode ADA, operator at A
 *   usr_bob  Bob Smith_Jr, content_manager on env_1
 *   usr_cy   Cy Percent%, agent at A, removed from env_1 (empty grant)
 *   usr_di   no names, bot_manager on bot_1
 *   usr_ed   Ed Stone, disabled, no grants
 * Member of B: usr_fo (Ada Other). Invitations: see invited_fixture. */
static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    arena_init(&f->arena);
    fixture_store_open(&f->store, &f->dir);
    assert_int_equal(store_conn_get(f->store, &f->conn, &f->err), 0);
    fixture_sql(f->store,
                "INSERT INTO agencies (id, name, created_at) VALUES ('agy_a', 'A', 1), "
                "('agy_b', 'B', 1);"
                "",
                NULL, 0);
    fixture_sql(
        f->store,
        "INSERT INTO environments (id, agency_id, name, created_at) VALUES "
        "('env_1', 'agy_a', 'E1', 1), ('env_2', 'agy_a', 'E2', 2), ('env_b', 'agy_b', 'EB', 1)",
        NULL, 0);
    fixture_sql(f->store,
                "INSERT INTO bots (id, agency_id, environment_id, name, created_at) VALUES "
                "('bot_1', 'agy_a', 'env_1', 'B1', 1), ('bot_b', 'agy_b', 'env_b', 'BB', 1)",
                NULL, 0);
    person_add(f, "agy_a", "usr_ada", "Ada", "Lovelace", "ada@math.example", 10);
    person_add(f, "agy_a", "usr_bob", "Bob", "Smith_Jr", "bob@example.com", 20);
    person_add(f, "agy_a", "usr_cy", "Cy", "Percent%", "cy@example.com", 30);
    person_add(f, "agy_a", "usr_di", "", "", "di@example.com", 40);
    person_add(f, "agy_a", "usr_ed", "Ed", "Stone", "ed@example.com", 50);
    person_add(f, "agy_b", "usr_fo", "Ada", "Other", "fo@example.com", 10);
    fixture_sql(f->store, "UPDATE memberships SET shortcode = 'ADA' WHERE user_id = 'usr_ada'",
                NULL, 0);
    fixture_sql(f->store, "UPDATE users SET status = 'disabled' WHERE id = 'usr_ed'", NULL, 0);
    fixture_grant_set(f->store, "agy_a", "usr_ada", NULL, "operator", NULL);
    fixture_grant_set(f->store, "agy_a", "usr_bob", "env_1", "content_manager", NULL);
    fixture_grant_set(f->store, "agy_a", "usr_cy", NULL, "agent", NULL);
    fixture_grant_set(f->store, "agy_a", "usr_cy", "env_1", "", NULL);
    fixture_grant_set(f->store, "agy_a", "usr_di", "bot_1", "bot_manager", NULL);
    fixture_grant_set(f->store, "agy_b", "usr_fo", NULL, "owner", NULL);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    store_conn_put(f->conn);
    fixture_store_close(f->store, f->dir);
    arena_dispose(&f->arena);
    free(f);
    return 0;
}

static const struct store_directory_order BY_NAME = {STORE_DIRECTORY_BY_NAME, false};

/* Every member of agency_id matching filter in order, read limit at a time through cursors;
 * the ids joined by spaces. */
static const char *members_all(struct fixture *f, const char *agency_id,
                               const struct store_directory_order *order,
                               const struct store_directory_filter *filter, size_t limit)
{
    char *out = arena_strdup(&f->arena, "");
    struct store_directory_key after = {0};
    for (int guard = 0; guard < 1000; guard++) {
        struct store_directory_person *rows = NULL;
        size_t count = 0;
        bool more = false;
        usher_error_clear(&f->err);
        assert_int_equal(store_directory_members(&rows, &count, &more, f->conn, &f->arena,
                                                 agency_id, order, filter, &after, NOW, limit,
                                                 &f->err),
                         0);
        assert_true(count <= limit);
        for (size_t i = 0; i < count; i++)
            out = arena_printf(&f->arena, "%s%s%s", out, *out ? " " : "", rows[i].id);
        if (!more)
            return out;
        assert_int_equal(count, limit);
        /* Resume through the opaque cursor, as a client would. */
        const char *cursor = store_directory_cursor_encode(&f->arena, order, &rows[count - 1].key);
        assert_int_equal(store_directory_cursor_decode(&after, &f->arena, order, cursor, &f->err),
                         0);
    }
    fail_msg("paging did not end");
    return NULL;
}

static const char *members_matching(struct fixture *f, struct store_directory_filter filter)
{
    return members_all(f, "agy_a", &BY_NAME, &filter, 50);
}

static void test_store_directory__lists_one_agency_by_name(void **state)
{
    struct fixture *f = *state;
    struct store_directory_filter none = {0};
    /* usr_di has no names and sorts by email. */
    assert_string_equal(members_all(f, "agy_a", &BY_NAME, &none, 50),
                        "usr_ada usr_bob usr_cy usr_di usr_ed");
    struct store_directory_order desc = {STORE_DIRECTORY_BY_NAME, true};
    assert_string_equal(members_all(f, "agy_a", &desc, &none, 2),
                        "usr_ed usr_di usr_cy usr_bob usr_ada");
    struct store_directory_order created = {STORE_DIRECTORY_BY_CREATED, true};
    assert_string_equal(members_all(f, "agy_a", &created, &none, 1),
                        "usr_ed usr_di usr_cy usr_bob usr_ada");
    assert_string_equal(members_all(f, "agy_b", &BY_NAME, &none, 50), "usr_fo");
}

static void test_store_directory__reads_status_and_shortcode(void **state)
{
    struct fixture *f = *state;
    struct store_directory_person p;
    assert_int_equal(store_directory_member_get(&p, f->conn, &f->arena, "agy_a", "usr_ed", &f->err),
                     0);
    assert_string_equal(p.status, "disabled");
    assert_null(p.shortcode);
    assert_int_equal(p.created_at, 50);
    assert_int_equal(
        store_directory_member_get(&p, f->conn, &f->arena, "agy_a", "usr_ada", &f->err), 0);
    assert_string_equal(p.status, "active");
    assert_string_equal(p.shortcode, "ADA");
    assert_string_equal(p.first_name, "Ada");
    assert_int_equal(store_directory_member_get(&p, f->conn, &f->arena, "agy_a", "usr_fo", &f->err),
                     USHER_ENOTFOUND);
}

static void test_store_directory__pages_are_stable_under_ties(void **state)
{
    struct fixture *f = *state;
    /* 23 people with one name and one creation time; half of them were active at 5. */
    char expected_asc[1024] = "", expected_desc[1024] = "";
    for (int i = 0; i < 23; i++) {
        char id[32], email[64];
        snprintf(id, sizeof(id), "usr_t%02d", (i * 7) % 23);
        snprintf(email, sizeof(email), "t%02d@example.com", (i * 7) % 23);
        person_add(f, "agy_b", id, "Sam", "Same", email, 100);
        if ((i * 7) % 23 % 2 == 0) {
            struct store_value p[] = {store_text(id)};
            fixture_sql(f->store, "UPDATE users SET last_active_at = 5 WHERE id = $1", p, 1);
        }
    }
    fixture_sql(f->store, "DELETE FROM memberships WHERE user_id = 'usr_fo'", NULL, 0);
    for (int i = 0; i < 23; i++) {
        char id[32];
        snprintf(id, sizeof(id), "%susr_t%02d", i ? " " : "", i);
        strncat(expected_asc, id, sizeof(expected_asc) - strlen(expected_asc) - 1);
        snprintf(id, sizeof(id), "%susr_t%02d", i ? " " : "", 22 - i);
        strncat(expected_desc, id, sizeof(expected_desc) - strlen(expected_desc) - 1);
    }
    struct store_directory_filter none = {0};
    for (size_t limit = 1; limit <= 24; limit += 4) {
        for (int by = STORE_DIRECTORY_BY_NAME; by <= STORE_DIRECTORY_BY_CREATED; by++) {
            struct store_directory_order asc = {(enum store_directory_sort)by, false};
            struct store_directory_order desc = {(enum store_directory_sort)by, true};
            assert_string_equal(members_all(f, "agy_b", &asc, &none, limit), expected_asc);
            assert_string_equal(members_all(f, "agy_b", &desc, &none, limit), expected_desc);
        }
        /* By last activity: the never active (0) first, each group by id. */
        struct store_directory_order active = {STORE_DIRECTORY_BY_ACTIVE, false};
        assert_string_equal(members_all(f, "agy_b", &active, &none, limit),
                            "usr_t01 usr_t03 usr_t05 usr_t07 usr_t09 usr_t11 usr_t13 usr_t15 "
                            "usr_t17 usr_t19 usr_t21 usr_t00 usr_t02 usr_t04 usr_t06 usr_t08 "
                            "usr_t10 usr_t12 usr_t14 usr_t16 usr_t18 usr_t20 usr_t22");
        struct store_directory_order active_desc = {STORE_DIRECTORY_BY_ACTIVE, true};
        assert_string_equal(members_all(f, "agy_b", &active_desc, &none, limit),
                            "usr_t22 usr_t20 usr_t18 usr_t16 usr_t14 usr_t12 usr_t10 usr_t08 "
                            "usr_t06 usr_t04 usr_t02 usr_t00 usr_t21 usr_t19 usr_t17 usr_t15 "
                            "usr_t13 usr_t11 usr_t09 usr_t07 usr_t05 usr_t03 usr_t01");
    }
}

static void test_store_directory__searches_names_and_emails_case_insensitively(void **state)
{
    struct fixture *f = *state;
    assert_string_equal(members_matching(f, (struct store_directory_filter){.search = "ADA"}),
                        "usr_ada");
    assert_string_equal(members_matching(f, (struct store_directory_filter){.search = "love"}),
                        "usr_ada");
    assert_string_equal(members_matching(f, (struct store_directory_filter){.search = "ada love"}),
                        "usr_ada");
    assert_string_equal(
        members_matching(f, (struct store_directory_filter){.search = "MATH.example"}), "usr_ada");
    assert_string_equal(
        members_matching(f, (struct store_directory_filter){.search = "example.com"}),
        "usr_bob usr_cy usr_di usr_ed");
    /* LIKE's wildcards are taken literally. */
    assert_string_equal(members_matching(f, (struct store_directory_filter){.search = "_"}),
                        "usr_bob");
    assert_string_equal(members_matching(f, (struct store_directory_filter){.search = "%"}),
                        "usr_cy");
    assert_string_equal(members_matching(f, (struct store_directory_filter){.search = "zzz"}), "");
}

static void test_store_directory__filters_by_shortcode_and_role(void **state)
{
    struct fixture *f = *state;
    assert_string_equal(members_matching(f, (struct store_directory_filter){.shortcode = "ADA"}),
                        "usr_ada");
    assert_string_equal(members_matching(f, (struct store_directory_filter){.shortcode = "ada"}),
                        "");
    assert_string_equal(members_matching(f, (struct store_directory_filter){.role = "operator"}),
                        "usr_ada");
    assert_string_equal(
        members_matching(f, (struct store_directory_filter){.role = "content_manager"}), "usr_bob");
    assert_string_equal(members_matching(f, (struct store_directory_filter){.role = "bot_manager"}),
                        "usr_di");
    assert_string_equal(members_matching(f, (struct store_directory_filter){.role = "agent"}),
                        "usr_cy");
    /* A role is a whole entry of the list, never a part of one. */
    assert_string_equal(members_matching(f, (struct store_directory_filter){.role = "content"}),
                        "");
    assert_string_equal(members_matching(f, (struct store_directory_filter){.role = "owner"}), "");
}

static void test_store_directory__filters_by_environment_access(void **state)
{
    struct fixture *f = *state;
    /* env_1: ada through the agency grant, bob through his own, di through a bot; cy was
     * removed from it. env_2: the agency grants ripple down. */
    assert_string_equal(
        members_matching(f, (struct store_directory_filter){.environment_ids = "env_1"}),
        "usr_ada usr_bob usr_di");
    assert_string_equal(
        members_matching(f, (struct store_directory_filter){.environment_ids = "env_2"}),
        "usr_ada usr_cy");
    assert_string_equal(
        members_matching(f, (struct store_directory_filter){.environment_ids = "env_1,env_2"}),
        "usr_ada usr_bob usr_cy usr_di");
    /* Another agency's environment gives nobody; an id is matched whole. */
    assert_string_equal(
        members_matching(f, (struct store_directory_filter){.environment_ids = "env_b"}), "");
    assert_string_equal(
        members_matching(f, (struct store_directory_filter){.environment_ids = "env_"}), "");
    assert_string_equal(
        members_matching(f, (struct store_directory_filter){.environment_ids = "env_1",
                                                            .role = "operator",
                                                            .search = "lace"}),
        "usr_ada");
}

/* Invitations of A: inv_1 pending (Nia), inv_2 expired, inv_3 revoked, inv_4 for a member,
 * inv_6 pending (Zed, created first); of B: inv_5. */
static void invited_fixture(struct fixture *f)
{
    static const struct fixture_invitation invitations[] = {
        {.id = "inv_1",
         .agency_id = "agy_a",
         .email = "new@example.com",
         .first_name = "Nia",
         .shortcode = "NIA",
         .created_at = 500,
         .expires_at = NOW + 1000,
         .grants = "[{\"environment_id\":\"env_2\",\"roles\":[\"agent\"]}]"},
        {.id = "inv_2",
         .agency_id = "agy_a",
         .email = "old@example.com",
         .first_name = "Old",
         .shortcode = "OLD",
         .created_at = 400,
         .expires_at = NOW - 1},
        {.id = "inv_3",
         .agency_id = "agy_a",
         .email = "gone@example.com",
         .first_name = "Gone",
         .shortcode = "GONE",
         .status = "revoked",
         .created_at = 400,
         .expires_at = NOW + 1000},
        {.id = "inv_4",
         .agency_id = "agy_a",
         .email = "ada@math.example",
         .first_name = "Ada",
         .shortcode = "ADA",
         .created_at = 400,
         .expires_at = NOW + 1000},
        {.id = "inv_5",
         .agency_id = "agy_b",
         .email = "new@example.com",
         .first_name = "Nia",
         .shortcode = "NIA",
         .created_at = 400,
         .expires_at = NOW + 1000},
        {.id = "inv_6",
         .agency_id = "agy_a",
         .email = "zed@example.com",
         .first_name = "Zed",
         .shortcode = "ZED",
         .created_at = 300,
         .expires_at = NOW + 1000},
    };
    for (size_t i = 0; i < sizeof(invitations) / sizeof(invitations[0]); i++)
        fixture_invitation_add(f->store, &invitations[i]);
}

static const char *invited_all(struct fixture *f, const struct store_directory_order *order,
                               const struct store_directory_filter *filter, size_t limit)
{
    char *out = arena_strdup(&f->arena, "");
    struct store_directory_key after = {0};
    for (int guard = 0; guard < 100; guard++) {
        struct store_directory_person *rows = NULL;
        size_t count = 0;
        bool more = false;
        assert_int_equal(store_directory_invited(&rows, &count, &more, f->conn, &f->arena, "agy_a",
                                                 order, filter, &after, NOW, limit, &f->err),
                         0);
        for (size_t i = 0; i < count; i++) {
            assert_true(rows[i].is_invited);
            assert_string_equal(rows[i].status, STORE_DIRECTORY_INVITED);
            out = arena_printf(&f->arena, "%s%s%s", out, *out ? " " : "", rows[i].id);
        }
        if (!more)
            return out;
        after = rows[count - 1].key;
    }
    fail_msg("paging did not end");
    return NULL;
}

static void test_store_directory__lists_pending_invitations_of_non_members(void **state)
{
    struct fixture *f = *state;
    invited_fixture(f);
    struct store_directory_filter none = {0};
    assert_string_equal(invited_all(f, &BY_NAME, &none, 50), "inv_1 inv_6");
    assert_string_equal(invited_all(f, &BY_NAME, &none, 1), "inv_1 inv_6");
    struct store_directory_order created = {STORE_DIRECTORY_BY_CREATED, false};
    assert_string_equal(invited_all(f, &created, &none, 1), "inv_6 inv_1");
    struct store_directory_order active_desc = {STORE_DIRECTORY_BY_ACTIVE, true};
    assert_string_equal(invited_all(f, &active_desc, &none, 1), "inv_6 inv_1");
    assert_string_equal(
        invited_all(f, &BY_NAME, &(struct store_directory_filter){.search = "NIA"}, 50), "inv_1");
    assert_string_equal(
        invited_all(f, &BY_NAME, &(struct store_directory_filter){.shortcode = "ZED"}, 50),
        "inv_6");
    struct store_directory_person *rows = NULL;
    size_t count = 0;
    bool more = false;
    struct store_directory_key start = {0};
    assert_int_equal(store_directory_invited(&rows, &count, &more, f->conn, &f->arena, "agy_a",
                                             &BY_NAME, &none, &start, NOW, 50, &f->err),
                     0);
    assert_int_equal(count, 2);
    assert_string_equal(rows[0].first_name, "Nia");
    assert_string_equal(rows[0].last_name, "");
    assert_string_equal(rows[0].shortcode, "NIA");
    assert_int_equal(rows[0].created_at, 500);
    assert_string_equal(rows[0].grants_json,
                        "[{\"environment_id\":\"env_2\",\"roles\":[\"agent\"]}]");
    /* Members and invited people merge by one key order. */
    struct store_directory_person ada;
    assert_int_equal(
        store_directory_member_get(&ada, f->conn, &f->arena, "agy_a", "usr_ada", &f->err), 0);
    struct store_directory_key ada_key = {true, "ada lovelace", 0, "usr_ada"};
    assert_true(store_directory_key_compare(&ada_key, &rows[0].key, &BY_NAME) < 0);
}

static void test_store_directory__keeps_sort_keys_current(void **state)
{
    struct fixture *f = *state;
    struct store_directory_filter none = {0};
    assert_int_equal(
        store_directory_names_set(f->conn, &f->arena, "usr_ed", "Zed", "Stone", &f->err), 0);
    assert_string_equal(members_all(f, "agy_a", &BY_NAME, &none, 2),
                        "usr_ada usr_bob usr_cy usr_di usr_ed");
    assert_int_equal(store_directory_names_set(f->conn, &f->arena, "usr_ed", "", "Aaron", &f->err),
                     0);
    assert_string_equal(members_all(f, "agy_a", &BY_NAME, &none, 2),
                        "usr_ed usr_ada usr_bob usr_cy usr_di");
    assert_int_equal(store_directory_names_set(f->conn, &f->arena, "usr_nobody", "A", "B", &f->err),
                     USHER_ENOTFOUND);
    usher_error_clear(&f->err);
    assert_int_equal(store_user_touch(f->conn, &f->arena, "usr_bob", 999, &f->err), 0);
    assert_int_equal(store_user_touch(f->conn, &f->arena, "usr_cy", 5, &f->err), 0);
    struct store_directory_order active = {STORE_DIRECTORY_BY_ACTIVE, true};
    assert_string_equal(members_all(f, "agy_a", &active, &none, 3),
                        "usr_bob usr_cy usr_ed usr_di usr_ada");
    /* A membership made later takes the user's current keys. */
    person_add(f, "agy_b", "usr_gil", "Gil", "Late", "gil@example.com", 7);
    assert_int_equal(store_user_touch(f->conn, &f->arena, "usr_gil", 77, &f->err), 0);
    fixture_sql(
        f->store,
        "INSERT INTO memberships (agency_id, user_id, created_at) VALUES ('agy_a', 'usr_gil', 7)",
        NULL, 0);
    assert_string_equal(members_all(f, "agy_a", &active, &none, 3),
                        "usr_bob usr_gil usr_cy usr_ed usr_di usr_ada");
    assert_string_equal(members_all(f, "agy_a", &BY_NAME, &none, 50),
                        "usr_ed usr_ada usr_bob usr_cy usr_di usr_gil");
}

static void test_store_directory__reads_the_grants_of_many_users_at_once(void **state)
{
    struct fixture *f = *state;
    const char *ids[260];
    for (int i = 0; i < 250; i++) {
        char id[32], email[64];
        snprintf(id, sizeof(id), "usr_m%03d", i);
        snprintf(email, sizeof(email), "m%03d@example.com", i);
        person_add(f, "agy_a", id, "M", "M", email, 60 + i);
        fixture_grant_set(f->store, "agy_a", id, NULL, "agent", NULL);
        ids[i] = arena_strdup(&f->arena, id);
    }
    ids[250] = "usr_di";
    ids[251] = "usr_cy";
    ids[252] = "usr_fo"; /* a member of the other agency: none of its grants come back */
    struct store_directory_grant *rows = NULL;
    size_t count = 0;
    assert_int_equal(
        store_directory_grants(&rows, &count, f->conn, &f->arena, "agy_a", ids, 253, NOW, &f->err),
        0);
    assert_int_equal(count, 250 + 1 + 2);
    size_t bot = 0, cy = 0;
    for (size_t i = 0; i < count; i++) {
        if (strcmp(rows[i].user_id, "usr_di") == 0) {
            bot++;
            assert_string_equal(rows[i].grant.bot_id, "bot_1");
            assert_string_equal(rows[i].grant.environment_id, "env_1");
        }
        cy += strcmp(rows[i].user_id, "usr_cy") == 0;
    }
    assert_int_equal(bot, 1);
    assert_int_equal(cy, 2);

    const char *bots[] = {"bot_1", "bot_zz", "bot_b"};
    const char **envs = NULL;
    assert_int_equal(
        store_directory_bot_environments(&envs, f->conn, &f->arena, "agy_a", bots, 3, &f->err), 0);
    assert_string_equal(envs[0], "env_1");
    assert_null(envs[1]);
    assert_null(envs[2]);
}

static void test_store_directory__lists_environments(void **state)
{
    struct fixture *f = *state;
    struct store_environment *envs = NULL;
    size_t count = 0;
    assert_int_equal(
        store_directory_environments(&envs, &count, f->conn, &f->arena, "agy_a", &f->err), 0);
    assert_int_equal(count, 2);
    assert_string_equal(envs[0].id, "env_1");
    assert_string_equal(envs[1].name, "E2");
}

/* A grant whose expires_at is at or before now counts for nothing: not in the environment and
 * role filters (the agency grant applies again where an environment grant ended), not among a
 * page's grants, not as an owner; one ending later counts. */
static void test_store_directory__leaves_ended_grants_out(void **state)
{
    struct fixture *f = *state;
    struct store_directory_filter in_env1 = {.environment_ids = "env_1"};
    struct store_directory_filter content = {.role = "content_manager"};
    assert_string_equal(members_all(f, "agy_a", &BY_NAME, &in_env1, 2), "usr_ada usr_bob usr_di");
    assert_string_equal(members_all(f, "agy_a", &BY_NAME, &content, 2), "usr_bob");
    fixture_sql(f->store,
                "UPDATE grants SET expires_at = 1000000 WHERE user_id IN ('usr_bob', 'usr_cy') "
                "AND scope_id = 'env_1'",
                NULL, 0);
    assert_string_equal(members_all(f, "agy_a", &BY_NAME, &in_env1, 2), "usr_ada usr_cy usr_di");
    assert_string_equal(members_all(f, "agy_a", &BY_NAME, &content, 2), "");
    const char *ids[] = {"usr_bob", "usr_cy"};
    struct store_directory_grant *rows = NULL;
    size_t count = 0;
    assert_int_equal(
        store_directory_grants(&rows, &count, f->conn, &f->arena, "agy_a", ids, 2, NOW, &f->err),
        0);
    assert_int_equal(count, 1);
    assert_string_equal(rows[0].grant.scope_id, "agy_a");
    assert_int_equal(store_directory_grants(&rows, &count, f->conn, &f->arena, "agy_a", ids, 2,
                                            NOW - 1, &f->err),
                     0);
    assert_int_equal(count, 3);

    int64_t n = -1;
    fixture_sql(f->store,
                "UPDATE grants SET roles = 'owner', expires_at = 1000000 WHERE user_id = 'usr_ada'",
                NULL, 0);
    assert_int_equal(
        store_directory_owner_count(&n, f->conn, &f->arena, "agy_a", NULL, NOW, &f->err), 0);
    assert_int_equal(n, 0);
    assert_int_equal(
        store_directory_owner_count(&n, f->conn, &f->arena, "agy_a", NULL, NOW - 1, &f->err), 0);
    assert_int_equal(n, 1);
}

static void test_store_directory__counts_active_owners(void **state)
{
    struct fixture *f = *state;
    int64_t n = -1;
    assert_int_equal(
        store_directory_owner_count(&n, f->conn, &f->arena, "agy_a", NULL, NOW, &f->err), 0);
    assert_int_equal(n, 0);
    fixture_sql(
        f->store,
        "UPDATE grants SET roles = 'agent,owner' WHERE user_id = 'usr_cy' AND scope_id = 'agy_a'",
        NULL, 0);
    fixture_grant_set(f->store, "agy_a", "usr_ed", NULL, "owner", NULL);
    fixture_grant_set(f->store, "agy_a", "usr_bob", NULL, "owner_like", NULL);
    assert_int_equal(
        store_directory_owner_count(&n, f->conn, &f->arena, "agy_a", NULL, NOW, &f->err), 0);
    assert_int_equal(n, 1); /* usr_ed is disabled; owner_like is not owner */
    assert_int_equal(
        store_directory_owner_count(&n, f->conn, &f->arena, "agy_a", "usr_cy", NOW, &f->err), 0);
    assert_int_equal(n, 0);
    assert_int_equal(
        store_directory_owner_count(&n, f->conn, &f->arena, "agy_b", NULL, NOW, &f->err), 0);
    assert_int_equal(n, 1);
}

static void test_store_directory__revokes_and_deletes(void **state)
{
    struct fixture *f = *state;
    invited_fixture(f);
    int64_t n = -1;
    assert_int_equal(store_directory_invitations_revoke(&n, f->conn, &f->arena, "agy_a",
                                                        "new@example.com", "usr_ada", NOW, &f->err),
                     0);
    assert_int_equal(n, 1);
    assert_int_equal(store_directory_invitations_revoke(&n, f->conn, &f->arena, "agy_a",
                                                        "new@example.com", "usr_ada", NOW, &f->err),
                     0);
    assert_int_equal(n, 0);
    struct store_directory_filter none = {0};
    assert_string_equal(invited_all(f, &BY_NAME, &none, 50), "inv_6");
    /* The other agency's invitation to the same address stays pending. */
    struct store_rows rows;
    assert_int_equal(store_exec(f->conn, &f->arena,
                                "SELECT status FROM invitations WHERE id = 'inv_5'", NULL, 0, &rows,
                                NULL, &f->err),
                     0);
    assert_string_equal(store_cell(&rows, 0, 0)->s, "pending");

    /* inv_6 (ZED) is pending, inv_1 (NIA) revoked now, inv_5 (NIA) is another agency's. */
    bool reserved = false;
    assert_int_equal(store_directory_shortcode_reserved(&reserved, f->conn, &f->arena, "agy_a",
                                                        "ZED", NULL, &f->err),
                     0);
    assert_true(reserved);
    assert_int_equal(store_directory_shortcode_reserved(&reserved, f->conn, &f->arena, "agy_a",
                                                        "ZED", "zed@example.com", &f->err),
                     0);
    assert_false(reserved);
    assert_int_equal(store_directory_shortcode_reserved(&reserved, f->conn, &f->arena, "agy_a",
                                                        "NIA", NULL, &f->err),
                     0);
    assert_false(reserved);

    assert_int_equal(store_directory_bot_grants_delete(&n, f->conn, &f->arena, "agy_a", "usr_di",
                                                       "env_2", &f->err),
                     0);
    assert_int_equal(n, 0);
    assert_int_equal(store_directory_bot_grants_delete(&n, f->conn, &f->arena, "agy_a", "usr_di",
                                                       "env_1", &f->err),
                     0);
    assert_int_equal(n, 1);
    assert_string_equal(
        members_matching(f, (struct store_directory_filter){.environment_ids = "env_1"}),
        "usr_ada usr_bob");
}

static void test_store_directory__parses_orders(void **state)
{
    struct fixture *f = *state;
    struct store_directory_order o;
    assert_int_equal(store_directory_order_parse(&o, NULL, &f->err), 0);
    assert_int_equal(o.by, STORE_DIRECTORY_BY_NAME);
    assert_false(o.is_desc);
    assert_int_equal(store_directory_order_parse(&o, "-last_active", &f->err), 0);
    assert_int_equal(o.by, STORE_DIRECTORY_BY_ACTIVE);
    assert_true(o.is_desc);
    assert_int_equal(store_directory_order_parse(&o, "created", &f->err), 0);
    assert_int_equal(o.by, STORE_DIRECTORY_BY_CREATED);
    static const char *const bad[] = {"Name", "--name", "-", "email", "name "};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        usher_error_clear(&f->err);
        assert_int_equal(store_directory_order_parse(&o, bad[i], &f->err), USHER_EINVAL);
        assert_string_equal(f->err.field, "sort");
    }
}

static void test_store_directory__cursors_round_trip_and_refuse_anything_else(void **state)
{
    struct fixture *f = *state;
    struct store_directory_order name = {STORE_DIRECTORY_BY_NAME, false};
    struct store_directory_order created_desc = {STORE_DIRECTORY_BY_CREATED, true};
    struct store_directory_key k = {true, "zoë | o'brien", 0, "usr_x"};
    struct store_directory_key back;
    const char *c1 = store_directory_cursor_encode(&f->arena, &name, &k);
    assert_int_equal(store_directory_cursor_decode(&back, &f->arena, &name, c1, &f->err), 0);
    assert_true(back.is_set);
    assert_string_equal(back.text, "zoë | o'brien");
    assert_string_equal(back.id, "usr_x");
    struct store_directory_key n = {true, NULL, 1234567890123, "inv_y"};
    const char *c2 = store_directory_cursor_encode(&f->arena, &created_desc, &n);
    assert_int_equal(store_directory_cursor_decode(&back, &f->arena, &created_desc, c2, &f->err),
                     0);
    assert_int_equal(back.number, 1234567890123);
    assert_string_equal(back.id, "inv_y");
    assert_int_equal(store_directory_cursor_decode(&back, &f->arena, &name, "", &f->err), 0);
    assert_false(back.is_set);

    /* A cursor of another order, garbage, a missing part, a bad number, too long. */
    char longer[STORE_DIRECTORY_CURSOR_MAX + 8];
    memset(longer, 'A', sizeof(longer) - 1);
    longer[sizeof(longer) - 1] = '\0';
    struct store_directory_order created = {STORE_DIRECTORY_BY_CREATED, false};
    const char *bad[] = {
        c2,
        "!!!",
        "bmFtZXx1c3JfeA",         /* "name|usr_x" */
        "Y3JlYXRlZHx1c3JfeHwxeA", /* "created|usr_x|1x" */
        "bmFtZXx8YQ",             /* "name||a" */
        longer,
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        usher_error_clear(&f->err);
        const struct store_directory_order *o = i == 3 ? &created : &name;
        assert_int_equal(store_directory_cursor_decode(&back, &f->arena, o, bad[i], &f->err),
                         USHER_EINVAL);
        assert_string_equal(f->err.field, "cursor");
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_store_directory__lists_one_agency_by_name, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_store_directory__reads_status_and_shortcode, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_store_directory__pages_are_stable_under_ties, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_store_directory__searches_names_and_emails_case_insensitively, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_directory__filters_by_shortcode_and_role, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_store_directory__filters_by_environment_access, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_store_directory__lists_pending_invitations_of_non_members, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_directory__keeps_sort_keys_current, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_store_directory__reads_the_grants_of_many_users_at_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_directory__lists_environments, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_directory__leaves_ended_grants_out, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_store_directory__counts_active_owners, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_store_directory__revokes_and_deletes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_directory__parses_orders, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_store_directory__cursors_round_trip_and_refuse_anything_else, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
