/* CSV records as RFC 4180 writes them: separators, line endings, quoted fields with commas,
 * line breaks and doubled quotes, record numbers, and the malformed fields refused. */
#include "../unit.h"

#include "base/csv.h"

/* Reads every record of text into recs (at most max); returns how many, or -1 on an error
 * (*bad gets the failing record's number). */
static int read_all(struct arena *a, const char *text, struct csv_record *recs, int max,
                    size_t *bad)
{
    struct csv_reader rd;
    csv_reader_init(&rd, a, text, strlen(text));
    int n = 0;
    for (;;) {
        struct csv_record r;
        struct usher_error err = {0};
        bool has = false;
        if (csv_record_next(&r, &has, &rd, &err)) {
            assert_int_equal(err.code, USHER_EINVAL);
            *bad = r.number;
            return -1;
        }
        if (!has)
            return n;
        assert_true(n < max);
        recs[n++] = r;
    }
}

static void test_csv__splits_fields_and_records_on_crlf_lf_and_cr(void **state)
{
    (void)state;
    struct arena a;
    arena_init(&a);
    struct csv_record r[4];
    size_t bad = 0;
    assert_int_equal(read_all(&a, "a,b,c\r\nd,,f\ng,h\r", r, 4, &bad), 3);
    assert_int_equal(r[0].count, 3);
    assert_string_equal(r[0].fields[2], "c");
    assert_int_equal(r[1].count, 3);
    assert_string_equal(r[1].fields[1], "");
    assert_int_equal(r[2].count, 2);
    assert_int_equal(r[2].number, 3);
    /* A trailing comma is an empty last field. */
    assert_int_equal(read_all(&a, "a,\r\n", r, 4, &bad), 1);
    assert_int_equal(r[0].count, 2);
    arena_dispose(&a);
}

static void test_csv__reads_quoted_commas_line_breaks_and_doubled_quotes(void **state)
{
    (void)state;
    struct arena a;
    arena_init(&a);
    struct csv_record r[4];
    size_t bad = 0;
    assert_int_equal(
        read_all(&a, "\"Berg, Jr.\",\"O\"\"Brien\",\"two\r\nlines\"\r\nnext\r\n", r, 4, &bad), 2);
    assert_int_equal(r[0].count, 3);
    assert_string_equal(r[0].fields[0], "Berg, Jr.");
    assert_string_equal(r[0].fields[1], "O\"Brien");
    assert_string_equal(r[0].fields[2], "two\r\nlines");
    assert_int_equal(r[1].number, 2);
    assert_string_equal(r[1].fields[0], "next");
    assert_int_equal(read_all(&a, "\"\",\"\"\"\"", r, 4, &bad), 1);
    assert_string_equal(r[0].fields[0], "");
    assert_string_equal(r[0].fields[1], "\"");
    arena_dispose(&a);
}

static void test_csv__blank_lines_are_one_empty_field(void **state)
{
    (void)state;
    struct arena a;
    arena_init(&a);
    struct csv_record r[4];
    size_t bad = 0;
    assert_int_equal(read_all(&a, "a\r\n\r\nb\r\n", r, 4, &bad), 3);
    assert_false(csv_record_blank(&r[0]));
    assert_true(csv_record_blank(&r[1]));
    assert_int_equal(r[2].number, 3);
    assert_int_equal(read_all(&a, "", r, 4, &bad), 0);
    arena_dispose(&a);
}

static void test_csv__refuses_malformed_quotes_naming_the_record(void **state)
{
    (void)state;
    struct arena a;
    arena_init(&a);
    struct csv_record r[4];
    size_t bad = 0;
    assert_int_equal(read_all(&a, "ok\r\n\"never closed,x\r\n", r, 4, &bad), -1);
    assert_int_equal(bad, 2);
    assert_int_equal(read_all(&a, "ok\r\nok\r\n\"closed\"early,x\r\n", r, 4, &bad), -1);
    assert_int_equal(bad, 3);
    assert_int_equal(read_all(&a, "Ol\"af,x\r\n", r, 4, &bad), -1);
    assert_int_equal(bad, 1);
    arena_dispose(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_csv__splits_fields_and_records_on_crlf_lf_and_cr),
        cmocka_unit_test(test_csv__reads_quoted_commas_line_breaks_and_doubled_quotes),
        cmocka_unit_test(test_csv__blank_lines_are_one_empty_field),
        cmocka_unit_test(test_csv__refuses_malformed_quotes_naming_the_record),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
