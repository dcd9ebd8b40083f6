export { flowHash } from './flow-hash.ts';
export { Ipv4Fib, type Ipv4FibOptions, type Ipv4Route } from './ipv4-fib.ts';
export { NextHopTable, NH_BLACKHOLE, NH_FORWARD, NH_LOCAL, NH_REJECT } from './next-hops.ts';
