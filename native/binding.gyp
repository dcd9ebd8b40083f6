{
  "targets": [
    {
      "target_name": "nexthop_native",
      "sources": ["src/addon.c", "src/port.c", "src/afpacket.c", "src/tap.c", "src/tpv3_walk.c", "src/tpv2_walk.c", "src/rx_frame.c", "src/l4csum.c", "src/unix.c", "src/closer.c"],
      "cflags!": ["-fno-exceptions", "-std=gnu++17", "-Wno-unused-parameter"],
      "cflags_c!": ["-std=gnu++17"],
      "cflags": ["-std=c11", "-Wall", "-Wextra", "-Werror"],
      "defines": ["NAPI_VERSION=9", "_GNU_SOURCE"]
    }
  ]
}
