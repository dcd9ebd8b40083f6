export type { AfPacketHandle, AfPacketRingOptions, NativeAddon, NativePort } from './addon.ts';
export { ADDON_PATH, loadNative, openAfPacketRing } from './addon.ts';
export type { DeviceInfo } from './device.ts';
export { parseMac, readCarrier, readDeviceInfo } from './device.ts';
export { copyBytes, DESC_STRIDE, FrameStage, maxFrameLength } from './stage.ts';
