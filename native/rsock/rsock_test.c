/* Decodes and re-encodes every golden vector of tests/golden/rsock (the directory is argv[1]) and
 * compares with the `#=` description lines; built with ASan and UBSan by Makefile.check. With a
 * second argument, also writes each vector's bytes there as a file: the fuzzer's seed corpus. */
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

static int seen_types[0x10000];

static void check_message(const char *name, const struct vector *v) {
  /* An exact-size heap copy, so ASan flags any read past the end. */
  uint8_t *copy = malloc(v->len ? v->len : 1);
  memcpy(copy, v->bytes, v->len);
  struct rsock_msg m;
  struct rsock_fault f;
  char text[1024];
  int rc = rsock_decode(copy, v->len, &m, &f);
  if (strncmp(name, "bad-", 4) == 0) {
    EXPECT(rc == -1, name);
    snprintf(text, sizeof text, "invalid id=%u errno=%d fatal=%d reason=%s", f.id, f.err, f.fatal,
             rsock_fault_name(f.reason));
  } else {
    EXPECT(rc == 0, name);
    if (rc != 0) {
      fprintf(stderr, "  %s: %s\n", name, rsock_fault_name(f.reason));
      free(copy);
      return;
    }
    seen_types[m.type] = 1;
    rsock_describe(&m, text, sizeof text);
    uint8_t out[RSOCK_MAX_MESSAGE];
    size_t n = rsock_encode(&m, out, sizeof out);
    EXPECT(n == v->len && memcmp(out, v->bytes, n) == 0, name);
    /* One byte short of room must refuse rather than write past the end. */
    EXPECT(rsock_encode(&m, out, v->len - 1) == 0, name);
  }
  if (strcmp(text, v->expect) != 0) {
    fprintf(stderr, "%s:\n  got    %s\n  wanted %s\n", name, text, v->expect);
    failures++;
  }
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
    if (strncmp(e->d_name, "v2-", 3) == 0) continue; /* version 2: not in this codec yet */
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
    if (strncmp(e->d_name, "dgram-", 6) == 0)
      check_dgram(e->d_name, &v);
    else
      check_message(e->d_name, &v);
    count++;
  }
  closedir(d);
  static const uint16_t all_types[] = {
      RSOCK_HELLO,      RSOCK_SOCKET,      RSOCK_BIND,        RSOCK_CONNECT,     RSOCK_LISTEN,
      RSOCK_ACCEPT,     RSOCK_SHUTDOWN,    RSOCK_CLOSE,       RSOCK_GETSOCKNAME, RSOCK_GETPEERNAME,
      RSOCK_SETSOCKOPT, RSOCK_GETSOCKOPT,  RSOCK_ATTACH,      RSOCK_OK,          RSOCK_ERROR,
      RSOCK_HELLO_OK,   RSOCK_SOCKET_OK,   RSOCK_ACCEPT_OK,   RSOCK_ADDR_OK,     RSOCK_OPT_OK,
      RSOCK_ATTACH_OK,
  };
  for (size_t i = 0; i < sizeof all_types / sizeof all_types[0]; i++) {
    if (!seen_types[all_types[i]]) {
      fprintf(stderr, "no golden vector for type 0x%04x\n", all_types[i]);
      failures++;
    }
  }
  test_utf8();
  if (count < 30) {
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
