/* NEXTHOP_EXEC_RULES: see exec_rules.h. */
#include "exec_rules.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

static const uint8_t mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

static void mask_bytes(uint8_t *a, int bytes, int len) {
  for (int i = 0; i < bytes; i++) {
    int keep = len - 8 * i;
    if (keep >= 8) continue;
    a[i] = keep <= 0 ? 0 : (uint8_t)(a[i] & (0xff << (8 - keep)));
  }
}

static void add(struct nh_rules *rs, const uint8_t *net, int len, int v6, int vr, int builtin) {
  if (rs->n >= NH_MAX_RULES) return;
  struct nh_rule *r = &rs->r[rs->n++];
  memset(r, 0, sizeof *r);
  memcpy(r->net, net, v6 ? 16 : 4);
  mask_bytes(r->net, v6 ? 16 : 4, len);
  r->len = (uint8_t)len;
  r->v6 = (uint8_t)v6;
  r->vr = (uint8_t)vr;
  r->builtin = (uint8_t)builtin;
}

/* "/len" (digits only, at most max) or nothing (max). -1 when malformed. */
static int parse_len(const char *slash, int max) {
  if (slash == NULL) return max;
  const char *p = slash + 1;
  if (*p == '\0' || strlen(p) > 3) return -1;
  int v = 0;
  for (; *p != '\0'; p++) {
    if (*p < '0' || *p > '9') return -1;
    v = v * 10 + (*p - '0');
  }
  return v <= max ? v : -1;
}

/* One prefix, IPv4 or IPv6 (by the presence of ':'). 0, or -1 when malformed. */
static int parse_prefix(const char *text, uint8_t net[16], int *len, int *v6) {
  char addr[64];
  const char *slash = strchr(text, '/');
  size_t alen = slash != NULL ? (size_t)(slash - text) : strlen(text);
  if (alen == 0 || alen >= sizeof addr) return -1;
  memcpy(addr, text, alen);
  addr[alen] = '\0';
  memset(net, 0, 16);
  if (strchr(addr, ':') != NULL) {
    struct in6_addr a;
    if (inet_pton(AF_INET6, addr, &a) != 1) return -1;
    *len = parse_len(slash, 128);
    if (*len < 0) return -1;
    memcpy(net, &a, 16);
    if (*len >= 96 && memcmp(net, mapped_prefix, 12) == 0) { /* an IPv4 rule in IPv6 clothes */
      memmove(net, net + 12, 4);
      memset(net + 4, 0, 12);
      *len -= 96;
      *v6 = 0;
    } else {
      *v6 = 1;
    }
    return 0;
  }
  /* IPv4 as `nexthop exec` writes it and as before: four decimal parts 0..255 (inet_pton would
   * refuse the leading zeros the CLI's users may type, the CLI normalises them away). */
  unsigned part[4];
  int n = 0;
  const char *p = addr;
  while (n < 4) {
    if (*p < '0' || *p > '9') return -1;
    unsigned v = 0;
    int digits = 0;
    while (*p >= '0' && *p <= '9') {
      if (++digits > 3) return -1;
      v = v * 10 + (unsigned)(*p++ - '0');
    }
    if (v > 255) return -1;
    part[n++] = v;
    if (n < 4 && *p++ != '.') return -1;
  }
  if (*p != '\0') return -1;
  *len = parse_len(slash, 32);
  if (*len < 0) return -1;
  for (int i = 0; i < 4; i++) net[i] = (uint8_t)part[i];
  *v6 = 0;
  return 0;
}

