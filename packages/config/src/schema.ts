import Type, { type Static } from 'typebox';
import { INTERFACE_NAME, IPV4, IPV6 } from './patterns.ts';
import { BfdSchema } from './schema-bfd.ts';
import { BgpSchema, PoliciesSchema } from './schema-bgp.ts';
import { Ospf6Schema, OspfSchema } from './schema-ospf.ts';
import { RipngSchema, RipSchema } from './schema-rip.ts';

export { INTERFACE_NAME };

// The structural schema of the config file. It is published as JSON Schema (configJsonSchema), so
// every constraint that JSON Schema can say lives here; what it cannot say (address arithmetic,
// cross-references, uniqueness) is checked in semantic.ts.

export const DEVICE_NAME = '^[A-Za-z0-9_][A-Za-z0-9_.-]{0,14}$';
/** A router name becomes a file name, so it is kept short and plain. */
export const ROUTER_NAME = '^[a-z][a-z0-9-]{0,14}$';

export const DriverSchema = Type.Enum(['afpacket', 'tap', 'pipe'], {
  description: 'interface driver',
});

const Seconds = (minimum: number, maximum: number, description: string) =>
  Type.Integer({ minimum, maximum, description });

/** RFC 4861 §6.2.1 router configuration variables, RFC 8106 §5.1 DNS servers. */
export const RaSchema = Type.Object(
  {
    interval: Type.Optional(
      Seconds(4, 1800, 'MaxRtrAdvInterval: longest time between advertisements, s (600)'),
    ),
    minInterval: Type.Optional(Seconds(3, 1350, 'MinRtrAdvInterval: shortest, s (a third of interval)')),
    lifetime: Type.Optional(
      Seconds(0, 9000, 'router lifetime, s: 0 = not a default router; default 3 × interval'),
    ),
    managed: Type.Optional(Type.Boolean({ description: 'M flag: addresses from DHCPv6 (false)' })),
    otherConfig: Type.Optional(Type.Boolean({ description: 'O flag: other settings from DHCPv6 (false)' })),
    mtu: Type.Optional(Type.Integer({ minimum: 1280, maximum: 9000, description: 'MTU option (none)' })),
    hopLimit: Type.Optional(Type.Integer({ minimum: 0, maximum: 255, description: 'cur hop limit (64)' })),
    reachableTime: Type.Optional(
      Type.Integer({ minimum: 0, maximum: 3600000, description: 'ms, 0 = unspecified' }),
    ),
    retransTimer: Type.Optional(
      Type.Integer({ minimum: 0, maximum: 4294967295, description: 'ms, 0 = unspecified' }),
    ),
    prefixes: Type.Optional(
      Type.Array(
        Type.Object(
          {
            prefix: Type.String({
              pattern: `^${IPV6}/\\d{1,3}$`,
              description: 'an IPv6 prefix like 2001:db8:1::/64',
            }),
            onLink: Type.Optional(Type.Boolean({ description: 'L flag (true)' })),
            autonomous: Type.Optional(Type.Boolean({ description: 'A flag: hosts form addresses (true)' })),
            validLifetime: Type.Optional(Seconds(0, 4294967295, 's (2592000; 4294967295 = infinite)')),
            preferredLifetime: Type.Optional(Seconds(0, 4294967295, 's (604800)')),
          },
          { additionalProperties: false },
        ),
        {
          description:
            'prefixes to advertise; default: every global IPv6 subnet of the interface, on-link, autonomous when a /64',
        },
      ),
    ),
    dns: Type.Optional(
      Type.Array(Type.String({ pattern: `^${IPV6}$` }), {
        maxItems: 8,
        description: 'recursive DNS servers (RFC 8106 RDNSS option)',
      }),
    ),
    dnsLifetime: Type.Optional(Seconds(0, 4294967295, 's (2 × interval)')),
  },
  {
    additionalProperties: false,
    description: 'send IPv6 Router Advertisements on this interface (RFC 4861 §6); absent: none are sent',
  },
);

export const InterfaceSchema = Type.Object(
  {
    driver: DriverSchema,
    device: Type.Optional(
      Type.String({
        pattern: DEVICE_NAME,
        description: 'a kernel interface name of at most 15 letters, digits, _ . or -',
      }),
    ),
    addresses: Type.Optional(
      Type.Array(
        Type.String({
          pattern: `^(?:${IPV4}/\\d{1,2}|${IPV6}/\\d{1,3})$`,
          description:
            'an IPv4 or IPv6 address with prefix length, like 10.1.0.1/24 or 2001:db8:1::1/64 (every interface also gets an IPv6 link-local address of its own)',
        }),
      ),
    ),
    // RFC 791: every internet module must be able to forward a datagram of 68 octets.
    mtu: Type.Optional(Type.Integer({ minimum: 68, maximum: 9000, description: 'MTU in bytes' })),
    mac: Type.Optional(
      Type.String({
        pattern: '^[0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2}){5}$',
        description: 'a MAC address like 02:00:00:00:00:01',
      }),
    ),
    promiscuous: Type.Optional(Type.Boolean({ default: true })),
    ra: Type.Optional(RaSchema),
    ringSlots: Type.Optional(
      Type.Integer({
        minimum: 256,
        maximum: 262144,
        description:
          'afpacket: receive ring slots, one frame each (default 65536, 128 MiB at MTU 1500); a power of two',
      }),
    ),
  },
  { additionalProperties: false },
);

