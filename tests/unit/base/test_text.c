/* Text validation: UTF-8 decoding, trimming, the refused code points (controls, format
 * characters, separators, noncharacters), display names, shortcodes and single email
 * addresses. */
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
    assert_string_equal(err.message, "name must not contain invisible or control characters "
                                     "(U+0001)");
    assert_int_equal(name(&out, &a, "a\tz", &err), USHER_EINVAL);
    assert_int_equal(name(&out, &a, "line\nbreak", &err), USHER_EINVAL);
    assert_int_equal(name(&out, &a, "del\x7F", &err), USHER_EINVAL);
    /* C1 controls (U+0080..U+009F), e.g. NEL U+0085. */
    assert_int_equal(name(&out, &a, "next\xC2\x85line", &err), USHER_EINVAL);
    assert_string_equal(err.message, "name must not contain invisible or control characters "
                                     "(U+0085)");
    assert_int_equal(name(&out, &a, "\xC2\x9F", &err), USHER_EINVAL);
    /* U+00A0 and U+00A9 right after the C1 range are fine. */
    assert_int_equal(name(&out, &a, "a\xC2\xA0\xC2\xA9", &err), 0);
    arena_dispose(&a);
}

/* One refused character, a real example of its class, in the middle of a name. */
struct refused {
    const char *utf8;
    const char *code; /* as the message gives it */
    const char *what;
};

static const struct refused refused[] = {
    {"\xE2\x80\xA8", "U+2028", "line separator (Zl)"},
    {"\xE2\x80\xA9", "U+2029", "paragraph separator (Zp)"},
    {"\xC2\x85", "U+0085", "next line, a C1 control (Cc)"},
    {"\xE2\x80\x8B", "U+200B", "zero width space (Cf)"},
    {"\xE2\x80\x8C", "U+200C", "zero width non-joiner (Cf)"},
    {"\xE2\x80\x8D", "U+200D", "zero width joiner (Cf)"},
    {"\xE2\x81\xA0", "U+2060", "word joiner (Cf)"},
    {"\xE2\x80\x8F", "U+200F", "right-to-left mark (Cf)"},
    {"\xE2\x80\xAA", "U+202A", "left-to-right embedding (Cf)"},
    {"\xE2\x80\xAE", "U+202E", "right-to-left override (Cf)"},
    {"\xE2\x81\xA6", "U+2066", "left-to-right isolate (Cf)"},
    {"\xE2\x81\xA9", "U+2069", "pop directional isolate (Cf)"},
    {"\xEF\xBB\xBF", "U+FEFF", "zero width no-break space, the byte order mark (Cf)"},
    {"\xC2\xAD", "U+00AD", "soft hyphen (Cf)"},
    {"\xD8\x9C", "U+061C", "Arabic letter mark (Cf)"},
    {"\xE1\xA0\x8E", "U+180E", "Mongolian vowel separator (Cf)"},
    {"\xF3\xA0\x80\x81", "U+E0001", "language tag (Cf)"},
    {"\xF3\xA0\x81\x81", "U+E0041", "tag latin capital letter A (Cf)"},
    {"\xF3\xA0\x81\xBF", "U+E007F", "cancel tag (Cf)"},
    {"\xF0\x9D\x85\xB3", "U+1D173", "musical symbol begin beam (Cf)"},
};

static void test_text_name__rejects_invisible_format_and_separator_characters(void **state)
{
    (void)state;
    struct arena a;
    arena_init(&a);
    struct usher_error err;
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        const char *in = arena_printf(&a, "Jean%sLuc", refused[i].utf8);
        const char *out = "unchanged";
        if (name(&out, &a, in, &err) != USHER_EINVAL)
            fail_msg("%s was accepted in a name", refused[i].what);
        assert_string_equal(out, "unchanged");
        assert_string_equal(err.field, "name");
        assert_string_equal(err.problem, "invalid_input");
        const char *want = arena_printf(
            &a, "name must not contain invisible or control characters (%s)", refused[i].code);
        assert_string_equal(err.message, want);
        /* At either end too: only ASCII white space is trimmed. */
        assert_int_equal(name(&out, &a, arena_printf(&a, "%sJean", refused[i].utf8), &err),
                         USHER_EINVAL);
        assert_int_equal(name(&out, &a, arena_printf(&a, "Jean%s", refused[i].utf8), &err),
                         USHER_EINVAL);
    }
    arena_dispose(&a);
}

