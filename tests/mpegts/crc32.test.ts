import { expect, test } from "bun:test";
import { crc32Mpeg2 } from "../../lib/mpegts/crc32.ts";
import { readFixture } from "../fixtures/readFixture.ts";
import { packetsOf, pidOf, TS } from "../../bench/lib/mpegts/tsBuilders.ts";

test("CRC-32/MPEG-2 check value: '123456789' -> 0x0376E6E7", () => {
  expect(crc32Mpeg2(new TextEncoder().encode("123456789"))).toBe(0x0376e6e7);
});

test("empty input keeps the initial value 0xFFFFFFFF (no final xor)", () => {
  expect(crc32Mpeg2(new Uint8Array(0))).toBe(0xffffffff);
});

test("ffmpeg's PAT section: CRC over the section including its CRC_32 is 0", () => {
  const av = readFixture("av.mpegts");
  const at = packetsOf(av).findIndex((p) => pidOf(p) === 0) * TS; // ffmpeg sends its SDT (PID 0x11) first
  const section = av.subarray(at + 5, at + 5 + 3 + 13); // PAT after pointer_field 0; section_length 13
  expect(section[0]).toBe(0x00);
  expect(crc32Mpeg2(section)).toBe(0);
  expect(crc32Mpeg2(section.subarray(0, 12))).toBe(0x2ab104b2); // CRC_32 as ffmpeg wrote it
});
