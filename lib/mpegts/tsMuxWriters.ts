/**
 * Byte writers for the MPEG-TS muxer (ISO/IEC 13818-1): transport packets with
 * adaptation fields, PES headers, PAT/PMT sections, the Opus control header.
 * Pure functions; the muxer (tsMuxer.ts) decides what goes where and when.
 */
import { crc32Mpeg2 } from "./crc32.ts";
import { SYNC_BYTE, TS_PACKET_SIZE } from "./tsPacket.ts";

/** Payload room of a packet without adaptation field: 188 - 4 header bytes. */
export const TS_PAYLOAD_SIZE = TS_PACKET_SIZE - 4;
/** PCR field in the adaptation field: 33-bit base, 6 reserved bits, 9-bit extension (2.4.3.4). */
const PCR_FIELD_SIZE = 6;
/** Adaptation field flag bits (2.4.3.4). */
const AF_DISCONTINUITY = 0x80;
const AF_RANDOM_ACCESS = 0x40;
const AF_PCR = 0x10;
/** Largest PES_packet_length (a 16-bit field, 2.4.3.7). */
const MAX_PES_PACKET_LENGTH = 0xffff;
/** '10' marker bits of the PES header's first flags byte (2.4.3.7). */
const PES_MARKER_BITS = 0x80;
const PES_DATA_ALIGNMENT = 0x04;
/** PTS_DTS_flags '10' (PTS only) and '11' (PTS and DTS), in the second flags byte. */
const PES_PTS_ONLY = 0x80;
const PES_PTS_AND_DTS = 0xc0;
/** PSI sections: 2 reserved bits, version_number 0, current_next_indicator 1 (2.4.4.3, 2.4.4.8). */
const VERSION_0_CURRENT = 0xc1;

/** What the adaptation field of one packet says (2.4.3.4); absent fields are not written. */
export interface AdaptationFields {
  discontinuity?: boolean;
  randomAccess?: boolean;
  /** program_clock_reference_base, 90 kHz, 33 bits (the 27 MHz extension is written as 0). */
  pcr?: number;
}

/** Bytes the adaptation field needs for these fields, length byte included; 0 for none. */
export function adaptationFieldSize(fields: AdaptationFields | undefined): number {
  if (!fields || (!fields.discontinuity && !fields.randomAccess && fields.pcr === undefined)) return 0;
  return 2 + (fields.pcr !== undefined ? PCR_FIELD_SIZE : 0); // length byte + flags byte (+ PCR)
}

export interface PacketSpec {
  pid: number;
  payloadUnitStart: boolean;
  /** continuity_counter to write (the caller advances it only for packets with payload, 2.4.3.3). */
  counter: number;
  fields?: AdaptationFields | undefined;
  /** At most TS_PAYLOAD_SIZE minus the fields' size; empty = adaptation field only. */
  payload: Uint8Array;
}

/**
 * Writes one 188-byte transport packet at `out[offset]` (2.4.3.2). The payload
 * fills the end of the packet; whatever room is left becomes the adaptation
 * field, padded with stuffing bytes 0xFF (2.4.3.5), so a short last PES packet
 * needs no extra care.
 */
export function writeTsPacket(out: Uint8Array, offset: number, spec: PacketSpec): void {
  const room = TS_PAYLOAD_SIZE - spec.payload.length; // bytes the adaptation field must take
  const fieldsSize = adaptationFieldSize(spec.fields);
  if (room < fieldsSize) {
    throw new RangeError(
      `TS packet on PID ${spec.pid}: ${spec.payload.length} payload bytes leave ${room} for a ${fieldsSize}-byte adaptation field`,
    );
  }
  const hasField = room > 0;
  const hasPayload = spec.payload.length > 0;
  out[offset] = SYNC_BYTE;
  out[offset + 1] = (spec.payloadUnitStart ? 0x40 : 0) | ((spec.pid >> 8) & 0x1f);
  out[offset + 2] = spec.pid & 0xff;
  // adaptation_field_control (Table 2-5): '01' payload only, '10' field only, '11' both.
  out[offset + 3] = (hasField ? 0x20 : 0) | (hasPayload ? 0x10 : 0) | (spec.counter & 0x0f);
  if (hasField) writeAdaptationField(out, offset + 4, room, spec.fields);
  out.set(spec.payload, offset + TS_PACKET_SIZE - spec.payload.length);
}

