import Type, { type Static } from 'typebox';
import { INTERFACE_NAME } from './patterns.ts';

// The structural schema of a router's `rip` (RIPv2, RFC 2453) and `ripng` (RFC 2080) sections.
// Cross-references (interfaces that exist, timer relations, key lengths) are checked in
// semantic-rip.ts.

const RipKeySchema = Type.Object(
  {
    id: Type.Integer({
      minimum: 0,
      maximum: 255,
      description: 'the Key ID sent and matched (RFC 4822 §3.2)',
    }),
    algorithm: Type.Optional(
      Type.Enum(['md5', 'hmac-sha1', 'hmac-sha256'], {
        description:
          "md5: RFC 2082 keyed MD5, as FRR's `ip rip authentication mode md5`; hmac-sha1 / hmac-sha256: RFC 4822 (md5)",
      }),
    ),
    secret: Type.String({
      minLength: 1,
      maxLength: 255,
      description: 'the shared secret (at most 16 octets for md5)',
    }),
  },
  { additionalProperties: false, description: 'one authentication key' },
);

const interfaceFields = {
  cost: Type.Optional(
    Type.Integer({
      minimum: 1,
      maximum: 15,
      description: 'added to the metric of routes received on this interface (1)',
    }),
  ),
  passive: Type.Optional(
    Type.Boolean({ description: 'receive routes but send nothing on this interface (false)' }),
  ),
  splitHorizon: Type.Optional(
    Type.Enum(['poisoned-reverse', 'simple', 'none'], {
      description:
        'what goes back to the interface a route came from: metric 16 (poisoned-reverse, the default), nothing (simple) or the route (none)',
    }),
  ),
};

const RipInterfaceSchema = Type.Object(
  {
    ...interfaceFields,
    authentication: Type.Optional(
      Type.Array(RipKeySchema, {
        minItems: 1,
        description:
          'keys (RFC 4822): the first signs what is sent, any verifies; unsigned messages are then dropped',
      }),
    ),
  },
  { additionalProperties: false, description: 'RIP on one interface' },
);

const RipngInterfaceSchema = Type.Object(interfaceFields, {
  additionalProperties: false,
  description: 'RIPng on one interface',
});

const Seconds = (description: string) => Type.Integer({ minimum: 1, maximum: 65535, description });

const TimersSchema = Type.Object(
  {
    update: Type.Optional(Seconds('seconds between regular updates (30; sent ±1/6 of it at random)')),
    timeout: Type.Optional(Seconds('seconds a learned route lives without a refresh (180)')),
    garbage: Type.Optional(Seconds('seconds a deleted route is still advertised as unreachable (120)')),
  },
  { additionalProperties: false, description: 'RFC 2453 §3.8 timers' },
);

const common = {
  timers: Type.Optional(TimersSchema),
  redistribute: Type.Optional(
    Type.Array(Type.Enum(['connected', 'static', 'bgp']), {
      uniqueItems: true,
      description:
        'also advertise the connected networks of other interfaces, static routes and/or BGP routes (the RIP interfaces’ own networks always are)',
    }),
  ),
  defaultMetric: Type.Optional(
    Type.Integer({ minimum: 1, maximum: 15, description: 'metric of what we advertise ourselves (1)' }),
  ),
};

export const RipSchema = Type.Object(
  {
    interfaces: Type.Record(Type.String({ pattern: INTERFACE_NAME }), RipInterfaceSchema, {
      additionalProperties: false,
      description: 'the interfaces RIP runs on, by name',
    }),
    ...common,
  },
  { additionalProperties: false, description: 'RIPv2 (RFC 2453) on this router' },
);

export const RipngSchema = Type.Object(
  {
    interfaces: Type.Record(Type.String({ pattern: INTERFACE_NAME }), RipngInterfaceSchema, {
      additionalProperties: false,
      description: 'the interfaces RIPng runs on, by name',
    }),
    ...common,
  },
  { additionalProperties: false, description: 'RIPng (RFC 2080) on this router' },
);

export type RawRip = Static<typeof RipSchema>;
export type RawRipng = Static<typeof RipngSchema>;
