/* Fuzzes the paging inputs of every list: limit and cursor (app_page_parse,
 * store_cursor_decode), and the users overview's sort and cursor (store_directory_order_parse,
 * store_directory_cursor_decode). Input: limit NUL cursor NUL sort NUL directory-cursor.
 * Properties: a decoded cursor encodes back to a cursor that decodes to the same position, an
 * accepted limit is within 1..STORE_PAGE_LIMIT_MAX, and every refusal names its parameter. */
#include <stdlib.h>
#include <string.h>

#include "app/tenancy.h"
#include "fuzz.h"
#include "store/store_directory.h"
#include "store/store_tenancy.h"

static void page_check(struct arena *a, const char *limit, const char *cursor)
{
    struct app_page page;
    struct usher_error err = {0};
    if (app_page_parse(&page, a, *limit ? limit : NULL, cursor, &err) != 0) {
        FUZZ_CHECK(err.code == USHER_EINVAL);
        FUZZ_CHECK(strcmp(err.field, "limit") == 0 || strcmp(err.field, "cursor") == 0);
        return;
    }
    FUZZ_CHECK(page.limit >= 1 && page.limit <= STORE_PAGE_LIMIT_MAX);
    if (!page.after.is_set)
        return;
    FUZZ_CHECK(page.after.id != NULL);
    char *again = store_cursor_encode(a, page.after.created_at, page.after.id);
    struct store_cursor back;
    FUZZ_CHECK(store_cursor_decode(&back, a, again, &err) == 0);
    FUZZ_CHECK(back.is_set && back.created_at == page.after.created_at);
    FUZZ_CHECK(strcmp(back.id, page.after.id) == 0);
}

static void directory_check(struct arena *a, const char *sort, const char *cursor)
{
    struct store_directory_order order;
    struct usher_error err = {0};
    if (store_directory_order_parse(&order, sort, &err) != 0) {
        FUZZ_CHECK(err.code == USHER_EINVAL && strcmp(err.field, "sort") == 0);
        return;
    }
    struct store_directory_key key;
    if (store_directory_cursor_decode(&key, a, &order, cursor, &err) != 0) {
        FUZZ_CHECK(err.code == USHER_EINVAL && strcmp(err.field, "cursor") == 0);
        return;
    }
    if (!key.is_set)
        return;
    FUZZ_CHECK(key.id != NULL);
    char *again = store_directory_cursor_encode(a, &order, &key);
    FUZZ_CHECK(again && strlen(again) <= STORE_DIRECTORY_CURSOR_MAX);
    struct store_directory_key back;
    FUZZ_CHECK(store_directory_cursor_decode(&back, a, &order, again, &err) == 0);
    FUZZ_CHECK(back.is_set && store_directory_key_compare(&back, &key, &order) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *f[4];
    fuzz_fields_split(f, 4, data, size);
    struct arena a;
    arena_init(&a);
    page_check(&a, f[0], f[1]);
    directory_check(&a, f[2], f[3]);
    /* The same text as either kind of cursor. */
    page_check(&a, "", f[3]);
    directory_check(&a, "", f[1]);
    arena_dispose(&a);
    fuzz_fields_free(f, 4);
    return 0;
}
