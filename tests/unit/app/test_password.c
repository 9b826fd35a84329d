/* The argon2id hashing pool: parameters, verification, the dummy hash, re-hash detection,
 * input rules, the bound on concurrent and waiting hashes and the figures it reports; and the
 * strength rule: weak passwords refused with their reason, the person's email and names
 * counted as easy guesses. */
#include "../unit.h"

#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include "app/password.h"
#include "app/password_strength.h"
#include "base/clock.h"
#include "base/crypto.h"
#include "base/error.h"

/* What the observer of every pool made here has seen. */
static atomic_llong observed_count;
static _Atomic double observed_wait, observed_hash;

static void observe(void *ctx, double wait_seconds, double hash_seconds)
{
    atomic_fetch_add((atomic_llong *)ctx, 1);
    observed_wait = wait_seconds;
    observed_hash = hash_seconds;
}

static struct app_hash_pool *pool_new(int workers, int queue)
{
    struct app_hash_pool *pool = NULL;
    struct usher_error err = {0};
    assert_int_equal(app_hash_pool_new(&pool, workers, queue, &err), 0);
    app_hash_pool_observe(pool, observe, &observed_count);
    return pool;
}

static void test_password_hash__uses_argon2id_with_owasp_parameters(void **state)
{
    (void)state;
    struct app_hash_pool *pool = pool_new(1, 0);
    char hash[APP_PASSWORD_HASH_MAX];
    struct usher_error err = {0};
    assert_int_equal(app_password_hash(pool, hash, "correct horse", &err), 0);
    assert_true(strncmp(hash, "$argon2id$v=19$m=19456,t=2,p=1$", 31) == 0);
    assert_null(strstr(hash, "correct horse"));
    char again[APP_PASSWORD_HASH_MAX];
    assert_int_equal(app_password_hash(pool, again, "correct horse", &err), 0);
    assert_string_not_equal(hash, again); /* a fresh salt every time */
    app_hash_pool_free(pool);
}

static void test_password_verify__accepts_the_right_password_only(void **state)
{
    (void)state;
    struct app_hash_pool *pool = pool_new(2, 4);
    char hash[APP_PASSWORD_HASH_MAX];
    struct usher_error err = {0};
    assert_int_equal(app_password_hash(pool, hash, "pässwörd-ünïcode", &err), 0);
    bool ok = false, rehash = true;
    assert_int_equal(app_password_verify(pool, &ok, &rehash, hash, "pässwörd-ünïcode", &err), 0);
    assert_true(ok);
    assert_false(rehash);
    assert_int_equal(app_password_verify(pool, &ok, &rehash, hash, "pässwörd-ünïcodE", &err), 0);
    assert_false(ok);
    assert_int_equal(err.code, 0); /* a wrong password is an answer, not an error */
    app_hash_pool_free(pool);
}

/* The number of argon2id computations the pools have run, as their observer was told. */
static long long hashes_done(void)
{
    return atomic_load(&observed_count);
}

static void test_password_verify__without_a_hash_costs_the_same_and_fails(void **state)
{
    (void)state;
    struct app_hash_pool *pool = pool_new(1, 0);
    char hash[APP_PASSWORD_HASH_MAX];
    struct usher_error err = {0};
    assert_int_equal(app_password_hash(pool, hash, "the real one", &err), 0);
    bool ok = true;
    /* The same work either way: one full argon2id verification through the pool. Counted,
     * not timed, so the test holds on a loaded machine and under ThreadSanitizer. */
    long long before = hashes_done();
    assert_int_equal(app_password_verify(pool, &ok, NULL, hash, "a wrong one", &err), 0);
    assert_false(ok);
    long long after_real = hashes_done();
    assert_int_equal(app_password_verify(pool, &ok, NULL, NULL, "a wrong one", &err), 0);
    assert_false(ok);
    long long after_dummy = hashes_done();
    assert_int_equal(after_real - before, 1);
    assert_int_equal(after_dummy - after_real, 1);
    /* A value that is not an argon2id string is treated like no hash at all. */
    assert_int_equal(app_password_verify(pool, &ok, NULL, "plain-text", "plain-text", &err), 0);
    assert_false(ok);
    assert_int_equal(hashes_done() - after_dummy, 1);
    app_hash_pool_free(pool);
}

