/** Opus helpers: packet durations from the TOC (RFC 6716 3.1) and Opus access units in MPEG-TS. */

export const OPUS_CLOCK_HZ = 48_000;
/** RFC 6716 3.2.5: a packet holds at most 120 ms of audio = 5760 samples at 48 kHz. */
export const MAX_OPUS_PACKET_SAMPLES = 5_760;

/** Frame size in 48 kHz samples for each TOC config (RFC 6716 3.1 Table 2). */
function frameSamples(config: number): number {
  if (config < 12) return [480, 960, 1920, 2880][config % 4]!; // SILK-only: 10, 20, 40, 60 ms
  if (config < 16) return [480, 960][config % 2]!; // Hybrid: 10, 20 ms
  return [120, 240, 480, 960][config % 4]!; // CELT-only: 2.5, 5, 10, 20 ms
}

/** Duration of one Opus packet in 48 kHz samples; undefined if it is malformed (RFC 6716 3.4 R1, R5). */
export function opusPacketSamples(packet: Uint8Array): number | undefined {
  const toc = packet[0];
  if (toc === undefined) return undefined; // R1: at least one byte
  const perFrame = frameSamples(toc >> 3);
  switch (toc & 0x03) {
    case 0: // 3.2.2: one frame
      return perFrame;
    case 1: // 3.2.3: two frames of equal size
    case 2: // 3.2.4: two frames of different sizes
      return perFrame * 2;
    default: {
      // 3.2.5 code 3: frame count byte (v, p, M), M >= 1, at most 120 ms in all.
      const count = packet[1] === undefined ? 0 : packet[1] & 0x3f;
      const samples = perFrame * count;
      return count === 0 || samples > MAX_OPUS_PACKET_SAMPLES ? undefined : samples;
    }
  }
}

/** One Opus packet of an Opus-in-MPEG-TS PES payload, with its control header's trims. */
export interface OpusTsPacket {
  /** The Opus packet itself (RFC 6716 3). */
  packet: Uint8Array;
  /** Samples to discard at the start / end of this packet's decoded audio (0 when absent). */
  startTrim: number;
  endTrim: number;
}

/** opus_control_header_prefix: 11 bits 0x3ff, i.e. first two bytes & 0xFFE0 == 0x7FE0. */
const CONTROL_PREFIX = 0x7fe0;
const CONTROL_PREFIX_MASK = 0xffe0;
const START_TRIM_FLAG = 0x10;
const END_TRIM_FLAG = 0x08;
const CONTROL_EXTENSION_FLAG = 0x04;
/** start_trim / end_trim are 13-bit values after 3 reserved bits. */
const TRIM_MASK = 0x1fff;
/** au_size: a run of 0xFF bytes (255 each) and a final byte below 255. */
const AU_SIZE_CONTINUES = 0xff;

export interface OpusControlHeader {
  /** au_size: bytes of the Opus packet that follows. */
  size: number;
  startTrim: number;
  endTrim: number;
  /** Bytes of the control header itself. */
  headerSize: number;
}

/**
 * The control header in front of each Opus packet (ETSI TS Opus draft 0.1.3,
 * opus_control_header, as ffmpeg writes it): prefix 0x3ff, start_trim_flag,
 * end_trim_flag, control_extension_flag, 2 reserved bits; au_size; start_trim
 * and end_trim if flagged (16 bits each: 3 reserved + 13); a length byte and
 * that many extension bytes if flagged. A string says what is malformed.
 */
export function parseOpusControlHeader(bytes: Uint8Array, at: number): OpusControlHeader | string {
  if (at + 2 > bytes.length || (((bytes[at]! << 8) | bytes[at + 1]!) & CONTROL_PREFIX_MASK) !== CONTROL_PREFIX) {
    return `Opus control header prefix 0x7FE0 missing at byte ${at} of ${bytes.length}`;
  }
  const flags = bytes[at + 1]!;
  let i = at + 2;
  let size = 0;
  for (;;) {
    const byte = bytes[i++];
    if (byte === undefined) return `Opus au_size at byte ${at} runs past the ${bytes.length}-byte PES payload`;
    size += byte;
    if (byte !== AU_SIZE_CONTINUES) break;
  }
  const trims = ((flags & START_TRIM_FLAG) !== 0 ? 1 : 0) + ((flags & END_TRIM_FLAG) !== 0 ? 1 : 0);
  if (i + 2 * trims > bytes.length) {
    return `Opus trim fields at byte ${at} run past the ${bytes.length}-byte PES payload`;
  }
  const read16 = () => ((bytes[i++]! << 8) | bytes[i++]!) & TRIM_MASK; // 3 reserved bits + 13-bit trim
  const startTrim = flags & START_TRIM_FLAG ? read16() : 0;
  const endTrim = flags & END_TRIM_FLAG ? read16() : 0;
  if (flags & CONTROL_EXTENSION_FLAG) {
    const extension = bytes[i];
    if (extension === undefined || i + 1 + extension > bytes.length) {
      return `Opus control extension at byte ${at} runs past the PES payload`;
    }
    i += 1 + extension;
  }
  return { size, startTrim, endTrim, headerSize: i - at };
}

/** Splits an Opus-in-MPEG-TS PES payload into its packets; stops at the first malformed header. */
export function splitOpusPes(payload: Uint8Array): { packets: OpusTsPacket[]; error?: string } {
  const packets: OpusTsPacket[] = [];
  for (let i = 0; i < payload.length;) {
    const header = parseOpusControlHeader(payload, i);
    if (typeof header === "string") return { packets, error: header };
    const start = i + header.headerSize;
    if (start + header.size > payload.length) {
      return {
        packets,
        error: `Opus packet of ${header.size} bytes at byte ${start} runs past the ${payload.length}-byte PES payload`,
      };
    }
    packets.push({
      packet: payload.subarray(start, start + header.size),
      startTrim: header.startTrim,
      endTrim: header.endTrim,
    });
    i = start + header.size;
  }
  return { packets };
}
