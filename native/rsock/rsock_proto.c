/* Codec of the remote socket protocol, versions 1 and 2: see rsock_proto.h and
 * docs/remote-socket-protocol.md. */
#include "rsock_proto.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define RSOCK_EPROTO 71
#define RSOCK_EOPNOTSUPP 95

static const uint8_t MAGIC[4] = {0x4e, 0x48, 0x52, 0x53}; /* "NHRS" */

static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }

static uint32_t get32(const uint8_t *p) {
  return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static void put16(uint8_t *p, uint16_t v) {
  p[0] = (uint8_t)v;
  p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)v;
  p[1] = (uint8_t)(v >> 8);
  p[2] = (uint8_t)(v >> 16);
  p[3] = (uint8_t)(v >> 24);
}

/* Body layout of each type: fixed length, and where the u16 length of its trailing string or blob
 * sits (-1: none); `text` = that field is UTF-8. */
struct layout {
  uint16_t type;
  uint16_t fixed;
  int16_t var_at;
  uint8_t text;
};

static const struct layout LAYOUTS[] = {
    {RSOCK_HELLO, 10, 8, 1},       {RSOCK_SOCKET, 8, -1, 0},      {RSOCK_BIND, 10, -1, 0},
    {RSOCK_CONNECT, 12, -1, 0},    {RSOCK_LISTEN, 8, -1, 0},      {RSOCK_ACCEPT, 8, -1, 0},
    {RSOCK_SHUTDOWN, 8, -1, 0},    {RSOCK_CLOSE, 4, -1, 0},       {RSOCK_GETSOCKNAME, 4, -1, 0},
    {RSOCK_GETPEERNAME, 4, -1, 0}, {RSOCK_SETSOCKOPT, 14, 12, 0}, {RSOCK_GETSOCKOPT, 16, -1, 0},
    {RSOCK_ATTACH, 0, -1, 0},      {RSOCK_OK, 0, -1, 0},          {RSOCK_ERROR, 6, 4, 1},
    {RSOCK_HELLO_OK, 14, 12, 1},   {RSOCK_SOCKET_OK, 4, -1, 0},   {RSOCK_ACCEPT_OK, 10, -1, 0},
    {RSOCK_ADDR_OK, 6, -1, 0},     {RSOCK_OPT_OK, 2, 0, 0},       {RSOCK_ATTACH_OK, 16, -1, 0},
    {RSOCK_SOCKET_CONNECT, 40, -1, 0}, /* version 2 only: layout_for refuses it at version 1 */
};

static const struct layout *layout_of(uint16_t type, uint16_t version) {
  if (type == RSOCK_SOCKET_CONNECT && version < 2) return NULL;
  for (size_t i = 0; i < sizeof LAYOUTS / sizeof LAYOUTS[0]; i++)
    if (LAYOUTS[i].type == type) return &LAYOUTS[i];
  return NULL;
}

/* The types that carry an endpoint, and where it starts in the body. */
static int has_ep(uint16_t type) {
  return type == RSOCK_BIND || type == RSOCK_CONNECT || type == RSOCK_ACCEPT_OK || type == RSOCK_ADDR_OK ||
         type == RSOCK_SOCKET_CONNECT;
}

static size_t ep_at(uint16_t type) {
  return type == RSOCK_ADDR_OK ? 0 : type == RSOCK_SOCKET_CONNECT ? 8 : 4;
}

/* Version 2 changes only the bodies that carry an endpoint (§13.3): 6 bytes become 28, and CONNECT's
 * flags a u32. */
static size_t fixed_len(const struct layout *l, uint16_t version) {
  if (version == 1 || !has_ep(l->type) || l->type == RSOCK_SOCKET_CONNECT) return l->fixed;
  return l->type == RSOCK_CONNECT ? 36 : (size_t)l->fixed - 6 + RSOCK_EP_LEN;
}

static int all_zero(const uint8_t *p, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (p[i] != 0) return 0;
  return 1;
}

