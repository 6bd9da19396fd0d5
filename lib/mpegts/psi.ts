/** Program-specific information: PAT and PMT sections (ISO/IEC 13818-1 2.4.4). */
import { crc32Mpeg2 } from "./crc32.ts";

export const PAT_PID = 0x0000;
export const TABLE_ID_PAT = 0x00; // Table 2-31
export const TABLE_ID_PMT = 0x02;
/** Long-form section header: table_id .. last_section_number (8 bytes), before the table's own fields. */
const LONG_HEADER_SIZE = 8;
const CRC_SIZE = 4;
/** PMT fixed fields after the long header: PCR_PID (2) + program_info_length (2). */
const PMT_FIXED_SIZE = LONG_HEADER_SIZE + 4;
/** One ES loop entry before its descriptors: stream_type, elementary_PID, ES_info_length. */
const ES_ENTRY_SIZE = 5;

export interface Descriptor {
  tag: number;
  data: Uint8Array;
}

export interface PmtStream {
  streamType: number;
  pid: number;
  descriptors: Descriptor[];
}

export interface Pmt {
  programNumber: number;
  version: number;
  pcrPid: number;
  /** Program-level descriptors (program_info). */
  descriptors: Descriptor[];
  streams: PmtStream[];
}

export interface PatProgram {
  programNumber: number;
  /** program_map_PID (or network_PID for program_number 0). */
  pid: number;
}

export interface Pat {
  transportStreamId: number;
  version: number;
  programs: PatProgram[];
}

/** `current`: false when current_next_indicator is 0 (a table sent ahead of use: ignore it). */
export type SectionResult<T> =
  | { ok: true; value: T; current: boolean }
  | { ok: false; error: "crc" | "syntax"; message: string };

/** 2.4.4.11 + Annex A: checks shared by long-form sections; undefined when fine. */
function checkLongSection(section: Uint8Array, tableId: number, name: string): SectionResult<never> | undefined {
  const syntax = (message: string) => ({ ok: false, error: "syntax", message: `${name}: ${message}` }) as const;
  if (section[0] !== tableId) return syntax(`table_id ${section[0]} is not ${tableId}`);
  if (section.length < LONG_HEADER_SIZE + CRC_SIZE) return syntax(`section of ${section.length} bytes is too short`);
  if (!(section[1]! & 0x80)) return syntax("section_syntax_indicator is 0");
  // CRC-32/MPEG-2 run over the whole section including CRC_32 leaves 0 (Annex A).
  if (crc32Mpeg2(section) !== 0) return { ok: false, error: "crc", message: `${name}: CRC_32 mismatch` };
  return undefined;
}

const version = (section: Uint8Array) => (section[5]! >> 1) & 0x1f;
const isCurrent = (section: Uint8Array) => (section[5]! & 0x01) === 1;
const u16 = (b: Uint8Array, i: number) => (b[i]! << 8) | b[i + 1]!;
const pid13 = (b: Uint8Array, i: number) => u16(b, i) & 0x1fff;
const length12 = (b: Uint8Array, i: number) => u16(b, i) & 0x0fff;

/** 2.4.4.3 program_association_section. */
export function parsePat(section: Uint8Array): SectionResult<Pat> {
  const bad = checkLongSection(section, TABLE_ID_PAT, "PAT");
  if (bad) return bad;
  const end = section.length - CRC_SIZE;
  if ((end - LONG_HEADER_SIZE) % 4 !== 0) {
    return {
      ok: false,
      error: "syntax",
      message: `PAT: program loop of ${end - LONG_HEADER_SIZE} bytes is not a multiple of 4`,
    };
  }
  const programs: PatProgram[] = [];
  for (let i = LONG_HEADER_SIZE; i < end; i += 4) {
    programs.push({ programNumber: u16(section, i), pid: pid13(section, i + 2) });
  }
  return {
    ok: true,
    current: isCurrent(section),
    value: { transportStreamId: u16(section, 3), version: version(section), programs },
  };
}

/** The first program of a PAT (program_number 0 is the network PID, not a program). */
export function firstProgram(pat: Pat): PatProgram | undefined {
  return pat.programs.find((p) => p.programNumber !== 0);
}

/** 2.4.4.8 TS_program_map_section. */
export function parsePmt(section: Uint8Array): SectionResult<Pmt> {
  const bad = checkLongSection(section, TABLE_ID_PMT, "PMT");
  if (bad) return bad;
  const syntax = (message: string) => ({ ok: false, error: "syntax", message: `PMT: ${message}` }) as const;
  const end = section.length - CRC_SIZE;
  if (end < PMT_FIXED_SIZE) {
    return syntax(`section of ${section.length} bytes has no room for PCR_PID and program_info_length`);
  }
  const programInfoEnd = PMT_FIXED_SIZE + length12(section, 10);
  if (programInfoEnd > end) return syntax(`program_info_length overruns the section by ${programInfoEnd - end} bytes`);
  const streams: PmtStream[] = [];
  // Fewer than ES_ENTRY_SIZE stray bytes at the end are tolerated: the CRC says they were sent so.
  for (let i = programInfoEnd; i + ES_ENTRY_SIZE <= end;) {
    const infoEnd = i + ES_ENTRY_SIZE + length12(section, i + 3);
    if (infoEnd > end) return syntax(`ES_info_length of PID ${pid13(section, i + 1)} overruns the section`);
    streams.push({
      streamType: section[i]!,
      pid: pid13(section, i + 1),
      descriptors: parseDescriptors(section.subarray(i + ES_ENTRY_SIZE, infoEnd)),
    });
    i = infoEnd;
  }
  return {
    ok: true,
    current: isCurrent(section),
    value: {
      programNumber: u16(section, 3),
      version: version(section),
      pcrPid: pid13(section, 8),
      descriptors: parseDescriptors(section.subarray(PMT_FIXED_SIZE, programInfoEnd)),
      streams,
    },
  };
}

/** 2.6: descriptor_tag, descriptor_length, data. A descriptor running past the loop is cut off there. */
export function parseDescriptors(bytes: Uint8Array): Descriptor[] {
  const out: Descriptor[] = [];
  for (let i = 0; i + 2 <= bytes.length; i += 2 + bytes[i + 1]!) {
    out.push({ tag: bytes[i]!, data: bytes.subarray(i + 2, Math.min(bytes.length, i + 2 + bytes[i + 1]!)) });
  }
  return out;
}

/** 2.6.8 registration_descriptor (tag 0x05). */
export const REGISTRATION_DESCRIPTOR_TAG = 0x05;

/** The format_identifier of a registration descriptor (e.g. "Opus"), if one is there. */
export function registrationFormat(descriptors: Descriptor[]): string | undefined {
  const registration = descriptors.find((d) => d.tag === REGISTRATION_DESCRIPTOR_TAG && d.data.length >= 4);
  return registration ? String.fromCharCode(...registration.data.subarray(0, 4)) : undefined;
}
