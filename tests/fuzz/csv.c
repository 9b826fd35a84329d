/* Fuzzes the CSV reader (base/csv.h) with any bytes. Properties: reading ends, without reading
 * past the input; every record has at least one field and numbers follow 1, 2, 3...; and the
 * records read, written back with every field quoted, read again to the same fields. */
#include <stdlib.h>
#include <string.h>

#include "base/csv.h"
#include "fuzz.h"

/* Writes recs as CSV with every field quoted and its quotes doubled, CRLF after each record;
 * returns the text (malloc'd) and its length in *len. */
static char *quoted_write(const struct csv_record *recs, size_t n, size_t *len)
{
    size_t cap = 16;
    for (size_t i = 0; i < n; i++)
        for (size_t f = 0; f < recs[i].count; f++)
            cap += 2 * strlen(recs[i].fields[f]) + 4;
    char *out = malloc(cap);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        for (size_t f = 0; f < recs[i].count; f++) {
            if (f)
                out[k++] = ',';
            out[k++] = '"';
            for (const char *s = recs[i].fields[f]; *s; s++) {
                if (*s == '"')
                    out[k++] = '"';
                out[k++] = *s;
            }
            out[k++] = '"';
        }
        out[k++] = '\r';
        out[k++] = '\n';
    }
    *len = k;
    return out;
}

/* Reads text into recs (up to max); returns how many, or -1 at a malformed record. */
static long read_all(struct arena *a, const char *text, size_t len, struct csv_record *recs,
                     size_t max)
{
    struct csv_reader rd;
    csv_reader_init(&rd, a, text, len);
    size_t n = 0;
    for (;;) {
        struct csv_record r;
        struct usher_error err = {0};
        bool has = false;
        if (csv_record_next(&r, &has, &rd, &err)) {
            FUZZ_CHECK(err.code == USHER_EINVAL && r.number == n + 1);
            return -1;
        }
        if (!has)
            return (long)n;
        FUZZ_CHECK(r.count >= 1 && r.number == n + 1);
        FUZZ_CHECK(rd.p <= rd.end);
        if (n < max)
            recs[n] = r;
        n++;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct arena a;
    arena_init(&a);
    enum { MAX = 256 };
    struct csv_record *first = calloc(MAX, sizeof(*first));
    struct csv_record *again = calloc(MAX, sizeof(*again));
    long n = read_all(&a, (const char *)data, size, first, MAX);
    /* Fields holding a NUL byte are cut there; the round trip holds for the others. */
    if (n > 0 && n <= MAX && !memchr(data, '\0', size)) {
        size_t len = 0;
        char *text = quoted_write(first, (size_t)n, &len);
        long m = read_all(&a, text, len, again, MAX);
        FUZZ_CHECK(m == n);
        for (long i = 0; i < n; i++) {
            FUZZ_CHECK(again[i].count == first[i].count);
            for (size_t f = 0; f < first[i].count; f++)
                FUZZ_CHECK(strcmp(again[i].fields[f], first[i].fields[f]) == 0);
        }
        free(text);
    }
    free(first);
    free(again);
    arena_dispose(&a);
    return 0;
}
