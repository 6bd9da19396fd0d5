import { describe, expect, test } from "bun:test";
import { BitReader, isKeyframe, isSlice, nalType, parseSps, splitAnnexB, unescapeRbsp } from "../../lib/codec/h264.ts";
import { TsDemuxer } from "../../lib/mpegts/tsDemuxer.ts";
import { FIXTURE_FACTS } from "../fixtures/fixtureFacts.ts";
import { readFixture } from "../fixtures/readFixture.ts";

const bytes = (...b: number[]) => Uint8Array.from(b);
const arrays = (nalus: Uint8Array[]) => nalus.map((n) => [...n]);

describe("splitAnnexB (H.264 Annex B)", () => {
  test.each(
    [
      ["3-byte start codes", [0, 0, 1, 0x09, 0xf0, 0, 0, 1, 0x67, 1], [[0x09, 0xf0], [0x67, 1]]],
      ["4-byte start codes", [0, 0, 0, 1, 0x09, 0xf0, 0, 0, 0, 1, 0x65, 9], [[0x09, 0xf0], [0x65, 9]]],
      ["mixed, trailing zeros stripped", [0, 0, 0, 1, 0x67, 1, 2, 0, 0, 1, 0x68, 3, 0, 0, 0, 0, 1, 0x65, 9, 0, 0], [
        [0x67, 1, 2],
        [0x68, 3],
        [0x65, 9],
      ]],
      ["bytes before the first start code ignored", [7, 7, 0, 0, 1, 0x41, 5], [[0x41, 5]]],
      ["empty NAL units between start codes skipped", [0, 0, 1, 0, 0, 1, 0x41, 5], [[0x41, 5]]],
      ["00 00 03 (emulation prevention) is not a start code", [0, 0, 1, 0x41, 0, 0, 3, 1, 0, 0, 1, 0x41], [[
        0x41,
        0,
        0,
        3,
        1,
      ], [0x41]]],
      ["no start code at all", [0x41, 1, 2, 3], []],
      ["only a start code", [0, 0, 1], []],
      ["nothing", [], []],
    ] as const,
  )("%s", (_name, input, expected) => {
    expect(arrays(splitAnnexB(Uint8Array.from(input)))).toEqual(expected.map((n) => [...n]));
  });

  test("returns views into the input (no copies)", () => {
    const data = bytes(0, 0, 1, 0x67, 1, 2);
    expect(splitAnnexB(data)[0]!.buffer).toBe(data.buffer);
  });
});

describe("NAL unit type helpers", () => {
  test("nalType masks the 5-bit type; empty NAL is 0", () => {
    expect([0x67, 0x68, 0x65, 0x41, 0x09, 0x06].map((b) => nalType(bytes(b)))).toEqual([7, 8, 5, 1, 9, 6]);
    expect(nalType(new Uint8Array(0))).toBe(0);
  });

  test("isKeyframe: holds an IDR slice (type 5)", () => {
    expect(isKeyframe([bytes(0x09, 0xf0), bytes(0x67), bytes(0x68), bytes(0x65)])).toBe(true);
    expect(isKeyframe([bytes(0x09, 0xf0), bytes(0x41)])).toBe(false);
    expect(isKeyframe([bytes(0x67), bytes(0x68)])).toBe(false); // parameter sets alone are no keyframe
    expect(isKeyframe([])).toBe(false);
  });

  test("isSlice: types 1..5", () => {
    expect([0x41, 0x65, 0x67, 0x06].map((b) => isSlice(bytes(b)))).toEqual([true, true, false, false]);
  });
});

describe("RBSP and Exp-Golomb", () => {
  test.each([
    [[1, 0, 0, 3, 1], [1, 0, 0, 1]],
    [[0, 0, 3, 0, 0, 3], [0, 0, 0, 0]],
    [[0, 0, 3], [0, 0]],
    [[0, 3, 0, 0, 4], [0, 3, 0, 0, 4]], // 03 after a single zero stays
    [[0, 0, 0, 3, 3], [0, 0, 0, 3]], // 00 00 03 removed once, the next 03 is data
  ])("unescapeRbsp %p", (input, expected) => {
    expect([...unescapeRbsp(Uint8Array.from(input))]).toEqual(expected);
  });

  test("ue(v) and se(v) code numbers 0..6 (H.264 9.1, Table 9-3)", () => {
    // Codes 1, 010, 011, 00100, 00101, 00110, 00111 packed: 1010 0110 0100 0010 1001 1000 111(0 0000)
    const r = new BitReader(bytes(0b10100110, 0b01000010, 0b10011000, 0b11100000));
    expect([r.ue(), r.ue(), r.ue(), r.ue(), r.ue(), r.ue(), r.ue()]).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(r.overrun).toBe(false);
    const s = new BitReader(bytes(0b10100110, 0b01000010, 0b10011000, 0b11100000));
    expect([s.se(), s.se(), s.se(), s.se(), s.se()]).toEqual([0, 1, -1, 2, -2]);
  });

  test("reading past the end sets overrun instead of throwing", () => {
    const r = new BitReader(bytes(0));
    expect(r.ue()).toBe(0);
    expect(r.overrun).toBe(true);
  });
});

function firstSps(file: string): Uint8Array {
  const demuxer = new TsDemuxer();
  for (const e of demuxer.push(readFixture(file))) {
    if (e.type !== "unit" || e.unit.track !== "video") continue;
    const sps = e.unit.nalus.find((n) => nalType(n) === 7);
    if (sps) return sps;
  }
  throw new Error(`no SPS in ${file}`);
}

