export { flowHash, flowHash6 } from './flow-hash.ts';
export { Ipv4Fib, type Ipv4FibOptions, type Ipv4Route } from './ipv4-fib.ts';
export { Ipv6Fib, type Ipv6FibOptions, type Ipv6Route } from './ipv6-fib.ts';
export { Ipv6NextHopTable } from './ipv6-next-hops.ts';
export { NextHopTable, NH_BLACKHOLE, NH_FORWARD, NH_LOCAL, NH_REJECT } from './next-hops.ts';
