/* Text validation: UTF-8 decoding, trimming, display names and single email addresses. */
#include "../unit.h"

#include "base/error.h"
#include "base/text.h"

static long count(const char *s)
{
    return text_utf8_count(s, strlen(s));
}

static void test_text_utf8__counts_code_points_of_every_length(void **state)
{
    (void)state;
    assert_int_equal(count(""), 0);
    assert_int_equal(count("abc"), 3);
    assert_int_equal(count("\xC3\xA9"), 1);         /* é */
    assert_int_equal(count("\xE2\x82\xAC"), 1);     /* € */
    assert_int_equal(count("\xF0\x9F\x98\x80"), 1); /* 😀 */
    assert_int_equal(count("a\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80z"), 5);
    assert_int_equal(count("\xF4\x8F\xBF\xBF"), 1); /* U+10FFFF, the last code point */
    assert_int_equal(count("\xEF\xBF\xBD"), 1);     /* U+FFFD */
}

static void test_text_utf8__rejects_overlong_forms(void **state)
{
    (void)state;
    assert_int_equal(count("\xC0\xAF"), -1);         /* '/' in two bytes */
    assert_int_equal(count("\xC1\xBF"), -1);         /* U+007F in two bytes */
    assert_int_equal(count("\xE0\x80\xAF"), -1);     /* '/' in three bytes */
    assert_int_equal(count("\xE0\x9F\xBF"), -1);     /* U+07FF in three bytes */
    assert_int_equal(count("\xF0\x80\x80\xAF"), -1); /* '/' in four bytes */
    assert_int_equal(count("\xF0\x8F\xBF\xBF"), -1); /* U+FFFF in four bytes */
}

static void test_text_utf8__rejects_surrogates_and_values_past_10ffff(void **state)
{
    (void)state;
    assert_int_equal(count("\xED\xA0\x80"), -1); /* U+D800 */
    assert_int_equal(count("\xED\xBF\xBF"), -1); /* U+DFFF */
    assert_int_equal(count("\xED\x9F\xBF"), 1);  /* U+D7FF is fine */
    assert_int_equal(count("\xF4\x90\x80\x80"), -1);
    assert_int_equal(count("\xF5\x80\x80\x80"), -1);
    assert_int_equal(count("\xF8\x88\x80\x80\x80"), -1);
    assert_int_equal(count("\xFF"), -1);
}

static void test_text_utf8__rejects_truncated_and_stray_bytes(void **state)
{
    (void)state;
    assert_int_equal(count("\xE2\x82"), -1);
    assert_int_equal(count("abc\xF0\x9F\x98"), -1);
    assert_int_equal(count("\x80"), -1);
    assert_int_equal(count("a\xBFz"), -1);
    assert_int_equal(count("\xC3\x28"), -1); /* lead byte then ASCII */
    assert_int_equal(text_utf8_count("a\0b", 3), -1);
    /* The length bounds the scan: a sequence cut by len is truncated. */
    assert_int_equal(text_utf8_count("\xC3\xA9", 1), -1);
}

static void test_text_trim__removes_outer_white_space_only(void **state)
{
    (void)state;
    struct arena a;
    arena_init(&a);
    assert_string_equal(text_trim(&a, "  hello world \t\r\n"), "hello world");
    assert_string_equal(text_trim(&a, "\t\v\f x"), "x");
    assert_string_equal(text_trim(&a, "   "), "");
    assert_string_equal(text_trim(&a, ""), "");
    assert_string_equal(text_trim(&a, "a  b"), "a  b");
    /* Non-ASCII space is content, not trimmed. */
    assert_string_equal(text_trim(&a, "\xC2\xA0x"), "\xC2\xA0x");
    arena_dispose(&a);
}

/* Runs text_name_check with the usual 200-character cap; returns its result. */
static int name(const char **out, struct arena *a, const char *in, struct usher_error *err)
{
    usher_error_clear(err);
    return text_name_check(out, a, in, "name", TEXT_NAME_MAX_CHARS, err);
}

static char *repeat(struct arena *a, const char *unit, size_t times)
{
    size_t ulen = strlen(unit);
    char *s = arena_alloc(a, ulen * times + 1);
    for (size_t i = 0; i < times; i++)
        memcpy(s + i * ulen, unit, ulen);
    return s;
}

static void test_text_name__trims_and_accepts_1_to_200_characters(void **state)
{
    (void)state;
    struct arena a;
    arena_init(&a);
    struct usher_error err;
    const char *out = NULL;
    assert_int_equal(name(&out, &a, "  Acme production  ", &err), 0);
    assert_string_equal(out, "Acme production");
    assert_int_equal(name(&out, &a, "x", &err), 0);
    assert_string_equal(out, "x");
    assert_int_equal(name(&out, &a, repeat(&a, "a", 200), &err), 0);
    assert_int_equal(strlen(out), 200);
    /* The cap counts characters, not bytes: 200 two-byte characters fit. */
    assert_int_equal(name(&out, &a, repeat(&a, "\xC3\xA9", 200), &err), 0);
    assert_int_equal(strlen(out), 400);
    assert_int_equal(name(&out, &a, "Acme \xE2\x80\x93 staging \xF0\x9F\xA4\x96", &err), 0);
    arena_dispose(&a);
}

