import { expect, test } from "bun:test";
import { type AttemptWatch, judgeAttempt } from "../../lib/pipeline/attemptWatchdog.ts";
import type { PipelineLimits } from "../../lib/pipeline/livePipeline.ts";

// go-livepeer's numbers, the defaults.
const LIMITS: PipelineLimits = {
  firstOutputTimeoutMs: 15_000,
  stallTimeoutMs: 10_000,
  maxSegmentsInFlight: 3,
  maxSwaps: 2,
  swapWindowMs: 180_000,
};
const at = (watch: Partial<AttemptWatch>, now: number) =>
  judgeAttempt(
    { startedAt: 0, lastOutputAt: undefined, lastInputAt: undefined, inputSegmentsInFlight: 0, ...watch },
    LIMITS,
    now,
  );

test("no first output within 15 s of flowing input: replaced; without input, never", () => {
  expect(at({ lastInputAt: 14_999 }, 14_999)).toBeUndefined();
  expect(at({ lastInputAt: 15_000 }, 15_000)).toEqual({ replace: "no output within 15000 ms" });
  expect(at({ lastInputAt: 1_000 }, 60_000)).toBeUndefined(); // the input stopped: not the pipeline's fault
});

test("output silent while input flows: stalled at 2 s, replaced at 10 s", () => {
  expect(at({ lastOutputAt: 10_000, lastInputAt: 11_900 }, 11_999)).toBeUndefined();
  expect(at({ lastOutputAt: 10_000, lastInputAt: 11_999 }, 12_000)).toBe("stalled");
  expect(at({ lastOutputAt: 10_000, lastInputAt: 19_999 }, 20_000)).toEqual({
    replace: "output stalled for 10000 ms while input flows",
  });
  expect(at({ lastOutputAt: 10_000, lastInputAt: 10_000 }, 20_000)).toBeUndefined(); // input paused too
});

test("more than 3 input segments unread by the worker: replaced", () => {
  expect(at({ lastOutputAt: 100, lastInputAt: 100, inputSegmentsInFlight: 3 }, 100)).toBeUndefined();
  expect(at({ lastOutputAt: 100, lastInputAt: 100, inputSegmentsInFlight: 4 }, 100)).toEqual({
    replace: "4 input segments in flight (more than 3)",
  });
});
