/* libFuzzer target for the control-message and datagram decoders: any bytes decode or fail without
 * touching memory outside them; a failure carries a reason and the errno §8 gives; whatever decodes
 * re-encodes to exactly the input (the encoding is canonical) and describes without overflow. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rsock_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > RSOCK_MAX_MESSAGE + 16) return 0;
  /* An exact-size heap copy, so ASan flags any access past the end. */
  uint8_t *buf = malloc(size ? size : 1);
  memcpy(buf, data, size);
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
    if (f.err != 71 && f.err != 95) abort();
    if ((f.err == 95) != (f.reason == RSOCK_F_UNKNOWN_TYPE)) abort();
    if (strcmp(rsock_fault_name(f.reason), "?") == 0) abort();
  }
  struct rsock_dgram h;
  if (rsock_dgram_decode(buf, size, &h) == RSOCK_DGRAM_HEADER_LEN) {
    uint8_t out[RSOCK_DGRAM_HEADER_LEN];
    if (rsock_dgram_encode(&h, out, sizeof out) != RSOCK_DGRAM_HEADER_LEN) abort();
    if (memcmp(out, buf, RSOCK_DGRAM_HEADER_LEN) != 0) abort();
  }
  free(buf);
  return 0;
}
