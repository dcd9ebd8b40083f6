export { decodeOption, encodeOption, optionName, type RsockOption } from './options.ts';
export {
  type RsockAccess,
  type RsockCounters,
  type RsockOwner,
  type RsockQuotas,
  RsockServer,
  type RsockServerOptions,
  type RsockUsage,
} from './server.ts';
