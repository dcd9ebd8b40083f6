/* libFuzzer target for the control-message and datagram decoders of both versions: any bytes decode
 * or fail without touching memory outside them; a failure carries a reason and the errno §8 gives;
 * whatever decodes re-encodes to exactly the input (the encoding is canonical) and describes without
 * overflow. The input is tried at version 1 (also through the version-1 API) and at version 2, and as
 * a 20-byte and a 64-byte datagram header. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rsock_proto.h"

static void check_fault(const struct rsock_fault *f) {
  if (f->err != 71 && f->err != 95) abort();
  if ((f->err == 95) != (f->reason == RSOCK_F_UNKNOWN_TYPE)) abort();
  if (strcmp(rsock_fault_name(f->reason), "?") == 0) abort();
}

static void check_version(const uint8_t *buf, size_t size, uint16_t version) {
  struct rsock_msg m;
  struct rsock_fault f;
  if (rsock_decode_v(buf, size, version, &m, &f) == 0) {
    uint8_t out[RSOCK_MAX_MESSAGE];
    size_t n = rsock_encode_v(&m, version, out, sizeof out);
    if (n != size || memcmp(out, buf, size) != 0) abort();
    if (rsock_encode_v(&m, version, out, size - 1) != 0) abort();
    char text[64];
    rsock_describe_v(&m, version, text, sizeof text);
    if (strlen(text) >= sizeof text) abort();
    /* A header has one version: the other one is a fatal version fault. */
    struct rsock_msg other;
    if (rsock_decode_v(buf, size, version == 1 ? 2 : 1, &other, &f) == 0) abort();
    if (f.reason != RSOCK_F_VERSION || !f.fatal) abort();
  } else {
    check_fault(&f);
    if (version == 1 && f.reason == RSOCK_F_FAMILY) abort(); /* version 1 has no family field */
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > RSOCK_MAX_MESSAGE + 16) return 0;
  /* An exact-size heap copy, so ASan flags any access past the end. */
  uint8_t *buf = malloc(size ? size : 1);
  memcpy(buf, data, size);
  check_version(buf, size, 1);
  check_version(buf, size, 2);
  /* The version-1 API, endpoint in addr/port, as libnexthop and the shim use it today. */
  struct rsock_msg m;
  struct rsock_fault f;
  if (rsock_decode(buf, size, &m, &f) == 0) {
    uint8_t out[RSOCK_MAX_MESSAGE];
    size_t n = rsock_encode(&m, out, sizeof out);
    if (n != size || memcmp(out, buf, size) != 0) abort();
    char text[64];
    rsock_describe(&m, text, sizeof text);
    if (strlen(text) >= sizeof text) abort();
  } else {
    check_fault(&f);
  }
  struct rsock_dgram h;
  if (rsock_dgram_decode(buf, size, &h) == RSOCK_DGRAM_HEADER_LEN) {
    uint8_t out[RSOCK_DGRAM_HEADER_LEN];
    if (rsock_dgram_encode(&h, out, sizeof out) != RSOCK_DGRAM_HEADER_LEN) abort();
    if (memcmp(out, buf, RSOCK_DGRAM_HEADER_LEN) != 0) abort();
  }
  struct rsock_dgram2 h2;
  int at = rsock_dgram2_decode(buf, size, &h2);
  if (at == RSOCK_DGRAM2_HEADER_LEN) {
    uint8_t out[RSOCK_DGRAM2_HEADER_LEN];
    if (rsock_dgram2_encode(&h2, out, sizeof out) != RSOCK_DGRAM2_HEADER_LEN) abort();
    if (memcmp(out, buf, RSOCK_DGRAM2_HEADER_LEN) != 0) abort();
    char text[64];
    rsock_dgram2_describe(&h2, buf + at, size - (size_t)at, text, sizeof text);
    if (strlen(text) >= sizeof text) abort();
  } else if (at >= 0 || strcmp(rsock_dgram_fault_name(at), "?") == 0) {
    abort();
  }
  free(buf);
  return 0;
}
