export { decodeOption, encodeOption, optionName, type RsockOption } from './options.ts';
export type { RsockQuotas } from './quota.ts';
export {
  type RsockAccess,
  type RsockCounters,
  type RsockOwner,
  RsockServer,
  type RsockServerOptions,
  type RsockUsage,
} from './server.ts';
