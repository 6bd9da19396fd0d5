import { describe, expect, test } from "bun:test";
import { PTS_WRAP } from "../../lib/accessUnit.ts";
import {
  PCR_LEAD_TICKS,
  STALLED_TRACK_TICKS,
  ticksBetween,
  TIME_BASE_JUMP_TICKS,
  TsMuxClock,
} from "../../lib/mpegts/tsMuxClock.ts";
import { seededRandom } from "../../bench/lib/random.ts";

describe("ticksBetween", () => {
  test.each([
    { a: 0, b: 100, expected: 100 },
    { a: 100, b: 0, expected: -100 },
    { a: PTS_WRAP - 10, b: 5, expected: 15 }, // forward across the 33-bit wrap
    { a: 5, b: PTS_WRAP - 10, expected: -15 },
  ])("$a -> $b", ({ a, b, expected }) => {
    expect(ticksBetween(a, b)).toBe(expected);
  });
});

describe("TsMuxClock", () => {
  test("one track: PCR = time - lead", () => {
    const clock = new TsMuxClock();
    expect(clock.advance("video", 90_000)).toEqual({ pcr: 90_000 - PCR_LEAD_TICKS, discontinuity: false });
    expect(clock.advance("video", 93_000)).toEqual({ pcr: 93_000 - PCR_LEAD_TICKS, discontinuity: false });
  });

  test("the PCR follows the newest track minus the lead, but never passes the slowest track", () => {
    const clock = new TsMuxClock();
    clock.advance("video", 100_000);
    expect(clock.advance("audio", 104_000).pcr).toBe(104_000 - PCR_LEAD_TICKS); // newest - lead
    expect(clock.advance("audio", 150_000).pcr).toBe(100_000); // the video frame still due at 100_000 binds
    expect(clock.advance("audio", 151_800).pcr).toBe(100_000);
    expect(clock.advance("video", 103_000).pcr).toBe(103_000);
    expect(clock.advance("video", 150_000).pcr).toBe(151_800 - PCR_LEAD_TICKS);
  });

  test("between frames of a 10 fps video, audio every 20 ms moves the PCR on", () => {
    const clock = new TsMuxClock();
    const pcrs = [0, 1800, 3600, 5400, 7200].map((t) => {
      if (t === 0) clock.advance("video", 900_000);
      return clock.advance("audio", 900_000 + t).pcr;
    });
    expect(pcrs).toEqual([0, 1800, 3600, 5400, 7200].map((t) => 900_000 + t - PCR_LEAD_TICKS));
  });

  test("a stalled track stops holding the PCR back", () => {
    const clock = new TsMuxClock();
    clock.advance("video", 100_000);
    const later = 100_000 + STALLED_TRACK_TICKS + 1;
    expect(clock.advance("audio", later).pcr).toBe(later - PCR_LEAD_TICKS);
  });

  test("the PCR never steps back for skew; it holds still", () => {
    const clock = new TsMuxClock();
    clock.advance("audio", 500_000);
    const held = clock.advance("video", 450_000); // first video unit, 0.55 s behind the audio
    expect(held).toEqual({ pcr: 500_000 - PCR_LEAD_TICKS, discontinuity: false });
  });

  test("a step back of more than 10 s is a new time base, flagged as a discontinuity", () => {
    const clock = new TsMuxClock();
    clock.advance("video", 5_000_000);
    clock.advance("audio", 5_000_000);
    const back = 5_000_000 - TIME_BASE_JUMP_TICKS - PCR_LEAD_TICKS - 1;
    expect(clock.advance("video", back)).toEqual({ pcr: back - PCR_LEAD_TICKS, discontinuity: true });
    // the audio track's old time no longer counts; the new base goes on from here
    expect(clock.advance("audio", back + 1800)).toEqual({ pcr: back + 1800 - PCR_LEAD_TICKS, discontinuity: false });
  });

  test("across the 33-bit wrap the PCR goes on forward", () => {
    const clock = new TsMuxClock();
    const before = clock.advance("video", PTS_WRAP - 1000).pcr;
    const after = clock.advance("video", 2000).pcr;
    expect(ticksBetween(before, after)).toBe(3000);
    expect(after).toBe(PTS_WRAP + 2000 - PCR_LEAD_TICKS);
  });

  test("interleaved tracks with random skew: monotonic, never after a DTS still to come", () => {
    const random = seededRandom(7);
    // audio every 20 ms at once; video at 30 fps, each frame handed over 0..150 ms after its time, in order
    const events: Array<{ track: string; time: number; arrival: number }> = [];
    for (let t = 0; t < 900_000; t += 1800) events.push({ track: "audio", time: 900_000 + t, arrival: t });
    let lastVideo = 0;
    for (let t = 0; t < 900_000; t += 3000) {
      lastVideo = Math.max(lastVideo, t + random() * 13_500);
      events.push({ track: "video", time: 900_000 + t, arrival: lastVideo });
    }
    const units = events.sort((x, y) => x.arrival - y.arrival);
    const clock = new TsMuxClock();
    let previous = -Infinity;
    const bothStarted = units.findIndex((u) => u.track === "video"); // audio comes first: it never waits
    expect(bothStarted).toBeGreaterThan(0);
    units.forEach((unit, i) => {
      const { pcr, discontinuity } = clock.advance(unit.track, unit.time);
      expect(discontinuity).toBe(false);
      expect(pcr).toBeGreaterThanOrEqual(previous);
      previous = pcr;
      // Before a track's first unit its timestamps are unknown: only from then on is the bound exact.
      if (i < bothStarted) return;
      for (const future of units.slice(i, i + 40)) expect(pcr).toBeLessThanOrEqual(future.time);
    });
  });
});
