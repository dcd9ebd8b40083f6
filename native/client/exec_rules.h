/* The shim's kernel-or-VR rules (NEXTHOP_EXEC_RULES, written by `nexthop exec --kernel/--vr`):
 * "kind:prefix" separated by ',' (or white space), kind `kernel` or `vr` before the first ':',
 * prefix IPv4 (`10.2.0.0/24`, a bare address is /32) or IPv6 (`2001:db8::/32`, bare /128).
 *
 * IPv4 addresses, and IPv6 addresses mapped from IPv4 (::ffff:a.b.c.d), are looked up among the
 * IPv4 rules; an IPv6 rule inside ::ffff:0:0/96 (length 96 or more) is kept as the IPv4 rule it
 * names. Other IPv6 addresses are looked up among the IPv6 rules. Built in: 127.0.0.0/8 and ::1/128
 * stay on the kernel, 0.0.0.0/0 and ::/0 go to the VR. Longest prefix wins; at equal length a
 * user's rule beats a built-in one (between two user rules, the first). Pure C, no allocation. */
#ifndef NEXTHOP_EXEC_RULES_H
#define NEXTHOP_EXEC_RULES_H

#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>

#define NH_MAX_RULES 64

struct nh_rule {
  uint8_t net[16]; /* network order, host bits zero; IPv4 rules use the first 4 bytes */
  uint8_t len;     /* 0..32 (IPv4) or 0..128 (IPv6) */
  uint8_t v6;
  uint8_t vr;      /* 1: the VR, 0: the kernel */
  uint8_t builtin;
};

struct nh_rules {
  struct nh_rule r[NH_MAX_RULES];
  int n;
};

/* Fills *rs with the built-in rules, then those of `s` (NULL: none). A malformed rule is skipped with
 * a line on `warn` (NULL: silently). Returns the number of rules skipped. */
__attribute__((visibility("hidden"))) int nh_rules_parse(struct nh_rules *rs, const char *s, FILE *warn);

/* For a connect/bind/sendto address: 1 the VR, 0 the kernel, -1 when it is no IPv4 or IPv6 address
 * (a family other than AF_INET/AF_INET6, or shorter than its sockaddr: sockaddr_in, or the 24 bytes
 * of RFC 2133's sockaddr_in6). */
__attribute__((visibility("hidden"))) int nh_rules_wants_vr(const struct nh_rules *rs, const struct sockaddr *sa,
                                                            socklen_t len);

#endif
