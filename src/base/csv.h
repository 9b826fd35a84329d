/* Reading comma-separated values as RFC 4180 writes them: fields separated by commas, records
 * by CRLF or LF (a lone CR ends one too), a field in double quotes holding commas, line breaks
 * and "" for a quote. Nothing is guessed: a quote inside an unquoted field, text after a closing
 * quote, or a quote never closed is an error. Fields are copied into the caller's arena. */
#ifndef USHER_BASE_CSV_H
#define USHER_BASE_CSV_H

#include <stdbool.h>
#include <stddef.h>

#include "base/arena.h"
#include "base/error.h"

/* Where reading has got to in one text. */
struct csv_reader {
    struct arena *a;
    const char *p;
    const char *end;
    size_t records; /* records begun so far */
};

/* One record: its fields, NUL-terminated and arena-owned (a field holding a NUL byte is cut
 * there), and its number, the first record being 1. */
struct csv_record {
    char **fields;
    size_t count;
    size_t number;
};

/* Starts reading text[0..len); text must outlive the reader. */
void csv_reader_init(struct csv_reader *rd, struct arena *a, const char *text, size_t len);

/* Reads the next record into *out and sets *has; *has is false at the end of the text. A
 * malformed record gives USHER_EINVAL with the reason in err (out->number says which record);
 * reading should stop there. */
int csv_record_next(struct csv_record *out, bool *has, struct csv_reader *rd,
                    struct usher_error *err);

/* True for an empty line: one field, empty. */
bool csv_record_blank(const struct csv_record *r);

#endif
