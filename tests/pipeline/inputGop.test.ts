import { expect, test } from "bun:test";
import type { ScannedPacket } from "../../lib/mpegts/tsKeyframeScanner.ts";
import { InputGop } from "../../lib/pipeline/inputGop.ts";

/** A 188-byte packet whose first payload byte names it, as the scanner would report it. */
function packet(id: number, keyframe = false): ScannedPacket {
  const bytes = new Uint8Array(188);
  bytes[0] = 0x47;
  bytes[4] = id;
  return { bytes, pid: 256, kind: "video", keyframe, pts: undefined };
}
const ids = (gop: InputGop) => gop.packets.map((bytes) => bytes[4]);

test("holds the input from the latest keyframe on; nothing before the first keyframe", () => {
  const gop = new InputGop(10_000);
  gop.add([packet(1), packet(2)]);
  expect(ids(gop)).toEqual([]);
  gop.add([packet(3, true), packet(4)]);
  gop.add([packet(5)]);
  expect(ids(gop)).toEqual([3, 4, 5]);
  gop.add([packet(6), packet(7, true), packet(8)]);
  expect(ids(gop)).toEqual([7, 8]);
});

test("a GOP longer than the bound is dropped until the next keyframe", () => {
  const gop = new InputGop(188 * 3);
  gop.add([packet(1, true), packet(2), packet(3)]);
  expect(ids(gop)).toEqual([1, 2, 3]);
  gop.add([packet(4)]); // over the bound
  expect(ids(gop)).toEqual([]);
  gop.add([packet(5)]);
  expect(ids(gop)).toEqual([]);
  gop.add([packet(6, true)]);
  expect(ids(gop)).toEqual([6]);
});
