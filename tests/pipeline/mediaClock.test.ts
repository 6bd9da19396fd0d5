import { describe, expect, test } from "bun:test";
import { MediaClock } from "../../lib/pipeline/mediaClock.ts";

describe("MediaClock", () => {
  test("the first frame anchors the clock; later PTS map to the anchor plus their distance", () => {
    const clock = new MediaClock();
    expect(clock.observe(90_000, 5_000)).toBe(5_000);
    expect(clock.observe(90_000 + 2_700, 5_040)).toBe(5_030); // 30 ms of PTS later, arrived 10 ms late
    expect(clock.observe(90_000 + 1_800, 5_090)).toBe(5_020); // audio of 20 ms in, 70 ms late: lateness kept
  });

  test("a frame that arrives before its time moves the anchor back: lateness is never negative", () => {
    const clock = new MediaClock();
    clock.observe(0, 1_000);
    expect(clock.observe(9_000, 1_095)).toBe(1_095); // 100 ms of PTS, 95 ms later: 5 ms early
    expect(clock.observe(18_000, 1_200)).toBe(1_195);
  });

  test("more than 2 s late is a jump in the source: the clock starts again there", () => {
    const clock = new MediaClock();
    clock.observe(0, 1_000);
    expect(clock.observe(90, 4_000)).toBe(4_000);
    expect(clock.observe(180, 4_001)).toBe(4_001);
  });

  test("across the 33-bit PTS wrap", () => {
    const clock = new MediaClock();
    const wrap = 2 ** 33;
    clock.observe(wrap - 900, 10_000); // 10 ms before the wrap
    expect(clock.observe(900, 10_020)).toBe(10_020); // 10 ms after it
  });
});
