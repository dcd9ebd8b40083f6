export type { AfPacketLinkHandle, AfPacketOptions } from './afpacket.ts';
export { openAfPacket } from './afpacket.ts';