int rsock_ep_decode(const uint8_t *p, struct rsock_ep *ep) {
  uint16_t family = get16(p);
  uint32_t flowinfo = get32(p + 4);
  uint32_t scope_id = get32(p + 24);
  switch (family) {
  case RSOCK_AF_UNSPEC:
    if (!all_zero(p + 2, RSOCK_EP_LEN - 2)) return RSOCK_EP_RESERVED;
    break;
  case RSOCK_AF_INET:
    if (flowinfo != 0 || scope_id != 0 || !all_zero(p + 12, 12)) return RSOCK_EP_RESERVED;
    break;
  case RSOCK_AF_INET6:
    if ((flowinfo & ~RSOCK_FLOWINFO_MASK) != 0) return RSOCK_EP_RESERVED;
    break;
  default:
    return RSOCK_EP_BAD_FAMILY;
  }
  ep->family = family;
  ep->port = get16(p + 2);
  ep->flowinfo = flowinfo;
  memcpy(ep->addr, p + 8, 16);
  ep->scope_id = scope_id;
  return 0;
}

static int ep_valid(const struct rsock_ep *ep) {
  switch (ep->family) {
  case RSOCK_AF_UNSPEC:
    return ep->port == 0 && ep->flowinfo == 0 && ep->scope_id == 0 && all_zero(ep->addr, 16);
  case RSOCK_AF_INET:
    return ep->flowinfo == 0 && ep->scope_id == 0 && all_zero(ep->addr + 4, 12);
  case RSOCK_AF_INET6:
    return (ep->flowinfo & ~RSOCK_FLOWINFO_MASK) == 0;
  default:
    return 0;
  }
}

int rsock_ep_encode(const struct rsock_ep *ep, uint8_t *p) {
  if (!ep_valid(ep)) return -1;
  put16(p, ep->family);
  put16(p + 2, ep->port);
  put32(p + 4, ep->flowinfo);
  memcpy(p + 8, ep->addr, 16);
  put32(p + 24, ep->scope_id);
  return 0;
}

uint16_t rsock_negotiate(uint16_t client_min, uint16_t client_max) {
  if (client_min > client_max) return 0;
  uint16_t v = client_max < RSOCK_VERSION_MAX ? client_max : RSOCK_VERSION_MAX;
  uint16_t lo = client_min > RSOCK_VERSION_MIN ? client_min : RSOCK_VERSION_MIN;
  return v >= lo ? v : 0;
}

int rsock_utf8_valid(const uint8_t *s, size_t len) {
  size_t i = 0;
  while (i < len) {
    uint8_t c = s[i];
    if (c < 0x80) {
      i++;
      continue;
    }
    size_t need;
    uint8_t lo = 0x80, hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) {
      need = 1;
    } else if (c >= 0xe0 && c <= 0xef) {
      need = 2;
      if (c == 0xe0) lo = 0xa0;
      if (c == 0xed) hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      need = 3;
      if (c == 0xf0) lo = 0x90;
      if (c == 0xf4) hi = 0x8f;
    } else {
      return 0;
    }
    if (len - i <= need) return 0;
    if (s[i + 1] < lo || s[i + 1] > hi) return 0;
    for (size_t k = 2; k <= need; k++)
      if (s[i + k] < 0x80 || s[i + k] > 0xbf) return 0;
    i += need + 1;
  }
  return 1;
}

const char *rsock_fault_name(enum rsock_fault_reason reason) {
  switch (reason) {
  case RSOCK_F_SHORT: return "short";
  case RSOCK_F_MAGIC: return "magic";
  case RSOCK_F_LENGTH: return "length";
  case RSOCK_F_VERSION: return "version";
  case RSOCK_F_UNKNOWN_TYPE: return "unknown-type";
  case RSOCK_F_BODY: return "body";
  case RSOCK_F_UTF8: return "utf8";
  case RSOCK_F_RESERVED: return "reserved";
  case RSOCK_F_ERRNO: return "errno";
  case RSOCK_F_FAMILY: return "family";
  }
  return "?";
}

