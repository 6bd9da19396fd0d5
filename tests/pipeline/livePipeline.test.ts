import { afterEach, describe, expect, test } from "bun:test";
import { concatBytes } from "../../lib/bytes.ts";
import { silentLogger } from "../../lib/logger.ts";
import { LivePipeline, type PipelineLimits } from "../../lib/pipeline/livePipeline.ts";
import type { AttemptContext, PipelineAttempt, StartAttempt } from "../../lib/pipeline/pipelineAttempt.ts";
import type { StreamOutput } from "../../lib/pipeline/streamOutput.ts";
import { SwapBudget } from "../../lib/pipeline/swapBudget.ts";
import { TsKeyframeScanner } from "../../lib/mpegts/tsKeyframeScanner.ts";
import { type StreamEvent, StreamEvents } from "../../lib/streamEvents.ts";
import { readFixture } from "../fixtures/readFixture.ts";
import { eventually } from "../helpers/eventually.ts";

const AV = readFixture("av.mpegts");

/** A scripted attempt (a unit test's stand-in for a process or a worker): records input, emits output on demand. */
class ScriptedAttempt implements PipelineAttempt {
  readonly input: Uint8Array[] = [];
  stoppedFor: string | undefined;
  inputEnded = false;
  inFlight = 0;
  readonly #done = Promise.withResolvers<void>();
  readonly done = this.#done.promise;
  constructor(readonly context: AttemptContext) {}
  write(chunk: Uint8Array) {
    this.input.push(chunk);
  }
  endInput() {
    this.inputEnded = true;
    this.#done.resolve();
  }
  stop(reason: string) {
    this.stoppedFor = reason;
    this.#done.resolve();
    return Promise.resolve();
  }
  stats() {
    return { inputDroppedBytes: 0, inputDrops: 0, inputSegmentsInFlight: this.inFlight };
  }
}

const FAST: PipelineLimits = {
  firstOutputTimeoutMs: 60,
  stallTimeoutMs: 60,
  maxSegmentsInFlight: 3,
  maxSwaps: 2,
  swapWindowMs: 60_000,
};

let pipeline: LivePipeline | undefined;
afterEach(() => pipeline?.stop("test over"));

function scripted(options: { onFailure?: "passthrough" | "end"; limits?: Partial<PipelineLimits> } = {}) {
  const attempts: ScriptedAttempt[] = [];
  const outputs: StreamOutput[] = [];
  const events: StreamEvent[] = [];
  const gaveUp: string[] = [];
  const feed = new StreamEvents();
  feed.on((event) => events.push(event));
  const start: StartAttempt = (context) => {
    const attempt = new ScriptedAttempt(context);
    attempts.push(attempt);
    return attempt;
  };
  const scanner = new TsKeyframeScanner();
  let keyframeRequests = 0;
  pipeline = new LivePipeline({
    definition: { name: "scripted", kind: "command", onFailure: options.onFailure ?? "passthrough", start },
    requestKeyframe: () => keyframeRequests++,
    stream: "cam",
    requestId: "req",
    params: { prompt: "a" },
    limits: { ...FAST, ...options.limits },
    logger: silentLogger,
    events: feed,
    onOutput: (output) => outputs.push(output),
    onGiveUp: (reason) => gaveUp.push(reason),
    lastInputPts: () => undefined,
    programPackets: () => scanner.programPackets(),
    inputHasVideo: () => scanner.videoPid !== undefined,
    watchdogTickMs: 10,
  });
  const write = (bytes: Uint8Array) => pipeline!.write(bytes, scanner.push(bytes));
  return { pipeline, attempts, outputs, events, gaveUp, write, keyframeRequests: () => keyframeRequests };
}

