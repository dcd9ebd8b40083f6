import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_QUOTAS, parseConfig } from '../src/index.ts';

const BASE = `routers:
  edge:
    interfaces:
      eth0: { driver: afpacket, device: veth-r1, addresses: [10.1.0.1/24] }
`;

test('access defaults to root only, quotas to the defaults', () => {
  const r = parseConfig(BASE);
  assert.ok(r.ok);
  const edge = r.config.routers[0]!;
  assert.deepEqual(edge.access, { uids: [0], gids: [], privilegedPorts: { uids: [], gids: [] } });
  assert.deepEqual(edge.quotas, DEFAULT_QUOTAS);
});

test('access lists, a privileged-port grant and quotas are read', () => {
  const r = parseConfig(
    `${BASE}    access: { uids: [0, 1000], gids: [100], privilegedPorts: { uids: [1000] } }
    quotas: { clientSockets: 8, sockets: 100 }
`,
  );
  assert.ok(r.ok, JSON.stringify(r));
  const edge = r.config.routers[0]!;
  assert.deepEqual(edge.access, {
    uids: [0, 1000],
    gids: [100],
    privilegedPorts: { uids: [1000], gids: [] },
  });
  assert.equal(edge.quotas.clientSockets, 8);
  assert.equal(edge.quotas.sockets, 100);
  assert.equal(edge.quotas.clientBufferedBytes, DEFAULT_QUOTAS.clientBufferedBytes);
});

test('a negative uid and an unknown quota are refused', () => {
  assert.equal(parseConfig(`${BASE}    access: { uids: [-1] }\n`).ok, false);
  assert.equal(parseConfig(`${BASE}    quotas: { files: 3 }\n`).ok, false);
});