export const RouteSchema = Type.Object(
  {
    prefix: Type.String({
      pattern: `^(?:${IPV4}/\\d{1,2}|${IPV6}/\\d{1,3})$`,
      description: 'an IPv4 or IPv6 prefix like 10.99.0.0/16 or 2001:db8:99::/48',
    }),
    via: Type.Optional(
      Type.String({
        pattern: `^(?:${IPV4}|${IPV6})$`,
        description:
          'the gateway, of the prefix’s family: 10.2.0.2, 2001:db8:2::2, or a link-local fe80::… with `interface`',
      }),
    ),
    interface: Type.Optional(Type.String({ pattern: INTERFACE_NAME, description: 'an interface name' })),
    blackhole: Type.Optional(Type.Literal(true)),
    reject: Type.Optional(Type.Literal(true)),
    distance: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 255, description: 'administrative distance' }),
    ),
  },
  { additionalProperties: false },
);

export const ServicesSchema = Type.Object(
  {
    echo: Type.Optional(Type.Boolean({ default: false })),
    discard: Type.Optional(Type.Boolean({ default: false })),
    chargen: Type.Optional(Type.Boolean({ default: false })),
  },
  { additionalProperties: false },
);

const IdList = Type.Array(Type.Integer({ minimum: 0, maximum: 4294967294 }), { uniqueItems: true });

export const AccessSchema = Type.Object(
  {
    uids: Type.Optional(IdList),
    gids: Type.Optional(IdList),
    privilegedPorts: Type.Optional(
      Type.Object(
        { uids: Type.Optional(IdList), gids: Type.Optional(IdList) },
        { additionalProperties: false, description: 'who may bind ports below 1024 besides uid 0' },
      ),
    ),
  },
  { additionalProperties: false, description: 'who may use the remote socket API (default: root only)' },
);

export const QuotasSchema = Type.Object(
  {
    clientSockets: Type.Optional(Type.Integer({ minimum: 1, maximum: 1048576 })),
    clientBufferedBytes: Type.Optional(Type.Integer({ minimum: 65536 })),
    sockets: Type.Optional(Type.Integer({ minimum: 1, maximum: 1048576 })),
    bufferedBytes: Type.Optional(Type.Integer({ minimum: 65536 })),
    clientConnections: Type.Optional(Type.Integer({ minimum: 1, maximum: 65536 })),
    connections: Type.Optional(Type.Integer({ minimum: 1, maximum: 65536 })),
  },
  { additionalProperties: false, description: 'limits of the remote socket API; a client is a uid' },
);

export const RouterSchema = Type.Object(
  {
    interfaces: Type.Record(Type.String({ pattern: INTERFACE_NAME }), InterfaceSchema, {
      additionalProperties: false,
    }),
    routes: Type.Optional(Type.Array(RouteSchema)),
    services: Type.Optional(ServicesSchema),
    access: Type.Optional(AccessSchema),
    quotas: Type.Optional(QuotasSchema),
    bgp: Type.Optional(BgpSchema),
    policies: Type.Optional(PoliciesSchema),
    ospf: Type.Optional(OspfSchema),
    ospf6: Type.Optional(Ospf6Schema),
    bfd: Type.Optional(BfdSchema),
    rip: Type.Optional(RipSchema),
    ripng: Type.Optional(RipngSchema),
    nice: Type.Optional(
      Type.Integer({
        minimum: -20,
        maximum: 19,
        description:
          'scheduling priority of the VR process (Linux niceness, default 0); below 0 puts forwarding ahead of other work',
      }),
    ),
  },
  { additionalProperties: false },
);

export const ManagerSchema = Type.Object(
  {
    api: Type.Optional(
      Type.Object(
        {
          tcp: Type.Optional(
            Type.String({
              pattern: `^${IPV4}:\\d{1,5}$`,
              description:
                'also serve the management API on this IPv4 address:port (bearer token required; TLS required unless the address is in 127.0.0.0/8)',
            }),
          ),
          tokenFile: Type.Optional(
            Type.String({
              minLength: 1,
              description:
                'file holding the bearer token for the TCP listener (required with tcp): mode 0600 or stricter, owned by the user nexthopd runs as or root, at least 128 bits (32 hex digits or 22 base64 characters)',
            }),
          ),
          tls: Type.Optional(
            Type.Object(
              {
                cert: Type.String({
                  minLength: 1,
                  description: 'PEM file of the certificate (and its chain) the TCP listener presents',
                }),
                key: Type.String({
                  minLength: 1,
                  description:
                    'PEM file of the private key: mode 0600 or stricter, owned by the user nexthopd runs as or root',
                }),
              },
              {
                additionalProperties: false,
                description:
                  'serve the TCP listener over TLS (HTTPS); required unless it listens on loopback. Both files are read again at every apply and SIGHUP',
              },
            ),
          ),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false, description: 'the router manager (nexthopd) itself' },
);

export const ConfigSchema = Type.Object(
  {
    manager: Type.Optional(ManagerSchema),
    routers: Type.Record(Type.String({ pattern: ROUTER_NAME }), RouterSchema, {
      additionalProperties: false,
    }),
  },
  { additionalProperties: false },
);

export type RawConfig = Static<typeof ConfigSchema>;
export type RawRouter = Static<typeof RouterSchema>;
export type RawManager = Static<typeof ManagerSchema>;
export type RawInterface = Static<typeof InterfaceSchema>;
export type RawRoute = Static<typeof RouteSchema>;