/** Keeps input flowing (the watchdogs only judge an attempt whose input flows) until stopped. */
function keepFeeding(write: (bytes: Uint8Array) => void): () => void {
  let at = 0;
  const timer = setInterval(() => {
    write(AV.subarray(at, at + 188 * 20));
    at = (at + 188 * 20) % (AV.byteLength - 188 * 20);
  }, 5);
  return () => clearInterval(timer);
}

describe("LivePipeline watchdogs", () => {
  test("an attempt with input but no output is replaced; the new one starts at PAT, PMT and a keyframe", async () => {
    const run = scripted();
    const stop = keepFeeding(run.write);
    try {
      await eventually(() => run.attempts.length === 2, "a second attempt", { timeoutMs: 2000, intervalMs: 5 });
    } finally {
      stop();
    }
    // It got PAT, PMT and the input since the latest keyframe at once, before any more input came.
    expect(run.attempts[1]!.input.length).toBeGreaterThan(0);
    run.write(AV);
    expect(run.attempts[0]!.stoppedFor).toBe("no output within 60 ms");
    expect(run.outputs[0]!.closed).toBe(true); // its viewers move on to the next output
    expect(run.attempts[1]!.context.attempt).toBe(2);
    expect(run.attempts[1]!.context.params).toEqual({ prompt: "a" });
    expect(run.keyframeRequests()).toBe(1); // the new attempt waits for a keyframe: one is asked for
    const first = run.attempts[1]!.input[0]!;
    const scanned = new TsKeyframeScanner().push(concatBytes(run.attempts[1]!.input));
    expect([scanned[0]!.kind, scanned[1]!.kind]).toEqual(["pat", "pmt"]);
    expect(scanned[2]!.keyframe).toBe(true);
    expect(first.byteLength % 188).toBe(0);
    expect(run.events.filter((e) => e.type === "pipeline.swapped")).toEqual([
      expect.objectContaining({ stream: "cam", requestId: "req", attempt: 2, reason: "no output within 60 ms" }),
    ]);
  });

  test("output that stalls while input flows is replaced; a stale attempt's output is ignored", async () => {
    const run = scripted();
    const stop = keepFeeding(run.write);
    try {
      run.attempts[0]!.context.output(AV.subarray(0, 188 * 50));
      expect(run.pipeline.state).toBe("running");
      await eventually(() => run.attempts.length === 2, "a second attempt", { timeoutMs: 2000, intervalMs: 5 });
    } finally {
      stop();
    }
    expect(run.attempts[0]!.stoppedFor).toBe("output stalled for 60 ms while input flows");
    const bytesBefore = run.outputs[1]!.info().bytesIn;
    run.attempts[0]!.context.output(AV.subarray(0, 188 * 10)); // late output of the replaced attempt
    expect(run.outputs[1]!.info().bytesIn).toBe(bytesBefore);
    expect(run.outputs[0]!.info().bytesIn).toBe(188 * 50);
  });

  test("output silent for half the stall timeout while input flows: the API says stalled, and running once it comes back", async () => {
    const run = scripted({ limits: { stallTimeoutMs: 400 } });
    const stop = keepFeeding(run.write);
    try {
      run.attempts[0]!.context.output(AV.subarray(0, 188));
      expect(run.pipeline.state).toBe("running");
      await eventually(() => run.pipeline.state === "stalled", "the stalled state", { timeoutMs: 2000, intervalMs: 5 });
      expect(run.attempts).toHaveLength(1); // said, not yet acted on
      run.attempts[0]!.context.output(AV.subarray(188, 376));
      expect(run.pipeline.state).toBe("running");
    } finally {
      stop();
    }
  });

  test("a worker with too many segments in flight is replaced", async () => {
    const run = scripted();
    const stop = keepFeeding(run.write);
    try {
      run.attempts[0]!.context.output(AV.subarray(0, 188));
      run.attempts[0]!.inFlight = 4;
      await eventually(() => run.attempts.length === 2, "a second attempt", { timeoutMs: 2000, intervalMs: 5 });
    } finally {
      stop();
    }
    expect(run.attempts[0]!.stoppedFor).toBe("4 input segments in flight (more than 3)");
  });

  test("no input, no judgement: an attempt that is waiting for input is not replaced", async () => {
    const run = scripted();
    await Bun.sleep(200); // the behaviour under test is that nothing happens in 3x the timeout
    expect(run.attempts.length).toBe(1);
  });
});

