import { describe, expect, test } from "bun:test";
import { randomChunks, seededRandom } from "../../bench/lib/random.ts";
import { TsKeyframeScanner } from "../../lib/mpegts/tsKeyframeScanner.ts";
import { type SegmentPiece, TsSegmenter, type TsSegmenterOptions } from "../../lib/pipeline/tsSegmenter.ts";
import { FIXTURE_FACTS } from "../fixtures/fixtureFacts.ts";
import { readFixture } from "../fixtures/readFixture.ts";

const LARGE = 1 << 30;

/** Feeds `chunks` and joins the pieces into whole segments. */
function segmentsOf(chunks: Uint8Array[], options: Partial<TsSegmenterOptions> = {}) {
  const segmenter = new TsSegmenter({ minSegmentMs: 1000, maxSegmentBytes: LARGE, ...options });
  const pieces: SegmentPiece[] = [...chunks.flatMap((chunk) => segmenter.push(chunk)), ...segmenter.flush()];
  const segments: Uint8Array[][] = [];
  for (const piece of pieces) {
    if (piece.startsSegment) segments.push([]);
    segments.at(-1)!.push(piece.bytes);
  }
  return { segments: segments.map((parts) => Buffer.concat(parts)), stats: segmenter.stats };
}

/** What a decoder starting at this segment sees: its first packets' PIDs, keyframes and PTS. */
function describeSegment(bytes: Uint8Array) {
  const packets = new TsKeyframeScanner().push(bytes);
  const firstMedia = packets.find((p) => p.kind === "video" || p.kind === "audio");
  return {
    firstPids: packets.slice(0, 2).map((p) => p.pid),
    firstMediaKeyframe: firstMedia?.keyframe ?? false,
    firstPts: firstMedia?.pts,
    keyframes: packets.filter((p) => p.keyframe).length,
  };
}

const PAT_PMT = [0x0000, 0x1000]; // ffmpeg's PMT PID

describe("TsSegmenter", () => {
  test("video: a segment per keyframe (GOP 1 s), each PAT, PMT, then the keyframe; the bytes all there", () => {
    const input = readFixture("video-only.mpegts");
    const { segments, stats } = segmentsOf([input]);
    expect(segments.length).toBe(4); // 4 s, GOP 30 at 30 fps
    for (const segment of segments) {
      expect(segment.byteLength % 188).toBe(0);
      expect(describeSegment(segment)).toMatchObject({ firstPids: PAT_PMT, firstMediaKeyframe: true, keyframes: 1 });
    }
    const starts = segments.map((s) => describeSegment(s).firstPts!);
    expect(starts.slice(1).map((pts, i) => pts - starts[i]!)).toEqual([90_000, 90_000, 90_000]);
    // Every input packet from the first keyframe on is in exactly one segment, in order.
    const programBytes = 2 * 188 * segments.length;
    const total = segments.reduce((sum, s) => sum + s.byteLength, 0);
    expect(total - programBytes + stats.skippedBytes).toBe(input.byteLength);
  });

  test("a keyframe earlier than minSegmentMs after the segment's start does not cut", () => {
    const { segments } = segmentsOf([readFixture("video-only.mpegts")], { minSegmentMs: 1500 });
    expect(segments.map((s) => describeSegment(s).keyframes)).toEqual([2, 2]);
  });

  test("audio and video: cut at the video keyframes only (av-6s: GOP 2 s)", () => {
    const facts = FIXTURE_FACTS.find((f) => f.file === "av-6s.mpegts")!;
    const { segments } = segmentsOf([readFixture("av-6s.mpegts")]);
    expect(segments.length).toBe(facts.video!.keyframes);
    expect(describeSegment(segments[0]!)).toMatchObject({ firstPids: PAT_PMT, firstMediaKeyframe: true });
  });

  test("audio only: cut by time at a PES start, at least 1 s apart", () => {
    const { segments } = segmentsOf([readFixture("audio-only.mpegts")]);
    expect(segments.length).toBeGreaterThanOrEqual(3);
    const starts = segments.map((s) => describeSegment(s));
    for (const start of starts) expect(start.firstPids).toEqual(PAT_PMT);
    const pts = starts.map((s) => s.firstPts!);
    for (let i = 1; i < pts.length; i++) expect(pts[i]! - pts[i - 1]!).toBeGreaterThanOrEqual(90_000);
  });

  test("any chunking (1 byte, random sizes) cuts the same segments", () => {
    const input = readFixture("av-6s.mpegts");
    const whole = segmentsOf([input]).segments;
    const random = seededRandom(15);
    for (const chunks of [randomChunks(input, random, 5000), randomChunks(input, random, 200)]) {
      expect(segmentsOf(chunks).segments).toEqual(whole);
    }
    const bytes = Array.from({ length: 40_000 }, (_, i) => input.subarray(i, i + 1));
    const rest = input.subarray(40_000);
    expect(segmentsOf([...bytes, rest]).segments).toEqual(whole);
  });

  test("a segment that reaches maxSegmentBytes without a keyframe is cut anyway, counted", () => {
    const { segments, stats } = segmentsOf([readFixture("av-6s.mpegts")], { maxSegmentBytes: 50_000 });
    expect(stats.forcedCuts).toBeGreaterThan(0);
    expect(segments.length).toBe(3 + stats.forcedCuts);
    for (const segment of segments) {
      expect(segment.byteLength).toBeLessThanOrEqual(50_000 + 188);
      expect(describeSegment(segment).firstPids).toEqual(PAT_PMT);
    }
  });
});
