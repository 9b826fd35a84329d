/* The client behind a trusted proxy: the walk over X-Forwarded-For from the right, skipping
 * the trusted proxies, with caps on the entries and bytes it looks at. */
#include <string.h>

#include "base/ipnet.h"
#include "http/http.h"

static bool is_ows(char c)
{
    return c == ' ' || c == '\t';
}

bool http_forwarded_client(struct ipnet_addr *out, const struct ipnet_list *trusted,
                           const char *const *lines, size_t count)
{
    size_t total = 0;
    for (size_t i = 0; i < count; i++) {
        total += strnlen(lines[i], HTTP_FORWARDED_LEN_MAX + 1);
        if (total > HTTP_FORWARDED_LEN_MAX)
            return false;
    }
    size_t examined = 0;
    for (size_t i = count; i-- > 0;) {
        const char *line = lines[i];
        size_t end = strlen(line);
        for (;;) {
            size_t start = end;
            while (start > 0 && line[start - 1] != ',')
                start--;
            size_t a = start, b = end;
            while (a < b && is_ows(line[a]))
                a++;
            while (b > a && is_ows(line[b - 1]))
                b--;
            /* Blank entries (",," or an empty line) are allowed by the list syntax and name
             * nobody. */
            if (b > a) {
                if (++examined > HTTP_FORWARDED_ENTRIES_MAX)
                    return false;
                struct ipnet_addr addr;
                if (!ipnet_addr_parse(&addr, line + a, b - a))
                    return false;
                if (!ipnet_list_contains(trusted, &addr)) {
                    *out = addr;
                    return true;
                }
            }
            if (start == 0)
                break;
            end = start - 1;
        }
    }
    return false;
}