static void test_password_verify__flags_weaker_parameters_for_rehash(void **state)
{
    (void)state;
    struct app_hash_pool *pool = pool_new(1, 0);
    char weak[crypto_pwhash_STRBYTES];
    const char *pw = "upgrade me please";
    assert_int_equal(crypto_pwhash_str_alg(weak, pw, strlen(pw), 1, 8u * 1024 * 1024,
                                           crypto_pwhash_ALG_ARGON2ID13),
                     0);
    struct usher_error err = {0};
    bool ok = false, rehash = false;
    assert_int_equal(app_password_verify(pool, &ok, &rehash, weak, pw, &err), 0);
    assert_true(ok);
    assert_true(rehash);
    /* A wrong password never reports a re-hash (nothing to upgrade with). */
    assert_int_equal(app_password_verify(pool, &ok, &rehash, weak, "not the one", &err), 0);
    assert_false(ok);
    assert_false(rehash);
    app_hash_pool_free(pool);
}

static void test_password_check__takes_8_to_1024_bytes_of_utf8(void **state)
{
    (void)state;
    struct usher_error err = {0};
    assert_int_equal(app_password_check("12345678", "password", &err), 0);
    assert_int_equal(app_password_check("ééééé", "password", &err), 0); /* 10 bytes */
    char longest[APP_PASSWORD_MAX_BYTES + 2];
    memset(longest, 'x', APP_PASSWORD_MAX_BYTES);
    longest[APP_PASSWORD_MAX_BYTES] = '\0';
    assert_int_equal(app_password_check(longest, "password", &err), 0);

    longest[APP_PASSWORD_MAX_BYTES] = 'x';
    longest[APP_PASSWORD_MAX_BYTES + 1] = '\0';
    assert_int_equal(app_password_check(longest, "password", &err), USHER_EINVAL);
    assert_string_equal(err.field, "password");
    assert_string_equal(err.problem, "invalid_input");

    usher_error_clear(&err);
    assert_int_equal(app_password_check("1234567", "password", &err), USHER_EINVAL);
    assert_string_equal(err.field, "password");

    usher_error_clear(&err);
    assert_int_equal(app_password_check("abcdefg\xff", "new_password", &err), USHER_EINVAL);
    assert_string_equal(err.field, "new_password");

    usher_error_clear(&err);
    assert_int_equal(app_password_check(NULL, "password", &err), USHER_EINVAL);
}

struct hasher {
    struct app_hash_pool *pool;
    atomic_bool stop;
    atomic_int done;
    atomic_int failed;
    int rounds; /* 0: until stop */
};

static void *hasher_run(void *arg)
{
    struct hasher *h = arg;
    for (int i = 0; h->rounds == 0 ? !atomic_load(&h->stop) : i < h->rounds; i++) {
        char hash[APP_PASSWORD_HASH_MAX];
        struct usher_error err = {0};
        if (app_password_hash(h->pool, hash, "storm of sign-ins", &err) == 0)
            atomic_fetch_add(&h->done, 1);
        else
            atomic_fetch_add(&h->failed, 1);
    }
    return NULL;
}

static void test_hash_pool__refuses_callers_beyond_the_queue(void **state)
{
    (void)state;
    struct hasher h = {.pool = pool_new(1, 0)};
    pthread_t t;
    pthread_create(&t, NULL, hasher_run, &h);
    bool refused = false;
    for (int attempt = 0; attempt < 200 && !refused; attempt++) {
        int running = 0, waiting = 0;
        app_hash_pool_load(h.pool, &running, &waiting);
        if (running == 0) {
            usleep(1000);
            continue;
        }
        char hash[APP_PASSWORD_HASH_MAX];
        struct usher_error err = {0};
        int rc = app_password_hash(h.pool, hash, "one too many", &err);
        if (rc == USHER_EUNAVAIL) {
            refused = true;
            assert_string_equal(err.problem, "unavailable");
        }
    }
    atomic_store(&h.stop, true);
    pthread_join(t, NULL);
    assert_true(refused);
    assert_int_equal(atomic_load(&h.failed), 0);
    app_hash_pool_free(h.pool);
}

struct monitor {
    struct app_hash_pool *pool;
    atomic_bool stop;
    int max_running;
};

