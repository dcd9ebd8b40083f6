#ifndef NEXTHOP_UNIX_H
#define NEXTHOP_UNIX_H

#include <node_api.h>

napi_value nh_unix_listen(napi_env env, napi_callback_info info);
napi_value nh_unix_connect(napi_env env, napi_callback_info info);
napi_value nh_unix_accept(napi_env env, napi_callback_info info);
napi_value nh_unix_recv_msg(napi_env env, napi_callback_info info);
napi_value nh_unix_send_msg(napi_env env, napi_callback_info info);
napi_value nh_unix_socketpair(napi_env env, napi_callback_info info);
napi_value nh_unix_close(napi_env env, napi_callback_info info);
napi_value nh_unix_shutdown(napi_env env, napi_callback_info info);
napi_value nh_unix_read(napi_env env, napi_callback_info info);
napi_value nh_unix_write(napi_env env, napi_callback_info info);
napi_value nh_unix_hung_up(napi_env env, napi_callback_info info);
napi_value nh_unix_file_id(napi_env env, napi_callback_info info);
napi_value nh_unix_send_dgrams(napi_env env, napi_callback_info info);
napi_value nh_unix_recv_dgrams(napi_env env, napi_callback_info info);
napi_value nh_unix_watch(napi_env env, napi_callback_info info);
napi_value nh_unix_watch_events(napi_env env, napi_callback_info info);
napi_value nh_unix_watch_close(napi_env env, napi_callback_info info);
napi_value nh_unix_poll_set(napi_env env, napi_callback_info info);
napi_value nh_unix_poll_ctl(napi_env env, napi_callback_info info);
napi_value nh_unix_poll_close(napi_env env, napi_callback_info info);
napi_value nh_unix_poll_set_close(napi_env env, napi_callback_info info);
napi_value nh_unix_set_pass_rights(napi_env env, napi_callback_info info);
napi_value nh_unix_cookie(napi_env env, napi_callback_info info);
napi_value nh_unix_close_drained(napi_env env, napi_callback_info info);
napi_value nh_unix_close_foreign(napi_env env, napi_callback_info info);
napi_value nh_unix_closer_init(napi_env env, napi_callback_info info);
napi_value nh_unix_closer_stats(napi_env env, napi_callback_info info);

#endif