static void test_text_name__rejects_noncharacters(void **state)
{
    (void)state;
    struct arena a;
    arena_init(&a);
    struct usher_error err;
    const char *out = NULL;
    assert_int_equal(name(&out, &a, "a\xEF\xB7\x90", &err), USHER_EINVAL); /* U+FDD0 */
    assert_string_equal(err.message, "name must not contain Unicode noncharacters (U+FDD0)");
    assert_int_equal(name(&out, &a, "a\xEF\xBF\xBE", &err), USHER_EINVAL);     /* U+FFFE */
    assert_int_equal(name(&out, &a, "a\xEF\xBF\xBF", &err), USHER_EINVAL);     /* U+FFFF */
    assert_int_equal(name(&out, &a, "a\xF0\x9F\xBF\xBE", &err), USHER_EINVAL); /* U+1FFFE */
    assert_int_equal(name(&out, &a, "a\xF4\x8F\xBF\xBF", &err), USHER_EINVAL); /* U+10FFFF */
    /* Their neighbours are ordinary characters. */
    assert_int_equal(name(&out, &a, "a\xEF\xB7\xB0", &err), 0); /* U+FDF0 */
    assert_int_equal(name(&out, &a, "a\xEF\xBF\xBD", &err), 0); /* U+FFFD */
    arena_dispose(&a);
}

static void test_text_name__accepts_the_names_people_have(void **state)
{
    (void)state;
    struct arena a;
    arena_init(&a);
    struct usher_error err;
    const char *ok[] = {
        "O'Brien",
        "Jean-Luc",
        "Zo\xC3\xAB Saldana-Per\xC3\xA9z",                   /* Zoë Saldana-Peréz */
        "Bj\xC3\xB6rk Gu\xC3\xB0mundsd\xC3\xB3ttir",         /* Björk Guðmundsdóttir */
        "\xC5\x81ukasz \xC5\xBB\xC3\xB3\xC5\x82kiewski",     /* Łukasz Żółkiewski */
        "\xE5\xB1\xB1\xE7\x94\xB0 \xE5\xA4\xAA\xE9\x83\x8E", /* 山田 太郎 */
        "\xEA\xB9\x80\xEB\xAF\xBC\xEC\xA4\x80",              /* 김민준 */
        "\xD0\x90\xD0\xBD\xD0\xBD\xD0\xB0",                  /* Анна */
        "\xD9\x81\xD8\xA7\xD8\xB7\xD9\x85\xD8\xA9",          /* فاطمة */
        "Ng\xC3\xB4 B\xE1\xBA\xA3o Ch\xC3\xA2u",             /* Ngô Bảo Châu */
        "Fran\xC3\xA7ois\xC2\xA0"
        "Dupont",                       /* with a no-break space, which is visible */
        "Acme \xE2\x80\x93 production", /* en dash */
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        const char *out = NULL;
        if (name(&out, &a, ok[i], &err) != 0)
            fail_msg("refused %s: %s", ok[i], err.message);
        assert_string_equal(out, ok[i]);
    }
    arena_dispose(&a);
}

