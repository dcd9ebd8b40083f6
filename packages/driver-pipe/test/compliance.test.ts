import { createPipePair } from '@nexthop/driver-pipe';
import { describeLinkCompliance } from '@nexthop/link-testkit';

describeLinkCompliance('pipe', () => {
  const [a, b] = createPipePair();
  return {
    a,
    b,
    cleanup() {
      a.close();
      b.close();
    },
  };
});
