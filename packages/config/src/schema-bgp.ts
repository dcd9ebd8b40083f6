import Type, { type Static } from 'typebox';
import { INTERFACE_NAME, IPV4, IPV6 } from './patterns.ts';

// The structural schema of a router's `bgp` and `policies` sections. What JSON Schema cannot say
// (address arithmetic, names referring to one another, regular expressions) is checked in
// semantic-bgp.ts.

/** A neighbour's name: a plain word, or the neighbour's address written as its name. */
export const NEIGHBOR_NAME = '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,62}$';
/** Policy and prefix-list names; `accept` and `reject` are taken (semantic-bgp.ts refuses them). */
export const POLICY_NAME = '^[A-Za-z][A-Za-z0-9_-]{0,62}$';

const ADDRESS = `^(?:${IPV4}|${IPV6})$`;
const PREFIX = `^(?:${IPV4}/\\d{1,2}|${IPV6}/\\d{1,3})$`;
/** `ASN:VALUE` or a well-known name; the numbers' ranges are checked in semantic-bgp.ts. */
const COMMUNITY =
  '^(?:\\d{1,5}:\\d{1,5}|no-export|no-advertise|no-export-subconfed|blackhole|graceful-shutdown)$';
const LARGE_COMMUNITY = '^\\d{1,10}:\\d{1,10}:\\d{1,10}$';

/** RFC 6793: four-octet AS numbers; AS 0 is reserved (RFC 7607). */
const Asn = (description: string) => Type.Integer({ minimum: 1, maximum: 4294967295, description });
const Uint32 = (description: string) => Type.Integer({ minimum: 0, maximum: 4294967295, description });

const Community = Type.String({
  pattern: COMMUNITY,
  description:
    "an RFC 1997 community 'ASN:VALUE' (each 0..65535) or a well-known name: no-export, no-advertise, no-export-subconfed (RFC 1997), blackhole (RFC 7999), graceful-shutdown (RFC 8326)",
});
const LargeCommunity = Type.String({
  pattern: LARGE_COMMUNITY,
  description: "an RFC 8092 large community 'GLOBAL:LOCAL1:LOCAL2' (each 0..4294967295)",
});

/** One value or a list of them; a list means any of them. */
const OneOrMore = <T extends Type.TSchema>(item: T, description: string) =>
  Type.Union([item, Type.Array(item, { minItems: 1 })], { description });

export const BgpNeighborSchema = Type.Object(
  {
    address: Type.String({
      pattern: ADDRESS,
      description: "the neighbour's IPv4 or IPv6 address (a link-local fe80::… needs `interface`)",
    }),
    interface: Type.Optional(
      Type.String({ pattern: INTERFACE_NAME, description: 'the interface the neighbour is on' }),
    ),
    remoteAs: Asn("the neighbour's AS: the same as `asn` makes an iBGP session"),
    localAddress: Type.Optional(
      Type.String({
        pattern: ADDRESS,
        description: "this router's address for the session, of the neighbour address's family",
      }),
    ),
    passive: Type.Optional(
      Type.Boolean({ description: 'only accept the connection, never open it (false)' }),
    ),
    port: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 65535, description: "the neighbour's TCP port (179)" }),
    ),
    holdTime: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: 65535,
        description: 'proposed hold time, s: 0 (no keepalives) or 3..65535 (90; RFC 4271 §4.2)',
      }),
    ),
    keepalive: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 65535,
        description: 'keepalive interval, s (a third of the negotiated hold time)',
      }),
    ),
    connectRetry: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 65535, description: 'ConnectRetry time, s (120)' }),
    ),
    families: Type.Optional(
      Type.Array(Type.Enum(['ipv4', 'ipv6']), {
        minItems: 1,
        uniqueItems: true,
        description: 'address families offered (RFC 4760); default both',
      }),
    ),
    import: Type.Optional(
      Type.String({
        minLength: 1,
        description:
          'policy for received routes: a name in policies.policies, accept or reject. Absent: an eBGP neighbour imports nothing (RFC 8212), an iBGP one everything',
      }),
    ),
    export: Type.Optional(
      Type.String({
        minLength: 1,
        description:
          'policy for advertised routes: a name in policies.policies, accept or reject. Absent: nothing to an eBGP neighbour (RFC 8212), everything to an iBGP one',
      }),
    ),
    maxPrefixes: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 4294967295,
        description: 'close the session (RFC 4486 Cease) when the neighbour sends more prefixes',
      }),
    ),
    password: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 80,
        description: 'TCP MD5 signature key (RFC 2385), 1..80 octets',
      }),
    ),
    ttlSecurity: Type.Optional(
      Type.Boolean({
        description: 'GTSM (RFC 5082): send with TTL 255, accept only a directly connected neighbour (false)',
      }),
    ),
    routeReflectorClient: Type.Optional(
      Type.Boolean({ description: 'reflect iBGP routes to this iBGP neighbour (RFC 4456) (false)' }),
    ),
    nextHopSelf: Type.Optional(
      Type.Boolean({ description: 'advertise our own address as next hop to this neighbour (false)' }),
    ),
    bfd: Type.Optional(
      Type.Boolean({
        description:
          'a BFD session to a directly connected neighbour (timers in `bfd`); BFD Down ends the BGP session (false)',
      }),
    ),
  },
  { additionalProperties: false, description: 'one BGP neighbour' },
);