static void test_text_name__rejects_201_characters(void **state)
{
    (void)state;
    struct arena a;
    arena_init(&a);
    struct usher_error err;
    const char *out = NULL;
    assert_int_equal(name(&out, &a, repeat(&a, "a", 201), &err), USHER_EINVAL);
    assert_string_equal(err.field, "name");
    assert_string_equal(err.problem, "invalid_input");
    assert_string_equal(err.message, "name must be at most 200 characters");
    assert_int_equal(name(&out, &a, repeat(&a, "\xE2\x82\xAC", 201), &err), USHER_EINVAL);
    arena_dispose(&a);
}

static void test_text_name__rejects_empty_and_blank(void **state)
{
    (void)state;
    struct arena a;
    arena_init(&a);
    struct usher_error err;
    const char *out = "unchanged";
    assert_int_equal(name(&out, &a, "", &err), USHER_EINVAL);
    assert_string_equal(err.message, "name must not be empty");
    assert_int_equal(name(&out, &a, " \t\n ", &err), USHER_EINVAL);
    assert_string_equal(out, "unchanged");
    arena_dispose(&a);
}

static void test_text_name__rejects_control_characters(void **state)
{
    (void)state;
    struct arena a;
    arena_init(&a);
    struct usher_error err;
    const char *out = NULL;
    assert_int_equal(name(&out, &a, "a\x01z", &err), USHER_EINVAL);
    assert_string_equal(err.message, "name must not contain control characters");
    assert_int_equal(name(&out, &a, "a\tz", &err), USHER_EINVAL);
    assert_int_equal(name(&out, &a, "line\nbreak", &err), USHER_EINVAL);
    assert_int_equal(name(&out, &a, "del\x7F", &err), USHER_EINVAL);
    /* C1 controls (U+0080..U+009F), e.g. NEL U+0085. */
    assert_int_equal(name(&out, &a, "next\xC2\x85line", &err), USHER_EINVAL);
    assert_int_equal(name(&out, &a, "\xC2\x9F", &err), USHER_EINVAL);
    /* U+00A0 and U+00A9 right after the C1 range are fine. */
    assert_int_equal(name(&out, &a, "a\xC2\xA0\xC2\xA9", &err), 0);
    arena_dispose(&a);
}

static void test_text_name__rejects_invalid_utf8(void **state)
{
    (void)state;
    struct arena a;
    arena_init(&a);
    struct usher_error err;
    const char *out = NULL;
    assert_int_equal(name(&out, &a, "bad \xC0\xAF", &err), USHER_EINVAL);
    assert_string_equal(err.message, "name is not valid UTF-8");
    assert_int_equal(name(&out, &a, "\xED\xA0\x80", &err), USHER_EINVAL);
    arena_dispose(&a);
}

/* Runs text_email_normalize; returns its result. */
static int email(const char **out, struct arena *a, const char *in, struct usher_error *err)
{
    usher_error_clear(err);
    return text_email_normalize(out, a, in, "email", err);
}

static void test_text_email__trims_and_folds_case(void **state)
{
    (void)state;
    struct arena a;
    arena_init(&a);
    struct usher_error err;
    const char *out = NULL;
    assert_int_equal(email(&out, &a, "  Alice.Smith+Work@Example.COM \n", &err), 0);
    assert_string_equal(out, "alice.smith+work@example.com");
    assert_int_equal(email(&out, &a, "a@x.io", &err), 0);
    assert_string_equal(out, "a@x.io");
    assert_int_equal(email(&out, &a, "o'brien_1-2@sub.example.co.uk", &err), 0);
    assert_string_equal(out, "o'brien_1-2@sub.example.co.uk");
    arena_dispose(&a);
}

static void test_text_email__keeps_non_ascii_letters(void **state)
{
    (void)state;
    struct arena a;
    arena_init(&a);
    struct usher_error err;
    const char *out = NULL;
    assert_int_equal(email(&out, &a, "Jos\xC3\xA9@Example.org", &err), 0);
    assert_string_equal(out, "jos\xC3\xA9@example.org");
    assert_int_equal(email(&out, &a, "jos\xC3@example.org", &err), USHER_EINVAL);
    arena_dispose(&a);
}

static void test_text_email__rejects_two_addresses(void **state)
{
    (void)state;
    struct arena a;
    arena_init(&a);
    struct usher_error err;
    const char *out = NULL;
    const char *lists[] = {
        "a@x.io,b@x.io",           "a@x.io, b@x.io", "a@x.io;b@x.io",  "a@x.io b@x.io",
        "[\"a@x.io\",\"b@x.io\"]", "[\"a@x.io\"]",   "Alice <a@x.io>", "<a@x.io>",
        "a@x.io\nb@x.io",          "a@x.io\tb@x.io", "\"a@x.io\"",     "a@x.io (b@x.io)",
    };
    for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
        out = NULL;
        assert_int_equal(email(&out, &a, lists[i], &err), USHER_EINVAL);
        assert_null(out);
        assert_string_equal(err.field, "email");
        assert_string_equal(err.problem, "invalid_input");
    }
    arena_dispose(&a);
}

