/* IP addresses and CIDR ranges: parsing of single addresses, the list setting's validation,
 * membership at prefix edges, IPv4-mapped IPv6 against IPv4 ranges, and the text form. */
#include "../unit.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "base/error.h"
#include "base/ipnet.h"

static struct ipnet_addr addr_of(const char *text)
{
    struct ipnet_addr a;
    assert_true(ipnet_addr_parse(&a, text, strlen(text)));
    return a;
}

static bool list_has(const struct ipnet_list *list, const char *text)
{
    struct ipnet_addr a = addr_of(text);
    return ipnet_list_contains(list, &a);
}

static struct ipnet_list *list_of(const char *text)
{
    struct ipnet_list *list = NULL;
    struct usher_error err = {0};
    assert_int_equal(ipnet_list_new(&list, text, "trusted_proxies", &err), 0);
    return list;
}

static void test_ipnet_addr_parse__takes_plain_ipv4_and_ipv6_only(void **state)
{
    (void)state;
    static const char *const good[] = {"0.0.0.0",     "127.0.0.1", "255.255.255.255", "::", "::1",
                                       "2001:db8::1", "FD00::AB",  "::ffff:10.1.2.3"};
    static const char *const bad[] = {"",
                                      "1.2.3",
                                      "1.2.3.4.5",
                                      "256.1.1.1",
                                      "01.2.3.4",
                                      " 1.2.3.4",
                                      "1.2.3.4 ",
                                      "[::1]",
                                      "1.2.3.4:80",
                                      "fe80::1%eth0",
                                      "unknown",
                                      "::1/128",
                                      "1:2:3:4:5:6:7:8:9",
                                      "_hidden",
                                      "0x7f.0.0.1",
                                      "1.2.3.4/32"};
    struct ipnet_addr a;
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        assert_true(ipnet_addr_parse(&a, good[i], strlen(good[i])));
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (ipnet_addr_parse(&a, bad[i], strlen(bad[i])))
            fail_msg("\"%s\" parsed as an address", bad[i]);
    }
    /* Only len bytes are read, and a NUL inside them is not an address. */
    assert_true(ipnet_addr_parse(&a, "10.0.0.1,junk", 8));
    assert_false(ipnet_addr_parse(&a, "10.0\0.0.1", 9));
    /* Longer than any address: refused before any copy. */
    char longer[200];
    memset(longer, '1', sizeof(longer) - 1);
    longer[sizeof(longer) - 1] = '\0';
    assert_false(ipnet_addr_parse(&a, longer, strlen(longer)));
}

static void test_ipnet_addr_format__writes_dotted_quads_and_canonical_ipv6(void **state)
{
    (void)state;
    char text[IPNET_ADDR_TEXT_MAX];
    struct ipnet_addr a = addr_of("10.20.30.40");
    ipnet_addr_format(text, &a);
    assert_string_equal(text, "10.20.30.40");
    assert_true(ipnet_addr_is_v4(&a));
    a = addr_of("::ffff:10.20.30.40");
    ipnet_addr_format(text, &a);
    assert_string_equal(text, "10.20.30.40");
    a = addr_of("2001:DB8:0:0::0:1");
    ipnet_addr_format(text, &a);
    assert_string_equal(text, "2001:db8::1");
    assert_false(ipnet_addr_is_v4(&a));
}

static void test_ipnet_addr_from_sockaddr__reads_both_families(void **state)
{
    (void)state;
    struct sockaddr_in a4 = {.sin_family = AF_INET};
    inet_pton(AF_INET, "192.0.2.9", &a4.sin_addr);
    struct sockaddr_in6 a6 = {.sin6_family = AF_INET6};
    inet_pton(AF_INET6, "::ffff:192.0.2.9", &a6.sin6_addr);
    struct ipnet_addr x, y, want = addr_of("192.0.2.9");
    assert_true(ipnet_addr_from_sockaddr(&x, (struct sockaddr *)&a4));
    assert_true(ipnet_addr_from_sockaddr(&y, (struct sockaddr *)&a6));
    assert_memory_equal(x.bytes, want.bytes, 16);
    assert_memory_equal(y.bytes, want.bytes, 16);
    struct sockaddr other = {.sa_family = AF_UNIX};
    assert_false(ipnet_addr_from_sockaddr(&x, &other));
    assert_false(ipnet_addr_from_sockaddr(&x, NULL));
}

