// The protocol framework lives in @nexthop/protocol, shared by every engine; re-exported here so
// that the BGP engine's modules and its users keep one import path.
export * from '@nexthop/protocol';