describe("parseSps", () => {
  const withVideo = FIXTURE_FACTS.flatMap((f) => (f.video ? [{ file: f.file, ...f.video }] : []));
  test.each(withVideo)("$file: $width x $height (cropped), profile-level $profile", (f) => {
    const sps = parseSps(firstSps(f.file));
    expect(sps).toEqual({
      profileIdc: Number.parseInt(f.profile.slice(0, 2), 16),
      constraintFlags: Number.parseInt(f.profile.slice(2, 4), 16),
      levelIdc: Number.parseInt(f.profile.slice(4, 6), 16),
      profile: f.profile,
      width: f.width,
      height: f.height,
    });
  });

  // Hand-assembled SPS bit strings: the fields parseSps reads, in order (7.3.2.1.1).
  const ue = (v: number) => {
    const bits = (v + 1).toString(2);
    return "0".repeat(bits.length - 1) + bits;
  };
  const se = (v: number) => ue(v > 0 ? 2 * v - 1 : -2 * v);
  const toBytes = (bits: string) => {
    const padded = bits + "1" + "0".repeat((8 - ((bits.length + 1) % 8)) % 8); // rbsp_stop_one_bit + alignment
    return Uint8Array.from(padded.match(/.{8}/g)!.map((b) => Number.parseInt(b, 2)));
  };
  const u8 = (v: number) => v.toString(2).padStart(8, "0");
  function sps(
    o: {
      profile: number;
      chroma?: number;
      scaling?: string;
      poc?: string;
      mbsW: number;
      mapH: number;
      frameMbsOnly?: number;
      crop?: number[];
    },
  ) {
    let bits = u8(o.profile) + u8(0) + u8(40) + ue(0);
    if (o.chroma !== undefined) {
      bits += ue(o.chroma) + (o.chroma === 3 ? "0" : "") + ue(0) + ue(0) + "0" + (o.scaling ?? "0");
    }
    bits += ue(0) + (o.poc ?? ue(2)) + ue(1) + "0" + ue(o.mbsW - 1) + ue(o.mapH - 1);
    const frameMbsOnly = o.frameMbsOnly ?? 1;
    bits += String(frameMbsOnly) + (frameMbsOnly ? "" : "0") + "1";
    bits += o.crop ? "1" + o.crop.map(ue).join("") : "0";
    bits += "0"; // vui_parameters_present_flag
    return new Uint8Array([0x67, ...toBytes(bits)]);
  }

  test.each([
    [
      "1920x1080 High 4:2:0 (crop bottom 4)",
      sps({ profile: 100, chroma: 1, mbsW: 120, mapH: 68, crop: [0, 0, 0, 4] }),
      1920,
      1080,
    ],
    [
      "4:2:2 High 4:2:2: vertical crop unit 1",
      sps({ profile: 122, chroma: 2, mbsW: 20, mapH: 12, crop: [0, 0, 0, 12] }),
      320,
      180,
    ],
    ["4:4:4: crop units 1", sps({ profile: 244, chroma: 3, mbsW: 20, mapH: 12, crop: [1, 3, 0, 12] }), 316, 180],
    ["monochrome: crop units 1", sps({ profile: 100, chroma: 0, mbsW: 20, mapH: 12, crop: [0, 0, 0, 12] }), 320, 180],
    [
      "interlaced (frame_mbs_only 0): map units are field MB pairs",
      sps({ profile: 77, mbsW: 45, mapH: 18, frameMbsOnly: 0, crop: [0, 0, 0, 2] }),
      720,
      568,
    ],
    [
      "poc type 1 with a cycle",
      sps({
        profile: 66,
        poc: ue(1) + "0" + se(-1) + se(2) + ue(2) + se(1) + se(-3),
        mbsW: 40,
        mapH: 23,
        crop: [0, 0, 0, 4],
      }),
      640,
      360,
    ],
    [
      "scaling lists present (skipped)",
      sps({
        profile: 100,
        chroma: 1,
        scaling: "1" + "1" + se(-8) + "0".repeat(7),
        mbsW: 20,
        mapH: 12,
        crop: [0, 0, 0, 6],
      }),
      320,
      180,
    ],
  ])("%s", (_name, nalu, width, height) => {
    expect(parseSps(nalu)).toMatchObject({ width, height });
  });

  test("emulation prevention bytes inside the SPS are removed before parsing", () => {
    // 7.4.1: 00 00 03 inside the RBSP; an SPS with profile_idc 0x42, constraints 0, level 0 needs one after "42 00 00".
    const plain = sps({ profile: 66, mbsW: 20, mapH: 12, crop: [0, 0, 0, 6] });
    plain[3] = 0; // level_idc 0: "42 00 00" then the next byte needs escaping
    const escaped = Uint8Array.from([...plain.subarray(0, 4), 3, ...plain.subarray(4)]);
    expect(parseSps(escaped)).toMatchObject({ width: 320, height: 180, profile: "420000" });
  });

  test.each([
    ["truncated", bytes(0x67, 0x42)],
    ["not an SPS (PPS)", bytes(0x68, 0xce, 0x38, 0x80)],
    ["empty", new Uint8Array(0)],
    ["pic_order_cnt_type 3", sps({ profile: 66, poc: ue(3), mbsW: 20, mapH: 12 })],
    ["chroma_format_idc 4", sps({ profile: 100, chroma: 4, mbsW: 20, mapH: 12 })],
    ["cropping larger than the picture", sps({ profile: 66, mbsW: 1, mapH: 1, crop: [0, 0, 0, 8] })],
  ])("malformed (%s) gives undefined, never throws", (_name, nalu) => {
    expect(parseSps(nalu)).toBeUndefined();
  });
});
