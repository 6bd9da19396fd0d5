/** PES packet headers (ISO/IEC 13818-1 2.4.3.6 / 2.4.3.7). */

export interface PesPacket {
  streamId: number;
  /** 90 kHz, 33 bits. */
  pts: number | undefined;
  dts: number | undefined;
  payload: Uint8Array;
}

/** Reads a 33-bit timestamp from its 5-byte PTS/DTS field (marker bits ignored). */
export function readTimestamp(b: Uint8Array, i: number): number {
  const high = (b[i]! >> 1) & 0x07; // bits 32..30
  const mid = ((b[i + 1]! << 7) | (b[i + 2]! >> 1)) & 0x7fff; // bits 29..15
  const low = ((b[i + 3]! << 7) | (b[i + 4]! >> 1)) & 0x7fff; // bits 14..0
  return high * 2 ** 30 + mid * 2 ** 15 + low;
}

/** Parses a complete PES packet; a string says what was wrong. */
export function parsePes(bytes: Uint8Array): PesPacket | string {
  if (bytes.length < 9 || bytes[0] !== 0 || bytes[1] !== 0 || bytes[2] !== 1) return "PES does not start with 00 00 01";
  const streamId = bytes[3]!;
  const headerDataLength = bytes[8]!;
  const payloadStart = 9 + headerDataLength;
  if (payloadStart > bytes.length) return `PES header of ${payloadStart} bytes overruns the ${bytes.length}-byte packet`;
  const flags = bytes[7]! >> 6; // PTS_DTS_flags
  let pts: number | undefined;
  let dts: number | undefined;
  if (flags & 0x02) {
    if (headerDataLength < 5) return "PES PTS flag set but header too short";
    pts = readTimestamp(bytes, 9);
  }
  if (flags === 0x03) {
    if (headerDataLength < 10) return "PES DTS flag set but header too short";
    dts = readTimestamp(bytes, 14);
  }
  const declared = (bytes[4]! << 8) | bytes[5]!; // PES_packet_length; 0 = unbounded (video)
  const end = declared === 0 ? bytes.length : Math.min(bytes.length, 6 + declared);
  return { streamId, pts, dts, payload: bytes.subarray(payloadStart, end) };
}

/** The declared total size of a PES packet, or undefined when unbounded (PES_packet_length 0). */
export function declaredPesSize(start: Uint8Array): number | undefined {
  if (start.length < 6) return undefined;
  const declared = (start[4]! << 8) | start[5]!;
  return declared === 0 ? undefined : 6 + declared;
}
