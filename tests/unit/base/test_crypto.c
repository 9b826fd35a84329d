/* Randomness, ids, tokens, keyed hashes, constant-time comparison and the server secret. */
#include "../unit.h"

#include <dirent.h>
#include <pthread.h>
#include <sys/stat.h>

#include "base/crypto.h"
#include "base/error.h"

static bool is_base64url(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_'))
            return false;
    }
    return true;
}

static int setup(void **state)
{
    (void)state;
    return crypto_setup();
}

static void test_crypto_setup__may_run_twice(void **state)
{
    (void)state;
    assert_int_equal(crypto_setup(), 0);
    assert_int_equal(crypto_setup(), 0);
}

static void test_crypto_id__has_prefix_and_128_random_bits(void **state)
{
    (void)state;
    struct arena a;
    arena_init(&a);
    char *id = crypto_id_new(&a, "usr");
    assert_int_equal(strlen(id), 4 + 22);
    assert_memory_equal(id, "usr_", 4);
    assert_true(is_base64url(id + 4, 22));
    enum { N = 2000 };
    char *ids[N];
    for (int i = 0; i < N; i++)
        ids[i] = crypto_id_new(&a, "agy");
    for (int i = 0; i < N; i++)
        for (int j = i + 1; j < N; j++)
            assert_string_not_equal(ids[i], ids[j]);
    arena_dispose(&a);
}

static void test_crypto_token__is_43_base64url_characters_and_fresh(void **state)
{
    (void)state;
    char t1[CRYPTO_TOKEN_CHARS + 1], t2[CRYPTO_TOKEN_CHARS + 1];
    memset(t1, 'X', sizeof(t1));
    crypto_token_new(t1);
    crypto_token_new(t2);
    assert_int_equal(strlen(t1), CRYPTO_TOKEN_CHARS);
    assert_true(is_base64url(t1, CRYPTO_TOKEN_CHARS));
    assert_string_not_equal(t1, t2);
}

