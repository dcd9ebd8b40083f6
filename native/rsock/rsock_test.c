/* Decodes and re-encodes every golden vector of tests/golden/rsock (the directory is argv[1]) at its
 * version (files named v2-* at version 2, §13.9) and compares with the `#=` description lines; built
 * with ASan and UBSan by Makefile.check. With a second argument, also writes each vector's bytes there
 * as a file: the fuzzer's seed corpus. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rsock_proto.h"

static int failures = 0;

#define EXPECT(cond, file)                                                                         \
  do {                                                                                             \
    if (!(cond)) {                                                                                 \
      fprintf(stderr, "%s:%d: %s: expected %s\n", __FILE__, __LINE__, file, #cond);                \
      failures++;                                                                                  \
    }                                                                                              \
  } while (0)

struct vector {
  uint8_t bytes[RSOCK_MAX_MESSAGE + 64];
  size_t len;
  char expect[512];
};

static int hexval(int c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* `#` comments to end of line; one `#=` line is the expectation; the rest is hex and whitespace. */
static int load(const char *path, struct vector *v) {
  FILE *f = fopen(path, "r");
  if (f == NULL) return -1;
  char line[1024];
  int half = -1;
  v->len = 0;
  v->expect[0] = '\0';
  while (fgets(line, sizeof line, f) != NULL) {
    if (strncmp(line, "#=", 2) == 0) {
      const char *s = line + 2;
      while (*s == ' ') s++;
      snprintf(v->expect, sizeof v->expect, "%s", s);
      v->expect[strcspn(v->expect, "\r\n")] = '\0';
      continue;
    }
    for (char *c = line; *c != '\0' && *c != '#'; c++) {
      if (*c == ' ' || *c == '\t' || *c == '\n' || *c == '\r') continue;
      int d = hexval((unsigned char)*c);
      if (d < 0 || v->len >= sizeof v->bytes) {
        fclose(f);
        return -1;
      }
      if (half < 0) {
        half = d;
      } else {
        v->bytes[v->len++] = (uint8_t)(half << 4 | d);
        half = -1;
      }
    }
  }
  fclose(f);
  return half < 0 && v->expect[0] != '\0' ? 0 : -1;
}

static int seen_types[3][0x10000];

static void compare(const char *name, const char *text, const char *expect) {
  if (strcmp(text, expect) != 0) {
    fprintf(stderr, "%s:\n  got    %s\n  wanted %s\n", name, text, expect);
    failures++;
  }
}

/* `name` is the file name without its version prefix. */
static void check_message(const char *file, const char *name, uint16_t version, const struct vector *v) {
  /* An exact-size heap copy, so ASan flags any read past the end. */
  uint8_t *copy = malloc(v->len ? v->len : 1);
  memcpy(copy, v->bytes, v->len);
  struct rsock_msg m;
  struct rsock_fault f;
  char text[1024];
  int rc = rsock_decode_v(copy, v->len, version, &m, &f);
  if (strncmp(name, "bad-", 4) == 0) {
    EXPECT(rc == -1, file);
    snprintf(text, sizeof text, "invalid id=%u errno=%d fatal=%d reason=%s", f.id, f.err, f.fatal,
             rsock_fault_name(f.reason));
    compare(file, text, v->expect);
    if (version == 1) { /* the version-1 API fails the same way */
      EXPECT(rsock_decode(copy, v->len, &m, &f) == -1, file);
      snprintf(text, sizeof text, "invalid id=%u errno=%d fatal=%d reason=%s", f.id, f.err, f.fatal,
               rsock_fault_name(f.reason));
      compare(file, text, v->expect);
    }
    free(copy);
    return;
  }
  EXPECT(rc == 0, file);
  if (rc != 0) {
    fprintf(stderr, "  %s: %s\n", file, rsock_fault_name(f.reason));
    free(copy);
    return;
  }
  seen_types[version][m.type] = 1;
  rsock_describe_v(&m, version, text, sizeof text);
  compare(file, text, v->expect);
  uint8_t out[RSOCK_MAX_MESSAGE];
  size_t n = rsock_encode_v(&m, version, out, sizeof out);
  EXPECT(n == v->len && memcmp(out, v->bytes, n) == 0, file);
  /* One byte short of room must refuse rather than write past the end. */
  EXPECT(rsock_encode_v(&m, version, out, v->len - 1) == 0, file);
  if (version == 1) {
    /* The version-1 API, endpoint in addr/port, as libnexthop and the shim use it. */
    struct rsock_msg m1;
    EXPECT(rsock_decode(copy, v->len, &m1, &f) == 0, file);
    rsock_describe(&m1, text, sizeof text);
    compare(file, text, v->expect);
    memset(&m1.ep, 0xa5, sizeof m1.ep); /* rsock_encode must not read ep */
    n = rsock_encode(&m1, out, sizeof out);
    EXPECT(n == v->len && memcmp(out, v->bytes, n) == 0, file);
    EXPECT(rsock_encode(&m1, out, v->len - 1) == 0, file);
  } else {
    /* A version-2 message is a fatal version fault on a version-1 connection. */
    EXPECT(rsock_decode(copy, v->len, &m, &f) == -1 && f.reason == RSOCK_F_VERSION && f.fatal, file);
  }
  free(copy);
}