/** adaptation_field_length, flags, PCR, stuffing: `size` bytes in all (2.4.3.4). */
function writeAdaptationField(out: Uint8Array, at: number, size: number, fields: AdaptationFields | undefined): void {
  out[at] = size - 1; // adaptation_field_length counts the bytes after itself; 0 = one stuffing byte
  if (size === 1) return;
  const pcr = fields?.pcr;
  out[at + 1] = (fields?.discontinuity ? AF_DISCONTINUITY : 0) | (fields?.randomAccess ? AF_RANDOM_ACCESS : 0) |
    (pcr !== undefined ? AF_PCR : 0);
  let next = at + 2;
  if (pcr !== undefined) {
    out.set(pcrBytes(pcr), next);
    next += PCR_FIELD_SIZE;
  }
  out.fill(0xff, next, at + size); // stuffing_byte (2.4.3.5)
}

/** program_clock_reference_base (33 bits), 6 reserved '1' bits, extension 0 (2.4.3.4). */
export function pcrBytes(base: number): number[] {
  const low25 = base % 2 ** 25;
  const high8 = Math.floor(base / 2 ** 25) & 0xff;
  return [high8, (low25 >> 17) & 0xff, (low25 >> 9) & 0xff, (low25 >> 1) & 0xff, ((low25 & 1) << 7) | 0x7e, 0x00];
}

/** A 33-bit PTS/DTS in its 5-byte form with marker bits (2.4.3.7); prefix '0010' PTS only, '0011' PTS, '0001' DTS. */
export function timestampBytes(prefix: number, ts: number): number[] {
  const high3 = Math.floor(ts / 2 ** 30) & 0x07;
  const low30 = ts % 2 ** 30;
  return [
    (prefix << 4) | (high3 << 1) | 1,
    (low30 >> 22) & 0xff,
    (((low30 >> 15) & 0x7f) << 1) | 1,
    (low30 >> 7) & 0xff,
    ((low30 & 0x7f) << 1) | 1,
  ];
}

export interface PesSpec {
  streamId: number;
  pts: number;
  /** Written only when it differs from the PTS (2.4.3.7: DTS absent means DTS = PTS). */
  dts: number;
  /** Video may use PES_packet_length 0 (unbounded) when the packet is too long for the field. */
  video: boolean;
}

/**
 * A whole PES packet (2.4.3.6): header with PTS (and DTS), data_alignment_indicator
 * set (every PES starts with an access unit), then the payload parts. The
 * length is always written when it fits, so a demuxer can finish the PES
 * without waiting for the next one; only video may fall back to 0.
 */
