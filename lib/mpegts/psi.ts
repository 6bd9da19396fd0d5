/** Program-specific information: PAT and PMT sections (ISO/IEC 13818-1 2.4.4). */
import { crc32Mpeg2 } from "./crc32.ts";

export const PAT_PID = 0x0000;
export const TABLE_ID_PAT = 0x00;
export const TABLE_ID_PMT = 0x02;

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
  streams: PmtStream[];
}

export type SectionResult<T> = { ok: true; value: T } | { ok: false; error: "crc" | "syntax"; message: string };

/**
 * Reassembles PSI sections of one PID across TS packets (pointer_field,
 * sections spanning packets, several sections per packet).
 */
export class SectionAssembler {
  #buffer: Uint8Array | undefined;

  /** Returns the complete sections this packet payload finishes. */
  push(payload: Uint8Array, unitStart: boolean): Uint8Array[] {
    const sections: Uint8Array[] = [];
    let data = payload;
    if (unitStart) {
      const pointer = data[0] ?? 0;
      if (this.#buffer) this.#buffer = append(this.#buffer, data.subarray(1, 1 + pointer));
      this.#drain(sections);
      this.#buffer = data.subarray(1 + pointer);
    } else if (this.#buffer) {
      this.#buffer = append(this.#buffer, data);
    } else {
      return sections; // continuation of a section whose start we never saw
    }
    this.#drain(sections);
    return sections;
  }

  reset(): void {
    this.#buffer = undefined;
  }

  #drain(out: Uint8Array[]): void {
    while (this.#buffer && this.#buffer.length >= 3) {
      if (this.#buffer[0] === 0xff) {
        this.#buffer = undefined; // stuffing: the rest of the packet is padding
        return;
      }
      const length = 3 + (((this.#buffer[1]! & 0x0f) << 8) | this.#buffer[2]!);
      if (this.#buffer.length < length) return;
      out.push(this.#buffer.slice(0, length));
      this.#buffer = this.#buffer.subarray(length);
    }
    if (this.#buffer?.length === 0) this.#buffer = undefined;
  }
}

function append(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** Common long-form section checks: table ID, section_syntax_indicator, CRC_32. */
function checkSection(section: Uint8Array, tableId: number): string | undefined {
  if (section[0] !== tableId) return `table_id ${section[0]} is not ${tableId}`;
  if (!(section[1]! & 0x80)) return "section_syntax_indicator is 0";
  if (section.length < 12) return `section of ${section.length} bytes is too short`;
  return undefined;
}

function crcOk(section: Uint8Array): boolean {
  return crc32Mpeg2(section) === 0; // CRC over the whole section including CRC_32 is 0
}

/** PAT: the PMT PID of the first program (program_number != 0; 0 is the network PID). */
export function parsePat(section: Uint8Array): SectionResult<{ programNumber: number; pmtPid: number } | undefined> {
  const bad = checkSection(section, TABLE_ID_PAT);
  if (bad) return { ok: false, error: "syntax", message: `PAT: ${bad}` };
  if (!crcOk(section)) return { ok: false, error: "crc", message: "PAT: CRC_32 mismatch" };
  for (let i = 8; i + 4 <= section.length - 4; i += 4) {
    const programNumber = (section[i]! << 8) | section[i + 1]!;
    const pid = ((section[i + 2]! & 0x1f) << 8) | section[i + 3]!;
    if (programNumber !== 0) return { ok: true, value: { programNumber, pmtPid: pid } };
  }
  return { ok: true, value: undefined };
}

export function parsePmt(section: Uint8Array): SectionResult<Pmt> {
  const bad = checkSection(section, TABLE_ID_PMT);
  if (bad) return { ok: false, error: "syntax", message: `PMT: ${bad}` };
  if (!crcOk(section)) return { ok: false, error: "crc", message: "PMT: CRC_32 mismatch" };
  const programNumber = (section[3]! << 8) | section[4]!;
  const version = (section[5]! >> 1) & 0x1f;
  const pcrPid = ((section[8]! & 0x1f) << 8) | section[9]!;
  const programInfoLength = ((section[10]! & 0x0f) << 8) | section[11]!;
  const end = section.length - 4;
  const streams: PmtStream[] = [];
  for (let i = 12 + programInfoLength; i + 5 <= end; ) {
    const esInfoLength = ((section[i + 3]! & 0x0f) << 8) | section[i + 4]!;
    if (i + 5 + esInfoLength > end) return { ok: false, error: "syntax", message: "PMT: ES_info_length overruns the section" };
    streams.push({
      streamType: section[i]!,
      pid: ((section[i + 1]! & 0x1f) << 8) | section[i + 2]!,
      descriptors: parseDescriptors(section.subarray(i + 5, i + 5 + esInfoLength)),
    });
    i += 5 + esInfoLength;
  }
  return { ok: true, value: { programNumber, version, pcrPid, streams } };
}

function parseDescriptors(bytes: Uint8Array): Descriptor[] {
  const out: Descriptor[] = [];
  for (let i = 0; i + 2 <= bytes.length; ) {
    const length = bytes[i + 1]!;
    out.push({ tag: bytes[i]!, data: bytes.subarray(i + 2, Math.min(bytes.length, i + 2 + length)) });
    i += 2 + length;
  }
  return out;
}