static void test_text_email__rejects_two_at_signs(void **state)
{
    (void)state;
    struct arena a;
    arena_init(&a);
    struct usher_error err;
    const char *out = NULL;
    assert_int_equal(email(&out, &a, "a@b@x.io", &err), USHER_EINVAL);
    assert_string_equal(err.message, "email must be exactly one address");
    assert_int_equal(email(&out, &a, "a@x.io@evil.io", &err), USHER_EINVAL);
    arena_dispose(&a);
}

static void test_text_email__rejects_spaces_and_controls_inside(void **state)
{
    (void)state;
    struct arena a;
    arena_init(&a);
    struct usher_error err;
    const char *out = NULL;
    assert_int_equal(email(&out, &a, "al ice@x.io", &err), USHER_EINVAL);
    assert_int_equal(email(&out, &a, "alice@x .io", &err), USHER_EINVAL);
    assert_int_equal(email(&out, &a,
                           "ali\x01"
                           "ce@x.io",
                           &err),
                     USHER_EINVAL);
    assert_int_equal(email(&out, &a, "alice@x.io\x7F", &err), USHER_EINVAL);
    arena_dispose(&a);
}

static void test_text_email__rejects_missing_parts(void **state)
{
    (void)state;
    struct arena a;
    arena_init(&a);
    struct usher_error err;
    const char *out = NULL;
    const char *bad[] = {
        "",        "   ",         "alice",       "@x.io",       "alice@",
        "alice@x", "alice@.x.io", "alice@x.io.", "alice@x..io", "alice@.",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(email(&out, &a, bad[i], &err), USHER_EINVAL);
    arena_dispose(&a);
}

static void test_text_email__rejects_misplaced_dots_in_the_local_part(void **state)
{
    (void)state;
    struct arena a;
    arena_init(&a);
    struct usher_error err;
    const char *out = NULL;
    assert_int_equal(email(&out, &a, ".alice@x.io", &err), USHER_EINVAL);
    assert_int_equal(email(&out, &a, "alice.@x.io", &err), USHER_EINVAL);
    assert_int_equal(email(&out, &a, "al..ice@x.io", &err), USHER_EINVAL);
    assert_int_equal(email(&out, &a, "a.l.i.c.e@x.io", &err), 0);
    arena_dispose(&a);
}

static void test_text_email__caps_lengths(void **state)
{
    (void)state;
    struct arena a;
    arena_init(&a);
    struct usher_error err;
    const char *out = NULL;
    /* 64 bytes of local part is the most RFC 5321 allows. */
    char *local64 = arena_printf(&a, "%s@x.io", repeat(&a, "a", 64));
    assert_int_equal(email(&out, &a, local64, &err), 0);
    char *local65 = arena_printf(&a, "%s@x.io", repeat(&a, "a", 65));
    assert_int_equal(email(&out, &a, local65, &err), USHER_EINVAL);
    /* 254 bytes in all. */
    char *domain = repeat(&a, "d.", 121); /* 242 bytes ending in '.' */
    char *at254 = arena_printf(&a, "abcdefghi@%sio", domain);
    assert_int_equal(strlen(at254), 254);
    assert_int_equal(email(&out, &a, at254, &err), 0);
    char *at255 = arena_printf(&a, "abcdefghij@%sio", domain);
    assert_int_equal(email(&out, &a, at255, &err), USHER_EINVAL);
    /* Outer white space does not count. */
    char *padded = arena_printf(&a, "   %s   ", at254);
    assert_int_equal(email(&out, &a, padded, &err), 0);
    arena_dispose(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_text_utf8__counts_code_points_of_every_length),
        cmocka_unit_test(test_text_utf8__rejects_overlong_forms),
        cmocka_unit_test(test_text_utf8__rejects_surrogates_and_values_past_10ffff),
        cmocka_unit_test(test_text_utf8__rejects_truncated_and_stray_bytes),
        cmocka_unit_test(test_text_trim__removes_outer_white_space_only),
        cmocka_unit_test(test_text_name__trims_and_accepts_1_to_200_characters),
        cmocka_unit_test(test_text_name__rejects_201_characters),
        cmocka_unit_test(test_text_name__rejects_empty_and_blank),
        cmocka_unit_test(test_text_name__rejects_control_characters),
        cmocka_unit_test(test_text_name__rejects_invalid_utf8),
        cmocka_unit_test(test_text_email__trims_and_folds_case),
        cmocka_unit_test(test_text_email__keeps_non_ascii_letters),
        cmocka_unit_test(test_text_email__rejects_two_addresses),
        cmocka_unit_test(test_text_email__rejects_two_at_signs),
        cmocka_unit_test(test_text_email__rejects_spaces_and_controls_inside),
        cmocka_unit_test(test_text_email__rejects_missing_parts),
        cmocka_unit_test(test_text_email__rejects_misplaced_dots_in_the_local_part),
        cmocka_unit_test(test_text_email__caps_lengths),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
