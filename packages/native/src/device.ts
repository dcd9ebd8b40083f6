import { readFileSync } from 'node:fs';

export interface DeviceInfo {
  ifindex: number;
  mac: Uint8Array;
  mtu: number;
}

function sysNet(device: string, attribute: string): string {
  if (device.length === 0 || device.includes('/') || device === '.' || device === '..') {
    throw new Error(`not a network device name: ${JSON.stringify(device)}`);
  }
  try {
    return readFileSync(`/sys/class/net/${device}/${attribute}`, 'utf8').trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' && attribute === 'ifindex') {
      throw new Error(`device ${device} does not exist (see 'ip link show')`);
    }
    throw err;
  }
}

/** Parses "aa:bb:cc:dd:ee:ff". */
export function parseMac(text: string): Uint8Array {
  const parts = text.split(':');
  const mac = new Uint8Array(6);
  if (parts.length !== 6) throw new Error(`not a MAC address: ${text}`);
  for (const [i, part] of parts.entries()) {
    const byte = Number.parseInt(part, 16);
    if (!/^[0-9a-fA-F]{2}$/.test(part) || Number.isNaN(byte)) throw new Error(`not a MAC address: ${text}`);
    mac[i] = byte;
  }
  return mac;
}

/** Index, MAC and MTU of a kernel interface, from sysfs. Throws if the device does not exist. */
export function readDeviceInfo(device: string): DeviceInfo {
  return {
    ifindex: Number(sysNet(device, 'ifindex')),
    mac: parseMac(sysNet(device, 'address')),
    mtu: Number(sysNet(device, 'mtu')),
  };
}

/** Carrier state; false when the device is administratively down (sysfs then refuses the read). */
export function readCarrier(device: string): boolean {
  try {
    return sysNet(device, 'carrier') === '1';
  } catch {
    return false;
  }
}
