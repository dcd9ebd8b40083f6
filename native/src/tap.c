#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "port.h"
#include "tpv3_walk.h"

/*
 * tapOpen(name) -> { port, name }: attaches to the TAP device `name`, creating it if it does not
 * exist (then it goes away when closed, unless made persistent elsewhere). Non-blocking, no
 * packet-information header: every read or write is exactly one Ethernet frame.
 */
napi_value nh_tap_open(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value arg;
  NH_CALL(env, napi_get_cb_info(env, info, &argc, &arg, NULL, NULL));
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  size_t name_len = 0;
  if (napi_get_value_string_utf8(env, arg, ifr.ifr_name, IFNAMSIZ, &name_len) != napi_ok) {
    return nh_throw(env, "expected a device name");
  }
  if (name_len == 0 || name_len >= IFNAMSIZ - 1) return nh_throw(env, "device name must be 1..14 bytes");
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
  int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return nh_throw_errno(env, "open(/dev/net/tun)", errno);
  if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
    int err = errno;
    close(fd);
    return nh_throw_errno(env, "ioctl(TUNSETIFF)", err);
  }
  nh_port *port = calloc(1, sizeof *port);
  if (port == NULL) {
    close(fd);
    return nh_throw(env, "out of memory");
  }
  port->fd = fd;
  port->env = env;
  napi_value wrapped = nh_port_wrap(env, port);
  if (wrapped == NULL) return NULL;
  napi_value result, name;
  NH_CALL(env, napi_create_object(env, &result));
  NH_CALL(env, napi_create_string_utf8(env, ifr.ifr_name, NAPI_AUTO_LENGTH, &name));
  NH_CALL(env, napi_set_named_property(env, result, "port", wrapped));
  NH_CALL(env, napi_set_named_property(env, result, "name", name));
  return result;
}

/*
 * tapReadBatch(port, pool: Uint8Array, descs: Uint32Array, frameRoom) -> count
 * Reads frames one after the other into pool until the device has none left, pool has less than
 * frameRoom bytes free, or descs is full; each frame's [offset, length, 0] goes to descs (no vnet
 * header on a TAP: every frame is an ordinary one).
 */
napi_value nh_tap_read_batch(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value args[4];
  NH_CALL(env, napi_get_cb_info(env, info, &argc, args, NULL, NULL));
  nh_port *port = nh_port_unwrap(env, args[0]);
  uint8_t *pool;
  uint32_t *descs, frame_room;
  size_t pool_len, descs_len;
  if (port == NULL || !nh_arg_bytes(env, args[1], &pool, &pool_len) ||
      !nh_arg_u32_array(env, args[2], &descs, &descs_len) || !nh_arg_u32(env, args[3], &frame_room)) {
    return NULL;
  }
  if (frame_room == 0) return nh_throw(env, "frameRoom must be positive");
  uint32_t count = 0;
  size_t off = 0;
  size_t max_frames = descs_len / NH_DESC_STRIDE;
  while (!port->closed && count < max_frames && pool_len - off >= frame_room) {
    ssize_t n = read(port->fd, pool + off, frame_room);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break; /* EAGAIN: drained. Other errors surface as a silent device. */
    descs[NH_DESC_STRIDE * count] = (uint32_t)off;
    descs[NH_DESC_STRIDE * count + 1] = (uint32_t)n;
    descs[NH_DESC_STRIDE * count + 2] = 0;
    count++;
    off += ((size_t)n + 7) & ~(size_t)7;
  }
  napi_value out;
  NH_CALL(env, napi_create_uint32(env, count, &out));
  return out;
}
