/** PSI section reassembly for one PID (ISO/IEC 13818-1 2.4.4.1 pointer_field, 2.4.4.2 section layout). */

/** 2.4.4.3 / 2.4.4.8: section_length of a PAT or PMT "shall not exceed 1021 (0x3FD)". */
export const MAX_PSI_SECTION_LENGTH = 1021;
/** table_id 0xFF: stuffing; the rest of the packet payload is padding (Table 2-31). */
const TABLE_ID_STUFFING = 0xff;
/** table_id (1) + flags and section_length (2). */
const SECTION_HEADER_SIZE = 3;

export interface SectionPushResult {
  /** Whole sections (table_id .. CRC_32) this payload finished. */
  sections: Uint8Array[];
  /** What was malformed; the broken section was dropped. */
  errors: string[];
}

/**
 * Rebuilds sections from TS packet payloads: a payload_unit_start packet has
 * a pointer_field to its first new section (the bytes before it end the
 * previous one); sections may span packets and several may share one.
 * The caller checks continuity and calls reset() on a gap.
 */
export class SectionAssembler {
  /** The section being assembled, from its table_id on. */
  #buffer: Uint8Array | undefined;

  push(payload: Uint8Array, unitStart: boolean): SectionPushResult {
    const result: SectionPushResult = { sections: [], errors: [] };
    if (!unitStart) {
      if (this.#buffer) this.#drain(append(this.#buffer, payload), result);
      return result; // no buffer: the continuation of a section whose start we never saw
    }
    const pointer = payload[0];
    if (pointer === undefined || 1 + pointer > payload.length) {
      this.#buffer = undefined;
      result.errors.push(`pointer_field ${pointer ?? "(missing)"} overruns the ${payload.length}-byte payload`);
      return result;
    }
    if (this.#buffer) {
      this.#drain(append(this.#buffer, payload.subarray(1, 1 + pointer)), result);
      if (this.#buffer) {
        result.errors.push(`section cut short: ${this.#buffer.length} bytes held when the next section started`);
      }
    }
    this.#drain(payload.subarray(1 + pointer), result);
    return result;
  }

  reset(): void {
    this.#buffer = undefined;
  }

  /** Takes whole sections off the front of `data`; keeps an unfinished one. */
  #drain(data: Uint8Array, result: SectionPushResult): void {
    let rest = data;
    while (rest.length > 0 && rest[0] !== TABLE_ID_STUFFING) {
      if (rest.length < SECTION_HEADER_SIZE) break;
      const sectionLength = ((rest[1]! & 0x0f) << 8) | rest[2]!;
      if (sectionLength > MAX_PSI_SECTION_LENGTH) {
        result.errors.push(`section_length ${sectionLength} exceeds ${MAX_PSI_SECTION_LENGTH} (table_id ${rest[0]})`);
        this.#buffer = undefined;
        return;
      }
      const size = SECTION_HEADER_SIZE + sectionLength;
      if (rest.length < size) break;
      result.sections.push(rest.slice(0, size));
      rest = rest.subarray(size);
    }
    this.#buffer = rest.length > 0 && rest[0] !== TABLE_ID_STUFFING ? rest.slice() : undefined;
  }
}

function append(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
