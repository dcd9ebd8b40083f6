export { CubicCc, NewRenoCc } from './cc.ts';
export {
  DEFAULT_TCP_CONFIG,
  EV_ERROR,
  EV_HANGUP,
  EV_READABLE,
  EV_WRITABLE,
  type TcpConfig,
} from './config.ts';
export { CC_CUBIC, CC_NEWRENO, STATE_NAMES, TcpConnection, type TcpInfo, TcpStats } from './connection.ts';
export { COOKIE_PERIOD, type ConnectOptions, TcpEngine, type TcpEnv, TcpListener } from './engine.ts';
export { ByteRing } from './ring.ts';