static void check_dgram2(const char *file, const struct vector *v) {
  /* An exact-size heap copy, so ASan flags any read past the end. */
  uint8_t *copy = malloc(v->len ? v->len : 1);
  memcpy(copy, v->bytes, v->len);
  struct rsock_dgram2 h;
  char text[1024];
  int at = rsock_dgram2_decode(copy, v->len, &h);
  if (strncmp(v->expect, "invalid", 7) == 0) {
    EXPECT(at < 0, file);
    snprintf(text, sizeof text, "invalid reason=%s", rsock_dgram_fault_name(at));
    compare(file, text, v->expect);
    free(copy);
    return;
  }
  EXPECT(at == RSOCK_DGRAM2_HEADER_LEN, file);
  if (at < 0) {
    free(copy);
    return;
  }
  rsock_dgram2_describe(&h, copy + at, v->len - (size_t)at, text, sizeof text);
  compare(file, text, v->expect);
  uint8_t out[RSOCK_DGRAM2_HEADER_LEN];
  EXPECT(rsock_dgram2_encode(&h, out, sizeof out) == RSOCK_DGRAM2_HEADER_LEN, file);
  EXPECT(memcmp(out, v->bytes, RSOCK_DGRAM2_HEADER_LEN) == 0, file);
  EXPECT(rsock_dgram2_encode(&h, out, sizeof out - 1) == 0, file);
  struct rsock_dgram h1;
  EXPECT(rsock_dgram_decode(copy, v->len, &h1) < 0, file); /* the 20-byte decoder refuses it */
  free(copy);
}

static void check_dgram(const char *name, const struct vector *v) {
  struct rsock_dgram h;
  int at = rsock_dgram_decode(v->bytes, v->len, &h);
  EXPECT(at == RSOCK_DGRAM_HEADER_LEN, name);
  if (at < 0) return;
  char text[1024];
  rsock_dgram_describe(&h, v->bytes + at, v->len - (size_t)at, text, sizeof text);
  if (strcmp(text, v->expect) != 0) {
    fprintf(stderr, "%s:\n  got    %s\n  wanted %s\n", name, text, v->expect);
    failures++;
  }
  uint8_t out[RSOCK_DGRAM_HEADER_LEN];
  EXPECT(rsock_dgram_encode(&h, out, sizeof out) == RSOCK_DGRAM_HEADER_LEN, name);
  EXPECT(memcmp(out, v->bytes, RSOCK_DGRAM_HEADER_LEN) == 0, name);
  struct rsock_dgram2 h2;
  EXPECT(rsock_dgram2_decode(v->bytes, v->len, &h2) < 0, name); /* the 64-byte decoder refuses it */
}

