import { Netns, uniqueToken, vethPair } from '@nexthop/netns';

// A VR's namespace `r` with one peer namespace per BGP speaker, each on a veth of its own: the
// peer's end has the link addresses, and a host LAN (a veth pair with both ends in the peer's
// namespace; there is no dummy driver here) has the addresses the speaker announces. The VR's
// namespace kernel has no addresses and does not forward, so what crosses `r` was routed by the VR.

export interface PeerSpec {
  readonly tag: string;
  /** The peer's address on its link to the VR, with the length: '10.32.1.2/24'. */
  readonly link4: string;
  readonly link6?: string;
  /** Addresses on the host LAN behind the peer. */
  readonly lan4?: string;
  readonly lan6?: string;
}

export interface BgpPeerNs {
  readonly ns: Netns;
  /** The peer's end of the link, in `ns`. */
  readonly device: string;
  /** The VR's end of the link, in `r`. */
  readonly vrDevice: string;
}

export interface BgpTopology {
  readonly r: Netns;
  readonly peers: BgpPeerNs[];
  destroy(): Promise<void>;
}

export async function bgpTopology(specs: readonly PeerSpec[]): Promise<BgpTopology> {
  const created: Netns[] = [];
  try {
    const r = await Netns.create('bgpr');
    created.push(r);
    const t = uniqueToken();
    const peers: BgpPeerNs[] = [];
    const sysctls: Record<string, string> = { 'net.ipv4.ip_forward': '0' };
    for (const [i, spec] of specs.entries()) {
      const ns = await Netns.create(spec.tag);
      created.push(ns);
      const dev = `p${i}-${t}`;
      const vrDevice = `r${i}-${t}`;
      await vethPair(ns, dev, r, vrDevice);
      sysctls[`net.ipv6.conf.${vrDevice}.disable_ipv6`] = '1';
      await ns.execOk('ip', ['addr', 'add', spec.link4, 'dev', dev]);
      if (spec.link6 !== undefined) await ns.execOk('ip', ['addr', 'add', spec.link6, 'dev', dev, 'nodad']);
      if (spec.lan4 !== undefined || spec.lan6 !== undefined) {
        await ns.execOk('ip', ['link', 'add', 'lan0', 'type', 'veth', 'peer', 'name', 'lan1']);
        await ns.execOk('ip', ['link', 'set', 'lan1', 'up']);
        if (spec.lan4 !== undefined) await ns.execOk('ip', ['addr', 'add', spec.lan4, 'dev', 'lan0']);
        if (spec.lan6 !== undefined)
          await ns.execOk('ip', ['addr', 'add', spec.lan6, 'dev', 'lan0', 'nodad']);
        await ns.execOk('ip', ['link', 'set', 'lan0', 'up']);
      }
      peers.push({ ns, device: dev, vrDevice });
    }
    await r.sysctl(sysctls);
    return { r, peers, destroy: async () => void (await Promise.all(created.map((ns) => ns.destroy()))) };
  } catch (err) {
    await Promise.all(created.map((ns) => ns.destroy()));
    throw err;
  }
}