static void *monitor_run(void *arg)
{
    struct monitor *m = arg;
    while (!atomic_load(&m->stop)) {
        int running = 0, waiting = 0;
        app_hash_pool_load(m->pool, &running, &waiting);
        if (running > m->max_running)
            m->max_running = running;
        usleep(200);
    }
    return NULL;
}

static void test_hash_pool__runs_at_most_workers_at_once_and_queues_the_rest(void **state)
{
    (void)state;
    enum { THREADS = 6 };
    struct hasher h = {.pool = pool_new(2, THREADS), .rounds = 2};
    struct monitor m = {.pool = h.pool};
    pthread_t mon, t[THREADS];
    pthread_create(&mon, NULL, monitor_run, &m);
    for (int i = 0; i < THREADS; i++)
        pthread_create(&t[i], NULL, hasher_run, &h);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    atomic_store(&m.stop, true);
    pthread_join(mon, NULL);
    assert_int_equal(atomic_load(&h.done), THREADS * 2);
    assert_int_equal(atomic_load(&h.failed), 0);
    assert_true(m.max_running >= 1);
    assert_true(m.max_running <= 2);
    app_hash_pool_free(h.pool);
}

static void test_hash_pool__refuses_bad_sizes(void **state)
{
    (void)state;
    struct app_hash_pool *pool = NULL;
    struct usher_error err = {0};
    assert_int_equal(app_hash_pool_new(&pool, 0, 1, &err), USHER_EINVAL);
    assert_null(pool);
    app_hash_pool_free(NULL);
}

static void test_hash_pool__reports_each_hash_to_its_observer(void **state)
{
    (void)state;
    struct app_hash_pool *pool = pool_new(1, 0);
    long long before = hashes_done();
    char hash[APP_PASSWORD_HASH_MAX];
    struct usher_error err = {0};
    assert_int_equal(app_password_hash(pool, hash, "counted once", &err), 0);
    assert_int_equal(hashes_done() - before, 1);
    /* argon2id with 19 MiB takes milliseconds, never nothing; an idle pool hardly waits. */
    assert_true(observed_hash > 0 && observed_hash < 60);
    assert_true(observed_wait >= 0 && observed_wait < 60);
    bool ok = false;
    assert_int_equal(app_password_verify(pool, &ok, NULL, hash, "counted once", &err), 0);
    assert_true(ok);
    assert_int_equal(hashes_done() - before, 2);
    /* Without an observer the pool works the same and reports nothing. */
    app_hash_pool_observe(pool, NULL, NULL);
    assert_int_equal(app_password_hash(pool, hash, "counted once", &err), 0);
    assert_int_equal(hashes_done() - before, 2);
    app_hash_pool_free(pool);
}

/* The reason app_password_strength_check gives for password (NULL when it is accepted). */
static const char *refusal(const char *password, const struct app_password_inputs *in)
{
    static struct usher_error err;
    usher_error_clear(&err);
    int rc = app_password_strength_check(password, "password", in, &err);
    if (rc == 0) {
        assert_int_equal(err.code, 0);
        return NULL;
    }
    assert_int_equal(rc, USHER_EINVAL);
    assert_string_equal(err.problem, "weak_password");
    assert_string_equal(err.field, "password");
    const char *prefix = "password is too easy to guess: ";
    assert_true(strncmp(err.message, prefix, strlen(prefix)) == 0);
    return err.message + strlen(prefix);
}

static void test_password_strength__refuses_guessable_passwords_saying_why(void **state)
{
    (void)state;
    assert_string_equal(refusal("12345678", NULL), "it is a common word or password");
    assert_string_equal(refusal("password1", NULL), "it is a common word with a number added");
    assert_string_equal(refusal("qwertyui", NULL), "it is a common word or password");
    assert_string_equal(refusal("poiuytre", NULL), "it is a keyboard pattern");
    assert_string_equal(refusal("abcdefgh", NULL), "it is a sequence such as abcd or 1234");
    assert_string_equal(refusal("aaaaaaaa", NULL), "it repeats characters or a short pattern");
    assert_string_equal(refusal("18/05/1990", NULL), "it is a date or a year");
    assert_string_equal(refusal("iloveyou!", NULL),
                        "it is a common word with a few characters added");
    assert_string_equal(refusal("P@ssw0rd", NULL), "it is a common word or password");
    /* Messages follow the house style: lower case, no final period. */
    const char *reason = refusal("Summer2024", NULL);
    assert_non_null(reason);
    assert_true(reason[strlen(reason) - 1] != '.');
}

