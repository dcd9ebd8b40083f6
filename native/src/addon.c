#include <node_api.h>

#include "port.h"
#include "unix.h"

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"portStart", NULL, nh_port_start, NULL, NULL, NULL, napi_enumerable, NULL},
      {"portClose", NULL, nh_port_close, NULL, NULL, NULL, napi_enumerable, NULL},
      {"sendBatch", NULL, nh_port_send_batch, NULL, NULL, NULL, napi_enumerable, NULL},
      {"portTxErrors", NULL, nh_port_tx_errors, NULL, NULL, NULL, napi_enumerable, NULL},
      {"portWatchWritable", NULL, nh_port_watch_writable, NULL, NULL, NULL, napi_enumerable, NULL},
      {"writeBatch", NULL, nh_port_write_batch, NULL, NULL, NULL, napi_enumerable, NULL},
      {"afpOpen", NULL, nh_afp_open, NULL, NULL, NULL, napi_enumerable, NULL},
      {"afpReceive", NULL, nh_afp_receive, NULL, NULL, NULL, napi_enumerable, NULL},
      {"afpDrops", NULL, nh_afp_drops, NULL, NULL, NULL, napi_enumerable, NULL},
      {"tapOpen", NULL, nh_tap_open, NULL, NULL, NULL, napi_enumerable, NULL},
      {"tapReadBatch", NULL, nh_tap_read_batch, NULL, NULL, NULL, napi_enumerable, NULL},
      {"unixListen", NULL, nh_unix_listen, NULL, NULL, NULL, napi_enumerable, NULL},
      {"unixConnect", NULL, nh_unix_connect, NULL, NULL, NULL, napi_enumerable, NULL},
      {"unixAccept", NULL, nh_unix_accept, NULL, NULL, NULL, napi_enumerable, NULL},
      {"unixRecvMsg", NULL, nh_unix_recv_msg, NULL, NULL, NULL, napi_enumerable, NULL},
      {"unixSendMsg", NULL, nh_unix_send_msg, NULL, NULL, NULL, napi_enumerable, NULL},
      {"unixSocketPair", NULL, nh_unix_socketpair, NULL, NULL, NULL, napi_enumerable, NULL},
      {"unixClose", NULL, nh_unix_close, NULL, NULL, NULL, napi_enumerable, NULL},
      {"unixShutdown", NULL, nh_unix_shutdown, NULL, NULL, NULL, napi_enumerable, NULL},
      {"unixRead", NULL, nh_unix_read, NULL, NULL, NULL, napi_enumerable, NULL},
      {"unixWrite", NULL, nh_unix_write, NULL, NULL, NULL, napi_enumerable, NULL},
      {"unixHungUp", NULL, nh_unix_hung_up, NULL, NULL, NULL, napi_enumerable, NULL},
      {"unixFileId", NULL, nh_unix_file_id, NULL, NULL, NULL, napi_enumerable, NULL},
      {"unixSendDgrams", NULL, nh_unix_send_dgrams, NULL, NULL, NULL, napi_enumerable, NULL},
      {"unixRecvDgrams", NULL, nh_unix_recv_dgrams, NULL, NULL, NULL, napi_enumerable, NULL},
      {"unixWatch", NULL, nh_unix_watch, NULL, NULL, NULL, napi_enumerable, NULL},
      {"unixWatchEvents", NULL, nh_unix_watch_events, NULL, NULL, NULL, napi_enumerable, NULL},
      {"unixWatchClose", NULL, nh_unix_watch_close, NULL, NULL, NULL, napi_enumerable, NULL},
      {"unixPollSet", NULL, nh_unix_poll_set, NULL, NULL, NULL, napi_enumerable, NULL},
      {"unixPollCtl", NULL, nh_unix_poll_ctl, NULL, NULL, NULL, napi_enumerable, NULL},
      {"unixPollClose", NULL, nh_unix_poll_close, NULL, NULL, NULL, napi_enumerable, NULL},
      {"unixPollSetClose", NULL, nh_unix_poll_set_close, NULL, NULL, NULL, napi_enumerable, NULL},
      {"unixSetPassRights", NULL, nh_unix_set_pass_rights, NULL, NULL, NULL, napi_enumerable, NULL},
      {"unixCookie", NULL, nh_unix_cookie, NULL, NULL, NULL, napi_enumerable, NULL},
      {"unixCloseDrained", NULL, nh_unix_close_drained, NULL, NULL, NULL, napi_enumerable, NULL},
      {"unixCloseForeign", NULL, nh_unix_close_foreign, NULL, NULL, NULL, napi_enumerable, NULL},
      {"unixCloserInit", NULL, nh_unix_closer_init, NULL, NULL, NULL, napi_enumerable, NULL},
      {"unixCloserStats", NULL, nh_unix_closer_stats, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok) return NULL;
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
