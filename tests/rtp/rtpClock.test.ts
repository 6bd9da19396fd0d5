import { describe, expect, test } from "bun:test";
import { PTS_WRAP } from "../../lib/accessUnit.ts";
import { RtpClock, SESSION_BASE_PTS, SessionClock } from "../../lib/rtp/rtpClock.ts";

const U32 = 2 ** 32;

describe("RtpClock", () => {
  test("90 kHz: the first packet gets the anchor, later ones their distance from it", () => {
    const clock = new RtpClock(90_000, () => 5000);
    expect([123_456, 126_456, 129_456].map((ts) => clock.pts(ts))).toEqual([5000, 8000, 11_000]);
  });

  test("48 kHz Opus is scaled by 90000 / 48000 = 15 / 8, exactly", () => {
    const clock = new RtpClock(48_000);
    const pts = [0, 960, 1920, 2400, 48_000].map((step) => clock.pts(777 + step));
    expect(pts).toEqual([0, 1800, 3600, 4500, 90_000]);
  });

  test("the 32-bit RTP timestamp wraps seamlessly", () => {
    const clock = new RtpClock(90_000);
    const ts = [U32 - 6000, U32 - 3000, 0, 3000].map((t) => clock.pts(t));
    expect(ts).toEqual([0, 3000, 6000, 9000]);
  });

  test("a reordered timestamp from just before the wrap is placed before it, and the wrap is kept", () => {
    const clock = new RtpClock(48_000);
    expect(clock.unwrap(U32 - 960)).toBe(U32 - 960);
    expect(clock.unwrap(0)).toBe(U32);
    expect(clock.unwrap(U32 - 480)).toBe(U32 - 480); // late packet: a small step back, not a wrap
    expect(clock.unwrap(960)).toBe(U32 + 960);
    expect(clock.unwrap(U32 - 100)).toBe(U32 - 100);
    expect(clock.unwrap(1920)).toBe(U32 + 1920);
  });

  test("a packet from before the first one gets an earlier PTS (and wraps below zero)", () => {
    const clock = new RtpClock(90_000, () => 1000);
    expect(clock.pts(10_000)).toBe(1000);
    expect(clock.pts(9_000)).toBe(0);
    expect(clock.pts(8_000)).toBe(PTS_WRAP - 1000);
  });

  test("PTS is taken mod 2^33 and stays exact over days of media", () => {
    const clock = new RtpClock(48_000);
    let rtp = 0;
    let ticks48k = 0;
    expect(clock.pts(rtp)).toBe(0);
    const step = 2 ** 30 + 961; // under half the 32-bit range: each step is forward; odd, so nothing divides evenly
    for (let i = 0; i < 500; i++) {
      rtp = (rtp + step) % U32;
      ticks48k += step;
      clock.pts(rtp); // the clock sees each step, as it sees each packet
    }
    // 500 steps ~ 5.4e11 samples ~ 130 days; 15/8 of that is far beyond 2^33 and near 2^53 / 10.
    const expected = Number(((BigInt(ticks48k) * 15n + 4n) / 8n) % BigInt(PTS_WRAP)); // rounded half up
    expect(clock.pts(rtp)).toBe(expected);
  });

  test("bad input is refused with the value", () => {
    expect(() => new RtpClock(0)).toThrow(/clock rate must be a positive integer in Hz, got 0/);
    expect(() => new RtpClock(90_000).pts(U32)).toThrow(/32-bit unsigned integer, got 4294967296/);
    expect(() => new RtpClock(90_000).pts(-1)).toThrow(/got -1/);
  });
});

