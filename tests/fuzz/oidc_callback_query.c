/* Fuzzes the parser of the IdP's redirect back. Input: the query string. Properties: an
 * accepted query names each of code, state, error and error_description at most once and holds
 * a non-empty code or error; decoded values hold no control character and are no longer than
 * their raw text; a refusal for a duplicate means the name really occurs twice. */
#include <string.h>

#include "base/arena.h"
#include "base/error.h"
#include "fuzz.h"
#include "oidc/oidc.h"

/* How many '&'-separated parameters of query are named name. */
static size_t name_count(const char *query, const char *name)
{
    size_t n = 0, name_len = strlen(name);
    const char *q = query;
    while (*q) {
        size_t len = strcspn(q, "&");
        const char *eq = memchr(q, '=', len);
        size_t nl = eq ? (size_t)(eq - q) : len;
        if (nl == name_len && memcmp(q, name, nl) == 0)
            n++;
        q += len;
        if (*q == '&')
            q++;
    }
    return n;
}

static void value_check(const char *v, size_t raw_len)
{
    if (!v)
        return;
    FUZZ_CHECK(strlen(v) <= raw_len);
    for (const unsigned char *p = (const unsigned char *)v; *p; p++)
        FUZZ_CHECK(*p >= 0x20 && *p != 0x7f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const names[] = {"code", "state", "error", "error_description"};
    struct arena a;
    arena_init(&a);
    char *query = fuzz_strndup(data, size);
    size_t raw_len = strlen(query);
    struct oidc_callback cb;
    struct usher_error err = {0};
    int rc = oidc_callback_parse(&cb, &a, query, &err);
    if (rc == 0) {
        FUZZ_CHECK(raw_len <= OIDC_QUERY_MAX);
        for (size_t i = 0; i < 4; i++)
            FUZZ_CHECK(name_count(query, names[i]) <= 1);
        FUZZ_CHECK((cb.code && *cb.code) || (cb.error && *cb.error));
        value_check(cb.code, raw_len);
        value_check(cb.state, raw_len);
        value_check(cb.error, raw_len);
        value_check(cb.error_description, raw_len);
    } else {
        FUZZ_CHECK(rc == USHER_EINVAL && !cb.code && !cb.state && !cb.error);
        if (strcmp(err.problem, "oidc_callback_duplicate") == 0)
            FUZZ_CHECK(name_count(query, err.field) >= 2);
    }
    free(query);
    arena_dispose(&a);
    return 0;
}
