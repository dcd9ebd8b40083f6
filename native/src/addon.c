#include <node_api.h>

#include "port.h"

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
  };
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok) return NULL;
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