static void test_ipnet_addr_is_internal__private_loopback_link_local_and_reserved(void **state)
{
    (void)state;
    static const char *const inside[] = {"0.0.0.0",
                                         "10.1.2.3",
                                         "100.64.0.1",
                                         "127.0.0.1",
                                         "169.254.169.254",
                                         "172.16.0.1",
                                         "172.31.255.255",
                                         "192.168.0.1",
                                         "198.18.0.1",
                                         "224.0.0.1",
                                         "255.255.255.255",
                                         "::",
                                         "::1",
                                         "::ffff:10.0.0.1",
                                         "64:ff9b::a00:1",
                                         "fd00::1",
                                         "fe80::1",
                                         "ff02::1"};
    static const char *const outside[] = {"1.1.1.1",      "172.32.0.1",    "192.169.0.1",
                                          "100.128.0.1",  "8.8.8.8",       "2001:db8::1",
                                          "2606:4700::1", "::ffff:8.8.8.8"};
    for (size_t i = 0; i < sizeof(inside) / sizeof(inside[0]); i++) {
        struct ipnet_addr a = addr_of(inside[i]);
        assert_true(ipnet_addr_is_internal(&a));
    }
    for (size_t i = 0; i < sizeof(outside) / sizeof(outside[0]); i++) {
        struct ipnet_addr a = addr_of(outside[i]);
        assert_false(ipnet_addr_is_internal(&a));
    }
    struct ipnet_addr lo4 = addr_of("127.9.9.9"), lo6 = addr_of("::1"), ten = addr_of("10.0.0.1");
    assert_true(ipnet_addr_is_loopback(&lo4));
    assert_true(ipnet_addr_is_loopback(&lo6));
    assert_false(ipnet_addr_is_loopback(&ten));
}

static void test_ipnet_list__empty_text_is_the_empty_list(void **state)
{
    (void)state;
    assert_null(list_of(""));
    assert_null(list_of("  \t "));
    assert_false(list_has(NULL, "127.0.0.1"));
}

static void test_ipnet_list__matches_addresses_and_ranges_at_their_edges(void **state)
{
    (void)state;
    struct ipnet_list *list = list_of(" 127.0.0.1,10.0.0.0/8 ,\t172.16.0.0/12,fd00::/8,"
                                      "2001:db8:1::/127,192.0.2.128/25");
    assert_non_null(list);
    assert_int_equal(list->count, 6);
    assert_true(list_has(list, "127.0.0.1"));
    assert_false(list_has(list, "127.0.0.2"));
    assert_true(list_has(list, "10.0.0.0"));
    assert_true(list_has(list, "10.255.255.255"));
    assert_false(list_has(list, "11.0.0.0"));
    assert_false(list_has(list, "9.255.255.255"));
    assert_true(list_has(list, "172.31.255.255"));
    assert_false(list_has(list, "172.32.0.0"));
    assert_false(list_has(list, "172.15.255.255"));
    assert_true(list_has(list, "192.0.2.128"));
    assert_true(list_has(list, "192.0.2.255"));
    assert_false(list_has(list, "192.0.2.127"));
    assert_true(list_has(list, "fd12:3456::1"));
    assert_false(list_has(list, "fe00::1"));
    assert_false(list_has(list, "fc00::1"));
    assert_true(list_has(list, "2001:db8:1::"));
    assert_true(list_has(list, "2001:db8:1::1"));
    assert_false(list_has(list, "2001:db8:1::2"));
    ipnet_list_free(list);
}

