export {
  DEFAULT_SNAPLEN,
  LINKTYPE_ETHERNET,
  PCAP_FILE_HEADER_LENGTH,
  PCAP_MAGIC_MICROS,
  PCAP_MAGIC_NANOS,
  PCAP_RECORD_HEADER_LENGTH,
} from './format.ts';
export type { PcapFile, PcapReadError, PcapReadOk, PcapReadResult, PcapRecord } from './reader.ts';
export { readPcap } from './reader.ts';
export type { PcapFormatOptions, PcapWriterOptions } from './writer.ts';
export { PcapWriter, pcapFileHeader, pcapRecord } from './writer.ts';
