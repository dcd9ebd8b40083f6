import { createHash, timingSafeEqual } from 'node:crypto';
import swagger from '@fastify/swagger';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  LogController,
} from 'fastify';
import type { Logger } from 'pino';
import Type from 'typebox';
import {
  type ApplyResult,
  CAPTURE_DROPPED_TRAILER,
  type CaptureRequest,
  type ConfigCurrent,
  type DiffResult,
  type ValidateResult,
  type VrStatus,
} from './api-types.ts';
import type { AuthLimiter } from './auth-limiter.ts';
import { startCapture } from './capture.ts';
import { ApiFailure } from './errors.ts';
import type { TlsFiles } from './secrets.ts';

// The management API (docs/management-api.md). The same routes serve the Unix socket and the
// optional TCP listener; only the latter asks for the bearer token (and may speak TLS), and limits
// the failed authentications of each client address.

/** What the API needs from the daemon; tests can hand in their own. */
export interface ApiBackend {
  listVrs(): VrStatus[];
  /** Throws ApiFailure 404 for an unknown VR. */
  vrStatus(name: string): VrStatus;
  startVr(name: string): Promise<VrStatus>;
  stopVr(name: string): Promise<VrStatus>;
  restartVr(name: string): Promise<VrStatus>;
  /** One control request to a VR: 404 unknown, 503 not running, 504 no answer in time. */
  callVr(
    name: string,
    method: string,
    params?: Record<string, unknown>,
    timeoutMs?: number,
  ): Promise<unknown>;
  configCurrent(): ConfigCurrent;
  configSchema(): Record<string, unknown>;
  validate(text: string): ValidateResult;
  /** 422 ApiFailure when the text is invalid. */
  diff(text: string): DiffResult;
  apply(text: string): Promise<ApplyResult>;
  /** 409 ApiFailure when there is no previous version. */
  rollback(): Promise<ApplyResult>;
  metrics(): Promise<{ contentType: string; text: string }>;
}

/** What the TCP listener asks of a request before it runs. */
export interface TcpAuth {
  /** The bearer token; called per request, so that a re-read token file takes effect at once. */
  token(): string;
  /** Failed authentications per client address; shared by the listeners one after another. */
  limiter: AuthLimiter;
}

export interface ApiOptions {
  logger: Logger;
  /** Require `Authorization: Bearer <token>` on every request (the TCP listener). */
  auth?: TcpAuth;
  /** Serve HTTPS with this certificate and key instead of HTTP (the TCP listener). */
  tls?: TlsFiles;
}

/** A TLS client that has not finished its handshake by then is dropped. */
export const TLS_HANDSHAKE_TIMEOUT_MS = 10_000;

const ConfigErrorSchema = Type.Object(
  {
    path: Type.String({ description: "dotted path of the offending field, '' for the whole file" }),
    line: Type.Optional(Type.Integer({ description: '1-based line in the YAML text' })),
    message: Type.String(),
  },
  { description: 'one problem in a configuration' },
);

const ErrorSchema = Type.Object(
  {
    error: Type.Object({
      code: Type.String({
        description:
          'not_found, invalid_config, vr_unavailable, unauthorized, too_many_failures, bad_request, ...',
      }),
      message: Type.String(),
      errors: Type.Optional(Type.Array(ConfigErrorSchema)),
    }),
  },
  { description: 'an error' },
);

const Nullable = <T extends ReturnType<typeof Type.String>>(schema: T) => Type.Union([schema, Type.Null()]);

const VrStatusSchema = Type.Object({
  name: Type.String(),
  state: Type.Enum(['starting', 'running', 'restarting', 'stopped', 'failed']),
  pid: Type.Union([Type.Integer(), Type.Null()]),
  uptimeMs: Type.Union([Type.Number(), Type.Null()]),
  restarts: Type.Integer(),
  lastExit: Type.Union([
    Type.Object({
      code: Type.Union([Type.Integer(), Type.Null()]),
      signal: Nullable(Type.String()),
      at: Type.Number({ description: 'epoch milliseconds' }),
    }),
    Type.Null(),
  ]),
  interfaces: Type.Integer(),
  reason: Nullable(Type.String()),
});

