import Type, { type Static } from 'typebox';
import { INTERFACE_NAME, IPV4, IPV6 } from './patterns.ts';

// The structural schema of a router's `bfd` section (RFC 5880/5881, single hop): the timers of
// every session, and overrides per interface and per peer. Sessions themselves come from their
// clients (`bfd: true` on a BGP neighbour or an OSPF interface). semantic-bfd.ts checks the rest.

const Ms = (description: string) => Type.Integer({ minimum: 10, maximum: 60000, description });

export const BfdParamsSchema = Type.Object(
  {
    interval: Type.Optional(
      Ms('ms: both our Desired Min TX and Required Min RX intervals (300); the two below override it'),
    ),
    transmitInterval: Type.Optional(Ms('ms: Desired Min TX Interval once Up')),
    receiveInterval: Type.Optional(Ms('ms: Required Min RX Interval')),
    multiplier: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 255, description: 'Detect Mult: packets missed before Down (3)' }),
    ),
    authentication: Type.Optional(
      Type.Object(
        {
          type: Type.Enum(['simple', 'keyed-md5', 'meticulous-md5', 'keyed-sha1', 'meticulous-sha1'], {
            description: 'RFC 5880 §6.7',
          }),
          keyId: Type.Integer({ minimum: 0, maximum: 255 }),
          key: Type.String({
            minLength: 1,
            maxLength: 20,
            description: 'password (simple, up to 16), MD5 key (up to 16) or SHA1 key (up to 20)',
          }),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);

export const BfdSchema = Type.Object(
  {
    interval: BfdParamsSchema.properties.interval,
    transmitInterval: BfdParamsSchema.properties.transmitInterval,
    receiveInterval: BfdParamsSchema.properties.receiveInterval,
    multiplier: BfdParamsSchema.properties.multiplier,
    authentication: BfdParamsSchema.properties.authentication,
    interfaces: Type.Optional(
      Type.Record(Type.String({ pattern: INTERFACE_NAME }), BfdParamsSchema, {
        additionalProperties: false,
        description: 'timers of the sessions on an interface',
      }),
    ),
    peers: Type.Optional(
      Type.Record(
        Type.String({ pattern: `^(?:${IPV4}|${IPV6})$` }),
        Type.Object(
          {
            ...BfdParamsSchema.properties,
            interface: Type.Optional(
              Type.String({ pattern: INTERFACE_NAME, description: 'only the session on this interface' }),
            ),
          },
          { additionalProperties: false },
        ),
        { additionalProperties: false, description: 'timers of the session to one peer address' },
      ),
    ),
  },
  {
    additionalProperties: false,
    description:
      'BFD (RFC 5880, single hop RFC 5881): session timers; sessions come from `bfd: true` on BGP neighbours and OSPF interfaces',
  },
);

export type RawBfd = Static<typeof BfdSchema>;
export type RawBfdParams = Static<typeof BfdParamsSchema>;