static int fail(struct rsock_fault *f, enum rsock_fault_reason reason, uint32_t id) {
  f->reason = reason;
  f->id = id;
  f->err = reason == RSOCK_F_UNKNOWN_TYPE ? RSOCK_EOPNOTSUPP : RSOCK_EPROTO;
  f->fatal = reason == RSOCK_F_SHORT || reason == RSOCK_F_MAGIC || reason == RSOCK_F_LENGTH ||
             reason == RSOCK_F_VERSION;
  return -1;
}

int rsock_decode(const uint8_t *buf, size_t len, struct rsock_msg *m, struct rsock_fault *f) {
  return rsock_decode_v(buf, len, RSOCK_VERSION, m, f);
}

int rsock_decode_v(const uint8_t *buf, size_t len, uint16_t version, struct rsock_msg *m,
                   struct rsock_fault *f) {
  memset(m, 0, sizeof *m);
  memset(f, 0, sizeof *f);
  if (version != 1 && version != 2) return fail(f, RSOCK_F_VERSION, 0);
  if (len < RSOCK_HEADER_LEN) return fail(f, RSOCK_F_SHORT, len >= 12 ? get32(buf + 8) : 0);
  uint32_t id = get32(buf + 8);
  if (memcmp(buf, MAGIC, 4) != 0) return fail(f, RSOCK_F_MAGIC, id);
  if (len > RSOCK_MAX_MESSAGE || get32(buf + 12) != len - RSOCK_HEADER_LEN)
    return fail(f, RSOCK_F_LENGTH, id);
  if (get16(buf + 4) != version) return fail(f, RSOCK_F_VERSION, id);
  uint16_t type = get16(buf + 6);
  const struct layout *l = layout_of(type, version);
  if (l == NULL) return fail(f, RSOCK_F_UNKNOWN_TYPE, id);
  const uint8_t *b = buf + RSOCK_HEADER_LEN;
  size_t body_len = len - RSOCK_HEADER_LEN;
  size_t fixed = fixed_len(l, version);
  size_t var_len = 0;
  if (l->var_at >= 0) {
    if (body_len < fixed) return fail(f, RSOCK_F_BODY, id);
    var_len = get16(b + l->var_at);
    m->data.ptr = b + l->var_at + 2;
    m->data.len = (uint16_t)var_len;
  }
  if (body_len != fixed + var_len) return fail(f, RSOCK_F_BODY, id);
  if (l->text && !rsock_utf8_valid(m->data.ptr, var_len)) return fail(f, RSOCK_F_UTF8, id);
  if (has_ep(type)) {
    const uint8_t *e = b + ep_at(type);
    if (version == 1) {
      m->ep.family = RSOCK_AF_INET;
      memcpy(m->ep.addr, e, 4);
      m->ep.port = get16(e + 4);
    } else {
      int rc = rsock_ep_decode(e, &m->ep);
      if (rc != 0) return fail(f, rc == RSOCK_EP_BAD_FAMILY ? RSOCK_F_FAMILY : RSOCK_F_RESERVED, id);
    }
    if (m->ep.family == RSOCK_AF_INET) {
      memcpy(m->addr, m->ep.addr, 4);
      m->port = m->ep.port;
    }
    if (type == RSOCK_CONNECT || type == RSOCK_SOCKET_CONNECT)
      m->flags = version == 1 ? get16(e + 6) : get32(e + RSOCK_EP_LEN);
    if (type != RSOCK_ADDR_OK && type != RSOCK_SOCKET_CONNECT) m->socket = get32(b);
  }
  m->type = type;
  m->id = id;
  switch (type) {
  case RSOCK_HELLO:
    m->min_version = get16(b);
    m->max_version = get16(b + 2);
    m->flags = get32(b + 4);
    break;
  case RSOCK_HELLO_OK:
    if (get16(b + 2) != 0) return fail(f, RSOCK_F_RESERVED, id);
    m->version = get16(b);
    m->max_sockets = get32(b + 4);
    m->flags = get32(b + 8);
    break;
  case RSOCK_ERROR: {
    uint32_t e = get32(b);
    if (e == 0 || e > INT32_MAX) return fail(f, RSOCK_F_ERRNO, id);
    m->err = (int32_t)e;
    break;
  }
  case RSOCK_SOCKET:
  case RSOCK_SOCKET_CONNECT: /* its endpoint and flags: above */
    m->family = get16(b);
    m->sock_type = get16(b + 2);
    m->protocol = get32(b + 4);
    break;
  case RSOCK_LISTEN:
    m->socket = get32(b);
    m->backlog = get32(b + 4);
    break;
  case RSOCK_ACCEPT:
    m->socket = get32(b);
    m->flags = get32(b + 4);
    break;
  case RSOCK_SHUTDOWN:
    m->socket = get32(b);
    m->how = get32(b + 4);
    break;
  case RSOCK_SOCKET_OK:
  case RSOCK_CLOSE:
  case RSOCK_GETSOCKNAME:
  case RSOCK_GETPEERNAME:
    m->socket = get32(b);
    break;
  case RSOCK_SETSOCKOPT:
  case RSOCK_GETSOCKOPT:
    m->socket = get32(b);
    m->level = get32(b + 4);
    m->name = get32(b + 8);
    if (type == RSOCK_GETSOCKOPT) m->max_len = get32(b + 12);
    break;
  case RSOCK_ATTACH_OK:
    m->socket = get32(b);
    m->family = get16(b + 4);
    m->sock_type = get16(b + 6);
    m->protocol = get32(b + 8);
    m->state = get32(b + 12);
    break;
  default: /* RSOCK_OK, RSOCK_ATTACH, RSOCK_OPT_OK: nothing fixed; the endpoint types: done above */
    break;
  }
  return 0;
}