const ConfigChangeSchema = Type.Object({
  vr: Type.String({ description: "the VR; '' for the manager section" }),
  action: Type.Enum(['add', 'remove', 'change']),
  kind: Type.Enum(['vr', 'interface', 'address', 'route', 'services', 'access', 'quotas', 'manager']),
  detail: Type.String(),
});

const ConfigTextSchema = Type.Object({
  text: Type.String({ description: 'YAML text of a configuration file' }),
});
const ConfigCurrentSchema = Type.Object({
  text: Type.String(),
  version: Type.Integer(),
  appliedAt: Type.Number({ description: 'epoch milliseconds' }),
  history: Type.Integer({ description: 'older versions kept for rollback' }),
});
const ValidateResultSchema = Type.Object({ ok: Type.Boolean(), errors: Type.Array(ConfigErrorSchema) });
const DiffResultSchema = Type.Object({ changes: Type.Array(ConfigChangeSchema) });
const ApplyResultSchema = Type.Object({ version: Type.Integer(), changes: Type.Array(ConfigChangeSchema) });
const CaptureRequestSchema = Type.Object(
  {
    interface: Type.String({ minLength: 1 }),
    count: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000, default: 100 })),
    snaplen: Type.Optional(Type.Integer({ minimum: 1, maximum: 262_144, default: 262_144 })),
    timeoutMs: Type.Optional(Type.Integer({ minimum: 1, maximum: 86_400_000, default: 60_000 })),
  },
  { additionalProperties: false },
);
const AnyObject = (description: string) => Type.Object({}, { additionalProperties: true, description });
const Rows = (description: string) => Type.Array(AnyObject('one row'), { description });
const VrParams = Type.Object({ vr: Type.String({ description: 'VR name' }) });

const errors = { '4xx': ErrorSchema, '5xx': ErrorSchema };

/** `?version=2|3`: OSPFv2 (the `ospf` section, the default) or OSPFv3 (`ospf6`). */
const OspfQuery = Type.Object({
  version: Type.Optional(Type.Enum(['2', '3'], { description: 'OSPF version: 2 (default) or 3 (OSPFv3)' })),
});

function ospfVersion(query: unknown): { version?: number } {
  const v = (query as { version?: string } | undefined)?.version;
  return v === undefined ? {} : { version: Number(v) };
}

const RoutesQuery = Type.Object({
  family: Type.Optional(
    Type.Enum(['4', '6'], { description: "4 or 6: that family's routes only; both when absent" }),
  ),
  prefix: Type.Optional(
    Type.String({ description: "one prefix's candidates (every source's route), like 10.1.0.0/16" }),
  ),
  for: Type.Optional(
    Type.String({
      description: 'the route a packet to this address takes (longest match), like ip route get',
    }),
  ),
});

const AddressSchema = Type.Object({
  interface: Type.String(),
  address: Type.String({ description: 'address/prefix length' }),
  family: Type.Enum([4, 6]),
  state: Type.Optional(
    Type.Enum(['tentative', 'preferred', 'duplicate'], {
      description: 'IPv6 only: its duplicate address detection state (RFC 4862)',
    }),
  ),
});

/** What `/addresses` reads of each `show.interfaces` row. */
interface InterfaceAddresses {
  name: string;
  addresses?: string[];
  addresses6?: { address: string; length: number; state: string }[];
}

const SHOW_ROUTES = [
  ['interfaces', 'show.interfaces', 'the VR interfaces with their counters (show.interfaces)'],
  ['arp', 'show.arp', 'the VR ARP cache (show.arp)'],
  ['neighbors', 'show.neighbors', 'the VR neighbours of both families, ARP and NDP (show.neighbors)'],
  ['sockets', 'show.sockets', 'the VR sockets (show.sockets)'],
] as const;

