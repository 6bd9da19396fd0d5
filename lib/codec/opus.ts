/** Opus helpers: packet durations from the TOC (RFC 6716 3.1) and Opus-in-MPEG-TS access units. */

export const OPUS_CLOCK_HZ = 48_000;

/** Frame size in 48 kHz samples for each TOC config (RFC 6716 Table 2). */
function frameSamples(config: number): number {
  if (config < 12) return [480, 960, 1920, 2880][config % 4]!; // SILK: 10, 20, 40, 60 ms
  if (config < 16) return [480, 960][config % 2]!; // Hybrid: 10, 20 ms
  return [120, 240, 480, 960][config % 4]!; // CELT: 2.5, 5, 10, 20 ms
}

/** Duration of one Opus packet in 48 kHz samples; undefined if the packet is malformed. */
export function opusPacketSamples(packet: Uint8Array): number | undefined {
  const toc = packet[0];
  if (toc === undefined) return undefined;
  const perFrame = frameSamples(toc >> 3);
  switch (toc & 0x03) {
    case 0:
      return perFrame;
    case 1:
    case 2:
      return perFrame * 2;
    default: {
      const count = (packet[1] ?? 0) & 0x3f; // code 3: frame count byte (RFC 6716 3.2.5)
      if (count === 0 || perFrame * count > 5760) return undefined; // at most 120 ms
      return perFrame * count;
    }
  }
}

export interface OpusAccessUnit {
  /** The Opus packet itself. */
  packet: Uint8Array;
  startTrim: number;
  endTrim: number;
}

/**
 * Splits a PES payload of Opus in MPEG-TS into its packets. Each packet is
 * preceded by a control header (ETSI TS 102 366-style, as ffmpeg writes it):
 * 11 bits 0x3ff, start_trim_flag, end_trim_flag, control_extension_flag,
 * 2 reserved bits; au_size as a run of 0xFF bytes plus a final byte;
 * optional 16-bit start_trim and end_trim; optional extension (length + bytes).
 */
export function splitOpusPes(payload: Uint8Array): { units: OpusAccessUnit[]; error?: string } {
  const units: OpusAccessUnit[] = [];
  let i = 0;
  while (i < payload.length) {
    if (i + 2 > payload.length || payload[i] !== 0x7f || (payload[i + 1]! & 0xe0) !== 0xe0) {
      return { units, error: `Opus control header prefix 0x7FE0 missing at byte ${i} of ${payload.length}` };
    }
    const flags = payload[i + 1]!;
    i += 2;
    let size = 0;
    for (;;) {
      const byte = payload[i++];
      if (byte === undefined) return { units, error: "Opus au_size runs past the PES" };
      size += byte;
      if (byte !== 0xff) break;
    }
    let startTrim = 0;
    let endTrim = 0;
    if (flags & 0x10) [startTrim, i] = [read16(payload, i), i + 2];
    if (flags & 0x08) [endTrim, i] = [read16(payload, i), i + 2];
    if (flags & 0x04) i += 1 + (payload[i] ?? 0);
    if (i + size > payload.length) return { units, error: `Opus packet of ${size} bytes runs past the PES` };
    units.push({ packet: payload.subarray(i, i + size), startTrim, endTrim });
    i += size;
  }
  return { units };
}

function read16(b: Uint8Array, i: number): number {
  return ((b[i] ?? 0) << 8) | (b[i + 1] ?? 0);
}
