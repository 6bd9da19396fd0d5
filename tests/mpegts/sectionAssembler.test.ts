import { describe, expect, test } from "bun:test";
import { SectionAssembler } from "../../lib/mpegts/sectionAssembler.ts";
import { concatBytes } from "../../bench/lib/mpegts/tsBuilders.ts";

/** A section-shaped byte run: table_id, section_length, then `length` bytes of `fill`. */
function section(tableId: number, length: number, fill = 0xab): Uint8Array {
  const s = new Uint8Array(3 + length).fill(fill);
  s[0] = tableId;
  s[1] = 0xb0 | (length >> 8);
  s[2] = length & 0xff;
  return s;
}
const stuffing = (n: number) => new Uint8Array(n).fill(0xff);
const start = (pointer: number, ...parts: Uint8Array[]) => concatBytes([Uint8Array.of(pointer), ...parts]);

function run(payloads: Array<[Uint8Array, boolean]>) {
  const assembler = new SectionAssembler();
  const sections: number[][] = [];
  const errors: string[] = [];
  for (const [payload, unitStart] of payloads) {
    const result = assembler.push(payload, unitStart);
    sections.push(...result.sections.map((s) => [...s]));
    errors.push(...result.errors);
  }
  return { sections, errors };
}

describe("SectionAssembler (ISO/IEC 13818-1 2.4.4)", () => {
  const A = section(0x02, 20, 1);
  const B = section(0x02, 30, 2);
  const LONG = section(0x02, 400, 3); // spans three packets

  test("one section in one packet, then stuffing", () => {
    expect(run([[start(0, A, stuffing(100)), true]])).toEqual({ sections: [[...A]], errors: [] });
  });

  test("two sections in one packet", () => {
    expect(run([[start(0, A, B, stuffing(10)), true]]).sections).toEqual([[...A], [...B]]);
  });

  test("a section across three packets", () => {
    const bytes = start(0, LONG);
    const result = run([[bytes.subarray(0, 184), true], [bytes.subarray(184, 368), false], [
      concatBytes([bytes.subarray(368), stuffing(50)]),
      false,
    ]]);
    expect(result).toEqual({ sections: [[...LONG]], errors: [] });
  });

  test("pointer_field: the bytes before it finish the previous section", () => {
    const first = start(0, LONG.subarray(0, 300));
    const rest = LONG.subarray(300);
    const result = run([[first.subarray(0, 184), true], [first.subarray(184), false], [
      start(rest.length, rest, A),
      true,
    ]]);
    expect(result).toEqual({ sections: [[...LONG], [...A]], errors: [] });
  });

  test("a section header split across packets", () => {
    const result = run([[start(0, stuffing(0), A.subarray(0, 2)), true], [
      concatBytes([A.subarray(2), stuffing(5)]),
      false,
    ]]);
    expect(result.sections).toEqual([[...A]]);
  });

  test("continuation without a start (joined mid-section) is ignored", () => {
    expect(run([[A.subarray(5), false], [start(0, B), true]])).toEqual({ sections: [[...B]], errors: [] });
  });

  test("bytes before the pointer with no section under way are ignored", () => {
    expect(run([[start(4, Uint8Array.of(1, 2, 3, 4), A), true]])).toEqual({ sections: [[...A]], errors: [] });
  });

  test("reset() drops the section under way (a continuity gap)", () => {
    const bytes = start(0, LONG);
    const assembler = new SectionAssembler();
    assembler.push(bytes.subarray(0, 184), true);
    assembler.reset();
    expect(assembler.push(bytes.subarray(184, 368), false).sections).toEqual([]);
  });

  test.each([
    [
      "pointer_field past the payload",
      [[Uint8Array.of(200, 1, 2), true]],
      /pointer_field 200 overruns the 3-byte payload/,
    ],
    ["empty unit-start payload", [[new Uint8Array(0), true]], /pointer_field \(missing\)/],
    ["section_length over 1021", [[start(0, section(0x02, 1022)), true]], /section_length 1022 exceeds 1021/],
    [
      "section cut short by the next one",
      [[start(0, LONG.subarray(0, 100)), true], [start(0, A), true]],
      /section cut short: 100 bytes held/,
    ],
  ] as Array<[string, Array<[Uint8Array, boolean]>, RegExp]>)("malformed: %s", (_name, payloads, message) => {
    const { errors } = run(payloads);
    expect(errors.length).toBe(1);
    expect(errors[0]).toMatch(message);
  });

  test("after a malformed section the next good one is read", () => {
    const result = run([[start(0, section(0x02, 1022)), true], [start(0, A), true]]);
    expect(result.sections).toEqual([[...A]]);
  });
});