/* A version-1 message's endpoint, from addr/port, in ep. */
static void ep_from_v1(struct rsock_msg *c) {
  if (!has_ep(c->type)) return;
  memset(&c->ep, 0, sizeof c->ep);
  c->ep.family = RSOCK_AF_INET;
  memcpy(c->ep.addr, c->addr, 4);
  c->ep.port = c->port;
}

size_t rsock_encode(const struct rsock_msg *m, uint8_t *out, size_t cap) {
  struct rsock_msg c = *m;
  ep_from_v1(&c);
  return rsock_encode_v(&c, RSOCK_VERSION, out, cap);
}

size_t rsock_encode_v(const struct rsock_msg *m, uint16_t version, uint8_t *out, size_t cap) {
  if (version != 1 && version != 2) return 0;
  const struct layout *l = layout_of(m->type, version);
  if (l == NULL) return 0;
  size_t var_len = l->var_at >= 0 ? m->data.len : 0;
  size_t total = RSOCK_HEADER_LEN + fixed_len(l, version) + var_len;
  if (total > cap || total > RSOCK_MAX_MESSAGE) return 0;
  if (var_len > 0 && m->data.ptr == NULL) return 0;
  if (l->text && !rsock_utf8_valid(m->data.ptr, var_len)) return 0;
  if (version == 1 && m->type == RSOCK_CONNECT && m->flags > 0xffff) return 0;
  if (m->type == RSOCK_ERROR && m->err <= 0) return 0;
  if (has_ep(m->type) && (!ep_valid(&m->ep) || (version == 1 && m->ep.family != RSOCK_AF_INET))) return 0;
  memset(out, 0, total);
  memcpy(out, MAGIC, 4);
  put16(out + 4, version);
  put16(out + 6, m->type);
  put32(out + 8, m->id);
  put32(out + 12, (uint32_t)(total - RSOCK_HEADER_LEN));
  uint8_t *b = out + RSOCK_HEADER_LEN;
  if (l->var_at >= 0) {
    put16(b + l->var_at, (uint16_t)var_len);
    if (var_len > 0) memcpy(b + l->var_at + 2, m->data.ptr, var_len);
  }
  switch (m->type) {
  case RSOCK_HELLO:
    put16(b, m->min_version);
    put16(b + 2, m->max_version);
    put32(b + 4, m->flags);
    break;
  case RSOCK_HELLO_OK:
    put16(b, m->version);
    put32(b + 4, m->max_sockets);
    put32(b + 8, m->flags);
    break;
  case RSOCK_ERROR:
    put32(b, (uint32_t)m->err);
    break;
  case RSOCK_SOCKET:
    put16(b, m->family);
    put16(b + 2, m->sock_type);
    put32(b + 4, m->protocol);
    break;
  case RSOCK_SOCKET_CONNECT: /* version 2 only (layout_of) */
    put16(b, m->family);
    put16(b + 2, m->sock_type);
    put32(b + 4, m->protocol);
    rsock_ep_encode(&m->ep, b + 8);
    put32(b + 8 + RSOCK_EP_LEN, m->flags);
    break;
  case RSOCK_BIND:
  case RSOCK_CONNECT:
  case RSOCK_ACCEPT_OK:
  case RSOCK_ADDR_OK: {
    uint8_t *e = b + ep_at(m->type);
    if (m->type != RSOCK_ADDR_OK) put32(b, m->socket);
    if (version == 1) {
      memcpy(e, m->ep.addr, 4);
      put16(e + 4, m->ep.port);
      if (m->type == RSOCK_CONNECT) put16(e + 6, (uint16_t)m->flags);
    } else {
      rsock_ep_encode(&m->ep, e);
      if (m->type == RSOCK_CONNECT) put32(e + RSOCK_EP_LEN, m->flags);
    }
    break;
  }
  case RSOCK_LISTEN:
    put32(b, m->socket);
    put32(b + 4, m->backlog);
    break;
  case RSOCK_ACCEPT:
    put32(b, m->socket);
    put32(b + 4, m->flags);
    break;
  case RSOCK_SHUTDOWN:
    put32(b, m->socket);
    put32(b + 4, m->how);
    break;
  case RSOCK_SOCKET_OK:
  case RSOCK_CLOSE:
  case RSOCK_GETSOCKNAME:
  case RSOCK_GETPEERNAME:
    put32(b, m->socket);
    break;
  case RSOCK_SETSOCKOPT:
  case RSOCK_GETSOCKOPT:
    put32(b, m->socket);
    put32(b + 4, m->level);
    put32(b + 8, m->name);
    if (m->type == RSOCK_GETSOCKOPT) put32(b + 12, m->max_len);
    break;
  case RSOCK_ATTACH_OK:
    put32(b, m->socket);
    put16(b + 4, m->family);
    put16(b + 6, m->sock_type);
    put32(b + 8, m->protocol);
    put32(b + 12, m->state);
    break;
  default:
    break;
  }
  return total;
}

