import { describe, expect, test } from "bun:test";
import { RtpHeader, RtpPacket } from "werift";
import { PTS_WRAP } from "../../lib/accessUnit.ts";
import { OpusDepacketizer } from "../../lib/rtp/opusDepacketizer.ts";
import { RtpClock, SessionClock } from "../../lib/rtp/rtpClock.ts";

function rtp(seq: number, timestamp: number, payload: number[]): RtpPacket {
  const header = new RtpHeader({ sequenceNumber: seq, timestamp, marker: false, payloadType: 111 });
  return new RtpPacket(header, Buffer.from(payload));
}

/** TOC byte (RFC 6716 3.1): config (5 bits) | stereo (1 bit) | frame count code (2 bits). */
const toc = (config: number, code = 0, stereo = 1) => (config << 3) | (stereo << 2) | code;

describe("OpusDepacketizer samples from the TOC (RFC 6716 3.1)", () => {
  const cases: Array<{ name: string; payload: number[]; samples: number }> = [
    { name: "SILK NB 10 ms (config 0)", payload: [toc(0), 1, 2], samples: 480 },
    { name: "SILK WB 20 ms (config 9)", payload: [toc(9), 1, 2], samples: 960 },
    { name: "SILK MB 40 ms (config 6)", payload: [toc(6), 1, 2], samples: 1920 },
    { name: "SILK NB 60 ms (config 3)", payload: [toc(3), 1, 2], samples: 2880 },
    { name: "Hybrid FB 10 ms (config 14)", payload: [toc(14), 1], samples: 480 },
    { name: "CELT FB 2.5 ms (config 28)", payload: [toc(28), 1], samples: 120 },
    { name: "CELT FB 20 ms (config 31), the WebRTC default", payload: [toc(31), 1, 2], samples: 960 },
    { name: "code 1: two equal 20 ms frames", payload: [toc(31, 1), 1, 2], samples: 1920 },
    { name: "code 2: two 10 ms frames of different sizes", payload: [toc(30, 2), 1, 9, 9], samples: 960 },
    { name: "code 3: three 20 ms frames", payload: [toc(31, 3), 3, 1, 2, 3], samples: 2880 },
    { name: "code 3: six 20 ms SILK frames = 120 ms, the maximum", payload: [toc(1, 3), 6, 0], samples: 5760 },
    { name: "DTX: TOC byte only", payload: [toc(31)], samples: 960 },
  ];
  for (const { name, payload, samples } of cases) {
    test(`${name} -> ${samples} samples, payload kept byte for byte`, () => {
      const [unit, ...rest] = new OpusDepacketizer(new RtpClock(48_000)).push(rtp(1, 5000, payload));
      expect(rest).toEqual([]);
      expect(unit).toEqual({ track: "audio", pid: 0, pts: 0, samples, payload: Uint8Array.from(payload) });
    });
  }
});

describe("OpusDepacketizer timestamps", () => {
  test("48 kHz RTP timestamps -> 90 kHz PTS (x 15/8), across the 32-bit RTP wrap", () => {
    const d = new OpusDepacketizer(new RtpClock(48_000));
    const start = 2 ** 32 - 1920;
    const units = [start, start + 960, 0, 960, 960 + 480].flatMap((ts, i) => d.push(rtp(i, ts, [toc(31), 1])));
    expect(units.map((u) => u.pts)).toEqual([0, 1800, 3600, 5400, 6300]);
  });

  test("PTS comes from the session clock and wraps at 2^33", () => {
    const session = new SessionClock({ now: () => 0, basePts: PTS_WRAP - 1800 });
    const d = new OpusDepacketizer(session.track(48_000));
    const units = [0, 960, 1920].flatMap((ts, i) => d.push(rtp(i, 7 + ts, [toc(31), 1])));
    expect(units.map((u) => u.pts)).toEqual([PTS_WRAP - 1800, 0, 1800]);
  });

  test("a gap is counted and leaves a hole in the PTS, nothing is made up", () => {
    const d = new OpusDepacketizer(new RtpClock(48_000));
    const units = [...d.push(rtp(0, 0, [toc(31), 1])), ...d.push({ gap: 2 }), ...d.push(rtp(3, 960 * 3, [toc(31), 1]))];
    expect(units.map((u) => u.pts)).toEqual([0, 5400]);
    expect(d.stats).toEqual({ accessUnits: 2, malformed: 0, lost: 2 });
  });
});

describe("OpusDepacketizer bad input", () => {
  test("a packet without a valid duration is reported and dropped", () => {
    const errors: string[] = [];
    const d = new OpusDepacketizer(new RtpClock(48_000), { onDecodeError: (e) => errors.push(e) });
    expect(d.push(rtp(0, 0, [toc(31, 3), 0]))).toEqual([]); // code 3 with zero frames
    expect(d.push(rtp(1, 960, [toc(3, 3), 3]))).toEqual([]); // 3 x 60 ms > 120 ms
    expect(errors).toEqual([
      "Opus packet of 2 bytes, TOC 0xff, has no valid duration (RFC 6716 3.1)",
      "Opus packet of 2 bytes, TOC 0x1f, has no valid duration (RFC 6716 3.1)",
    ]);
    expect(d.stats.malformed).toBe(2);
  });

  test("a padding-only packet (empty payload) is skipped, not an error", () => {
    const d = new OpusDepacketizer(new RtpClock(48_000));
    expect(d.push(rtp(0, 0, []))).toEqual([]);
    expect(d.stats).toEqual({ accessUnits: 0, malformed: 0, lost: 0 });
  });

  test("the payload is copied: reusing the packet's buffer does not change the access unit", () => {
    const packet = rtp(0, 0, [toc(31), 1, 2]);
    const [unit] = new OpusDepacketizer(new RtpClock(48_000)).push(packet);
    packet.payload.fill(0);
    expect([...unit!.payload]).toEqual([toc(31), 1, 2]);
  });
});