static void test_addr6_text(void) {
  static const struct {
    uint8_t a[16];
    const char *text;
  } cases[] = {
      {{0}, "[::]:1"},
      {{[15] = 1}, "[::1]:1"},
      {{0x20, 0x01, 0x0d, 0xb8, [15] = 2}, "[2001:db8::2]:1"},
      {{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1}, "[2001:db8:0:1:1:1:1:1]:1"},
      {{0x20, 0x01, 0, 0, 0, 0, 0, 1, [15] = 1}, "[2001:0:0:1::1]:1"},
      {{0x20, 0x01, 0x0d, 0xb8, [9] = 1, [15] = 1}, "[2001:db8::1:0:0:1]:1"},
      {{[10] = 0xff, 0xff, 10, 2, 0, 2}, "[::ffff:10.2.0.2]:1"},
      {{[12] = 1, 2, 3, 4}, "[::102:304]:1"},
      {{0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7, 0, 8}, "[1:2:3:4:5:6:7:8]:1"},
      {{0, 1}, "[1::]:1"},
      {{0xfe, 0x80, [15] = 0xab}, "[fe80::ab]:1"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    struct rsock_ep ep = {.family = RSOCK_AF_INET6, .port = 1};
    memcpy(ep.addr, cases[i].a, 16);
    char text[128];
    rsock_ep_format(&ep, text, sizeof text);
    compare("addr6 text", text, cases[i].text);
  }
  struct rsock_ep ep = {.family = RSOCK_AF_INET6, .port = 80, .flowinfo = 5, .scope_id = 3, .addr = {0xfe, 0x80, [15] = 1}};
  char text[128];
  rsock_ep_format(&ep, text, sizeof text);
  compare("scoped text", text, "[fe80::1%3]:80,flowinfo=5");
  /* Truncation: snprintf's result, never past cap. */
  char small[8];
  EXPECT(rsock_ep_format(&ep, small, sizeof small) == (int)strlen(text) && strlen(small) == 7, "truncated");
}

static void test_negotiate_and_refusals(void) {
  EXPECT(rsock_negotiate(1, 1) == 1, "negotiate 1-1");
  EXPECT(rsock_negotiate(1, 2) == 2, "negotiate 1-2");
  EXPECT(rsock_negotiate(2, 9) == 2, "negotiate 2-9");
  EXPECT(rsock_negotiate(3, 4) == 0, "negotiate 3-4");
  EXPECT(rsock_negotiate(0, 0) == 0, "negotiate 0-0");
  EXPECT(rsock_negotiate(2, 1) == 0, "negotiate 2-1");
  uint8_t out[RSOCK_MAX_MESSAGE];
  struct rsock_msg m = {.type = RSOCK_BIND, .socket = 1};
  m.ep.family = RSOCK_AF_INET6;
  EXPECT(rsock_encode_v(&m, 1, out, sizeof out) == 0, "v1 refuses AF_INET6");
  EXPECT(rsock_encode_v(&m, 2, out, sizeof out) == 16 + 32, "v2 takes AF_INET6");
  EXPECT(rsock_encode_v(&m, 3, out, sizeof out) == 0, "no version 3");
  m.ep.flowinfo = 0x10000000;
  EXPECT(rsock_encode_v(&m, 2, out, sizeof out) == 0, "flowinfo top bits");
  m.ep.flowinfo = 0;
  m.ep.family = 1;
  EXPECT(rsock_encode_v(&m, 2, out, sizeof out) == 0, "family 1");
  m.ep.family = RSOCK_AF_INET;
  m.ep.scope_id = 1;
  EXPECT(rsock_encode_v(&m, 2, out, sizeof out) == 0, "AF_INET with a scope");
  m.ep.scope_id = 0;
  m.ep.addr[4] = 1;
  EXPECT(rsock_encode_v(&m, 2, out, sizeof out) == 0, "AF_INET with 16 address bytes");
  memset(&m.ep, 0, sizeof m.ep);
  m.ep.port = 1;
  EXPECT(rsock_encode_v(&m, 2, out, sizeof out) == 0, "AF_UNSPEC with a port");
  m.type = RSOCK_CONNECT;
  m.ep.port = 0;
  m.flags = 0x10000;
  EXPECT(rsock_encode_v(&m, 2, out, sizeof out) == 16 + 36, "v2 CONNECT flags are a u32");
  struct rsock_msg sc = {.type = RSOCK_SOCKET_CONNECT, .family = 2, .sock_type = 1, .flags = 2};
  sc.ep.family = RSOCK_AF_INET;
  EXPECT(rsock_encode_v(&sc, 1, out, sizeof out) == 0, "SOCKET_CONNECT is version 2 only");
  EXPECT(rsock_encode_v(&sc, 2, out, sizeof out) == 16 + 40, "v2 SOCKET_CONNECT");
  sc.ep.family = 1;
  EXPECT(rsock_encode_v(&sc, 2, out, sizeof out) == 0, "SOCKET_CONNECT family 1");
  struct rsock_dgram2 h = {.ifindex = 3};
  EXPECT(rsock_dgram2_encode(&h, out, sizeof out) == 0, "ifindex without PKTINFO");
  h.ifindex = 0;
  h.local.family = RSOCK_AF_INET;
  EXPECT(rsock_dgram2_encode(&h, out, sizeof out) == 0, "local without PKTINFO");
  h.flags = RSOCK_DGRAM_PKTINFO;
  EXPECT(rsock_dgram2_encode(&h, out, sizeof out) == RSOCK_DGRAM2_HEADER_LEN, "local with PKTINFO");
}

static void test_utf8(void) {
  static const struct {
    const char *s;
    int ok;
  } cases[] = {
      {"", 1},           {"curl", 1},           {"\xc3\xa9", 1},     {"\xe2\x82\xac", 1},
      {"\xf0\x9f\x98\x80", 1}, {"\xc0\xaf", 0}, {"\xe0\x80\xaf", 0}, {"\xed\xa0\x80", 0},
      {"\xf4\x90\x80\x80", 0}, {"\xf5\x80\x80\x80", 0}, {"\xe2\x82", 0}, {"\x80", 0},
      {"\xef\xbb\xbf", 1},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    EXPECT(rsock_utf8_valid((const uint8_t *)cases[i].s, strlen(cases[i].s)) == cases[i].ok, cases[i].s);
}

int main(int argc, char **argv) {
  if (argc != 2 && argc != 3) {
    fprintf(stderr, "usage: %s tests/golden/rsock [corpus-dir]\n", argv[0]);
    return 2;
  }
  DIR *d = opendir(argv[1]);
  if (d == NULL) {
    perror(argv[1]);
    return 2;
  }
  static struct vector v;
  int count = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    size_t n = strlen(e->d_name);
    if (n < 5 || strcmp(e->d_name + n - 4, ".hex") != 0) continue;
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", argv[1], e->d_name);
    if (load(path, &v) != 0) {
      fprintf(stderr, "%s: unreadable vector\n", path);
      failures++;
      continue;
    }
    if (argc == 3) {
      snprintf(path, sizeof path, "%s/%s.bin", argv[2], e->d_name);
      FILE *out = fopen(path, "wb");
      if (out == NULL || fwrite(v.bytes, 1, v.len, out) != v.len) {
        perror(path);
        failures++;
      }
      if (out != NULL) fclose(out);
    }
    uint16_t version = strncmp(e->d_name, "v2-", 3) == 0 ? 2 : 1;
    const char *name = version == 2 ? e->d_name + 3 : e->d_name;
    if (strncmp(name, "dgram-", 6) == 0) {
      if (version == 2)
        check_dgram2(e->d_name, &v);
      else
        check_dgram(e->d_name, &v);
    } else {
      check_message(e->d_name, name, version, &v);
    }
    count++;
  }
  closedir(d);
  static const uint16_t all_types[] = {
      RSOCK_HELLO,      RSOCK_SOCKET,      RSOCK_BIND,        RSOCK_CONNECT,     RSOCK_LISTEN,
      RSOCK_ACCEPT,     RSOCK_SHUTDOWN,    RSOCK_CLOSE,       RSOCK_GETSOCKNAME, RSOCK_GETPEERNAME,
      RSOCK_SETSOCKOPT, RSOCK_GETSOCKOPT,  RSOCK_ATTACH,      RSOCK_OK,          RSOCK_ERROR,
      RSOCK_HELLO_OK,   RSOCK_SOCKET_OK,   RSOCK_ACCEPT_OK,   RSOCK_ADDR_OK,     RSOCK_OPT_OK,
      RSOCK_ATTACH_OK,  RSOCK_SOCKET_CONNECT,
  };
  for (uint16_t version = 1; version <= 2; version++) {
    for (size_t i = 0; i < sizeof all_types / sizeof all_types[0]; i++) {
      /* The handshake is version 1 on the wire whatever is negotiated (§13.1). */
      if (version == 2 && (all_types[i] == RSOCK_HELLO || all_types[i] == RSOCK_HELLO_OK)) continue;
      if (version == 1 && all_types[i] == RSOCK_SOCKET_CONNECT) continue; /* version 2 only (§13.11) */
      if (!seen_types[version][all_types[i]]) {
        fprintf(stderr, "no version-%u golden vector for type 0x%04x\n", version, all_types[i]);
        failures++;
      }
    }
  }
  test_utf8();
  test_addr6_text();
  test_negotiate_and_refusals();
  if (count < 80) {
    fprintf(stderr, "only %d vectors in %s\n", count, argv[1]);
    failures++;
  }
  if (failures) {
    fprintf(stderr, "rsock_test: %d failure(s)\n", failures);
    return 1;
  }
  printf("rsock_test: %d golden vectors decoded and re-encoded\n", count);
  return 0;
}
