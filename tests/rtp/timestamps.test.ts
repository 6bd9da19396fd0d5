import { describe, expect, test } from "bun:test";
import { PTS_WRAP } from "../../lib/accessUnit.ts";
import { OpusTimestampMapper, PtsUnwrapper, videoRtpTimestamp } from "../../lib/rtp/timestamps.ts";
import { seededRandom } from "../../bench/lib/random.ts";

const U32 = 2 ** 32;
/** Forward distance between two 32-bit RTP timestamps, as a receiver computes it. */
const rtpStep = (from: number, to: number) => (to - from + U32) % U32;

describe("videoRtpTimestamp (33-bit 90 kHz PTS -> 32-bit 90 kHz)", () => {
  const cases: Array<[pts: number, rtp: number]> = [
    [0, 0],
    [90_000, 90_000],
    [U32 - 1, U32 - 1],
    [U32, 0],
    [U32 + 5, 5],
    [PTS_WRAP - 1, U32 - 1],
    [PTS_WRAP, 0], // an unwrapped value maps the same
    [-1, U32 - 1],
  ];
  for (const [pts, rtp] of cases) test(`${pts} -> ${rtp}`, () => expect(videoRtpTimestamp(pts)).toBe(rtp));

  test("30 fps across the 33-bit wrap: every step stays 3000 (mod 2^32)", () => {
    let pts = PTS_WRAP - 3000 * 3;
    let last = videoRtpTimestamp(pts);
    const steps: number[] = [];
    for (let i = 0; i < 6; i++) {
      pts = (pts + 3000) % PTS_WRAP; // the demuxer hands out wrapped PTS
      const ts = videoRtpTimestamp(pts);
      steps.push(rtpStep(last, ts));
      last = ts;
    }
    expect(pts).toBe(3000 * 3); // really crossed the wrap
    expect(steps).toEqual([3000, 3000, 3000, 3000, 3000, 3000]);
  });

  test("a non-integer PTS is a bug and throws", () => {
    expect(() => videoRtpTimestamp(1.5)).toThrow(/expected an integer 90 kHz timestamp, got 1.5/);
    expect(() => videoRtpTimestamp(Number.NaN)).toThrow(RangeError);
  });
});

describe("PtsUnwrapper", () => {
  test("continues across the wrap and places a reordered pre-wrap value before it", () => {
    const u = new PtsUnwrapper();
    expect(u.unwrap(PTS_WRAP - 1800)).toBe(PTS_WRAP - 1800);
    expect(u.unwrap(0)).toBe(PTS_WRAP);
    expect(u.unwrap(PTS_WRAP - 900)).toBe(PTS_WRAP - 900); // B-frame from before the wrap
    expect(u.unwrap(1800)).toBe(PTS_WRAP + 1800);
    expect(u.unwrap(900)).toBe(PTS_WRAP + 900);
  });

  test("a step back of up to 2^32 is a step back, not a wrap; beyond it, a wrap", () => {
    const back = new PtsUnwrapper();
    back.unwrap(U32 + 10);
    expect(back.unwrap(10)).toBe(10); // exactly 2^32 back
    const wrap = new PtsUnwrapper();
    wrap.unwrap(U32 + 10);
    expect(wrap.unwrap(9)).toBe(PTS_WRAP + 9); // 2^32 + 1 back = 2^32 - 1 forward
  });

  test("a step back across the wrap at the start gives a negative value", () => {
    const u = new PtsUnwrapper();
    expect(u.unwrap(100)).toBe(100);
    expect(u.unwrap(PTS_WRAP - 100)).toBe(-100);
  });

  test("stays continuous over several wraps in 2^31 steps", () => {
    const u = new PtsUnwrapper();
    let pts33 = 12_345;
    for (let i = 0; i <= 12; i++) {
      expect(u.unwrap(pts33)).toBe(12_345 + i * 2 ** 31);
      pts33 = (pts33 + 2 ** 31) % PTS_WRAP;
    }
  });

  test("inputs outside 0 .. 2^33 - 1 are taken modulo 2^33", () => {
    const u = new PtsUnwrapper();
    expect(u.unwrap(PTS_WRAP + 7)).toBe(7);
    expect(u.unwrap(PTS_WRAP * 3 + 3007)).toBe(3007);
  });
});

describe("OpusTimestampMapper (90 kHz PTS -> 48 kHz RTP, RFC 7587 4.1)", () => {
  const cases: Array<[pts: number, rtp: number]> = [
    [0, 0],
    [1800, 960], // 20 ms
    [15, 8],
    [1, 1], // 0.533 rounds up
    [7, 4], // 3.733
    [8, 4], // 4.267
  ];
  for (const [pts, rtp] of cases) {
    test(`${pts} -> ${rtp}`, () => expect(new OpusTimestampMapper().rtpTimestamp(pts)).toBe(rtp));
  }

  test("20 ms packets stay exactly 960 apart across the 33-bit PTS wrap (go-livepeer's bug)", () => {
    const mapper = new OpusTimestampMapper();
    let pts = PTS_WRAP - 1800 * 5 + 7; // an offset that is not a multiple of 15
    let last = mapper.rtpTimestamp(pts);
    const steps: number[] = [];
    for (let i = 0; i < 10; i++) {
      pts = (pts + 1800) % PTS_WRAP;
      const ts = mapper.rtpTimestamp(pts);
      steps.push(rtpStep(last, ts));
      last = ts;
    }
    expect(pts).toBe(1800 * 5 + 7); // really crossed the wrap
    expect(steps).toEqual(Array(10).fill(960));
  });

  test("scaling the wrapped PTS instead would jump at the wrap (what this class avoids)", () => {
    const naive = (pts: number) => Math.round((pts * 8) / 15) % U32;
    expect(rtpStep(naive(PTS_WRAP - 1800), naive(0))).not.toBe(960);
  });

  test("20 ms steps stay 960 across the 32-bit RTP wrap inside one PTS cycle", () => {
    const mapper = new OpusTimestampMapper();
    let pts = (U32 * 15) / 8 - 1800 * 3; // 48 kHz ticks reach 2^32 here, below 2^33
    let last = mapper.rtpTimestamp(pts);
    expect(last).toBe(U32 - 960 * 3);
    for (let i = 0; i < 6; i++) {
      pts += 1800;
      const ts = mapper.rtpTimestamp(pts);
      expect(rtpStep(last, ts)).toBe(960);
      last = ts;
    }
    expect(last).toBe(960 * 3);
  });

  test("matches exact integer arithmetic over random steps and several PTS wraps", () => {
    const random = seededRandom(5);
    const mapper = new OpusTimestampMapper();
    let unwrapped = PTS_WRAP - 50_000;
    expect(mapper.rtpTimestamp(unwrapped)).toBe(Number(((BigInt(unwrapped) * 8n + 7n) / 15n) % BigInt(U32)));
    for (let i = 0; i < 2000; i++) {
      unwrapped += Math.floor(random() * 2 ** 25); // up to ~6 minutes per step
      const exact = (BigInt(unwrapped) * 8n + 7n) / 15n; // round half up; ties cannot occur
      expect(mapper.rtpTimestamp(unwrapped % PTS_WRAP)).toBe(Number(exact % BigInt(U32)));
    }
    expect(unwrapped).toBeGreaterThan(PTS_WRAP * 3);
  });
});
