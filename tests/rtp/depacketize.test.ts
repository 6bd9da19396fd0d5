import { describe, expect, test } from "bun:test";
import { RtpHeader, RtpPacket } from "werift";
import { JitterBuffer, type RtpItem } from "../../lib/rtp/jitterBuffer.ts";
import { H264Depacketizer } from "../../lib/rtp/h264Depacketizer.ts";
import { OpusDepacketizer } from "../../lib/rtp/opusDepacketizer.ts";
import { SessionClock } from "../../lib/rtp/rtpClock.ts";
import { PTS_WRAP } from "../../lib/accessUnit.ts";

function rtp(seq: number, timestamp = 0, payload: number[] = [0x41, 0], marker = false): RtpPacket {
  return new RtpPacket(new RtpHeader({ sequenceNumber: seq & 0xffff, timestamp, marker }), Buffer.from(payload));
}
const seqs = (items: RtpItem[]) => items.map((i) => ("gap" in i ? `gap${i.gap}` : i.header.sequenceNumber));

describe("JitterBuffer", () => {
  test("reorders within the window", () => {
    const jb = new JitterBuffer();
    const out = [5, 7, 6, 9, 8].flatMap((s) => seqs(jb.push(rtp(s))));
    expect(out).toEqual([5, 6, 7, 8, 9]);
  });

  test("duplicates (while held) and late packets (already released) are dropped and counted", () => {
    const jb = new JitterBuffer();
    const out = [1, 3, 3, 2, 1].flatMap((s) => seqs(jb.push(rtp(s))));
    expect(out).toEqual([1, 2, 3]);
    expect(jb.stats).toMatchObject({ duplicates: 1, late: 1 });
  });

  test("a missing packet is declared lost after maxWaitMs (injected clock)", () => {
    let now = 0;
    const jb = new JitterBuffer({ maxWaitMs: 50, now: () => now });
    expect(seqs(jb.push(rtp(10)))).toEqual([10]);
    expect(seqs(jb.push(rtp(12)))).toEqual([]);
    now = 49;
    expect(seqs(jb.poll())).toEqual([]);
    now = 50;
    expect(seqs(jb.poll())).toEqual(["gap1", 12]);
    expect(jb.stats.lost).toBe(1);
  });

  test("sequence numbers wrap at 65535", () => {
    const jb = new JitterBuffer();
    const out = [65534, 0, 65535, 1].flatMap((s) => seqs(jb.push(rtp(s))));
    expect(out).toEqual([65534, 65535, 0, 1]);
  });

  test("a full buffer gives up on the hole", () => {
    const jb = new JitterBuffer({ capacity: 3 });
    const out = [1, 3, 4, 5, 6].flatMap((s) => seqs(jb.push(rtp(s))));
    expect(out).toEqual([1, "gap1", 3, 4, 5, 6]);
  });
});

const SPS = [0x67, 0x42, 0xc0, 0x1f];
const PPS = [0x68, 0xce, 0x3c, 0x80];
const IDR = [0x65, 1, 2, 3, 4, 5, 6, 7, 8];
const stapA = [24, 0, SPS.length, ...SPS, 0, PPS.length, ...PPS];
const fuA = (start: boolean, end: boolean, bytes: number[]) => [0x7c, (start ? 0x80 : 0) | (end ? 0x40 : 0) | 5, ...bytes];

describe("H264Depacketizer", () => {
  const clock = () => new SessionClock(() => 0).track(90_000);

  test("STAP-A + FU-A -> one keyframe access unit with the exact NAL units", () => {
    const d = new H264Depacketizer(clock());
    const units = [
      rtp(1, 3000, stapA),
      rtp(2, 3000, fuA(true, false, IDR.slice(1, 4))),
      rtp(3, 3000, fuA(false, false, IDR.slice(4, 7))),
      rtp(4, 3000, fuA(false, true, IDR.slice(7)), true),
    ].flatMap((p) => d.push(p));
    expect(units.length).toBe(1);
    expect(units[0]!.keyframe).toBe(true);
    expect(units[0]!.nalus.map((n) => [...n])).toEqual([SPS, PPS, IDR]);
    expect(units[0]!.pts).toBe(900_000); // the session clock's base
  });

  test("an access unit also ends on a timestamp change without a marker", () => {
    const d = new H264Depacketizer(clock());
    expect(d.push(rtp(1, 0, IDR))).toEqual([]);
    const [unit] = d.push(rtp(2, 3000, [0x41, 9]));
    expect(unit!.nalus.map((n) => [...n])).toEqual([IDR]);
    const [next] = d.push(rtp(3, 6000, [0x41, 8]));
    expect(next!.pts - unit!.pts).toBe(3000);
  });

  test("a lost FU-A fragment drops the picture, asks for a keyframe, and waits for the next IDR", () => {
    const reasons: string[] = [];
    const d = new H264Depacketizer(clock(), { onKeyframeNeeded: (r) => reasons.push(r) });
    const first = d.push(rtp(1, 0, IDR, true));
    expect(first.length).toBe(1);
    const out = [
      rtp(2, 3000, fuA(true, false, [1, 2])),
      { gap: 1 },
      rtp(4, 3000, fuA(false, true, [5, 6]), true),
      rtp(5, 6000, [0x41, 1], true), // P-frame: depends on the lost picture
      rtp(6, 9000, IDR, true),
    ].flatMap((p) => d.push(p as RtpItem));
    expect(out.map((u) => u.keyframe)).toEqual([true]);
    expect(reasons.length).toBe(1);
  });

  test("pictures before the first keyframe are not emitted", () => {
    const d = new H264Depacketizer(clock());
    expect(d.push(rtp(1, 0, [0x41, 1], true))).toEqual([]);
    expect(d.push(rtp(2, 3000, IDR, true)).length).toBe(1);
  });
});

describe("OpusDepacketizer and the session clock", () => {
  test("samples from the TOC, PTS at 90 kHz, across the RTP timestamp wrap", () => {
    const d = new OpusDepacketizer(new SessionClock(() => 0).track(48_000));
    const start = 2 ** 32 - 960;
    const units = [start, 0, 960].flatMap((ts, i) => d.push(rtp(i, ts, [31 << 3, 1, 2])));
    expect(units.map((u) => u.samples)).toEqual([960, 960, 960]);
    expect(units.map((u) => u.pts - units[0]!.pts)).toEqual([0, 1800, 3600]);
  });

  test("tracks that start later are placed by arrival time on the shared timeline", () => {
    let now = 0;
    const clock = new SessionClock(() => now);
    const video = clock.track(90_000);
    const audio = clock.track(48_000);
    const v0 = video.pts(123_456);
    now = 100; // audio's first packet arrives 100 ms later
    const a0 = audio.pts(999);
    expect(a0 - v0).toBe(9000);
    expect(video.pts(123_456 + 90_000 * 100)).toBe((v0 + 9_000_000) % PTS_WRAP);
  });
});
