/* Unit tests of the string-keyed hash map. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "base/hmap.h"

static void test_hmap__puts_gets_and_replaces(void **state)
{
    (void)state;
    struct hmap m;
    hmap_init(&m);
    int a = 1, b = 2;
    assert_null(hmap_get(&m, "x"));
    assert_null(hmap_put(&m, "x", &a));
    assert_ptr_equal(hmap_get(&m, "x"), &a);
    assert_ptr_equal(hmap_put(&m, "x", &b), &a);
    assert_ptr_equal(hmap_get(&m, "x"), &b);
    assert_int_equal(m.count, 1);
    hmap_dispose(&m);
}

static void test_hmap__survives_many_inserts_and_removals(void **state)
{
    (void)state;
    struct hmap m;
    hmap_init(&m);
    static int values[5000];
    char key[32];
    for (int i = 0; i < 5000; i++) {
        snprintf(key, sizeof(key), "k%d", i);
        values[i] = i;
        hmap_put(&m, key, &values[i]);
    }
    for (int i = 0; i < 5000; i += 2) {
        snprintf(key, sizeof(key), "k%d", i);
        assert_ptr_equal(hmap_remove(&m, key), &values[i]);
    }
    assert_int_equal(m.count, 2500);
    for (int i = 0; i < 5000; i++) {
        snprintf(key, sizeof(key), "k%d", i);
        if (i % 2)
            assert_ptr_equal(hmap_get(&m, key), &values[i]);
        else
            assert_null(hmap_get(&m, key));
    }
    /* Reinserting into tombstones keeps every entry findable. */
    for (int i = 0; i < 5000; i += 2) {
        snprintf(key, sizeof(key), "k%d", i);
        hmap_put(&m, key, &values[i]);
    }
    assert_int_equal(m.count, 5000);
    size_t pos = 0, seen = 0;
    const char *k;
    void *v;
    while (hmap_next(&m, &pos, &k, &v))
        seen++;
    assert_int_equal(seen, 5000);
    hmap_dispose(&m);
}

static void test_hmap__remove_of_missing_key_is_harmless(void **state)
{
    (void)state;
    struct hmap m;
    hmap_init(&m);
    assert_null(hmap_remove(&m, "nothing"));
    hmap_dispose(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hmap__puts_gets_and_replaces),
        cmocka_unit_test(test_hmap__survives_many_inserts_and_removals),
        cmocka_unit_test(test_hmap__remove_of_missing_key_is_harmless),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