static void test_ipnet_list__ipv4_mapped_ipv6_matches_ipv4_ranges(void **state)
{
    (void)state;
    struct ipnet_list *list = list_of("127.0.0.1,10.0.0.0/8");
    assert_true(list_has(list, "::ffff:127.0.0.1"));
    assert_true(list_has(list, "::ffff:10.9.8.7"));
    assert_false(list_has(list, "::ffff:11.0.0.1"));
    /* Not mapped: ::1 and the IPv4-compatible ::127.0.0.1 are other addresses. */
    assert_false(list_has(list, "::1"));
    assert_false(list_has(list, "::127.0.0.1"));
    ipnet_list_free(list);
    /* An IPv4 /0 is every IPv4 address and no IPv6 one. */
    list = list_of("0.0.0.0/0");
    assert_true(list_has(list, "203.0.113.5"));
    assert_true(list_has(list, "::ffff:203.0.113.5"));
    assert_false(list_has(list, "2001:db8::5"));
    ipnet_list_free(list);
}

static void test_ipnet_list__refuses_bad_entries_naming_the_setting(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "10.0.0.0/33",   "fd00::/129",   "10.0.0.0/",        "10.0.0.0/-1",     "10.0.0.0/+8",
        "10.0.0.0/08",   "10.0.0.0/8/8", "10.0.0.1/8",       "fd00::1/8",       "localhost",
        "1.2.3.4,",      ",1.2.3.4",     "1.2.3.4,,5.6.7.8", "1.2.3.4 5.6.7.8", "*",
        "10.0.0.0/1000", "[::1]",        "1.2.3.4:80"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct ipnet_list *list = (struct ipnet_list *)1;
        struct usher_error err = {0};
        if (ipnet_list_new(&list, bad[i], "trusted_proxies", &err) != USHER_EINVAL)
            fail_msg("\"%s\" was accepted", bad[i]);
        assert_null(list);
        assert_string_equal(err.field, "trusted_proxies");
        assert_non_null(strstr(err.message, "trusted_proxies"));
    }
    struct ipnet_list *list = NULL;
    struct usher_error err = {0};
    assert_int_equal(ipnet_list_new(&list, "10.0.0.1/8", "trusted_proxies", &err), USHER_EINVAL);
    assert_string_equal(err.message, "trusted_proxies entry \"10.0.0.1/8\" has bits set after its "
                                     "prefix length (write the range's first address)");
}

static void test_ipnet_list__caps_the_number_of_entries(void **state)
{
    (void)state;
    char text[IPNET_LIST_MAX * 16 + 16];
    size_t len = 0;
    for (int i = 0; i < IPNET_LIST_MAX; i++)
        len += (size_t)snprintf(text + len, sizeof(text) - len, "%s10.0.%d.%d", i ? "," : "",
                                i / 256, i % 256);
    struct ipnet_list *list = list_of(text);
    assert_int_equal(list->count, IPNET_LIST_MAX);
    assert_true(list_has(list, "10.0.0.255"));
    ipnet_list_free(list);
    snprintf(text + len, sizeof(text) - len, ",10.1.0.0");
    struct usher_error err = {0};
    assert_int_equal(ipnet_list_new(&list, text, "trusted_proxies", &err), USHER_EINVAL);
    assert_null(list);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ipnet_addr_parse__takes_plain_ipv4_and_ipv6_only),
        cmocka_unit_test(test_ipnet_addr_format__writes_dotted_quads_and_canonical_ipv6),
        cmocka_unit_test(test_ipnet_addr_from_sockaddr__reads_both_families),
        cmocka_unit_test(test_ipnet_addr_is_internal__private_loopback_link_local_and_reserved),
        cmocka_unit_test(test_ipnet_list__empty_text_is_the_empty_list),
        cmocka_unit_test(test_ipnet_list__matches_addresses_and_ranges_at_their_edges),
        cmocka_unit_test(test_ipnet_list__ipv4_mapped_ipv6_matches_ipv4_ranges),
        cmocka_unit_test(test_ipnet_list__refuses_bad_entries_naming_the_setting),
        cmocka_unit_test(test_ipnet_list__caps_the_number_of_entries),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
