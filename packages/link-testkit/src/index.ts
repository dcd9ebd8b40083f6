export type { LinkPair } from './compliance.ts';
export { describeLinkCompliance, testFrame } from './compliance.ts';
export {
  bridgePortForwarding,
  createTapBridge,
  createVethPair,
  deleteInterface,
  operUp,
  uniqueInterfaceName,
} from './interfaces.ts';
export { settle, waitFor } from './wait.ts';
