export type { TcpConfig } from './config.ts';
export { TcpConnection } from './connection.ts';
export { COOKIE_PERIOD, TcpEngine, type TcpEnv, TcpListener } from './engine.ts';
export { TCP_IPV4, TCP_IPV6, type TcpAddressFamily } from './family.ts';