function tokenMatches(header: string | undefined, token: string): boolean {
  const given = header?.startsWith('Bearer ') ? header.slice(7).trim() : '';
  // Digests of equal length, so the comparison time says nothing about the token.
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(token).digest();
  return given !== '' && timingSafeEqual(a, b);
}

/** A schema validation's message; an enumeration's says what it allows. */
function invalid(err: Error & { validation?: unknown; validationContext?: string }): string {
  const first = (err.validation as { keyword?: string; instancePath?: string; params?: unknown }[])[0];
  const allowed = (first?.params as { allowedValues?: unknown[] } | undefined)?.allowedValues;
  if (first?.keyword !== 'enum' || allowed === undefined) return err.message;
  const where = `${err.validationContext ?? ''}${first.instancePath ?? ''}`;
  return `${where} must be one of ${allowed.join(', ')}`;
}

function sendFailure(reply: FastifyReply, failure: ApiFailure): FastifyReply {
  return reply.code(failure.status).send({
    error: {
      code: failure.code,
      message: failure.message,
      ...(failure.errors !== undefined ? { errors: failure.errors } : {}),
    },
  });
}

export async function buildApi(backend: ApiBackend, options: ApiOptions): Promise<FastifyInstance> {
  const app = Fastify({
    ...(options.tls !== undefined
      ? {
          https: {
            cert: options.tls.cert,
            key: options.tls.key,
            handshakeTimeout: TLS_HANDSHAKE_TIMEOUT_MS,
          },
        }
      : {}),
    loggerInstance: options.logger as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    // Applying 10,000 routes is a big YAML text.
    bodyLimit: 64 * 1024 * 1024,
    // Errors fastify raises before a route runs (an over-long path, a bad URL) get the API's shape.
    frameworkErrors: (err, _req, reply) => {
      void sendFailure(reply, new ApiFailure(err.statusCode ?? 400, 'bad_request', err.message));
    },
  });
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'nexthopd management API',
        description: 'Manage the VRs that nexthopd runs: state, configuration, counters, capture.',
        version: '1.0.0',
      },
      components: {
        securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      },
      // The Unix socket needs nothing; the TCP listener needs the bearer token.
      security: [{}, { bearer: [] }],
    },
  });

  app.setErrorHandler(
    (err: Error & { validation?: unknown; validationContext?: string; statusCode?: number }, _req, reply) => {
      if (err instanceof ApiFailure) return sendFailure(reply, err);
      if (err.validation !== undefined)
        return sendFailure(reply, new ApiFailure(400, 'bad_request', invalid(err)));
      if (err.statusCode !== undefined && err.statusCode < 500)
        return sendFailure(reply, new ApiFailure(err.statusCode, 'bad_request', err.message));
      options.logger.error({ err: err.message }, 'API request failed');
      return sendFailure(reply, new ApiFailure(500, 'internal', err.message));
    },
  );
  app.setNotFoundHandler((req, reply) =>
    sendFailure(reply, new ApiFailure(404, 'not_found', `no route ${req.method} ${req.url}`)),
  );

  const auth = options.auth;
  if (auth !== undefined) {
    app.addHook('onRequest', async (req: FastifyRequest, reply: FastifyReply) => {
      // The peer of the TCP connection: no proxy header is believed.
      const address = req.socket.remoteAddress ?? '';
      const waitMs = auth.limiter.retryAfterMs(address);
      if (waitMs > 0) {
        const seconds = Math.ceil(waitMs / 1000);
        reply.header('retry-after', String(seconds));
        return sendFailure(
          reply,
          new ApiFailure(
            429,
            'too_many_failures',
            `too many failed authentications from ${address}: try again in ${seconds} s`,
          ),
        );
      }
      if (!tokenMatches(req.headers.authorization, auth.token())) {
        const lockMs = auth.limiter.fail(address);
        if (lockMs > 0) {
          options.logger.warn(
            { address, lockMs, limit: auth.limiter.limits.limit, windowMs: auth.limiter.limits.windowMs },
            'management API: too many failed authentications, the address is locked out',
          );
        }
        reply.header('www-authenticate', 'Bearer');
        return sendFailure(
          reply,
          new ApiFailure(401, 'unauthorized', 'this listener needs the header Authorization: Bearer <token>'),
        );
      }
    });
  }

  app.get(
    '/openapi.json',
    { schema: { summary: 'This OpenAPI document', response: { 200: AnyObject('OpenAPI 3.1 document') } } },
    async () => app.swagger(),
  );

  app.get(
    '/health',
    {
      schema: {
        summary: 'Whether nexthopd answers, and how many VRs it manages',
        response: { 200: Type.Object({ ok: Type.Boolean(), vrs: Type.Integer() }), ...errors },
      },
    },
    async () => ({ ok: true, vrs: backend.listVrs().length }),
  );

  app.get(
    '/metrics',
    {
      schema: {
        summary: 'Prometheus metrics of every VR',
        response: { 200: { content: { 'text/plain': { schema: Type.String() } } }, ...errors },
      },
    },
    async (_req, reply) => {
      const { contentType, text } = await backend.metrics();
      return reply.type(contentType).send(text);
    },
  );

  app.get(
    '/vrs',
    {
      schema: {
        summary: 'Every VR with its state',
        response: { 200: Type.Array(VrStatusSchema), ...errors },
      },
    },
    async () => backend.listVrs(),
  );

  app.get(
    '/vrs/:vr',
    { schema: { summary: 'One VR', params: VrParams, response: { 200: VrStatusSchema, ...errors } } },
    async (req) => backend.vrStatus((req.params as { vr: string }).vr),
  );

  for (const action of ['start', 'stop', 'restart'] as const) {
    app.post(
      `/vrs/:vr/${action}`,
      {
        schema: {
          summary: `${action[0]!.toUpperCase()}${action.slice(1)} a VR`,
          params: VrParams,
          response: { 200: VrStatusSchema, ...errors },
        },
      },
      async (req) => {
        const name = (req.params as { vr: string }).vr;
        if (action === 'start') return backend.startVr(name);
        if (action === 'stop') return backend.stopVr(name);
        return backend.restartVr(name);
      },
    );
  }

  for (const [path, method, summary] of SHOW_ROUTES) {
    app.get(
      `/vrs/:vr/${path}`,
      { schema: { summary, params: VrParams, response: { 200: Rows(summary), ...errors } } },
      async (req) => backend.callVr((req.params as { vr: string }).vr, method),
    );
  }

  app.get(
    '/vrs/:vr/routes',
    {
      schema: {
        summary: 'The VR routing table, IPv4 routes then IPv6 ones, each with its family (show.routes)',
        params: VrParams,
        querystring: RoutesQuery,
        response: { 200: Rows('the VR routes'), ...errors },
      },
    },
    async (req) => {
      const query = req.query as { family?: '4' | '6'; prefix?: string; for?: string };
      return backend.callVr((req.params as { vr: string }).vr, 'show.routes', {
        ...(query.family === undefined ? {} : { family: Number(query.family) }),
        ...(query.prefix === undefined ? {} : { prefix: query.prefix }),
        ...(query.for === undefined ? {} : { for: query.for }),
      });
    },
  );

  app.get(
    '/vrs/:vr/bgp',
    {
      schema: {
        summary: 'BGP summary: the instance and one row per neighbour (show.bgp summary)',
        params: VrParams,
        response: { 200: AnyObject('the BGP instance and its neighbours'), ...errors },
      },
    },
    async (req) => backend.callVr((req.params as { vr: string }).vr, 'show.bgp', { what: 'summary' }),
  );

  app.get(
    '/vrs/:vr/bgp/neighbors',
    {
      schema: {
        summary: 'BGP neighbours in detail: capabilities, timers, counters (show.bgp neighbors)',
        params: VrParams,
        querystring: Type.Object({
          neighbor: Type.Optional(Type.String({ description: 'one neighbour, by name or address' })),
        }),
        response: { 200: Rows('the BGP neighbours'), ...errors },
      },
    },
    async (req) => {
      const { neighbor } = req.query as { neighbor?: string };
      return backend.callVr((req.params as { vr: string }).vr, 'show.bgp', {
        what: 'neighbors',
        ...(neighbor === undefined ? {} : { neighbor }),
      });
    },
  );

  app.get(
    '/vrs/:vr/bgp/routes',
    {
      schema: {
        summary: 'BGP routes with their path attributes (show.bgp routes)',
        params: VrParams,
        querystring: Type.Object({
          prefix: Type.Optional(Type.String({ description: 'one prefix, like 10.0.0.0/8 or 2001:db8::/32' })),
        }),
        response: { 200: Rows('the BGP routes'), ...errors },
      },
    },
    async (req) => {
      const { prefix } = req.query as { prefix?: string };
      return backend.callVr((req.params as { vr: string }).vr, 'show.bgp', {
        what: 'routes',
        ...(prefix === undefined ? {} : { prefix }),
      });
    },
  );

  app.get(
    '/vrs/:vr/bfd',
    {
      schema: {
        summary:
          'BFD sessions: peer, interface, state, diagnostics, negotiated intervals, clients, counters; drops by reason (show.bfd)',
        params: VrParams,
        response: { 200: AnyObject('the BFD instance'), ...errors },
      },
    },
    async (req) => backend.callVr((req.params as { vr: string }).vr, 'show.bfd', {}),
  );

  app.get(
    '/vrs/:vr/ospf',
    {
      schema: {
        summary:
          'OSPF summary: router id, areas, SPF runs, packet and drop counters (show.ospf summary); ?version=3: OSPFv3',
        params: VrParams,
        querystring: OspfQuery,
        response: { 200: AnyObject('the OSPF instance'), ...errors },
      },
    },
    async (req) =>
      backend.callVr((req.params as { vr: string }).vr, 'show.ospf', {
        what: 'summary',
        ...ospfVersion(req.query),
      }),
  );

  for (const [what, summary] of [
    ['interfaces', 'OSPF interfaces: state, cost, priority, DR and BDR (show.ospf interfaces)'],
    ['neighbors', 'OSPF neighbours: state, role, dead timer, queues (show.ospf neighbors)'],
    ['database', 'The OSPF link-state database, every area and the AS-external LSAs (show.ospf database)'],
    ['routes', 'The routes OSPF computed, with type, cost and next hops (show.ospf routes)'],
  ] as const) {
    app.get(
      `/vrs/:vr/ospf/${what}`,
      {
        schema: {
          summary,
          params: VrParams,
          querystring: OspfQuery,
          response: { 200: Rows(`OSPF ${what}`), ...errors },
        },
      },
      async (req) =>
        backend.callVr((req.params as { vr: string }).vr, 'show.ospf', { what, ...ospfVersion(req.query) }),
    );
  }

  app.get(
    '/vrs/:vr/rip',
    {
      schema: {
        summary:
          'RIPv2 and RIPng: routes with metric, next hop and timers, interfaces with counters, neighbours (show.rip)',
        params: VrParams,
        querystring: Type.Object({
          what: Type.Optional(
            Type.Union([Type.Literal('routes'), Type.Literal('interfaces'), Type.Literal('neighbors')], {
              description: 'one part of each instance (default: all of it)',
            }),
          ),
          protocol: Type.Optional(
            Type.Union([Type.Literal('rip'), Type.Literal('ripng')], { description: 'one instance' }),
          ),
        }),
        response: { 200: AnyObject('the instances by name (rip, ripng)'), ...errors },
      },
    },
    async (req) => {
      const { what, protocol } = req.query as { what?: string; protocol?: string };
      return backend.callVr((req.params as { vr: string }).vr, 'show.rip', {
        ...(what === undefined ? {} : { what }),
        ...(protocol === undefined ? {} : { protocol }),
      });
    },
  );

  app.get(
    '/vrs/:vr/counters',
    {
      schema: {
        summary: 'The VR counters and drops by reason (show.counters)',
        params: VrParams,
        response: {
          200: Type.Object(
            {
              stats: AnyObject('counter name → value'),
              drops: AnyObject('drop reason → packets'),
              links: AnyObject('interface → driver counters'),
            },
            { additionalProperties: true },
          ),
          ...errors,
        },
      },
    },
    async (req) => backend.callVr((req.params as { vr: string }).vr, 'show.counters'),
  );

  app.get(
    '/vrs/:vr/addresses',
    {
      schema: {
        summary: 'Every address of every VR interface: IPv4, then IPv6 (link-local first) with its DAD state',
        params: VrParams,
        response: { 200: Type.Array(AddressSchema), ...errors },
      },
    },
    async (req) => {
      const rows = (await backend.callVr(
        (req.params as { vr: string }).vr,
        'show.interfaces',
      )) as InterfaceAddresses[];
      return rows.flatMap((row) => [
        ...(row.addresses ?? []).map((address) => ({ interface: row.name, address, family: 4 })),
        ...(row.addresses6 ?? []).map((a) => ({
          interface: row.name,
          address: `${a.address}/${a.length}`,
          family: 6,
          state: a.state,
        })),
      ]);
    },
  );

  app.post(
    '/vrs/:vr/capture',
    {
      schema: {
        summary: 'Capture frames on a VR interface as a pcap stream',
        params: VrParams,
        body: CaptureRequestSchema,
        response: {
          200: {
            description: 'a pcap file (LINKTYPE_ETHERNET, microseconds), streamed as frames come',
            content: { 'application/vnd.tcpdump.pcap': { schema: Type.String({ format: 'binary' }) } },
          },
          ...errors,
        },
      },
    },
    async (req, reply) => {
      const name = (req.params as { vr: string }).vr;
      const body = req.body as CaptureRequest;
      const capture = await startCapture(
        (method, params, timeoutMs) => backend.callVr(name, method, params, timeoutMs),
        body,
      );
      reply.raw.on('close', () => capture.abort());
      // Frames the VR had to drop are only known at the end: a trailer carries them.
      reply.trailer(CAPTURE_DROPPED_TRAILER, async () => String(capture.dropped()));
      return reply.type('application/vnd.tcpdump.pcap').send(capture.stream);
    },
  );

  app.get(
    '/config',
    { schema: { summary: 'The running configuration', response: { 200: ConfigCurrentSchema, ...errors } } },
    async () => backend.configCurrent(),
  );

  app.get(
    '/config/schema',
    {
      schema: {
        summary: 'JSON Schema of the configuration file',
        response: { 200: AnyObject('JSON Schema'), ...errors },
      },
    },
    async () => backend.configSchema(),
  );

  app.post(
    '/config/validate',
    {
      schema: {
        summary: 'Check a configuration without applying it',
        body: ConfigTextSchema,
        response: { 200: ValidateResultSchema, 422: ValidateResultSchema, ...errors },
      },
    },
    async (req, reply) => {
      const result = backend.validate((req.body as { text: string }).text);
      return reply.code(result.ok ? 200 : 422).send(result);
    },
  );

  app.post(
    '/config/diff',
    {
      schema: {
        summary: 'What applying a configuration would change',
        body: ConfigTextSchema,
        response: { 200: DiffResultSchema, ...errors },
      },
    },
    async (req) => backend.diff((req.body as { text: string }).text),
  );

  app.post(
    '/config/apply',
    {
      schema: {
        summary: 'Apply a configuration: only what differs changes; written to the config file',
        body: ConfigTextSchema,
        response: { 200: ApplyResultSchema, ...errors },
      },
    },
    async (req) => backend.apply((req.body as { text: string }).text),
  );

  app.post(
    '/config/rollback',
    {
      schema: {
        summary: 'Return to the previous configuration version',
        response: { 200: ApplyResultSchema, ...errors },
      },
    },
    async () => backend.rollback(),
  );

  return app;
}
