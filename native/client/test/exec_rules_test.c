/* NEXTHOP_EXEC_RULES as the shim reads it (exec_rules.c): IPv4 and IPv6 prefixes, built-ins,
 * longest prefix, user over built-in, IPv4-mapped addresses, malformed rules. Built with ASan/UBSan
 * by native/Makefile.check. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../exec_rules.h"

static int failures;

#define CHECK(cond)                                                          \
  do {                                                                       \
    if (!(cond)) {                                                           \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
      failures++;                                                            \
    }                                                                        \
  } while (0)

/* What the rules say for a textual address ("10.1.2.3" or "2001:db8::1"), given as the program
 * would (sockaddr_in or sockaddr_in6, full size). */
static int want(const struct nh_rules *rs, const char *text) {
  if (strchr(text, ':') != NULL) {
    struct sockaddr_in6 s;
    memset(&s, 0, sizeof s);
    s.sin6_family = AF_INET6;
    if (inet_pton(AF_INET6, text, &s.sin6_addr) != 1) abort();
    return nh_rules_wants_vr(rs, (struct sockaddr *)&s, sizeof s);
  }
  struct sockaddr_in s;
  memset(&s, 0, sizeof s);
  s.sin_family = AF_INET;
  if (inet_pton(AF_INET, text, &s.sin_addr) != 1) abort();
  return nh_rules_wants_vr(rs, (struct sockaddr *)&s, sizeof s);
}

static void test_builtin(void) {
  struct nh_rules rs;
  CHECK(nh_rules_parse(&rs, NULL, NULL) == 0);
  CHECK(want(&rs, "10.2.0.2") == 1);
  CHECK(want(&rs, "0.0.0.0") == 1);
  CHECK(want(&rs, "127.0.0.1") == 0);
  CHECK(want(&rs, "127.255.0.9") == 0);
  CHECK(want(&rs, "2001:db8::2") == 1);
  CHECK(want(&rs, "::") == 1); /* listening on [::]: the VR */
  CHECK(want(&rs, "fe80::1") == 1);
  CHECK(want(&rs, "::1") == 0);
  CHECK(want(&rs, "::2") == 1);
  CHECK(want(&rs, "::ffff:127.0.0.1") == 0); /* ::ffff:127.0.0.0/104 by the IPv4 rule */
  CHECK(want(&rs, "::ffff:10.2.0.2") == 1);
  CHECK(nh_rules_parse(&rs, "", NULL) == 0 && want(&rs, "10.2.0.2") == 1);
}

static void test_user(void) {
  struct nh_rules rs;
  CHECK(nh_rules_parse(&rs, "kernel:10.3.0.0/16,vr:10.3.4.0/24,kernel:2001:db8::/32,vr:2001:db8:1::/48, "
                            "vr:127.0.0.2,kernel:fd00::/8\tkernel:0.0.0.0/0",
                       stderr) == 0);
  CHECK(want(&rs, "10.3.9.9") == 0);
  CHECK(want(&rs, "10.3.4.1") == 1);  /* longer wins */
  CHECK(want(&rs, "10.4.0.1") == 0);  /* kernel:0.0.0.0/0 beats the built-in vr:0/0 */
  CHECK(want(&rs, "127.0.0.2") == 1); /* a /32 beats the built-in /8 */
  CHECK(want(&rs, "127.0.0.1") == 0);
  CHECK(want(&rs, "2001:db8:2::1") == 0);
  CHECK(want(&rs, "2001:db8:1::1") == 1);
  CHECK(want(&rs, "2001:db9::1") == 1); /* IPv6 is not touched by the IPv4 default */
  CHECK(want(&rs, "fd12::1") == 0);
  CHECK(want(&rs, "::ffff:10.3.9.9") == 0); /* mapped: the IPv4 rules */
  CHECK(want(&rs, "::ffff:10.3.4.1") == 1);

  /* An IPv6 rule inside ::ffff:0:0/96 is the IPv4 rule it names; bare addresses are host routes. */
  CHECK(nh_rules_parse(&rs, "kernel:::ffff:10.9.0.0/112,vr:::1,kernel:2001:db8::7", NULL) == 0);
  CHECK(want(&rs, "10.9.1.1") == 0 && want(&rs, "10.8.1.1") == 1);
  CHECK(want(&rs, "::ffff:10.9.200.1") == 0);
  CHECK(want(&rs, "::1") == 1); /* user over built-in at /128 */
  CHECK(want(&rs, "2001:db8::7") == 0 && want(&rs, "2001:db8::8") == 1);

  /* Odd lengths and host bits: masked. */
  CHECK(nh_rules_parse(&rs, "kernel:2001:db8:ff::1/41,kernel:10.1.2.3/15", NULL) == 0);
  CHECK(want(&rs, "2001:db8:80::1") == 0 && want(&rs, "2001:db8:0::1") == 1);
  CHECK(want(&rs, "10.1.0.1") == 0 && want(&rs, "10.0.0.1") == 0 && want(&rs, "10.2.0.1") == 1);

  /* Equal length: the first user rule, as before. */
  CHECK(nh_rules_parse(&rs, "kernel:2001:db8::/32,vr:2001:db8::/32", NULL) == 0);
  CHECK(want(&rs, "2001:db8::1") == 0);
}

