/* IP addresses and CIDR ranges in binary form: the parsing of an address list setting
 * ("127.0.0.1,10.0.0.0/8,fd00::/8") into ranges once, and the membership test used on every
 * request. IPv4 is held as IPv4-mapped IPv6 (::ffff:a.b.c.d), so an IPv4-mapped IPv6 address
 * matches the IPv4 ranges. */
#ifndef USHER_BASE_IPNET_H
#define USHER_BASE_IPNET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct usher_error;
struct sockaddr;

/* Longest text ipnet_addr_format writes, NUL included (INET6_ADDRSTRLEN). */
#define IPNET_ADDR_TEXT_MAX 46

/* Most ranges one list may hold. */
#define IPNET_LIST_MAX 256

struct ipnet_addr {
    uint8_t bytes[16]; /* IPv6 order; IPv4 as ::ffff:a.b.c.d */
};

struct ipnet_range {
    struct ipnet_addr base; /* host bits are zero */
    unsigned prefix_len;    /* 0 … 128, counted on the 128-bit form */
};

struct ipnet_list {
    size_t count;
    struct ipnet_range ranges[];
};

/* Parses one IPv4 or IPv6 address of exactly len bytes (no brackets, port, zone or spaces).
 * Returns true and fills *out, or false when text is not an address. */
bool ipnet_addr_parse(struct ipnet_addr *out, const char *text, size_t len);

/* Fills *out from a socket address of family AF_INET or AF_INET6; returns false for any other
 * family or a NULL sa. */
bool ipnet_addr_from_sockaddr(struct ipnet_addr *out, const struct sockaddr *sa);

/* True when addr is an IPv4 address (or IPv4-mapped IPv6). */
bool ipnet_addr_is_v4(const struct ipnet_addr *addr);

/* Writes addr as text into out (IPNET_ADDR_TEXT_MAX bytes): dotted quad for IPv4 and
 * IPv4-mapped IPv6, the canonical RFC 5952 form otherwise. */
void ipnet_addr_format(char out[IPNET_ADDR_TEXT_MAX], const struct ipnet_addr *addr);

/* Parses a comma-separated list of addresses and CIDR ranges (spaces around entries are
 * allowed). An empty or all-blank text gives *out = NULL, the empty list. The list is heap
 * memory the caller releases with ipnet_list_free. Errors: USHER_EINVAL with err naming field
 * (the setting) and the bad entry: an empty entry, a value that is not an address, a prefix
 * length out of range, host bits set below the prefix, more than IPNET_LIST_MAX entries. */
int ipnet_list_new(struct ipnet_list **out, const char *text, const char *field,
                   struct usher_error *err);

/* Releases a list; accepts NULL. */
void ipnet_list_free(struct ipnet_list *list);

/* True when addr lies in one of the list's ranges; false for the empty (NULL) list. */
bool ipnet_list_contains(const struct ipnet_list *list, const struct ipnet_addr *addr);

/* True when addr is one an outbound fetch must not reach: loopback, private, shared, link-local,
 * multicast, reserved, unique-local or NAT64 (the ranges are listed in ipnet.c). */
bool ipnet_addr_is_internal(const struct ipnet_addr *addr);

/* True for 127.0.0.0/8 (IPv4-mapped too) and ::1. */
bool ipnet_addr_is_loopback(const struct ipnet_addr *addr);

#endif
