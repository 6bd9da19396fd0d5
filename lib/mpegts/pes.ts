/** PES packet headers (ISO/IEC 13818-1 2.4.3.6 syntax, 2.4.3.7 semantics). */

export interface PesPacket {
  streamId: number;
  /** 90 kHz, 33 bits. */
  pts: number | undefined;
  /** 90 kHz, 33 bits; only with a PTS. */
  dts: number | undefined;
  payload: Uint8Array;
}

/** packet_start_code_prefix (3) + stream_id (1) + PES_packet_length (2). */
export const PES_PREFIX_SIZE = 6;
/** Prefix + flags (2) + PES_header_data_length (1): where the optional fields start. */
const PES_FIXED_HEADER_SIZE = 9;
const TIMESTAMP_SIZE = 5;
/** Table 2-22 stream_ids whose PES packets carry no optional header (so no PTS): 2.4.3.6 "if (stream_id != ...)". */
const STREAM_IDS_WITHOUT_HEADER = new Set([
  0xbc, // program_stream_map
  0xbe, // padding_stream
  0xbf, // private_stream_2
  0xf0, // ECM
  0xf1, // EMM
  0xf2, // DSMCC_stream
  0xf8, // ITU-T H.222.1 type E
  0xff, // program_stream_directory
]);

/** Reads a 33-bit PTS/DTS from its 5-byte field (2.4.3.6: 3 + 15 + 15 bits between marker bits). */
export function readTimestamp(b: Uint8Array, i: number): number {
  const high = (b[i]! >> 1) & 0x07; // bits 32..30
  const mid = ((b[i + 1]! << 7) | (b[i + 2]! >> 1)) & 0x7fff; // bits 29..15
  const low = ((b[i + 3]! << 7) | (b[i + 4]! >> 1)) & 0x7fff; // bits 14..0
  return high * 2 ** 30 + mid * 2 ** 15 + low;
}

/** The declared total size of a PES packet from its first 6 bytes; undefined when unbounded (PES_packet_length 0, video). */
export function declaredPesSize(prefix: Uint8Array): number | undefined {
  const declared = (prefix[4]! << 8) | prefix[5]!;
  return declared === 0 ? undefined : PES_PREFIX_SIZE + declared;
}

/** Parses a complete PES packet; a string says what is malformed. */
export function parsePes(bytes: Uint8Array): PesPacket | string {
  if (bytes.length < PES_PREFIX_SIZE || bytes[0] !== 0 || bytes[1] !== 0 || bytes[2] !== 1) {
    return `PES of ${bytes.length} bytes does not start with packet_start_code_prefix 00 00 01`;
  }
  const streamId = bytes[3]!;
  const hex = `0x${streamId.toString(16)}`;
  if (STREAM_IDS_WITHOUT_HEADER.has(streamId)) return `PES stream_id ${hex} has no PES header, so no PTS`;
  const declared = declaredPesSize(bytes);
  if (declared !== undefined && declared > bytes.length) {
    return `PES_packet_length says ${declared} bytes, only ${bytes.length} arrived`;
  }
  const end = declared ?? bytes.length;
  if (end < PES_FIXED_HEADER_SIZE) {
    return `PES of ${end} bytes is shorter than its ${PES_FIXED_HEADER_SIZE}-byte header`;
  }
  if (bytes[6]! >> 6 !== 0b10) return `PES header of stream_id ${hex} lacks its '10' marker bits`;
  const payloadStart = PES_FIXED_HEADER_SIZE + bytes[8]!;
  if (payloadStart > end) return `PES_header_data_length ${bytes[8]} overruns the ${end}-byte PES`;
  const flags = bytes[7]! >> 6; // PTS_DTS_flags: 00 none, 10 PTS, 11 PTS+DTS, 01 forbidden
  if (flags === 0b01) return "PES PTS_DTS_flags '01' is forbidden";
  const needed = flags === 0b11 ? 2 * TIMESTAMP_SIZE : flags === 0b10 ? TIMESTAMP_SIZE : 0;
  if (bytes[8]! < needed) return `PES_header_data_length ${bytes[8]} cannot hold the ${needed} bytes of PTS/DTS`;
  const pts = flags & 0b10 ? readTimestamp(bytes, PES_FIXED_HEADER_SIZE) : undefined;
  const dts = flags === 0b11 ? readTimestamp(bytes, PES_FIXED_HEADER_SIZE + TIMESTAMP_SIZE) : undefined;
  return { streamId, pts, dts, payload: bytes.subarray(payloadStart, end) };
}
