import { openAfPacket } from '@nexthop/driver-afpacket';
import type { Link } from '@nexthop/interface';
import {
  createVethPair,
  deleteInterface,
  describeLinkCompliance,
  type LinkPair,
  operUp,
  uniqueInterfaceName,
  waitFor,
} from '@nexthop/link-testkit';

// Both ends of a veth pair, each opened with AF_PACKET. The pair lives in the test's own
// namespace under a name unique to this process (an AF_PACKET socket can only be opened in the
// namespace the process runs in); IPv6 is off on it and nothing has an address, so the only
// traffic on it is the test's own.
async function vethPair(copyRing: boolean, ring: 'v2' | 'v3'): Promise<LinkPair> {
  const names = createVethPair(uniqueInterfaceName('nhv'));
  const links: Link[] = [];
  const cleanup = (): void => {
    for (const link of links) link.close();
    deleteInterface(names.a);
    deleteInterface(names.b);
  };
  try {
    const a = openAfPacket({ device: names.a, copyRing, ring });
    links.push(a);
    const b = openAfPacket({ device: names.b, copyRing, ring });
    links.push(b);
    await waitFor(() => operUp(names.a) && operUp(names.b), 'the veth pair to come up');
    return { a, b, cleanup };
  } catch (err) {
    cleanup();
    throw err;
  }
}

describeLinkCompliance('afpacket over veth', () => vethPair(false, 'v3'));
describeLinkCompliance('afpacket over veth, copying fallback', () => vethPair(true, 'v3'));
describeLinkCompliance('afpacket over veth, TPACKET_V2 ring', () => vethPair(false, 'v2'));
describeLinkCompliance('afpacket over veth, TPACKET_V2 ring, copying fallback', () => vethPair(true, 'v2'));
