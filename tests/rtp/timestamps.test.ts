import { describe, expect, test } from "bun:test";
import { PTS_WRAP } from "../../lib/accessUnit.ts";
import { OpusTimestampMapper, PtsUnwrapper, videoRtpTimestamp } from "../../lib/rtp/timestamps.ts";
import { OpusPacketizer } from "../../lib/rtp/opusPacketizer.ts";

const U32 = 2 ** 32;

describe("video RTP timestamps", () => {
  test("33-bit PTS truncates exactly to 32 bits across the wrap", () => {
    expect(videoRtpTimestamp(PTS_WRAP - 1)).toBe(U32 - 1);
    expect(videoRtpTimestamp(0)).toBe(0);
    expect(videoRtpTimestamp(U32 + 5)).toBe(5);
    // 30 fps across the 33-bit wrap: the RTP step stays 3000.
    let pts = PTS_WRAP - 4500;
    let last = videoRtpTimestamp(pts);
    for (let i = 0; i < 4; i++) {
      pts = (pts + 3000) % PTS_WRAP;
      const ts = videoRtpTimestamp(pts);
      expect((ts - last + U32) % U32).toBe(3000);
      last = ts;
    }
  });
});

describe("PtsUnwrapper", () => {
  test("continues across the wrap and tolerates small steps back", () => {
    const u = new PtsUnwrapper();
    expect(u.unwrap(PTS_WRAP - 1800)).toBe(PTS_WRAP - 1800);
    expect(u.unwrap(0)).toBe(PTS_WRAP);
    expect(u.unwrap(PTS_WRAP - 900)).toBe(PTS_WRAP - 900); // reordered, from before the wrap
    expect(u.unwrap(1800)).toBe(PTS_WRAP + 1800);
  });
});

describe("Opus RTP timestamps", () => {
  test("20 ms packets stay exactly 960 apart across the 33-bit PTS wrap", () => {
    const mapper = new OpusTimestampMapper();
    let pts = PTS_WRAP - 1800 * 5;
    let last = mapper.rtpTimestamp(pts);
    for (let i = 0; i < 10; i++) {
      pts = (pts + 1800) % PTS_WRAP;
      const ts = mapper.rtpTimestamp(pts);
      expect((ts - last + U32) % U32).toBe(960);
      last = ts;
    }
  });

  test("scaling the wrapped PTS instead would jump (the bug this avoids)", () => {
    const naive = (pts: number) => Math.round((pts * 8) / 15) % U32;
    const before = naive(PTS_WRAP - 1800);
    const after = naive(0);
    expect((after - before + U32) % U32).not.toBe(960);
  });

  test("OpusPacketizer: one payload, same bytes (no copy), no marker", () => {
    const payload = Uint8Array.of(0xfc, 1, 2, 3);
    const [packet, ...rest] = new OpusPacketizer().packetize({ track: "audio", pid: 257, pts: 1800, samples: 960, payload });
    expect(rest).toEqual([]);
    expect(packet!.payload).toBe(payload);
    expect(packet!.marker).toBe(false);
    expect(packet!.timestamp).toBe(960);
  });
});
