/* The region allocator: alignment, zeroing, growth, oversized requests, string copies and
 * reuse after dispose. */
#include "../unit.h"

#include <signal.h>
#include <sys/wait.h>

#include "base/arena.h"

static void test_arena_alloc__returns_zeroed_aligned_memory(void **state)
{
    (void)state;
    struct arena a;
    arena_init(&a);
    for (size_t size = 0; size < 100; size++) {
        unsigned char *p = arena_alloc(&a, size);
        assert_non_null(p);
        assert_int_equal((uintptr_t)p % 16, 0);
        for (size_t i = 0; i < size; i++)
            assert_int_equal(p[i], 0);
        memset(p, 0xAB, size);
    }
    arena_dispose(&a);
}

static void test_arena_alloc__keeps_earlier_allocations_intact_across_blocks(void **state)
{
    (void)state;
    struct arena a;
    arena_init(&a);
    enum { COUNT = 2000 };
    int *ptrs[COUNT];
    for (int i = 0; i < COUNT; i++) {
        ptrs[i] = arena_alloc(&a, 40 + (size_t)(i % 7) * 24);
        ptrs[i][0] = i;
        ptrs[i][9] = -i;
    }
    for (int i = 0; i < COUNT; i++) {
        assert_int_equal(ptrs[i][0], i);
        assert_int_equal(ptrs[i][9], -i);
    }
    arena_dispose(&a);
}

static void test_arena_alloc__serves_a_request_larger_than_any_block(void **state)
{
    (void)state;
    struct arena a;
    arena_init(&a);
    char *small = arena_alloc(&a, 10);
    size_t big_size = 3 * 1024 * 1024;
    char *big = arena_alloc(&a, big_size);
    assert_non_null(big);
    big[0] = 'a';
    big[big_size - 1] = 'z';
    char *after = arena_alloc(&a, 10);
    /* The small allocation after the big one still comes from the first block. */
    assert_true(after > small && after < small + 4096);
    assert_int_equal(big[big_size - 1], 'z');
    assert_true(a.total >= big_size + 20);
    arena_dispose(&a);
}

static void test_arena_alloc__counts_bytes_handed_out(void **state)
{
    (void)state;
    struct arena a;
    arena_init(&a);
    assert_int_equal(a.total, 0);
    arena_alloc(&a, 1);
    assert_int_equal(a.total, 16);
    arena_alloc(&a, 17);
    assert_int_equal(a.total, 48);
    arena_dispose(&a);
    assert_int_equal(a.total, 0);
    assert_null(a.head);
}

static void test_arena_dispose__allows_reuse(void **state)
{
    (void)state;
    struct arena a;
    arena_init(&a);
    for (int round = 0; round < 3; round++) {
        char *s = arena_strdup(&a, "reused");
        assert_string_equal(s, "reused");
        arena_alloc(&a, 10000);
        arena_dispose(&a);
    }
    arena_dispose(&a);
}

static void test_arena_reset__keeps_one_block_and_zeroes_what_it_hands_out(void **state)
{
    (void)state;
    struct arena a;
    arena_init(&a);
    arena_reset(&a);
    assert_null(a.head);
    for (int round = 0; round < 3; round++) {
        unsigned char *small = arena_alloc(&a, 64);
        for (int i = 0; i < 64; i++)
            assert_int_equal(small[i], 0);
        memset(small, 0xAB, 64);
        /* A large request and many small ones add blocks; a reset drops all but one. */
        arena_alloc(&a, 100000);
        for (int i = 0; i < 200; i++)
            arena_strdup(&a, "a string that fills the first block over a few rounds");
        arena_reset(&a);
        assert_non_null(a.head);
        assert_int_equal(a.total, 0);
    }
    unsigned char *again = arena_alloc(&a, 64);
    for (int i = 0; i < 64; i++)
        assert_int_equal(again[i], 0);
    arena_dispose(&a);
}

static void test_arena_strdup__copies_and_passes_null_through(void **state)
{
    (void)state;
    struct arena a;
    arena_init(&a);
    char src[] = "hello";
    char *copy = arena_strdup(&a, src);
    src[0] = 'J';
    assert_string_equal(copy, "hello");
    assert_null(arena_strdup(&a, NULL));
    arena_dispose(&a);
}

static void test_arena_strndup__stops_at_len_and_terminates(void **state)
{
    (void)state;
    struct arena a;
    arena_init(&a);
    char *s = arena_strndup(&a, "abcdef", 3);
    assert_string_equal(s, "abc");
    char *empty = arena_strndup(&a, "abc", 0);
    assert_string_equal(empty, "");
    arena_dispose(&a);
}

static void test_arena_printf__formats_short_and_long_text(void **state)
{
    (void)state;
    struct arena a;
    arena_init(&a);
    assert_string_equal(arena_printf(&a, "%s-%d", "id", 42), "id-42");
    char *long_text = arena_printf(&a, "%05000d", 7);
    assert_int_equal(strlen(long_text), 5000);
    assert_int_equal(long_text[4999], '7');
    assert_int_equal(long_text[0], '0');
    arena_dispose(&a);
}

static void test_xalloc__returns_usable_memory(void **state)
{
    (void)state;
    char *p = xmalloc(0);
    assert_non_null(p);
    free(p);
    int *z = xcalloc(8, sizeof(int));
    for (int i = 0; i < 8; i++)
        assert_int_equal(z[i], 0);
    z[7] = 5;
    z = xrealloc(z, 1000 * sizeof(int));
    assert_int_equal(z[7], 5);
    free(z);
    char *s = xstrdup("copy");
    assert_string_equal(s, "copy");
    free(s);
}

/* Runs arena_alloc(size) in a child and returns how it ended (a wait status). */
static int alloc_in_child(size_t size)
{
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* Silence the expected message and the sanitizer's report of the abort. */
        if (!freopen("/dev/null", "w", stderr))
            _exit(99);
        struct arena a;
        arena_init(&a);
        char *p = arena_alloc(&a, size);
        p[0] = 1;
        _exit(0);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    return status;
}

static void test_arena_alloc__aborts_on_a_size_that_cannot_fit(void **state)
{
    (void)state;
    const size_t sizes[] = {SIZE_MAX, SIZE_MAX - 8, SIZE_MAX - 40, SIZE_MAX - 46};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        int status = alloc_in_child(sizes[i]);
        assert_true(WIFSIGNALED(status));
        assert_int_equal(WTERMSIG(status), SIGABRT);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_arena_alloc__returns_zeroed_aligned_memory),
        cmocka_unit_test(test_arena_alloc__keeps_earlier_allocations_intact_across_blocks),
        cmocka_unit_test(test_arena_alloc__serves_a_request_larger_than_any_block),
        cmocka_unit_test(test_arena_alloc__counts_bytes_handed_out),
        cmocka_unit_test(test_arena_dispose__allows_reuse),
        cmocka_unit_test(test_arena_reset__keeps_one_block_and_zeroes_what_it_hands_out),
        cmocka_unit_test(test_arena_strdup__copies_and_passes_null_through),
        cmocka_unit_test(test_arena_strndup__stops_at_len_and_terminates),
        cmocka_unit_test(test_arena_printf__formats_short_and_long_text),
        cmocka_unit_test(test_arena_alloc__aborts_on_a_size_that_cannot_fit),
        cmocka_unit_test(test_xalloc__returns_usable_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