export const BgpSchema = Type.Object(
  {
    asn: Asn('the local AS number, 1..4294967295 (RFC 6793)'),
    routerId: Type.Optional(
      Type.String({
        pattern: `^${IPV4}$`,
        description:
          'BGP Identifier (RFC 6286), dotted like an IPv4 address, not 0.0.0.0; default the highest IPv4 interface address of the router',
      }),
    ),
    clusterId: Type.Optional(
      Type.String({
        pattern: `^${IPV4}$`,
        description: 'route reflection CLUSTER_ID (RFC 4456 §7), dotted; default the router id',
      }),
    ),
    listen: Type.Optional(Type.Boolean({ description: 'accept connections on TCP port 179 (true)' })),
    gracefulRestart: Type.Optional(
      Type.Object(
        {
          enabled: Type.Optional(
            Type.Boolean({
              description:
                'send the capability and keep a restarting neighbour’s routes (the Receiving Speaker, RFC 4724 §4.2) (true, as FRR’s default helper mode)',
            }),
          ),
          restart: Type.Optional(
            Type.Boolean({
              description:
                'also the Restarting Speaker (§4.1, FRR’s `bgp graceful-restart`): neighbours keep our routes while this VR restarts, which defers its route selection after a restart (false)',
            }),
          ),
          restartTime: Type.Optional(
            Type.Integer({
              minimum: 1,
              maximum: 4095,
              description: 'Restart Time advertised, s: how long neighbours keep our routes (120)',
            }),
          ),
          staleTime: Type.Optional(
            Type.Integer({
              minimum: 1,
              maximum: 4095,
              description: 'how long a restarted neighbour’s stale routes wait for its End-of-RIB, s (360)',
            }),
          ),
          selectionDeferralTime: Type.Optional(
            Type.Integer({
              minimum: 1,
              maximum: 3600,
              description: 'after our restart, the longest wait for the neighbours’ End-of-RIB, s (360)',
            }),
          ),
        },
        { additionalProperties: false, description: 'BGP graceful restart (RFC 4724)' },
      ),
    ),
    networks: Type.Optional(
      Type.Array(Type.String({ pattern: PREFIX, description: 'an IPv4 or IPv6 prefix like 10.1.0.0/24' }), {
        description: 'prefixes this router originates',
      }),
    ),
    redistribute: Type.Optional(
      Type.Array(Type.Enum(['connected', 'static']), {
        uniqueItems: true,
        description: 'also originate the connected subnets and/or the static routes',
      }),
    ),
    neighbors: Type.Optional(
      Type.Record(Type.String({ pattern: NEIGHBOR_NAME }), BgpNeighborSchema, {
        additionalProperties: false,
        description: 'BGP neighbours by name',
      }),
    ),
  },
  { additionalProperties: false, description: 'BGP-4 (RFC 4271) on this router' },
);