describe("LivePipeline swap budget", () => {
  test("after 2 swaps it falls back to passthrough: the publisher's bytes are the output", async () => {
    const run = scripted();
    for (let i = 0; i < 3; i++) run.attempts[i]!.context.failed(`crash ${i + 1}`);
    expect(run.attempts.length).toBe(3); // two restarts; the third failure is not restarted
    expect(run.pipeline.state).toBe("fallback");
    expect(run.pipeline.describe()).toMatchObject({ kind: "command", attemptKind: "passthrough", attempt: 4 });
    expect(run.pipeline.swaps).toBe(3);
    run.write(AV);
    expect(run.outputs.at(-1)!.ready).toBe(true); // passthrough from a keyframe on
    expect(run.events.filter((e) => e.type === "pipeline.swapped").map((e) => (e as { attempt: number }).attempt))
      .toEqual([2, 3, 4]);
  });

  test('with "onFailure": "end" the stream is given up instead', () => {
    const run = scripted({ onFailure: "end", limits: { maxSwaps: 1 } });
    run.attempts[0]!.context.failed("crash 1");
    run.attempts[1]!.context.failed("crash 2");
    expect(run.gaveUp).toEqual(['pipeline "scripted" failed: attempt 2 failed: crash 2']);
    expect(run.pipeline.state).toBe("failed");
    expect(run.outputs.every((o) => o.closed)).toBe(true);
  });

  test("the end of the input never starts an attempt: the current one finishes", async () => {
    const run = scripted();
    run.write(AV);
    run.pipeline.endInput();
    run.attempts[0]!.context.failed("exited after its input ended");
    expect(run.attempts.length).toBe(1);
    expect(run.attempts[0]!.inputEnded).toBe(true);
    await run.attempts[0]!.done;
    await eventually(() => run.outputs[0]!.closed, "the output to end after the attempt");
    expect(run.pipeline.state).toBe("finished");
  });

  test("SwapBudget: at most max swaps within the sliding window", () => {
    let now = 0;
    const budget = new SwapBudget(2, 1000, () => now);
    expect([budget.take(), budget.take(), budget.take()]).toEqual([true, true, false]);
    now = 999;
    expect(budget.take()).toBe(false);
    now = 1000;
    expect(budget.take()).toBe(true);
  });
});

describe("LivePipeline: an attempt that cannot start", () => {
  test("a later attempt that throws at start falls back to passthrough at once, from a failure callback", () => {
    const attempts: ScriptedAttempt[] = [];
    const start: StartAttempt = (context) => {
      if (attempts.length > 0) throw new Error("no channels left");
      const attempt = new ScriptedAttempt(context);
      attempts.push(attempt);
      return attempt;
    };
    const scanner = new TsKeyframeScanner();
    pipeline = new LivePipeline({
      definition: { name: "scripted", kind: "runner", onFailure: "passthrough", start },
      stream: "cam",
      requestId: "req",
      params: {},
      limits: FAST,
      logger: silentLogger,
      events: new StreamEvents(),
      onOutput: () => {},
      onGiveUp: () => {},
      lastInputPts: () => undefined,
      programPackets: () => scanner.programPackets(),
      inputHasVideo: () => true,
    });
    expect(() => attempts[0]!.context.failed("the worker went away")).not.toThrow();
    expect(pipeline.describe()).toMatchObject({
      state: "fallback",
      attemptKind: "passthrough",
      attempt: 2,
      lastSwapReason: "attempt 2 could not start: no channels left",
    });
  });
});