static void test_text_codepoint_class__follows_the_table_at_its_edges(void **state)
{
    (void)state;
    static const struct {
        uint32_t cp;
        enum text_class want;
    } cases[] = {
        {0x0000, TEXT_CLASS_INVISIBLE},    {0x001F, TEXT_CLASS_INVISIBLE},
        {0x0020, TEXT_CLASS_OK},           {0x007E, TEXT_CLASS_OK},
        {0x007F, TEXT_CLASS_INVISIBLE},    {0x009F, TEXT_CLASS_INVISIBLE},
        {0x00A0, TEXT_CLASS_OK},           {0x00AC, TEXT_CLASS_OK},
        {0x00AD, TEXT_CLASS_INVISIBLE},    {0x00AE, TEXT_CLASS_OK},
        {0x0600, TEXT_CLASS_INVISIBLE},    {0x0605, TEXT_CLASS_INVISIBLE},
        {0x0606, TEXT_CLASS_OK},           {0x200A, TEXT_CLASS_OK},
        {0x200B, TEXT_CLASS_INVISIBLE},    {0x200F, TEXT_CLASS_INVISIBLE},
        {0x2010, TEXT_CLASS_OK},           {0x2027, TEXT_CLASS_OK},
        {0x2028, TEXT_CLASS_INVISIBLE},    {0x202E, TEXT_CLASS_INVISIBLE},
        {0x202F, TEXT_CLASS_OK},           {0x2065, TEXT_CLASS_OK},
        {0x2066, TEXT_CLASS_INVISIBLE},    {0x206F, TEXT_CLASS_INVISIBLE},
        {0x2070, TEXT_CLASS_OK},           {0xFEFE, TEXT_CLASS_OK},
        {0xFEFF, TEXT_CLASS_INVISIBLE},    {0xFFF9, TEXT_CLASS_INVISIBLE},
        {0xFFFC, TEXT_CLASS_OK},           {0xFDCF, TEXT_CLASS_OK},
        {0xFDD0, TEXT_CLASS_NONCHARACTER}, {0xFDEF, TEXT_CLASS_NONCHARACTER},
        {0xFFFE, TEXT_CLASS_NONCHARACTER}, {0x110BD, TEXT_CLASS_INVISIBLE},
        {0x13430, TEXT_CLASS_INVISIBLE},   {0x1343F, TEXT_CLASS_INVISIBLE},
        {0x1F600, TEXT_CLASS_OK},          {0x2FFFF, TEXT_CLASS_NONCHARACTER},
        {0xDFFFD, TEXT_CLASS_OK},          {0xE0000, TEXT_CLASS_INVISIBLE},
        {0xE007F, TEXT_CLASS_INVISIBLE},   {0xE0080, TEXT_CLASS_OK},
        {0xE0100, TEXT_CLASS_OK},          {0x10FFFE, TEXT_CLASS_NONCHARACTER},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        if (text_codepoint_class(cases[i].cp) != cases[i].want)
            fail_msg("U+%04X: class %d, want %d", (unsigned)cases[i].cp,
                     (int)text_codepoint_class(cases[i].cp), (int)cases[i].want);
    }
}

static void test_text_shortcode__takes_ascii_letters_digits_dash_underscore(void **state)
{
    (void)state;
    struct arena a;
    arena_init(&a);
    struct usher_error err;
    const char *out = NULL;
    assert_int_equal(text_shortcode_check(&out, &a, "  JD-42_x ", "shortcode", &err), 0);
    assert_string_equal(out, "JD-42_x");
    char max[TEXT_SHORTCODE_MAX + 2];
    memset(max, 'a', TEXT_SHORTCODE_MAX);
    max[TEXT_SHORTCODE_MAX] = '\0';
    assert_int_equal(text_shortcode_check(&out, &a, max, "shortcode", &err), 0);
    max[TEXT_SHORTCODE_MAX] = 'a';
    max[TEXT_SHORTCODE_MAX + 1] = '\0';
    const char *bad[] = {max,
                         "",
                         "   ",
                         "jd 42",
                         "jd.42",
                         "j\xC3\xA9",
                         "\xD0\x88"
                         "D"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        usher_error_clear(&err);
        assert_int_equal(text_shortcode_check(&out, &a, bad[i], "shortcode", &err), USHER_EINVAL);
        assert_string_equal(err.field, "shortcode");
        assert_string_equal(err.message,
                            "shortcode must be 1 to 32 ASCII letters, digits, '-' or '_'");
    }
    /* An invisible character is named as such. */
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        usher_error_clear(&err);
        const char *in = arena_printf(&a, "JD%s42", refused[i].utf8);
        assert_int_equal(text_shortcode_check(&out, &a, in, "shortcode", &err), USHER_EINVAL);
        const char *want = arena_printf(
            &a, "shortcode must not contain invisible or control characters (%s)", refused[i].code);
        assert_string_equal(err.message, want);
    }
    arena_dispose(&a);
}