describe("SessionClock", () => {
  test("the session's first packet gets the base PTS (10 s)", () => {
    const clock = new SessionClock({ now: () => 1234.5 });
    expect(clock.track(90_000).pts(3_000_000_000)).toBe(SESSION_BASE_PTS);
    expect(SESSION_BASE_PTS).toBe(900_000);
  });

  test("a track starting later is placed by the wall-clock arrival of its first packet", () => {
    let now = 5000;
    const session = new SessionClock({ now: () => now });
    const video = session.track(90_000);
    const audio = session.track(48_000);
    const v0 = video.pts(123_456);
    now = 5100; // audio's first packet arrives 100 ms after video's
    const a0 = audio.pts(999);
    expect(a0 - v0).toBe(9000);
    now = 9000; // the wall clock is read only at each track's first packet
    expect(audio.pts(999 + 48_000)).toBe(a0 + 90_000);
    expect(video.pts(123_456 + 90_000)).toBe(v0 + 90_000);
  });

  test("pts = base + (wallMsAtFirst - originMs) * 90 + (rtp - rtpFirst) * 90000 / clockRate", () => {
    let now = 0;
    const session = new SessionClock({ now: () => now, basePts: 0 });
    const audio = session.track(48_000);
    audio.pts(U32 - 480); // the session origin, at t = 0
    now = 33.3;
    const video = session.track(90_000);
    expect(video.pts(42)).toBe(2997); // round(33.3 * 90)
    expect(audio.pts(480)).toBe(1800); // across the RTP wrap: 960 samples later
  });

  test("tracks of different sessions do not share an origin", () => {
    let now = 0;
    const a = new SessionClock({ now: () => now });
    a.track(90_000).pts(1);
    now = 500;
    expect(new SessionClock({ now: () => now }).track(90_000).pts(1)).toBe(SESSION_BASE_PTS);
  });

  describe("sender reports (RFC 3550 6.4.1) place the tracks by capture time", () => {
    const X = 1_700_000_000_000; // the sender's NTP time (ms) when video's first packet was captured

    /** Two reports 1 s apart that agree with the track's RTP clock (the first is only checked against). */
    function report(clock: SessionClock, track: RtpClock, ntpMs: number, rtp: number): void {
      clock.senderReport(track, ntpMs - 1000, (rtp - track.clockRate + 2 ** 32) % 2 ** 32);
      clock.senderReport(track, ntpMs, rtp);
    }

    /** Video first arrives at t = 1000 and audio 10 ms later, but audio's first packet was captured 30 ms before video's. */
    function session() {
      let now = 1000;
      const clock = new SessionClock({ now: () => now });
      const video = clock.track(90_000);
      const audio = clock.track(48_000);
      const v0 = video.pts(5_000);
      now = 1010;
      const a0 = audio.pts(7_000);
      // Reports 1.5 s after video's first capture: RTP timestamps of that instant on each track's clock.
      const reports = {
        video: { ntpMs: X + 1500, rtp: 5_000 + 135_000 },
        audio: { ntpMs: X + 1500, rtp: 7_000 + 1.53 * 48_000 },
      };
      return { clock, video, audio, v0, a0, reports };
    }

    test("once both tracks have trusted ones, the earlier-placed track moves later: PTS then differ as the captures did", () => {
      const { clock, video, audio, v0, a0, reports } = session();
      expect(a0 - v0).toBe(900); // by arrival: audio 10 ms after video
      report(clock, video, reports.video.ntpMs, reports.video.rtp);
      expect(clock.srCorrectionMs).toBeUndefined(); // audio has no report yet
      report(clock, audio, reports.audio.ntpMs, reports.audio.rtp);
      expect([...clock.srCorrectionMs!.values()].map((ms) => Math.round(ms))).toEqual([40, 0]); // video 40 ms later, audio stays
      expect(audio.pts(7_000) - video.pts(5_000)).toBe(-2_700); // audio 30 ms before video, as captured
      expect(audio.pts(7_000)).toBe(a0); // nothing moved back
    });

    test("a single report per track, or reports that disagree with their own RTP clock (werift's NTP fraction), are not used", () => {
      const { clock, video, audio, v0, a0, reports } = session();
      clock.senderReport(video, reports.video.ntpMs, reports.video.rtp);
      clock.senderReport(audio, reports.audio.ntpMs, reports.audio.rtp);
      expect(clock.srCorrectionMs).toBeUndefined();
      clock.senderReport(video, reports.video.ntpMs + 1000 + 300, reports.video.rtp + 90_000); // 1 s of RTP, 1.3 s of NTP
      clock.senderReport(audio, reports.audio.ntpMs + 1000, reports.audio.rtp + 48_000);
      expect(clock.srCorrectionMs).toBeUndefined();
      expect([video.pts(5_000), audio.pts(7_000)]).toEqual([v0, a0]);
    });

    test("made once: later reports change nothing", () => {
      const { clock, video, audio, reports } = session();
      report(clock, video, reports.video.ntpMs, reports.video.rtp);
      report(clock, audio, reports.audio.ntpMs, reports.audio.rtp);
      const placed = video.pts(5_000);
      report(clock, video, reports.video.ntpMs + 5000, reports.video.rtp + 90_000);
      expect(video.pts(5_000)).toBe(placed);
    });

    test("reports that disagree with arrival by more than 250 ms are not trusted", () => {
      const { clock, video, audio, v0, a0, reports } = session();
      report(clock, video, reports.video.ntpMs, reports.video.rtp);
      report(clock, audio, reports.audio.ntpMs + 400, reports.audio.rtp);
      expect(Math.max(...clock.srCorrectionMs!.values())).toBeGreaterThan(250);
      expect([video.pts(5_000), audio.pts(7_000)]).toEqual([v0, a0]);
    });

    test("RTP timestamps on either side of the 32-bit wrap", () => {
      let now = 0;
      const clock = new SessionClock({ now: () => now });
      const video = clock.track(90_000);
      const audio = clock.track(48_000);
      video.pts(U32 - 900); // 10 ms before the wrap
      now = 10; // audio arrives 10 ms later, though captured at the same instant
      audio.pts(100);
      report(clock, video, X + 1100, 98_100); // 1.1 s after video's first capture, past the wrap
      report(clock, audio, X + 1100, 100 + 52_800); // audio's first capture at X as well
      expect(audio.pts(100) - video.pts(U32 - 900)).toBe(0); // video moved 10 ms later
      expect(Math.round(clock.srCorrectionMs!.get(video)!)).toBe(10);
    });
  });
});