export const PrefixListEntrySchema = Type.Union(
  [
    Type.String({
      minLength: 1,
      description: "a prefix, maybe with 'ge N' and/or 'le N', like '10.0.0.0/8 le 24'",
    }),
    Type.Object(
      {
        prefix: Type.String({ pattern: PREFIX, description: 'an IPv4 or IPv6 prefix' }),
        ge: Type.Optional(Type.Integer({ minimum: 0, maximum: 128, description: 'shortest length matched' })),
        le: Type.Optional(Type.Integer({ minimum: 0, maximum: 128, description: 'longest length matched' })),
      },
      { additionalProperties: false },
    ),
  ],
  {
    description:
      'a prefix and the lengths it matches: exactly its own without ge and le; ge N alone: N..32 (128); le N alone: its own..N',
  },
);

export const PolicyMatchSchema = Type.Object(
  {
    prefixList: Type.Optional(
      OneOrMore(
        Type.String({ pattern: POLICY_NAME }),
        'the prefix lies in a prefix list (of several: in any)',
      ),
    ),
    asPath: Type.Optional(
      OneOrMore(
        Type.String({ minLength: 1 }),
        "a regular expression over the AS path as space-separated numbers, '_' meaning start, end or a separator as in FRR (of several: any matches)",
      ),
    ),
    community: Type.Optional(OneOrMore(Community, 'the route carries the community (of several: any)')),
    largeCommunity: Type.Optional(
      OneOrMore(LargeCommunity, 'the route carries the large community (of several: any)'),
    ),
    family: Type.Optional(Type.Enum(['ipv4', 'ipv6'], { description: 'the address family of the prefix' })),
  },
  { additionalProperties: false, description: 'all the conditions given must hold; none: every route' },
);

export const PolicySetSchema = Type.Object(
  {
    localPref: Type.Optional(Uint32('LOCAL_PREF (RFC 4271 §5.1.5)')),
    med: Type.Optional(Uint32('MULTI_EXIT_DISC (RFC 4271 §5.1.4)')),
    addCommunities: Type.Optional(Type.Array(Community, { description: 'communities to add' })),
    removeCommunities: Type.Optional(Type.Array(Community, { description: 'communities to remove' })),
    addLargeCommunities: Type.Optional(
      Type.Array(LargeCommunity, { description: 'large communities to add' }),
    ),
    removeLargeCommunities: Type.Optional(
      Type.Array(LargeCommunity, { description: 'large communities to remove' }),
    ),
    prependAs: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 32, description: 'prepend the local AS this many times' }),
    ),
    nextHop: Type.Optional(
      Type.String({
        pattern: ADDRESS,
        description: 'the next hop: IPv4 sets NEXT_HOP, IPv6 the MP_REACH_NLRI next hop (RFC 4760)',
      }),
    ),
  },
  { additionalProperties: false, description: 'what to change in a matching route' },
);

export const PolicyTermSchema = Type.Object(
  {
    match: Type.Optional(PolicyMatchSchema),
    set: Type.Optional(PolicySetSchema),
    // biome-ignore lint/suspicious/noThenProperty: the config word (FRR's and BIRD's); this object is a schema, never awaited
    then: Type.Optional(
      Type.Enum(['accept', 'reject', 'next'], {
        description:
          'after a match: accept (the default) or reject the route, or go on to the next term with the changes made',
      }),
    ),
  },
  { additionalProperties: false, description: 'one term; terms are tried in order' },
);

export const PoliciesSchema = Type.Object(
  {
    prefixLists: Type.Optional(
      Type.Record(Type.String({ pattern: POLICY_NAME }), Type.Array(PrefixListEntrySchema), {
        additionalProperties: false,
        description: 'named lists of prefixes; a prefix matches a list when it matches any entry',
      }),
    ),
    policies: Type.Optional(
      Type.Record(Type.String({ pattern: POLICY_NAME }), Type.Array(PolicyTermSchema), {
        additionalProperties: false,
        description:
          'named routing policies: the first term that matches decides; a route no term accepts is rejected',
      }),
    ),
  },
  { additionalProperties: false, description: 'routing policies for BGP import and export' },
);

export type RawBgp = Static<typeof BgpSchema>;
export type RawBgpNeighbor = Static<typeof BgpNeighborSchema>;
export type RawPolicies = Static<typeof PoliciesSchema>;
export type RawPolicyTerm = Static<typeof PolicyTermSchema>;
