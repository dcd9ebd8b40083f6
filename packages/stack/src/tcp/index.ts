export type { TcpConfig } from './config.ts';
export { TcpConnection } from './connection.ts';
export { COOKIE_PERIOD, TcpEngine, type TcpEnv, TcpListener } from './engine.ts';
export { TCP_IPV4, TCP_IPV6, type TcpAddressFamily } from './family.ts';
export { type TcpDropReason, type TcpStats, tcpDrops } from './host.ts';
export { TCP_MD5_MAX_KEY, TcpMd5Keys } from './md5sig.ts';
