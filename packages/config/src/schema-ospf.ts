import Type, { type Static } from 'typebox';
import { INTERFACE_NAME, IPV4 } from './patterns.ts';

// The structural schema of a router's `ospf` section (OSPFv2, RFC 2328). What JSON Schema cannot
// say (interfaces that exist and have an IPv4 address, one area per interface, dead > hello) is
// checked in semantic-ospf.ts.

/** An area id: dotted (0.0.0.1) or a number (1). */
const AREA_ID = `^(?:${IPV4}|\\d{1,10})$`;

const Seconds = (min: number, max: number, description: string) =>
  Type.Integer({ minimum: min, maximum: max, description });

export const OspfInterfaceSchema = Type.Object(
  {
    cost: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 65535, description: 'the interface output cost (10)' }),
    ),
    priority: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: 255,
        description: 'router priority for the DR election; 0 never becomes DR or BDR (1)',
      }),
    ),
    helloInterval: Type.Optional(Seconds(1, 65535, 'HelloInterval, s (10)')),
    deadInterval: Type.Optional(Seconds(1, 65535, 'RouterDeadInterval, s (4 × helloInterval)')),
    retransmitInterval: Type.Optional(Seconds(1, 65535, 'RxmtInterval, s (5)')),
    transmitDelay: Type.Optional(Seconds(1, 65535, 'InfTransDelay, s (1)')),
    network: Type.Optional(
      Type.Enum(['broadcast', 'point-to-point'], { description: 'the network type (broadcast)' }),
    ),
    passive: Type.Optional(
      Type.Boolean({ description: 'advertise the subnet, but send and accept no Hellos (false)' }),
    ),
    bfd: Type.Optional(
      Type.Boolean({
        description:
          'a BFD session to each neighbour (timers in `bfd`); BFD Down kills the neighbour (false)',
      }),
    ),
    authentication: Type.Optional(
      Type.Union(
        [
          Type.Object(
            {
              simple: Type.String({
                minLength: 1,
                maxLength: 8,
                description: 'a password of up to 8 characters (RFC 2328 §D.2)',
              }),
            },
            { additionalProperties: false },
          ),
          Type.Object(
            {
              md5: Type.Object(
                {
                  keyId: Type.Integer({ minimum: 0, maximum: 255, description: 'the key id' }),
                  key: Type.String({
                    minLength: 1,
                    maxLength: 16,
                    description: 'the key, up to 16 characters',
                  }),
                },
                { additionalProperties: false },
              ),
            },
            { additionalProperties: false },
          ),
        ],
        {
          description:
            'packet authentication: none (absent), simple password, or cryptographic MD5 (RFC 2328 §D.3)',
        },
      ),
    ),
  },
  { additionalProperties: false, description: 'OSPF on one interface of the router' },
);

export const OspfAreaSchema = Type.Object(
  {
    interfaces: Type.Record(Type.String({ pattern: INTERFACE_NAME }), OspfInterfaceSchema, {
      additionalProperties: false,
      description: 'the router interfaces in this area, by name',
    }),
    stub: Type.Optional(
      Type.Boolean({
        description:
          'a stub area (RFC 2328 §3.6): no AS-external LSAs flooded into it; as its ABR, a default summary 0.0.0.0/0 (false)',
      }),
    ),
    defaultCost: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: 16777214,
        description: 'stub areas: the cost of the default summary this router originates into it as ABR (1)',
      }),
    ),
  },
  { additionalProperties: false },
);

export const OspfSchema = Type.Object(
  {
    routerId: Type.Optional(
      Type.String({
        pattern: `^${IPV4}$`,
        description: 'router id, dotted, not 0.0.0.0; default the highest IPv4 interface address',
      }),
    ),
    areas: Type.Record(Type.String({ pattern: AREA_ID }), OspfAreaSchema, {
      additionalProperties: false,
      description: 'areas by id (0 or 0.0.0.0: the backbone)',
    }),
    redistribute: Type.Optional(
      Type.Array(Type.Enum(['connected', 'static']), {
        uniqueItems: true,
        description:
          'bring the connected subnets (not those OSPF runs on) and/or static routes in as AS-external LSAs',
      }),
    ),
    externalMetric: Type.Optional(
      Type.Integer({ minimum: 0, maximum: 16777214, description: 'metric of redistributed routes (20)' }),
    ),
    externalMetricType: Type.Optional(
      Type.Union([Type.Literal(1), Type.Literal(2)], { description: 'external metric type 1 or 2 (2)' }),
    ),
    spf: Type.Optional(
      Type.Object(
        {
          delay: Type.Optional(
            Type.Integer({ minimum: 0, maximum: 600000, description: 'ms from a change to SPF (50)' }),
          ),
          hold: Type.Optional(
            Type.Integer({
              minimum: 0,
              maximum: 600000,
              description: 'least ms between two SPF runs (1000)',
            }),
          ),
        },
        { additionalProperties: false, description: 'SPF throttling' },
      ),
    ),
    lsaInterval: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: 5000,
        description:
          "least ms between two originations of one of our LSAs (RFC 2328 MinLSInterval, 5000; FRR's timers throttle lsa all)",
      }),
    ),
  },
  { additionalProperties: false, description: 'OSPFv2 (RFC 2328)' },
);

/** OSPFv3's interface: as OSPFv2's without authentication (RFC 5340 has none in the packet), with an instance id. */
export const Ospf6InterfaceSchema = Type.Object(
  {
    ...Type.Omit(OspfInterfaceSchema, ['authentication']).properties,
    instanceId: Type.Optional(
      Type.Integer({ minimum: 0, maximum: 255, description: 'the instance id (RFC 5340 §2.4; 0)' }),
    ),
  },
  { additionalProperties: false, description: 'OSPFv3 on one interface of the router' },
);

export const Ospf6Schema = Type.Object(
  {
    ...OspfSchema.properties,
    routerId: Type.Optional(
      Type.String({
        pattern: `^${IPV4}$`,
        description:
          "router id, dotted, not 0.0.0.0; default the ospf section's, else the highest IPv4 interface address",
      }),
    ),
    areas: Type.Record(
      Type.String({ pattern: AREA_ID }),
      Type.Object(
        {
          interfaces: Type.Record(Type.String({ pattern: INTERFACE_NAME }), Ospf6InterfaceSchema, {
            additionalProperties: false,
            description: 'the router interfaces in this area, by name',
          }),
          stub: OspfAreaSchema.properties.stub,
          defaultCost: OspfAreaSchema.properties.defaultCost,
        },
        { additionalProperties: false },
      ),
      { additionalProperties: false, description: 'areas by id (0 or 0.0.0.0: the backbone)' },
    ),
  },
  { additionalProperties: false, description: 'OSPFv3 (RFC 5340): OSPF for IPv6' },
);

export type RawOspf = Static<typeof OspfSchema>;
export type RawOspf6 = Static<typeof Ospf6Schema>;
export type RawOspfInterface = Static<typeof OspfInterfaceSchema>;