static void test_crypto_hmac__matches_rfc_4231_vectors(void **state)
{
    (void)state;
    char out[CRYPTO_HASH_HEX + 1];
    /* RFC 4231 test case 2. */
    const char *data = "what do ya want for nothing?";
    crypto_hmac_hex(out, (const unsigned char *)"Jefe", 4, data, strlen(data));
    assert_string_equal(out, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    /* RFC 4231 test case 1. */
    unsigned char key[20];
    memset(key, 0x0b, sizeof(key));
    crypto_hmac_hex(out, key, sizeof(key), "Hi There", 8);
    assert_string_equal(out, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
}

static void test_crypto_hmac__depends_on_key_and_data(void **state)
{
    (void)state;
    char a[CRYPTO_HASH_HEX + 1], b[CRYPTO_HASH_HEX + 1], c[CRYPTO_HASH_HEX + 1];
    unsigned char k1[32] = {1}, k2[32] = {2};
    crypto_hmac_hex(a, k1, sizeof(k1), "token", 5);
    crypto_hmac_hex(b, k2, sizeof(k2), "token", 5);
    crypto_hmac_hex(c, k1, sizeof(k1), "tokeN", 5);
    assert_string_not_equal(a, b);
    assert_string_not_equal(a, c);
    assert_int_equal(strlen(a), CRYPTO_HASH_HEX);
}

static void test_crypto_link_token__is_the_hmac_of_label_id_and_nonce_in_base64url(void **state)
{
    (void)state;
    unsigned char key[32];
    for (size_t i = 0; i < sizeof(key); i++)
        key[i] = (unsigned char)(i + 1);
    char token[CRYPTO_TOKEN_CHARS + 1];
    /* HMAC-SHA-256(key, "invitation:inv_x:n1"), computed elsewhere: links emailed before a
     * change to this function must keep working. */
    crypto_link_token(token, key, sizeof(key), "invitation", "inv_x", "n1");
    assert_string_equal(token, "qUXReR1ENIAHHf1U2-gJiX4jIa4ESLWsEcktbcy0pKQ");
    char other[CRYPTO_TOKEN_CHARS + 1];
    crypto_link_token(other, key, sizeof(key), "password_reset", "inv_x", "n1");
    assert_string_not_equal(token, other);
    crypto_link_token(other, key, sizeof(key), "invitation", "inv_x", "n2");
    assert_string_not_equal(token, other);
}

static void test_crypto_str_equal__compares_whole_strings(void **state)
{
    (void)state;
    assert_true(crypto_str_equal("", ""));
    assert_true(crypto_str_equal("abc", "abc"));
    assert_false(crypto_str_equal("abc", "abd"));
    assert_false(crypto_str_equal("abc", "ab"));
    assert_false(crypto_str_equal("ab", "abc"));
    assert_false(crypto_str_equal("", "a"));
}

static void test_crypto_secret__is_created_once_with_mode_0600(void **state)
{
    (void)state;
    char *dir = unit_tempdir_new();
    char path[4200];
    snprintf(path, sizeof(path), "%s/secret", dir);
    unsigned char s1[CRYPTO_SECRET_BYTES], s2[CRYPTO_SECRET_BYTES];
    struct usher_error err = {0};
    assert_int_equal(crypto_secret_load(s1, path, &err), 0);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(st.st_size, CRYPTO_SECRET_BYTES);
    assert_int_equal(crypto_secret_load(s2, path, &err), 0);
    assert_memory_equal(s1, s2, CRYPTO_SECRET_BYTES);
    unsigned char zero[CRYPTO_SECRET_BYTES] = {0};
    assert_memory_not_equal(s1, zero, CRYPTO_SECRET_BYTES);
    unit_tempdir_remove(dir);
}

static void test_crypto_secret__refuses_a_truncated_file(void **state)
{
    (void)state;
    char *dir = unit_tempdir_new();
    char *path = unit_file_write(dir, "secret", "short");
    unsigned char s[CRYPTO_SECRET_BYTES];
    struct usher_error err = {0};
    assert_int_equal(crypto_secret_load(s, path, &err), USHER_EINTERNAL);
    assert_non_null(strstr(err.message, "truncated"));
    free(path);
    unit_tempdir_remove(dir);
}

static void test_crypto_secret__reports_an_unwritable_place(void **state)
{
    (void)state;
    char *dir = unit_tempdir_new();
    char path[4200];
    snprintf(path, sizeof(path), "%s/missing/secret", dir);
    unsigned char s[CRYPTO_SECRET_BYTES];
    struct usher_error err = {0};
    assert_int_equal(crypto_secret_load(s, path, &err), USHER_EINTERNAL);
    assert_non_null(strstr(err.message, "cannot create"));
    unit_tempdir_remove(dir);
}

struct racer {
    const char *path;
    unsigned char secret[CRYPTO_SECRET_BYTES];
    int rc;
};

static void *race_load(void *arg)
{
    struct racer *r = arg;
    struct usher_error err = {0};
    r->rc = crypto_secret_load(r->secret, r->path, &err);
    return NULL;
}

static void test_crypto_secret__gives_racing_starters_one_secret_and_no_leftovers(void **state)
{
    (void)state;
    for (int round = 0; round < 20; round++) {
        char *dir = unit_tempdir_new();
        char path[4200];
        snprintf(path, sizeof(path), "%s/secret", dir);
        enum { RACERS = 4 };
        pthread_t threads[RACERS];
        struct racer racers[RACERS];
        for (int i = 0; i < RACERS; i++) {
            racers[i] = (struct racer){.path = path};
            assert_int_equal(pthread_create(&threads[i], NULL, race_load, &racers[i]), 0);
        }
        for (int i = 0; i < RACERS; i++) {
            pthread_join(threads[i], NULL);
            assert_int_equal(racers[i].rc, 0);
            assert_memory_equal(racers[i].secret, racers[0].secret, CRYPTO_SECRET_BYTES);
        }
        /* Only the secret itself is left in the directory. */
        DIR *d = opendir(dir);
        assert_non_null(d);
        int entries = 0;
        for (struct dirent *e = readdir(d); e; e = readdir(d)) {
            if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
                assert_string_equal(e->d_name, "secret");
                entries++;
            }
        }
        closedir(d);
        assert_int_equal(entries, 1);
        unit_tempdir_remove(dir);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crypto_setup__may_run_twice),
        cmocka_unit_test(test_crypto_id__has_prefix_and_128_random_bits),
        cmocka_unit_test(test_crypto_token__is_43_base64url_characters_and_fresh),
        cmocka_unit_test(test_crypto_hmac__matches_rfc_4231_vectors),
        cmocka_unit_test(test_crypto_hmac__depends_on_key_and_data),
        cmocka_unit_test(test_crypto_link_token__is_the_hmac_of_label_id_and_nonce_in_base64url),
        cmocka_unit_test(test_crypto_str_equal__compares_whole_strings),
        cmocka_unit_test(test_crypto_secret__is_created_once_with_mode_0600),
        cmocka_unit_test(test_crypto_secret__refuses_a_truncated_file),
        cmocka_unit_test(test_crypto_secret__reports_an_unwritable_place),
        cmocka_unit_test(test_crypto_secret__gives_racing_starters_one_secret_and_no_leftovers),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
