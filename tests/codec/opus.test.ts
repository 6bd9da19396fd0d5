import { describe, expect, test } from "bun:test";
import { opusPacketSamples, parseOpusControlHeader, splitOpusPes } from "../../lib/codec/opus.ts";
import { FIXTURE_FACTS } from "../fixtures/fixtureFacts.ts";
import { readFixture } from "../fixtures/readFixture.ts";
import { opusControlHeader, packetsOf, pidOf } from "../../bench/lib/mpegts/tsBuilders.ts";

const toc = (config: number, code: number) => (config << 3) | code;

describe("opusPacketSamples (RFC 6716 3.1)", () => {
  // Table 2: config -> mode and frame size.
  const FRAME_SIZES: Array<[string, number[], number]> = [
    ["SILK 10 ms", [0, 4, 8], 480],
    ["SILK 20 ms", [1, 5, 9], 960],
    ["SILK 40 ms", [2, 6, 10], 1920],
    ["SILK 60 ms", [3, 7, 11], 2880],
    ["Hybrid 10 ms", [12, 14], 480],
    ["Hybrid 20 ms", [13, 15], 960],
    ["CELT 2.5 ms", [16, 20, 24, 28], 120],
    ["CELT 5 ms", [17, 21, 25, 29], 240],
    ["CELT 10 ms", [18, 22, 26, 30], 480],
    ["CELT 20 ms", [19, 23, 27, 31], 960],
  ];
  test.each(FRAME_SIZES)("%s: configs %p -> %d samples per frame", (_name, configs, samples) => {
    for (const config of configs) {
      expect(opusPacketSamples(Uint8Array.of(toc(config, 0), 0xaa))).toBe(samples); // code 0: 1 frame
      expect(opusPacketSamples(Uint8Array.of(toc(config, 1), 0xaa, 0xbb))).toBe(2 * samples); // code 1: 2 equal frames
      expect(opusPacketSamples(Uint8Array.of(toc(config, 2), 1, 0xaa, 0xbb))).toBe(2 * samples); // code 2: 2 frames
    }
  });

  test.each([
    ["CELT 20 ms x 3", toc(31, 3), 3, 2880],
    ["CELT 2.5 ms x 48 = 120 ms (the maximum)", toc(16, 3), 48, 5760],
    ["SILK 60 ms x 2 = 120 ms", toc(3, 3), 2, 5760],
    ["frame count byte with VBR and padding flags", toc(31, 3), 0xc0 | 4, 3840],
  ])("code 3, %s", (_name, tocByte, countByte, samples) => {
    expect(opusPacketSamples(Uint8Array.of(tocByte, countByte, 0))).toBe(samples);
  });

  test.each([
    ["empty packet (R1)", new Uint8Array(0)],
    ["code 3 without frame count byte", Uint8Array.of(toc(31, 3))],
    ["code 3 with 0 frames (R5)", Uint8Array.of(toc(31, 3), 0)],
    ["code 3 over 120 ms (R5): SILK 60 ms x 3", Uint8Array.of(toc(3, 3), 3)],
    ["code 3 over 120 ms: CELT 2.5 ms x 49", Uint8Array.of(toc(16, 3), 49)],
  ])("malformed: %s", (_name, packet) => {
    expect(opusPacketSamples(packet)).toBeUndefined();
  });
});