static void test_malformed(void) {
  struct nh_rules rs;
  const char *bad[] = {
      "kernel",        "kernel:",          "vr:10.2.0.0/33",   "vr:10.2.0/24",       "vr:256.0.0.0/8",
      "vr:10.2.0.0/",  "vr:10.2.0.0/-1",   "vr:10.2.0.0/1x",   "vr:2001:db8::/129",  "vr:2001:db8::/",
      "vr:2001:db8:::/48", "vr:fe80::1%eth0", "vr:1.2.3.4.5",  "route:10.0.0.0/8",   "VR:10.0.0.0/8",
      "vr:10.0.0.0/0008", "vr:g::/16",     "kernelx:10.0.0.0/8", "vr:/8",            "vr:0001.2.3.4",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    int skipped = nh_rules_parse(&rs, bad[i], NULL);
    if (skipped != 1) fprintf(stderr, "rule '%s' was not refused\n", bad[i]);
    CHECK(skipped == 1);
    CHECK(rs.n == 4); /* the built-ins only */
  }
  /* A bad rule among good ones costs only itself. */
  CHECK(nh_rules_parse(&rs, "kernel:10.3.0.0/16,vr:nonsense,kernel:2001:db8::/32", NULL) == 1);
  CHECK(want(&rs, "10.3.0.1") == 0 && want(&rs, "2001:db8::1") == 0);

  /* More rules than fit: the rest are skipped, each counted. */
  char many[4096] = "";
  for (int i = 0; i < NH_MAX_RULES + 5; i++) {
    char one[32];
    snprintf(one, sizeof one, "kernel:10.%d.0.0/16,", i);
    strcat(many, one);
  }
  CHECK(nh_rules_parse(&rs, many, NULL) == 4 + 5);
  CHECK(rs.n == NH_MAX_RULES);

  /* A value longer than the buffer: read up to the limit, and said so. */
  size_t big = 10000;
  char *huge = malloc(big + 1);
  for (size_t i = 0; i < big; i++) huge[i] = ',';
  huge[big] = '\0';
  memcpy(huge, "kernel:10.3.0.0/16", 18);
  CHECK(nh_rules_parse(&rs, huge, NULL) == 1);
  CHECK(want(&rs, "10.3.0.1") == 0);
  free(huge);
}

static void test_addresses(void) {
  struct nh_rules rs;
  nh_rules_parse(&rs, NULL, NULL);
  /* What is no IPv4 or IPv6 address of full size leaves the choice open (-1). */
  struct sockaddr_in6 s6;
  memset(&s6, 0, sizeof s6);
  s6.sin6_family = AF_INET6;
  CHECK(nh_rules_wants_vr(&rs, (struct sockaddr *)&s6, 24) == 1); /* RFC 2133's size is enough */
  CHECK(nh_rules_wants_vr(&rs, (struct sockaddr *)&s6, 23) == -1);
  CHECK(nh_rules_wants_vr(&rs, (struct sockaddr *)&s6, 1) == -1);
  CHECK(nh_rules_wants_vr(&rs, NULL, 28) == -1);
  struct sockaddr_in s4;
  memset(&s4, 0, sizeof s4);
  s4.sin_family = AF_INET;
  CHECK(nh_rules_wants_vr(&rs, (struct sockaddr *)&s4, sizeof s4) == 1);
  CHECK(nh_rules_wants_vr(&rs, (struct sockaddr *)&s4, sizeof s4 - 1) == -1);
  s4.sin_family = AF_UNIX;
  CHECK(nh_rules_wants_vr(&rs, (struct sockaddr *)&s4, sizeof s4) == -1);
}

int main(void) {
  test_builtin();
  test_user();
  test_malformed();
  test_addresses();
  if (failures != 0) {
    fprintf(stderr, "exec_rules_test: %d failures\n", failures);
    return 1;
  }
  printf("exec_rules_test: all passed\n");
  return 0;
}