static void test_text_name_optional__blank_is_no_name(void **state)
{
    (void)state;
    struct arena a;
    arena_init(&a);
    struct usher_error err = {0};
    const char *out = NULL;
    assert_int_equal(text_name_optional_check(&out, &a, NULL, "first_name", &err), 0);
    assert_string_equal(out, "");
    assert_int_equal(text_name_optional_check(&out, &a, " \t ", "first_name", &err), 0);
    assert_string_equal(out, "");
    assert_int_equal(text_name_optional_check(&out, &a, " Ada ", "first_name", &err), 0);
    assert_string_equal(out, "Ada");
    assert_int_equal(text_name_optional_check(&out, &a,
                                              "A\xE2\x80\x8B"
                                              "da",
                                              "first_name", &err),
                     USHER_EINVAL);
    assert_string_equal(err.message,
                        "first_name must not contain invisible or control characters (U+200B)");
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

static void test_text_email__rejects_invisible_characters_and_unicode_spaces(void **state)
{
    (void)state;
    struct arena a;
    arena_init(&a);
    struct usher_error err;
    const char *out = NULL;
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        /* In the local part, in the domain, and right before the '@'. */
        const char *in3[] = {
            arena_printf(&a, "ali%sce@example.com", refused[i].utf8),
            arena_printf(&a, "alice@exa%smple.com", refused[i].utf8),
            arena_printf(&a, "alice%s@example.com", refused[i].utf8),
        };
        for (size_t k = 0; k < 3; k++) {
            const char *in = in3[k];
            out = NULL;
            if (email(&out, &a, in, &err) != USHER_EINVAL)
                fail_msg("%s was accepted in an address", refused[i].what);
            assert_null(out);
            assert_string_equal(err.field, "email");
        }
        const char *want = arena_printf(
            &a, "email must not contain invisible or control characters (%s)", refused[i].code);
        assert_string_equal(err.message, want);
    }
    assert_int_equal(email(&out, &a, "alice\xC2\xA0@example.com", &err), USHER_EINVAL);
    assert_string_equal(err.message, "email must not contain spaces (U+00A0)");
    assert_int_equal(email(&out, &a, "alice@example\xE3\x80\x80.com", &err), USHER_EINVAL);
    assert_string_equal(err.message, "email must not contain spaces (U+3000)");
    assert_int_equal(email(&out, &a,
                           "alice@ex\xEF\xBF\xBE"
                           "ample.com",
                           &err),
                     USHER_EINVAL);
    assert_string_equal(err.message, "email must not contain Unicode noncharacters (U+FFFE)");
    /* Letters past ASCII stay allowed, in the domain too, as before. */
    assert_int_equal(email(&out, &a, "J\xC3\xB6rg@M\xC3\xBCller.example", &err), 0);
    assert_string_equal(out, "j\xC3\xB6rg@m\xC3\xBCller.example");
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
        cmocka_unit_test(test_text_name__rejects_invisible_format_and_separator_characters),
        cmocka_unit_test(test_text_name__rejects_noncharacters),
        cmocka_unit_test(test_text_name__accepts_the_names_people_have),
        cmocka_unit_test(test_text_name__rejects_invalid_utf8),
        cmocka_unit_test(test_text_codepoint_class__follows_the_table_at_its_edges),
        cmocka_unit_test(test_text_shortcode__takes_ascii_letters_digits_dash_underscore),
        cmocka_unit_test(test_text_name_optional__blank_is_no_name),
        cmocka_unit_test(test_text_email__trims_and_folds_case),
        cmocka_unit_test(test_text_email__keeps_non_ascii_letters),
        cmocka_unit_test(test_text_email__rejects_two_addresses),
        cmocka_unit_test(test_text_email__rejects_two_at_signs),
        cmocka_unit_test(test_text_email__rejects_spaces_and_controls_inside),
        cmocka_unit_test(test_text_email__rejects_invisible_characters_and_unicode_spaces),
        cmocka_unit_test(test_text_email__rejects_missing_parts),
        cmocka_unit_test(test_text_email__rejects_misplaced_dots_in_the_local_part),
        cmocka_unit_test(test_text_email__caps_lengths),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