int nh_rules_parse(struct nh_rules *rs, const char *s, FILE *warn) {
  static const uint8_t zero[16] = {0};
  static const uint8_t loop4[4] = {127, 0, 0, 0};
  static const uint8_t loop6[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  rs->n = 0;
  add(rs, loop4, 8, 0, 0, 1);  /* loopback stays on the kernel (::ffff:127.0.0.0/104 with it) */
  add(rs, zero, 0, 0, 1, 1);   /* the rest: the VR */
  add(rs, loop6, 128, 1, 0, 1);
  add(rs, zero, 0, 1, 1, 1);
  if (s == NULL) return 0;
  char buf[4096];
  int skipped = 0;
  size_t slen = strlen(s);
  if (slen >= sizeof buf) {
    if (warn != NULL) fprintf(warn, "nexthop: NEXTHOP_EXEC_RULES is too long: only its first %zu bytes are read\n",
                              sizeof buf - 1);
    skipped++;
  }
  snprintf(buf, sizeof buf, "%s", s);
  char *save = NULL;
  for (char *tok = strtok_r(buf, ", \t\n", &save); tok != NULL; tok = strtok_r(NULL, ", \t\n", &save)) {
    char *colon = strchr(tok, ':');
    int vr = -1;
    if (colon != NULL) {
      size_t klen = (size_t)(colon - tok);
      if (klen == 6 && strncmp(tok, "kernel", 6) == 0) vr = 0;
      if (klen == 2 && strncmp(tok, "vr", 2) == 0) vr = 1;
    }
    if (vr < 0) {
      if (warn != NULL) fprintf(warn, "nexthop: ignoring the rule '%s' (want kernel:PREFIX or vr:PREFIX)\n", tok);
      skipped++;
      continue;
    }
    uint8_t net[16];
    int len, v6;
    if (parse_prefix(colon + 1, net, &len, &v6) < 0) {
      if (warn != NULL) fprintf(warn, "nexthop: ignoring the rule '%s' (not an IPv4 or IPv6 prefix)\n", tok);
      skipped++;
      continue;
    }
    if (rs->n >= NH_MAX_RULES) {
      if (warn != NULL) fprintf(warn, "nexthop: ignoring the rule '%s' (more than %d rules)\n", tok, NH_MAX_RULES);
      skipped++;
      continue;
    }
    add(rs, net, len, v6, vr, 0);
  }
  return skipped;
}

static int matches(const struct nh_rule *r, const uint8_t *a) {
  int whole = r->len / 8, rest = r->len % 8;
  if (memcmp(a, r->net, (size_t)whole) != 0) return 0;
  if (rest == 0) return 1;
  return (a[whole] & (0xff << (8 - rest)) & 0xff) == r->net[whole];
}

int nh_rules_wants_vr(const struct nh_rules *rs, const struct sockaddr *sa, socklen_t len) {
  if (sa == NULL || len < (socklen_t)sizeof(sa_family_t)) return -1;
  uint8_t a[16];
  int v6;
  if (sa->sa_family == AF_INET) {
    if (len < (socklen_t)sizeof(struct sockaddr_in)) return -1;
    struct sockaddr_in sin;
    memcpy(&sin, sa, sizeof sin);
    memcpy(a, &sin.sin_addr, 4);
    v6 = 0;
  } else if (sa->sa_family == AF_INET6) {
    if (len < 24) return -1; /* SIN6_LEN_RFC2133: what the kernel takes */
    struct sockaddr_in6 sin6;
    memset(&sin6, 0, sizeof sin6);
    memcpy(&sin6, sa, len < (socklen_t)sizeof sin6 ? (size_t)len : sizeof sin6);
    memcpy(a, &sin6.sin6_addr, 16);
    v6 = 1;
    if (memcmp(a, mapped_prefix, 12) == 0) {
      memmove(a, a + 12, 4);
      v6 = 0;
    }
  } else {
    return -1;
  }
  const struct nh_rule *best = NULL;
  for (int i = 0; i < rs->n; i++) {
    const struct nh_rule *r = &rs->r[i];
    if (r->v6 != v6 || !matches(r, a)) continue;
    if (best == NULL || r->len > best->len || (r->len == best->len && best->builtin && !r->builtin)) best = r;
  }
  return best != NULL && best->vr;
}