export function pesPacket(spec: PesSpec, parts: Uint8Array[]): Uint8Array {
  const withDts = spec.dts !== spec.pts;
  const headerData = withDts
    ? [...timestampBytes(0x3, spec.pts), ...timestampBytes(0x1, spec.dts)]
    : timestampBytes(0x2, spec.pts);
  let bodySize = 0;
  for (const part of parts) bodySize += part.length;
  const length = 3 + headerData.length + bodySize; // flags, flags, PES_header_data_length, header data, body
  if (length > MAX_PES_PACKET_LENGTH && !spec.video) {
    throw new RangeError(
      `PES for stream_id 0x${spec.streamId.toString(16)} needs ${length} bytes; only video PES may be unbounded`,
    );
  }
  const declared = length > MAX_PES_PACKET_LENGTH ? 0 : length;
  const header = [0, 0, 1, spec.streamId, declared >> 8, declared & 0xff];
  header.push(
    PES_MARKER_BITS | PES_DATA_ALIGNMENT,
    withDts ? PES_PTS_AND_DTS : PES_PTS_ONLY,
    headerData.length,
    ...headerData,
  );
  const out = new Uint8Array(header.length + bodySize);
  out.set(header);
  let offset = header.length;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/**
 * Opus control header (Opus in MPEG-TS, ETSI TS 102 366-style mapping as ffmpeg
 * reads and writes it): 11-bit prefix 0x3FF, start_trim_flag, end_trim_flag and
 * control_extension_flag all 0, 2 reserved bits -> 0x7F 0xE0; then au_size as a
 * run of 0xFF bytes plus a final byte below 255.
 */
export function opusControlHeader(size: number): Uint8Array {
  const ffRun = Math.floor(size / 255);
  const out = new Uint8Array(2 + ffRun + 1);
  out[0] = 0x7f;
  out[1] = 0xe0;
  out.fill(0xff, 2, 2 + ffRun);
  out[2 + ffRun] = size % 255;
  return out;
}

/**
 * One packet carrying a whole PSI section (2.4.4): pointer_field 0, the
 * section, then 0xFF stuffing to the end of the packet (2.4.4.1).
 */
export function psiPacket(pid: number, counter: number, section: Uint8Array): Uint8Array {
  if (section.length > TS_PAYLOAD_SIZE - 1) {
    throw new RangeError(`PSI section of ${section.length} bytes does not fit one packet`);
  }
  const payload = new Uint8Array(TS_PAYLOAD_SIZE).fill(0xff);
  payload[0] = 0; // pointer_field: the section starts right after it
  payload.set(section, 1);
  const packet = new Uint8Array(TS_PACKET_SIZE);
  writeTsPacket(packet, 0, { pid, payloadUnitStart: true, counter, payload });
  return packet;
}

/**
 * A long-form PSI section (2.4.4.10 syntax): table_id, section_syntax_indicator
 * '1', '0', 2 reserved bits, section_length, the body (from transport_stream_id
 * or program_number on), CRC_32 over everything before it (Annex A).
 */
export function psiSection(tableId: number, body: number[]): Uint8Array {
  const sectionLength = body.length + 4; // + CRC_32
  const SYNTAX_AND_RESERVED = 0xb0; // section_syntax_indicator 1, '0', 2 reserved bits
  const head = Uint8Array.from([tableId, SYNTAX_AND_RESERVED | (sectionLength >> 8), sectionLength & 0xff, ...body]);
  const out = new Uint8Array(head.length + 4);
  out.set(head);
  new DataView(out.buffer).setUint32(head.length, crc32Mpeg2(head));
  return out;
}

/** program_association_section (2.4.4.3): transport_stream_id 1, version 0, current, one program. */
export function patSection(programNumber: number, pmtPid: number): Uint8Array {
  const TRANSPORT_STREAM_ID = [0x00, 0x01];
  const SECTION_NUMBERS = [0x00, 0x00]; // section_number, last_section_number: one section
  const program = [programNumber >> 8, programNumber & 0xff, 0xe0 | pidHigh(pmtPid), pmtPid & 0xff];
  return psiSection(0x00, [...TRANSPORT_STREAM_ID, VERSION_0_CURRENT, ...SECTION_NUMBERS, ...program]);
}

/** One elementary stream of a PMT: stream_type (Table 2-34), PID, ES_info descriptors. */
export interface PmtEntry {
  streamType: number;
  pid: number;
  descriptors: number[];
}

/** TS_program_map_section (2.4.4.8): version 0, no program_info descriptors. */
export function pmtSection(programNumber: number, pcrPid: number, entries: PmtEntry[]): Uint8Array {
  const NO_PROGRAM_INFO = [0xf0, 0x00]; // 4 reserved bits, program_info_length 0
  const body = [
    programNumber >> 8,
    programNumber & 0xff,
    VERSION_0_CURRENT,
    0x00,
    0x00,
    0xe0 | pidHigh(pcrPid),
    pcrPid & 0xff,
    ...NO_PROGRAM_INFO,
  ];
  for (const entry of entries) {
    const length = entry.descriptors.length;
    body.push(
      entry.streamType,
      0xe0 | pidHigh(entry.pid),
      entry.pid & 0xff,
      0xf0 | (length >> 8),
      length & 0xff,
      ...entry.descriptors,
    );
  }
  return psiSection(0x02, body);
}

/** The 5 high bits of a 13-bit PID; the caller puts 3 reserved '1' bits above them. */
function pidHigh(pid: number): number {
  return (pid >> 8) & 0x1f;
}