describe("Opus-in-MPEG-TS control header", () => {
  const packet = (n: number, fill = 0xfc) => new Array<number>(n).fill(fill);
  // [name, header bytes, expected size, startTrim, endTrim, header size]
  test.each([
    ["size 0", [0x7f, 0xe0, 0], 0, 0, 0, 3],
    ["size 1", [0x7f, 0xe0, 1], 1, 0, 0, 3],
    ["size 254: one byte", [0x7f, 0xe0, 254], 254, 0, 0, 3],
    ["size 255: 0xFF then 0x00", [0x7f, 0xe0, 0xff, 0x00], 255, 0, 0, 4],
    ["size 256: 0xFF then 0x01", [0x7f, 0xe0, 0xff, 0x01], 256, 0, 0, 4],
    ["size 510: 0xFF 0xFF 0x00", [0x7f, 0xe0, 0xff, 0xff, 0x00], 510, 0, 0, 5],
    ["start trim 312 (ffmpeg's pre-skip)", [0x7f, 0xf0, 84, 0x01, 0x38], 84, 312, 0, 5],
    ["end trim 40", [0x7f, 0xe8, 3, 0x00, 0x28], 3, 0, 40, 5],
    ["both trims, in that order", [0x7f, 0xf8, 3, 0x00, 80, 0x00, 40], 3, 80, 40, 7],
    ["trim keeps 13 bits (3 reserved bits ignored)", [0x7f, 0xf0, 3, 0xe0 | 0x01, 0x38], 3, 312, 0, 5],
    ["control extension skipped", [0x7f, 0xe4, 3, 2, 0xaa, 0xbb], 3, 0, 0, 6],
    ["empty control extension", [0x7f, 0xe4, 3, 0], 3, 0, 0, 4],
    ["trims and extension", [0x7f, 0xfc, 2, 0, 1, 0, 2, 1, 0xaa], 2, 1, 2, 9],
    ["reserved bits set are ignored", [0x7f, 0xe3, 3], 3, 0, 0, 3],
  ])("%s", (_name, header, size, startTrim, endTrim, headerSize) => {
    expect(parseOpusControlHeader(Uint8Array.from(header), 0)).toEqual({ size, startTrim, endTrim, headerSize });
  });

  test("the test builder writes what the parser reads", () => {
    for (const size of [0, 1, 254, 255, 256, 509, 510, 511, 1275]) {
      const header = Uint8Array.from(opusControlHeader(size, { startTrim: 7, endTrim: 9, extension: [1, 2] }));
      expect(parseOpusControlHeader(header, 0)).toEqual({ size, startTrim: 7, endTrim: 9, headerSize: header.length });
    }
  });

  test.each([
    ["wrong prefix", [0x7f, 0xc0, 1], /prefix 0x7FE0 missing/],
    ["prefix 0x7FE0 in the wrong byte order", [0xe0, 0x7f, 1], /prefix/],
    ["one byte only", [0x7f], /prefix/],
    ["au_size cut off", [0x7f, 0xe0], /au_size .* runs past/],
    ["au_size run of 0xFF cut off", [0x7f, 0xe0, 0xff, 0xff], /au_size .* runs past/],
    ["start trim cut off", [0x7f, 0xf0, 3, 0x01], /trim fields .* run past/],
    ["both trims flagged, one present", [0x7f, 0xf8, 3, 0, 1], /trim fields/],
    ["extension longer than the data", [0x7f, 0xe4, 3, 9, 1], /extension .* runs past/],
  ])("malformed: %s", (_name, header, message) => {
    const result = parseOpusControlHeader(Uint8Array.from(header), 0);
    expect(typeof result).toBe("string");
    expect(result as string).toMatch(message);
  });

  test("splitOpusPes: several packets (as ffmpeg packs ~120 ms per PES)", () => {
    const payload = Uint8Array.from([
      ...opusControlHeader(84, { startTrim: 312 }),
      ...packet(84, 1),
      ...opusControlHeader(300),
      ...packet(300, 2),
      ...opusControlHeader(255),
      ...packet(255, 3),
      ...opusControlHeader(1, { endTrim: 100 }),
      ...packet(1, 4),
    ]);
    const { packets, error } = splitOpusPes(payload);
    expect(error).toBeUndefined();
    expect(packets.map((p) => [p.packet.length, p.packet[0], p.packet.at(-1), p.startTrim, p.endTrim])).toEqual([
      [84, 1, 1, 312, 0],
      [300, 2, 2, 0, 0],
      [255, 3, 3, 0, 0],
      [1, 4, 4, 0, 100],
    ]);
  });

  test("splitOpusPes: an empty payload has no packets and no error", () => {
    expect(splitOpusPes(new Uint8Array(0))).toEqual({ packets: [] });
  });

  test("splitOpusPes: keeps what came before a malformed header and says where it stopped", () => {
    const payload = Uint8Array.from([...opusControlHeader(2), 0xfc, 0xfc, 0x12, 0x34, ...opusControlHeader(1), 0xfc]);
    const { packets, error } = splitOpusPes(payload);
    expect(packets.map((p) => [...p.packet])).toEqual([[0xfc, 0xfc]]);
    expect(error).toMatch(/prefix 0x7FE0 missing at byte 5 of 11/);
  });

  test("splitOpusPes: a packet longer than the rest of the PES", () => {
    const { packets, error } = splitOpusPes(Uint8Array.from([...opusControlHeader(9), 1, 2, 3]));
    expect(packets).toEqual([]);
    expect(error).toMatch(/packet of 9 bytes at byte 3 runs past the 6-byte PES payload/);
  });
});

describe("ffmpeg's Opus in MPEG-TS", () => {
  const withOpus = FIXTURE_FACTS.flatMap((f) => (f.opus ? [{ file: f.file, ...f.opus }] : []));
  test.each(withOpus)("$file: the first control header carries start_trim $firstStartTrim (pre-skip)", (f) => {
    const first = packetsOf(readFixture(f.file)).find((p) => pidOf(p) === f.pid && (p[1]! & 0x40) !== 0)!;
    const pes = first.subarray(first[3]! & 0x20 ? 5 + first[4]! : 4); // after the adaptation field
    const header = parseOpusControlHeader(pes, 9 + pes[8]!); // after the PES header
    expect(header).toEqual({ size: f.firstSize, startTrim: f.firstStartTrim, endTrim: 0, headerSize: 5 });
  });
});
