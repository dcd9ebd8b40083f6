// OSPF metrics from a VR's `show.ospf` summary and neighbours, for OSPFv2 and OSPFv3 apart.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Registry } from 'prom-client';
import { OspfMetrics } from '../src/ospf-metrics.ts';

test('neighbour states, LSAs and SPF runs per area, SPF time and drops, labelled by VR and version', async () => {
  const registry = new Registry();
  const metrics = new OspfMetrics(registry);
  metrics.record(
    'core',
    2,
    {
      areas: [
        { id: '0.0.0.0', lsas: 1001, spfRuns: 4 },
        { id: '0.0.0.1', lsas: 3, spfRuns: 0 },
      ],
      externalLsas: 12,
      lastSpfDurationMs: 87.5,
      spfTotalMs: 250,
      counters: { drops: { bad_auth: 9, bad_checksum: 0 } },
    },
    [
      { routerId: '10.41.0.2', address: '10.41.9.2', interface: 'eth0', state: 'Full', stateChanges: 6 },
      { routerId: '10.40.0.3', address: '10.40.0.3', interface: 'eth1', state: '2-Way' },
    ],
  );
  metrics.record('core', 3, null, []);
  metrics.record('edge', 3, { areas: [{ id: '0.0.0.0', lsas: 5, spfRuns: 2 }] }, [
    { routerId: '1.1.1.1', address: 'fe80::1', interface: 'eth0', state: 'ExStart' },
  ]);
  const text = await registry.metrics();
  for (const line of [
    'nexthop_ospf_neighbor_state{vr="core",version="2",neighbor="10.41.0.2",interface="eth0",address="10.41.9.2"} 7',
    'nexthop_ospf_neighbor_state{vr="core",version="2",neighbor="10.40.0.3",interface="eth1",address="10.40.0.3"} 3',
    'nexthop_ospf_neighbor_state{vr="edge",version="3",neighbor="1.1.1.1",interface="eth0",address="fe80::1"} 4',
    'nexthop_ospf_neighbor_state_changes_total{vr="core",version="2",neighbor="10.41.0.2",interface="eth0",address="10.41.9.2"} 6',
    'nexthop_ospf_area_lsas{vr="core",version="2",area="0.0.0.0"} 1001',
    'nexthop_ospf_area_lsas{vr="core",version="2",area="0.0.0.1"} 3',
    'nexthop_ospf_area_lsas{vr="edge",version="3",area="0.0.0.0"} 5',
    'nexthop_ospf_area_spf_runs_total{vr="core",version="2",area="0.0.0.0"} 4',
    'nexthop_ospf_area_spf_runs_total{vr="edge",version="3",area="0.0.0.0"} 2',
    'nexthop_ospf_external_lsas{vr="core",version="2"} 12',
    'nexthop_ospf_last_spf_duration_seconds{vr="core",version="2"} 0.0875',
    'nexthop_ospf_spf_seconds_total{vr="core",version="2"} 0.25',
    'nexthop_ospf_dropped_packets_total{vr="core",version="2",reason="bad_auth"} 9',
  ])
    assert.ok(text.includes(line), `missing ${line} in\n${text}`);
  assert.match(text, /^# TYPE nexthop_ospf_area_spf_runs_total counter$/m);
  assert.match(text, /^# TYPE nexthop_ospf_neighbor_state gauge$/m);
  assert.ok(!text.includes('version="3",neighbor="10.'), 'no OSPFv3 rows for a VR without OSPFv3');
  assert.ok(!text.includes('reason="bad_checksum"'), 'no row for a reason never counted');
});