static void test_password_strength__accepts_passphrases_and_random_strings(void **state)
{
    (void)state;
    struct app_password_inputs ann = {"ann.lee@example.com", "Ann", "Lee"};
    const char *const strong[] = {
        "correct horse battery staple",
        "canary-password-invite-5c1d",
        "botdev-password-1",
        "bob-wants-in-1",
        "mia has a long password",
        "x7#kq9ZB",
        "tapestry-of-ravens",
    };
    for (size_t i = 0; i < sizeof(strong) / sizeof(strong[0]); i++) {
        assert_null(refusal(strong[i], NULL));
        assert_null(refusal(strong[i], &ann));
    }
    struct app_password_strength s;
    app_password_strength_estimate(&s, "correct horse battery staple", &ann);
    assert_false(s.is_weak);
    assert_true(s.guesses_log10 >= APP_PASSWORD_GUESSES_LOG10_MIN);
    assert_string_equal(s.reason, "");
}

static void test_password_strength__counts_the_persons_email_and_names(void **state)
{
    (void)state;
    struct app_password_inputs nora = {"nora.new@customer.example", "Gwendolyn", "Marchetti"};
    /* Each is accepted, or refused for another reason, when nothing is known of the person. */
    assert_null(refusal("nora.new@customer.example", NULL));
    assert_null(refusal("gwendolyn-marchetti", NULL));
    const char *personal = "it contains your name or email address";
    assert_string_equal(refusal("nora.new@customer.example", &nora), personal);
    assert_string_equal(refusal("gwendolyn-marchetti", &nora), personal);
    assert_string_equal(refusal("Gwendolyn2024", &nora), personal); /* first name + year */
    assert_string_equal(refusal("nora.new2024", &nora), personal);  /* the local part */
    assert_string_equal(refusal("customer2024!", &nora), personal); /* a domain label */
    assert_string_equal(refusal("Marchetti1987", &nora), personal);
    struct app_password_strength alone, known;
    app_password_strength_estimate(&alone, "gwendolyn-marchetti", NULL);
    app_password_strength_estimate(&known, "gwendolyn-marchetti", &nora);
    assert_true(known.guesses_log10 < alone.guesses_log10);
    /* Blank and missing inputs are no words at all. */
    struct app_password_inputs blank = {"", "", NULL};
    assert_null(refusal("tapestry-of-ravens", &blank));
}

static void test_password_strength__refuses_below_ten_to_the_eighth_guesses(void **state)
{
    (void)state;
    const char *const samples[] = {"password1",
                                   "poiuytre",
                                   "Summer2024",
                                   "gwendolyn-marchetti",
                                   "correct horse battery staple",
                                   "monkey-dragon-7"};
    for (size_t i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
        struct app_password_strength s;
        app_password_strength_estimate(&s, samples[i], NULL);
        assert_true(s.guesses_log10 >= 0);
        assert_int_equal(s.is_weak, s.guesses_log10 < 8.0);
        assert_int_equal(refusal(samples[i], NULL) != NULL, s.is_weak);
    }
}

int main(void)
{
    crypto_setup();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_password_hash__uses_argon2id_with_owasp_parameters),
        cmocka_unit_test(test_password_verify__accepts_the_right_password_only),
        cmocka_unit_test(test_password_verify__without_a_hash_costs_the_same_and_fails),
        cmocka_unit_test(test_password_verify__flags_weaker_parameters_for_rehash),
        cmocka_unit_test(test_password_check__takes_8_to_1024_bytes_of_utf8),
        cmocka_unit_test(test_hash_pool__refuses_callers_beyond_the_queue),
        cmocka_unit_test(test_hash_pool__runs_at_most_workers_at_once_and_queues_the_rest),
        cmocka_unit_test(test_hash_pool__refuses_bad_sizes),
        cmocka_unit_test(test_hash_pool__reports_each_hash_to_its_observer),
        cmocka_unit_test(test_password_strength__refuses_guessable_passwords_saying_why),
        cmocka_unit_test(test_password_strength__accepts_passphrases_and_random_strings),
        cmocka_unit_test(test_password_strength__counts_the_persons_email_and_names),
        cmocka_unit_test(test_password_strength__refuses_below_ten_to_the_eighth_guesses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
