import { describe, expect, test } from "bun:test";
import { isKeyframe, parseSps, splitAnnexB, unescapeRbsp } from "../../lib/codec/h264.ts";
import { opusPacketSamples, splitOpusPes } from "../../lib/codec/opus.ts";
import { TsDemuxer } from "../../lib/mpegts/tsDemuxer.ts";
import { readFixture } from "../fixtures/readFixture.ts";

function firstSps(file: string): Uint8Array {
  const demuxer = new TsDemuxer();
  for (const e of demuxer.push(readFixture(file))) {
    if (e.type !== "unit" || e.unit.track !== "video") continue;
    const sps = e.unit.nalus.find((n) => (n[0]! & 0x1f) === 7);
    if (sps) return sps;
  }
  throw new Error(`no SPS in ${file}`);
}

describe("H.264", () => {
  test("Annex B with 3- and 4-byte start codes and trailing zeros", () => {
    const bytes = Uint8Array.of(0, 0, 0, 1, 0x09, 0xf0, 0, 0, 1, 0x67, 1, 2, 0, 0, 0, 0, 1, 0x65, 9, 0, 0);
    expect(splitAnnexB(bytes).map((n) => [...n])).toEqual([[0x09, 0xf0], [0x67, 1, 2], [0x65, 9]]);
  });

  test("keyframe = holds an IDR", () => {
    expect(isKeyframe([Uint8Array.of(0x67), Uint8Array.of(0x65)])).toBe(true);
    expect(isKeyframe([Uint8Array.of(0x41)])).toBe(false);
  });

  test("emulation prevention bytes are removed", () => {
    expect([...unescapeRbsp(Uint8Array.of(1, 0, 0, 3, 1, 0, 0, 3))]).toEqual([1, 0, 0, 1, 0, 0]);
  });

  test.each([
    ["av.mpegts", 320, 180, "42c00d"],
    ["av-6s.mpegts", 640, 360, "42c01e"],
    ["bframes.mpegts", 320, 180, "4d400d"],
  ])("SPS of %s: %dx%d (cropped), profile-level %s", (file, width, height, profile) => {
    expect(parseSps(firstSps(file))).toMatchObject({ width, height, profile });
  });

  test("a truncated SPS gives undefined, not an exception", () => {
    expect(parseSps(Uint8Array.of(0x67, 0x42))).toBeUndefined();
  });
});

describe("Opus", () => {
  test.each([
    ["SILK NB 10 ms", 0 << 3, 480],
    ["SILK NB 20 ms", 1 << 3, 960],
    ["SILK NB 40 ms", 2 << 3, 1920],
    ["SILK NB 60 ms", 3 << 3, 2880],
    ["Hybrid 10 ms", 12 << 3, 480],
    ["CELT 2.5 ms", 16 << 3, 120],
    ["CELT 20 ms", 31 << 3, 960],
    ["CELT 20 ms, two frames (code 1)", (31 << 3) | 1, 1920],
  ])("TOC %s", (_name, toc, samples) => {
    expect(opusPacketSamples(Uint8Array.of(toc, 0))).toBe(samples);
  });

  test("code 3 packets read their frame count; more than 120 ms is malformed", () => {
    expect(opusPacketSamples(Uint8Array.of((31 << 3) | 3, 3))).toBe(2880);
    expect(opusPacketSamples(Uint8Array.of((31 << 3) | 3, 7))).toBeUndefined();
    expect(opusPacketSamples(new Uint8Array(0))).toBeUndefined();
  });

  const header = (flags: number, sizeBytes: number[]) => [0x7f, 0xe0 | flags, ...sizeBytes];
  test.each([
    ["plain", [...header(0, [3]), 0xfc, 1, 2], [[0xfc, 1, 2]], [0, 0]],
    ["au_size 255 needs 0xFF 0x00", [...header(0, [0xff, 0x00]), ...new Array(255).fill(7)], [new Array(255).fill(7)], [0, 0]],
    ["start and end trim", [...header(0x18, [1]), 0, 80, 0, 40, 0xfc], [[0xfc]], [80, 40]],
    ["control extension skipped", [...header(0x04, [1]), 2, 9, 9, 0xfc], [[0xfc]], [0, 0]],
  ] as const)("control header: %s", (_name, bytes, packets, trims) => {
    const { units, error } = splitOpusPes(Uint8Array.from(bytes));
    expect(error).toBeUndefined();
    expect(units.map((u) => [...u.packet])).toEqual(packets.map((p) => [...p]));
    expect([units[0]!.startTrim, units[0]!.endTrim]).toEqual([...trims]);
  });

  test("two packets in one PES; a bad prefix is reported with what was parsed so far", () => {
    const two = splitOpusPes(Uint8Array.of(0x7f, 0xe0, 1, 0xfc, 0x7f, 0xe0, 1, 0xf8));
    expect(two.units.map((u) => [...u.packet])).toEqual([[0xfc], [0xf8]]);
    const bad = splitOpusPes(Uint8Array.of(0x7f, 0xe0, 1, 0xfc, 0x12, 0x34));
    expect(bad.units.length).toBe(1);
    expect(bad.error).toMatch(/prefix/);
    expect(splitOpusPes(Uint8Array.of(0x7f, 0xe0, 9, 1)).error).toMatch(/runs past/);
  });
});
