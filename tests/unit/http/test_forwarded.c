/* The client behind a trusted proxy (http_forwarded_client): the walk over X-Forwarded-For
 * from the right past trusted entries, several header lines as one list, what ends the walk
 * without a client, and the caps on entries and bytes. */
#include "../unit.h"

#include "base/error.h"
#include "base/ipnet.h"
#include "http/http.h"

static struct ipnet_list *trusted;

static int setup(void **state)
{
    (void)state;
    struct usher_error err = {0};
    return ipnet_list_new(&trusted, "127.0.0.1,10.0.0.0/8,fd00::/8", "trusted_proxies", &err);
}

static int teardown(void **state)
{
    (void)state;
    ipnet_list_free(trusted);
    return 0;
}

/* The client named by lines, as text, or "" when there is none. */
static const char *client_of(const char *const *lines, size_t count)
{
    static char text[IPNET_ADDR_TEXT_MAX];
    struct ipnet_addr a;
    if (!http_forwarded_client(&a, trusted, lines, count))
        return "";
    ipnet_addr_format(text, &a);
    return text;
}

static const char *client_of_one(const char *line)
{
    return client_of(&line, 1);
}

static void test_forwarded__takes_the_rightmost_untrusted_entry(void **state)
{
    (void)state;
    assert_string_equal(client_of_one("198.51.100.7"), "198.51.100.7");
    /* The client wrote "evil"; the proxy appended the address it saw. */
    assert_string_equal(client_of_one("203.0.113.66, 198.51.100.7"), "198.51.100.7");
    /* Trusted hops on the right are skipped, whatever their spacing. */
    assert_string_equal(client_of_one("203.0.113.66,198.51.100.7 ,10.1.2.3,\t127.0.0.1"),
                        "198.51.100.7");
    assert_string_equal(client_of_one("2001:DB8::7, fd00::1"), "2001:db8::7");
    assert_string_equal(client_of_one("::ffff:198.51.100.7"), "198.51.100.7");
    /* An IPv4-mapped hop is a trusted IPv4 proxy. */
    assert_string_equal(client_of_one("198.51.100.7, ::ffff:10.0.0.1"), "198.51.100.7");
}

static void test_forwarded__joins_several_lines_in_order(void **state)
{
    (void)state;
    const char *const lines[] = {"203.0.113.66", "198.51.100.7, 10.0.0.2", "127.0.0.1"};
    assert_string_equal(client_of(lines, 3), "198.51.100.7");
    const char *const later[] = {"198.51.100.7", "203.0.113.9"};
    assert_string_equal(client_of(later, 2), "203.0.113.9");
    const char *const blank_last[] = {"198.51.100.7", "", " , "};
    assert_string_equal(client_of(blank_last, 3), "198.51.100.7");
}

static void test_forwarded__finds_no_client_in_empty_or_trusted_only_lists(void **state)
{
    (void)state;
    assert_string_equal(client_of(NULL, 0), "");
    assert_string_equal(client_of_one(""), "");
    assert_string_equal(client_of_one(" ,, \t,"), "");
    assert_string_equal(client_of_one("127.0.0.1, 10.9.9.9, fd00::5"), "");
}

static void test_forwarded__stops_at_an_untrusted_entry_that_is_not_an_address(void **state)
{
    (void)state;
    /* What lies left of a bad entry was written by the client: never believed. */
    assert_string_equal(client_of_one("198.51.100.7, unknown"), "");
    assert_string_equal(client_of_one("198.51.100.7, 1.2.3.4:5678, 10.0.0.1"), "");
    assert_string_equal(client_of_one("198.51.100.7, [2001:db8::1]"), "");
    assert_string_equal(client_of_one("198.51.100.7, 1.2.3.4 5.6.7.8"), "");
    /* A bad entry left of the client does not matter. */
    assert_string_equal(client_of_one("garbage, 198.51.100.7"), "198.51.100.7");
}

static void test_forwarded__examines_at_most_32_entries(void **state)
{
    (void)state;
    char line[1024];
    size_t len = (size_t)snprintf(line, sizeof(line), "198.51.100.7");
    for (int i = 0; i < HTTP_FORWARDED_ENTRIES_MAX - 1; i++)
        len += (size_t)snprintf(line + len, sizeof(line) - len, ",10.0.0.%d", i);
    assert_string_equal(client_of_one(line), "198.51.100.7"); /* the 32nd entry */
    snprintf(line + len, sizeof(line) - len, ",10.0.1.1");
    assert_string_equal(client_of_one(line), ""); /* now the 33rd */
}

static void test_forwarded__ignores_a_header_past_the_byte_cap(void **state)
{
    (void)state;
    /* Blank padding of LEN_MAX + 1 bytes; the client's line follows it. */
    static char padding[HTTP_FORWARDED_LEN_MAX + 2];
    memset(padding, ' ', sizeof(padding) - 1);
    size_t client_len = strlen("198.51.100.7");
    const char *fits[] = {padding + 1 + client_len, "198.51.100.7"};
    const char *over[] = {padding + client_len, "198.51.100.7"};
    assert_int_equal(strlen(fits[0]) + strlen(fits[1]), HTTP_FORWARDED_LEN_MAX);
    assert_string_equal(client_of(fits, 2), "198.51.100.7");
    assert_int_equal(strlen(over[0]) + strlen(over[1]), HTTP_FORWARDED_LEN_MAX + 1);
    assert_string_equal(client_of(over, 2), "");
}

static void test_forwarded__trusts_nobody_with_the_empty_list(void **state)
{
    (void)state;
    struct ipnet_addr a;
    const char *line = "203.0.113.66, 127.0.0.1";
    assert_true(http_forwarded_client(&a, NULL, &line, 1));
    char text[IPNET_ADDR_TEXT_MAX];
    ipnet_addr_format(text, &a);
    assert_string_equal(text, "127.0.0.1");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_forwarded__takes_the_rightmost_untrusted_entry),
        cmocka_unit_test(test_forwarded__joins_several_lines_in_order),
        cmocka_unit_test(test_forwarded__finds_no_client_in_empty_or_trusted_only_lists),
        cmocka_unit_test(test_forwarded__stops_at_an_untrusted_entry_that_is_not_an_address),
        cmocka_unit_test(test_forwarded__examines_at_most_32_entries),
        cmocka_unit_test(test_forwarded__ignores_a_header_past_the_byte_cap),
        cmocka_unit_test(test_forwarded__trusts_nobody_with_the_empty_list),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
