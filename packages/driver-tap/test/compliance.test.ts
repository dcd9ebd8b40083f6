import { openTap } from '@nexthop/driver-tap';
import type { Link } from '@nexthop/interface';
import {
  bridgePortForwarding,
  createTapBridge,
  deleteInterface,
  describeLinkCompliance,
  type LinkPair,
  operUp,
  uniqueInterfaceName,
  waitFor,
} from '@nexthop/link-testkit';

// Two TAP devices enslaved to a Linux bridge: both ends of the wire are TAP links, so one pair
// exercises the TAP driver's receive and transmit paths in both directions, and the bridge
// (which never sends a frame back out of the port it came in on) stands in for a switch.
async function tapPair(): Promise<LinkPair> {
  const names = createTapBridge(uniqueInterfaceName('nht'));
  const links: Link[] = [];
  const cleanup = (): void => {
    for (const link of links) link.close();
    deleteInterface(names.a);
    deleteInterface(names.b);
    deleteInterface(names.bridge);
  };
  try {
    const a = openTap({ device: names.a });
    links.push(a);
    const b = openTap({ device: names.b });
    links.push(b);
    await waitFor(
      () =>
        operUp(names.a) && operUp(names.b) && bridgePortForwarding(names.a) && bridgePortForwarding(names.b),
      'the bridge ports to forward',
    );
    return { a, b, cleanup };
  } catch (err) {
    cleanup();
    throw err;
  }
}

describeLinkCompliance('tap pair on a bridge', tapPair);
