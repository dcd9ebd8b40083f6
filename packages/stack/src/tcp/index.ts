export type { TcpConfig } from './config.ts';
export { TcpConnection } from './connection.ts';
export { COOKIE_PERIOD, TcpEngine, type TcpEnv, TcpListener } from './engine.ts';
