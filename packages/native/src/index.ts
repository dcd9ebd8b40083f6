export type { AfPacketHandle, AfPacketRingOptions, NativeAddon, NativePort } from './addon.ts';
export { ADDON_PATH, loadNative, openAfPacketRing } from './addon.ts';
export type { DeviceInfo } from './device.ts';
export { parseMac, readCarrier, readDeviceInfo } from './device.ts';
export { copyBytes, DESC_STRIDE, FrameStage, maxFrameLength, stageFrame } from './stage.ts';
export type { CloserStats, ForeignCloser, UnixNative, UnixPollSet, UnixWatch } from './unix.ts';
export {
  foreignCloser,
  loadUnix,
  POLL_ADD,
  POLL_DEL,
  POLL_MOD,
  RECV_CTRUNC,
  RECV_TRUNC,
  UNIX_SOCK_SEQPACKET,
  UNIX_SOCK_STREAM,
  WATCH_HANGUP_ONLY,
  WATCH_HUNG_UP,
  WATCH_RDHUP,
  WATCH_READABLE,
  WATCH_WRITABLE,
} from './unix.ts';