/* Appends to a description line, remembering the full length snprintf would have needed. */
struct line {
  char *out;
  size_t cap;
  size_t len;
};

static void add(struct line *ln, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void add(struct line *ln, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *at = ln->len < ln->cap ? ln->out + ln->len : NULL;
  size_t room = ln->len < ln->cap ? ln->cap - ln->len : 0;
  int n = vsnprintf(at, room, fmt, ap);
  va_end(ap);
  if (n > 0) ln->len += (size_t)n;
}

static void add_ep(struct line *ln, const char *key, const uint8_t a[4], uint16_t port) {
  add(ln, " %s=%u.%u.%u.%u:%u", key, a[0], a[1], a[2], a[3], port);
}

/* RFC 5952 §4: lowercase hex without leading zeros, the first longest run of two or more zero groups
 * as "::"; IPv4-mapped addresses end in a dotted quad (§5). As formatAddr6 in the TS codec. */
static void add_addr6(struct line *ln, const uint8_t *a) {
  if (all_zero(a, 10) && a[10] == 0xff && a[11] == 0xff) {
    add(ln, "::ffff:%u.%u.%u.%u", a[12], a[13], a[14], a[15]);
    return;
  }
  int best = -1, best_len = 1, run = -1;
  for (int i = 0; i <= 8; i++) {
    if (i < 8 && a[2 * i] == 0 && a[2 * i + 1] == 0) {
      if (run < 0) run = i;
    } else if (run >= 0) {
      if (i - run > best_len) {
        best = run;
        best_len = i - run;
      }
      run = -1;
    }
  }
  int need_colon = 0;
  for (int i = 0; i < 8; i++) {
    if (i == best) {
      add(ln, "::");
      i += best_len - 1;
      need_colon = 0;
      continue;
    }
    add(ln, need_colon ? ":%x" : "%x", (unsigned)(a[2 * i] << 8 | a[2 * i + 1]));
    need_colon = 1;
  }
}

static void add_ep2(struct line *ln, const struct rsock_ep *ep) {
  switch (ep->family) {
  case RSOCK_AF_INET:
    add(ln, "%u.%u.%u.%u:%u", ep->addr[0], ep->addr[1], ep->addr[2], ep->addr[3], ep->port);
    break;
  case RSOCK_AF_INET6:
    add(ln, "[");
    add_addr6(ln, ep->addr);
    if (ep->scope_id != 0) add(ln, "%%%u", ep->scope_id);
    add(ln, "]:%u", ep->port);
    if (ep->flowinfo != 0) add(ln, ",flowinfo=%u", ep->flowinfo);
    break;
  case RSOCK_AF_UNSPEC:
    add(ln, "unspec");
    break;
  default:
    add(ln, "family%u", ep->family);
    break;
  }
}

static void add_kv_ep(struct line *ln, const char *key, const struct rsock_ep *ep) {
  add(ln, " %s=", key);
  add_ep2(ln, ep);
}

int rsock_ep_format(const struct rsock_ep *ep, char *out, size_t cap) {
  struct line ln = {out, cap, 0};
  if (cap > 0) out[0] = '\0';
  add_ep2(&ln, ep);
  return (int)ln.len;
}

static void add_hex(struct line *ln, const char *key, const uint8_t *p, size_t n) {
  add(ln, " %s=", key);
  if (n == 0) add(ln, "-");
  for (size_t i = 0; i < n; i++) add(ln, "%02x", p[i]);
}

static const char *kind_name(uint16_t type) {
  switch (type) {
  case RSOCK_HELLO: return "hello";
  case RSOCK_SOCKET: return "socket";
  case RSOCK_BIND: return "bind";
  case RSOCK_CONNECT: return "connect";
  case RSOCK_LISTEN: return "listen";
  case RSOCK_ACCEPT: return "accept";
  case RSOCK_SHUTDOWN: return "shutdown";
  case RSOCK_CLOSE: return "close";
  case RSOCK_GETSOCKNAME: return "getsockname";
  case RSOCK_GETPEERNAME: return "getpeername";
  case RSOCK_SETSOCKOPT: return "setsockopt";
  case RSOCK_GETSOCKOPT: return "getsockopt";
  case RSOCK_ATTACH: return "attach";
  case RSOCK_SOCKET_CONNECT: return "socket-connect";
  case RSOCK_OK: return "ok";
  case RSOCK_ERROR: return "error";
  case RSOCK_HELLO_OK: return "hello-ok";
  case RSOCK_SOCKET_OK: return "socket-ok";
  case RSOCK_ACCEPT_OK: return "accept-ok";
  case RSOCK_ADDR_OK: return "addr-ok";
  case RSOCK_OPT_OK: return "opt-ok";
  case RSOCK_ATTACH_OK: return "attach-ok";
  }
  return "unknown";
}

int rsock_describe(const struct rsock_msg *m, char *out, size_t cap) {
  struct rsock_msg c = *m;
  ep_from_v1(&c);
  return rsock_describe_v(&c, RSOCK_VERSION, out, cap);
}

int rsock_describe_v(const struct rsock_msg *m, uint16_t version, char *out, size_t cap) {
  struct line ln = {out, cap, 0};
  if (cap > 0) out[0] = '\0';
  add(&ln, "%s v=%u id=%u", kind_name(m->type), version, m->id);
  int text_len = m->data.len;
  const char *text = (const char *)m->data.ptr;
  switch (m->type) {
  case RSOCK_HELLO:
    add(&ln, " min=%u max=%u flags=%u name=\"%.*s\"", m->min_version, m->max_version, m->flags, text_len,
        text ? text : "");
    break;
  case RSOCK_HELLO_OK:
    add(&ln, " version=%u max-sockets=%u flags=%u vr=\"%.*s\"", m->version, m->max_sockets, m->flags,
        text_len, text ? text : "");
    break;
  case RSOCK_ERROR:
    add(&ln, " errno=%d message=\"%.*s\"", m->err, text_len, text ? text : "");
    break;
  case RSOCK_SOCKET:
    add(&ln, " family=%u type=%u protocol=%u", m->family, m->sock_type, m->protocol);
    break;
  case RSOCK_SOCKET_OK:
  case RSOCK_CLOSE:
  case RSOCK_GETSOCKNAME:
  case RSOCK_GETPEERNAME:
    add(&ln, " socket=%u", m->socket);
    break;
  case RSOCK_BIND:
    add(&ln, " socket=%u", m->socket);
    add_kv_ep(&ln, "local", &m->ep);
    break;
  case RSOCK_CONNECT:
    add(&ln, " socket=%u", m->socket);
    add_kv_ep(&ln, "remote", &m->ep);
    add(&ln, " flags=%u", m->flags);
    break;
  case RSOCK_SOCKET_CONNECT:
    add(&ln, " family=%u type=%u protocol=%u", m->family, m->sock_type, m->protocol);
    add_kv_ep(&ln, "remote", &m->ep);
    add(&ln, " flags=%u", m->flags);
    break;
  case RSOCK_LISTEN:
    add(&ln, " socket=%u backlog=%u", m->socket, m->backlog);
    break;
  case RSOCK_ACCEPT:
    add(&ln, " socket=%u flags=%u", m->socket, m->flags);
    break;
  case RSOCK_ACCEPT_OK:
    add(&ln, " socket=%u", m->socket);
    add_kv_ep(&ln, "peer", &m->ep);
    break;
  case RSOCK_SHUTDOWN:
    add(&ln, " socket=%u how=%u", m->socket, m->how);
    break;
  case RSOCK_ADDR_OK:
    add_kv_ep(&ln, "ep", &m->ep);
    break;
  case RSOCK_SETSOCKOPT:
    add(&ln, " socket=%u level=%u name=%u", m->socket, m->level, m->name);
    add_hex(&ln, "value", m->data.ptr, m->data.len);
    break;
  case RSOCK_GETSOCKOPT:
    add(&ln, " socket=%u level=%u name=%u max-len=%u", m->socket, m->level, m->name, m->max_len);
    break;
  case RSOCK_OPT_OK:
    add_hex(&ln, "value", m->data.ptr, m->data.len);
    break;
  case RSOCK_ATTACH_OK:
    add(&ln, " socket=%u family=%u type=%u protocol=%u state=%u", m->socket, m->family, m->sock_type,
        m->protocol, m->state);
    break;
  default:
    break;
  }
  return (int)ln.len;
}

int rsock_dgram_decode(const uint8_t *buf, size_t len, struct rsock_dgram *h) {
  if (len < RSOCK_DGRAM_HEADER_LEN) return RSOCK_DGRAM_SHORT;
  if (get16(buf) != RSOCK_DGRAM_HEADER_LEN) return RSOCK_DGRAM_HEADER_LENGTH_WRONG;
  uint16_t flags = get16(buf + 2);
  if ((flags & ~RSOCK_DGRAM_PKTINFO) != 0 || get16(buf + 10) != 0) return RSOCK_DGRAM_RESERVED;
  h->flags = flags;
  memcpy(h->peer, buf + 4, 4);
  h->peer_port = get16(buf + 8);
  h->ifindex = get32(buf + 12);
  memcpy(h->local, buf + 16, 4);
  return RSOCK_DGRAM_HEADER_LEN;
}

size_t rsock_dgram_encode(const struct rsock_dgram *h, uint8_t *out, size_t cap) {
  if (cap < RSOCK_DGRAM_HEADER_LEN || (h->flags & ~RSOCK_DGRAM_PKTINFO) != 0) return 0;
  put16(out, RSOCK_DGRAM_HEADER_LEN);
  put16(out + 2, h->flags);
  memcpy(out + 4, h->peer, 4);
  put16(out + 8, h->peer_port);
  put16(out + 10, 0);
  put32(out + 12, h->ifindex);
  memcpy(out + 16, h->local, 4);
  return RSOCK_DGRAM_HEADER_LEN;
}

int rsock_dgram_describe(const struct rsock_dgram *h, const uint8_t *payload, size_t payload_len, char *out,
                         size_t cap) {
  struct line ln = {out, cap, 0};
  if (cap > 0) out[0] = '\0';
  add(&ln, "dgram flags=%u", h->flags);
  add_ep(&ln, "peer", h->peer, h->peer_port);
  add(&ln, " ifindex=%u local=%u.%u.%u.%u", h->ifindex, h->local[0], h->local[1], h->local[2], h->local[3]);
  add_hex(&ln, "payload", payload, payload_len);
  return (int)ln.len;
}

int rsock_dgram2_decode(const uint8_t *buf, size_t len, struct rsock_dgram2 *h) {
  if (len < RSOCK_DGRAM2_HEADER_LEN) return RSOCK_DGRAM_SHORT;
  if (get16(buf) != RSOCK_DGRAM2_HEADER_LEN) return RSOCK_DGRAM_HEADER_LENGTH_WRONG;
  uint16_t flags = get16(buf + 2);
  if ((flags & ~RSOCK_DGRAM_PKTINFO) != 0) return RSOCK_DGRAM_RESERVED;
  uint32_t ifindex = get32(buf + 4);
  int rc = rsock_ep_decode(buf + 8, &h->peer);
  if (rc == 0) rc = rsock_ep_decode(buf + 8 + RSOCK_EP_LEN, &h->local);
  if (rc != 0) return rc == RSOCK_EP_BAD_FAMILY ? RSOCK_DGRAM_FAMILY : RSOCK_DGRAM_RESERVED;
  /* Without PKTINFO, ifindex and local are reserved: zero (local then decodes as AF_UNSPEC). */
  if (flags == 0 && (ifindex != 0 || h->local.family != RSOCK_AF_UNSPEC)) return RSOCK_DGRAM_RESERVED;
  h->flags = flags;
  h->ifindex = ifindex;
  return RSOCK_DGRAM2_HEADER_LEN;
}

size_t rsock_dgram2_encode(const struct rsock_dgram2 *h, uint8_t *out, size_t cap) {
  if (cap < RSOCK_DGRAM2_HEADER_LEN || (h->flags & ~RSOCK_DGRAM_PKTINFO) != 0) return 0;
  if (h->flags == 0 && (h->ifindex != 0 || h->local.family != RSOCK_AF_UNSPEC)) return 0;
  if (!ep_valid(&h->peer) || !ep_valid(&h->local)) return 0;
  put16(out, RSOCK_DGRAM2_HEADER_LEN);
  put16(out + 2, h->flags);
  put32(out + 4, h->ifindex);
  rsock_ep_encode(&h->peer, out + 8);
  rsock_ep_encode(&h->local, out + 8 + RSOCK_EP_LEN);
  return RSOCK_DGRAM2_HEADER_LEN;
}

int rsock_dgram2_describe(const struct rsock_dgram2 *h, const uint8_t *payload, size_t payload_len,
                          char *out, size_t cap) {
  struct line ln = {out, cap, 0};
  if (cap > 0) out[0] = '\0';
  add(&ln, "dgram2 flags=%u", h->flags);
  add_kv_ep(&ln, "peer", &h->peer);
  add(&ln, " ifindex=%u", h->ifindex);
  add_kv_ep(&ln, "local", &h->local);
  add_hex(&ln, "payload", payload, payload_len);
  return (int)ln.len;
}

const char *rsock_dgram_fault_name(int reason) {
  switch (reason) {
  case RSOCK_DGRAM_SHORT: return "short";
  case RSOCK_DGRAM_HEADER_LENGTH_WRONG: return "header-length";
  case RSOCK_DGRAM_RESERVED: return "reserved";
  case RSOCK_DGRAM_FAMILY: return "family";
  }
  return "?";
}
