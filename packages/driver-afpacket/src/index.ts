export type { AfPacketExtraStats, AfPacketLinkHandle, AfPacketOptions } from './afpacket.ts';
export { openAfPacket } from './afpacket.ts';
