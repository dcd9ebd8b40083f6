// Per-neighbour BGP metrics from a VR's `show.bgp neighbors` rows.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Registry } from 'prom-client';
import { BgpMetrics } from '../src/bgp-metrics.ts';

test('state, prefixes by kind, UPDATEs each way and flaps, labelled by VR, neighbour and address', async () => {
  const registry = new Registry();
  const metrics = new BgpMetrics(registry);
  metrics.record('edge', [
    {
      name: 'isp-a',
      address: '10.0.12.2',
      state: 'Established',
      prefixes: { received: 12, accepted: 10, advertised: 3 },
      counters: { messagesIn: { update: 40 }, messagesOut: { update: 7 }, flaps: 2 },
    },
    { name: 'isp-b', address: '2001:db8::2', state: 'Active' },
  ]);
  const text = await registry.metrics();
  for (const line of [
    'nexthop_bgp_neighbor_state{vr="edge",neighbor="isp-a",address="10.0.12.2"} 5',
    'nexthop_bgp_neighbor_state{vr="edge",neighbor="isp-b",address="2001:db8::2"} 2',
    'nexthop_bgp_neighbor_prefixes{vr="edge",neighbor="isp-a",address="10.0.12.2",kind="received"} 12',
    'nexthop_bgp_neighbor_prefixes{vr="edge",neighbor="isp-a",address="10.0.12.2",kind="accepted"} 10',
    'nexthop_bgp_neighbor_prefixes{vr="edge",neighbor="isp-a",address="10.0.12.2",kind="advertised"} 3',
    'nexthop_bgp_neighbor_updates_received_total{vr="edge",neighbor="isp-a",address="10.0.12.2"} 40',
    'nexthop_bgp_neighbor_updates_sent_total{vr="edge",neighbor="isp-a",address="10.0.12.2"} 7',
    'nexthop_bgp_neighbor_flaps_total{vr="edge",neighbor="isp-a",address="10.0.12.2"} 2',
  ])
    assert.ok(text.includes(line), `missing ${line} in\n${text}`);
  assert.match(text, /^# TYPE nexthop_bgp_neighbor_flaps_total counter$/m);
  assert.ok(
    !text.includes('neighbor="isp-b",address="2001:db8::2",kind='),
    'no prefixes for a row without them',
  );
});
