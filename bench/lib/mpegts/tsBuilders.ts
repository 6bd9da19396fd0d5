/**
 * Builders for hand-made MPEG-TS in the demuxer tests: packets, PSI sections,
 * PES packets and Opus control headers, written straight from ISO/IEC
 * 13818-1 (independent of lib/mpegts/tsMuxer.ts, so the two check each other).
 * Here, not under tests/, because the fuzzer's built streams use them too (demuxFuzzInputs.ts).
 */
import { crc32Mpeg2 } from "../../../lib/mpegts/crc32.ts";

export const TS = 188;

export function concatBytes(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

export interface PacketSpec {
  pid: number;
  cc: number;
  pusi?: boolean;
  payload?: Uint8Array;
  /** Adaptation field flags; stuffing is added to fill the packet either way. */
  discontinuity?: boolean;
  /** PCR base (90 kHz). */
  pcr?: number;
  transportError?: boolean;
  /** Force adaptation_field_control (e.g. 0 for the reserved value). */
  afc?: number;
}

/** One 188-byte packet (2.4.3.2); a short payload is padded with adaptation-field stuffing. */
export function tsPacket(spec: PacketSpec): Uint8Array {
  const payload = spec.payload ?? new Uint8Array(0);
  if (payload.length > TS - 4) throw new Error(`payload of ${payload.length} bytes does not fit a packet`);
  const p = new Uint8Array(TS);
  const needsAf = payload.length < TS - 4 || spec.discontinuity || spec.pcr !== undefined;
  const afc = spec.afc ?? ((needsAf ? 0b10 : 0) | (payload.length > 0 ? 0b01 : 0));
  p[0] = 0x47;
  p[1] = (spec.transportError ? 0x80 : 0) | (spec.pusi ? 0x40 : 0) | (spec.pid >> 8);
  p[2] = spec.pid & 0xff;
  p[3] = (afc << 4) | (spec.cc & 0x0f);
  let i = 4;
  if (needsAf) {
    const afLength = TS - 5 - payload.length;
    p[4] = afLength;
    if (afLength > 0) {
      p[5] = (spec.discontinuity ? 0x80 : 0) | (spec.pcr !== undefined ? 0x10 : 0);
      if (spec.pcr !== undefined) writePcr(p, 6, spec.pcr);
      p.fill(0xff, spec.pcr !== undefined ? 12 : 6, 5 + afLength);
    }
    i = 5 + afLength;
  }
  p.set(payload, i);
  return p;
}

function writePcr(p: Uint8Array, at: number, base: number): void {
  p[at] = Math.floor(base / 2 ** 25) & 0xff;
  p[at + 1] = Math.floor(base / 2 ** 17) & 0xff;
  p[at + 2] = Math.floor(base / 2 ** 9) & 0xff;
  p[at + 3] = Math.floor(base / 2) & 0xff;
  p[at + 4] = ((base % 2) << 7) | 0x7e; // reserved bits set, extension 0
  p[at + 5] = 0;
}

/** A long-form section with section_length and CRC_32 filled in. */
function longSection(tableId: number, idField: number, version: number, body: number[], current = true): Uint8Array {
  const length = 5 + body.length + 4;
  const head = [
    tableId,
    0xb0 | (length >> 8),
    length & 0xff,
    idField >> 8,
    idField & 0xff,
    0xc0 | (version << 1) | (current ? 1 : 0),
    0,
    0,
  ];
  const section = new Uint8Array([...head, ...body, 0, 0, 0, 0]);
  new DataView(section.buffer).setUint32(section.length - 4, crc32Mpeg2(section.subarray(0, section.length - 4)));
  return section;
}

/** 2.4.4.3 PAT: [program_number, PID] pairs. */
export function patSection(programs: Array<[number, number]>, version = 0): Uint8Array {
  const body = programs.flatMap(([number, pid]) => [number >> 8, number & 0xff, 0xe0 | (pid >> 8), pid & 0xff]);
  return longSection(0x00, 1, version, body);
}

export interface PmtStreamSpec {
  streamType: number;
  pid: number;
  descriptors?: number[];
}

/** 2.4.4.8 PMT. */
export function pmtSection(
  o: { programNumber?: number; version?: number; pcrPid: number; streams: PmtStreamSpec[]; current?: boolean },
): Uint8Array {
  const body = [0xe0 | (o.pcrPid >> 8), o.pcrPid & 0xff, 0xf0, 0x00];
  for (const s of o.streams) {
    const d = s.descriptors ?? [];
    body.push(s.streamType, 0xe0 | (s.pid >> 8), s.pid & 0xff, 0xf0 | (d.length >> 8), d.length & 0xff, ...d);
  }
  return longSection(0x02, o.programNumber ?? 1, o.version ?? 0, body, o.current ?? true);
}

/** Registration descriptor (2.6.8) with format_identifier "Opus". */
export const OPUS_REGISTRATION = [0x05, 4, 0x4f, 0x70, 0x75, 0x73];

/** A section in packets: pointer_field 0, continuation packets, 0xFF stuffing. */
export function psiPackets(pid: number, section: Uint8Array, firstCc = 0): Uint8Array[] {
  const data = concatBytes([Uint8Array.of(0), section]);
  const packets: Uint8Array[] = [];
  for (let i = 0, cc = firstCc; i < data.length; i += TS - 4, cc++) {
    const chunk = new Uint8Array(TS - 4).fill(0xff);
    chunk.set(data.subarray(i, i + TS - 4));
    packets.push(tsPacket({ pid, cc, pusi: i === 0, payload: chunk }));
  }
  return packets;
}

/** 2.4.3.6 PTS/DTS field: 4-bit prefix, 33 bits split 3/15/15 between marker bits. */
export function timestampField(prefix: number, t: number): number[] {
  const high = Math.floor(t / 2 ** 30) & 0x07;
  const mid = Math.floor(t / 2 ** 15) & 0x7fff;
  const low = t & 0x7fff;
  return [(prefix << 4) | (high << 1) | 1, mid >> 7, ((mid & 0x7f) << 1) | 1, low >> 7, ((low & 0x7f) << 1) | 1];
}

/** A PES packet; `bounded` writes PES_packet_length, otherwise 0 (unbounded, as for video). */
export function pesBytes(
  o: { streamId?: number; pts?: number; dts?: number; payload: Uint8Array; bounded?: boolean },
): Uint8Array {
  const flags = o.pts === undefined ? 0 : o.dts === undefined ? 0b10 : 0b11;
  const optional = [
    ...(o.pts === undefined ? [] : timestampField(o.dts === undefined ? 0b0010 : 0b0011, o.pts)),
    ...(o.dts === undefined ? [] : timestampField(0b0001, o.dts)),
  ];
  const length = o.bounded ? 3 + optional.length + o.payload.length : 0;
  const header = [
    0,
    0,
    1,
    o.streamId ?? 0xe0,
    length >> 8,
    length & 0xff,
    0x80,
    flags << 6,
    optional.length,
    ...optional,
  ];
  return concatBytes([Uint8Array.from(header), o.payload]);
}

/** A PES cut into packets of one PID, continuity counters from `firstCc`. */
export function pesPackets(pid: number, pes: Uint8Array, firstCc = 0): Uint8Array[] {
  const packets: Uint8Array[] = [];
  for (let i = 0, cc = firstCc; i < pes.length; i += TS - 4, cc++) {
    packets.push(tsPacket({ pid, cc, pusi: i === 0, payload: pes.subarray(i, i + TS - 4) }));
  }
  return packets;
}

/** Opus-in-TS control header (ETSI TS Opus draft 0.1.3) for a packet of `size` bytes. */
export function opusControlHeader(
  size: number,
  o: { startTrim?: number; endTrim?: number; extension?: number[] } = {},
): number[] {
  const flags = (o.startTrim !== undefined ? 0x10 : 0) | (o.endTrim !== undefined ? 0x08 : 0) |
    (o.extension ? 0x04 : 0);
  const sizeBytes = [...new Array<number>(Math.floor(size / 255)).fill(0xff), size % 255];
  const trim = (t: number | undefined) => (t === undefined ? [] : [t >> 8, t & 0xff]);
  const extension = o.extension ? [o.extension.length, ...o.extension] : [];
  return [0x7f, 0xe0 | flags, ...sizeBytes, ...trim(o.startTrim), ...trim(o.endTrim), ...extension];
}

/** The PID of a packet. */
export const pidOf = (p: Uint8Array) => ((p[1]! & 0x1f) << 8) | p[2]!;

/** A whole-packet stream cut into its packets (views). */
export function packetsOf(bytes: Uint8Array): Uint8Array[] {
  const packets: Uint8Array[] = [];
  for (let i = 0; i + TS <= bytes.length; i += TS) packets.push(bytes.subarray(i, i + TS));
  return packets;
}
