/* RFC 4180 records read into an arena, one at a time (see base/csv.h). */
#include "base/csv.h"

#include <string.h>

void csv_reader_init(struct csv_reader *rd, struct arena *a, const char *text, size_t len)
{
    rd->a = a;
    rd->p = text;
    rd->end = text + len;
    rd->records = 0;
}

static void fields_push(struct csv_record *r, size_t *cap, struct arena *a, char *field)
{
    if (r->count == *cap) {
        size_t next = *cap ? *cap * 2 : 8;
        char **grown = arena_alloc(a, next * sizeof(*grown));
        if (r->count)
            memcpy(grown, r->fields, r->count * sizeof(*grown));
        r->fields = grown;
        *cap = next;
    }
    r->fields[r->count++] = field;
}

static bool at_separator(const struct csv_reader *rd)
{
    return rd->p >= rd->end || *rd->p == ',' || *rd->p == '\r' || *rd->p == '\n';
}

/* A field in quotes, rd->p on its opening quote; leaves rd->p after the closing one. */
static int quoted_read(char **out, struct csv_reader *rd, struct usher_error *err)
{
    const char *start = ++rd->p;
    size_t quotes = 0;
    for (;;) {
        const char *q = memchr(rd->p, '"', (size_t)(rd->end - rd->p));
        if (!q)
            return usher_error_set(err, USHER_EINVAL, NULL, NULL,
                                   "a quoted field is not closed: a \" is missing");
        rd->p = q + 1;
        if (rd->p < rd->end && *rd->p == '"') {
            rd->p++;
            quotes++;
            continue;
        }
        break;
    }
    if (!at_separator(rd))
        return usher_error_set(err, USHER_EINVAL, NULL, NULL,
                               "a quoted field must end at a comma or the end of the line");
    size_t raw = (size_t)(rd->p - 1 - start);
    char *buf = arena_alloc(rd->a, raw - quotes + 1);
    size_t n = 0;
    for (const char *s = start; s < rd->p - 1; s++) {
        buf[n++] = *s;
        if (*s == '"')
            s++;
    }
    buf[n] = '\0';
    *out = buf;
    return 0;
}

static int plain_read(char **out, struct csv_reader *rd, struct usher_error *err)
{
    const char *start = rd->p;
    while (!at_separator(rd)) {
        if (*rd->p == '"')
            return usher_error_set(err, USHER_EINVAL, NULL, NULL,
                                   "a field with a \" must be quoted whole, with the quote "
                                   "doubled");
        rd->p++;
    }
    *out = arena_strndup(rd->a, start, (size_t)(rd->p - start));
    return 0;
}

int csv_record_next(struct csv_record *out, bool *has, struct csv_reader *rd,
                    struct usher_error *err)
{
    memset(out, 0, sizeof(*out));
    *has = false;
    if (rd->p >= rd->end)
        return 0;
    *has = true;
    out->number = ++rd->records;
    size_t cap = 0;
    for (;;) {
        char *field = NULL;
        int rc = rd->p < rd->end && *rd->p == '"' ? quoted_read(&field, rd, err)
                                                  : plain_read(&field, rd, err);
        if (rc)
            return rc;
        fields_push(out, &cap, rd->a, field);
        if (rd->p >= rd->end)
            return 0;
        char ch = *rd->p++;
        if (ch == ',')
            continue;
        if (ch == '\r' && rd->p < rd->end && *rd->p == '\n')
            rd->p++;
        return 0;
    }
}

bool csv_record_blank(const struct csv_record *r)
{
    return r->count == 1 && r->fields[0][0] == '\0';
}
