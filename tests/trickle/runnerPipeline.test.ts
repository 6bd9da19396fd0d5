/**
 * The runner pipeline against a real worker process's API on loopback: the
 * copy worker (tests/helpers/trickleCopyWorker.ts) subscribes to the input
 * channel Wisp hosts and publishes every segment unchanged to the output
 * channel, over HTTP, with Wisp's trickle clients.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { silentLogger } from "../../lib/logger.ts";
import type { AttemptContext, PipelineAttempt } from "../../lib/pipeline/pipelineAttempt.ts";
import { runnerAttempts, type RunnerPipelineOptions } from "../../lib/pipeline/runnerPipeline.ts";
import { TsSegmenter } from "../../lib/pipeline/tsSegmenter.ts";
import { type HttpServer, serveHttp } from "../../lib/runtime/httpServer.ts";
import { readFixture } from "../fixtures/readFixture.ts";
import { eventually } from "../helpers/eventually.ts";
import { checkAndClose, startTestServer, type TestServer } from "../helpers/testServer.ts";
import { type CopyWorker, startCopyWorker } from "../helpers/trickleCopyWorker.ts";

let server: TestServer | undefined;
let worker: CopyWorker | undefined;
let attempt: PipelineAttempt | undefined;
let fake: HttpServer | undefined;

afterEach(async () => {
  await attempt?.stop("test over");
  await worker?.close();
  await fake?.stop(true);
  await checkAndClose(server);
  server =
    worker =
    attempt =
    fake =
      undefined;
});

/** What an attempt told its pipeline. */
interface Told {
  output: Uint8Array[];
  failed: string[];
  events: Array<Record<string, unknown>>;
}

function context(overrides: Partial<AttemptContext> = {}): { context: AttemptContext; told: Told } {
  const told: Told = { output: [], failed: [], events: [] };
  return {
    told,
    context: {
      stream: "cam1",
      requestId: "req-123",
      attempt: 2,
      params: { prompt: "from the publisher" },
      logger: silentLogger,
      output: (chunk) => told.output.push(chunk),
      failed: (reason) => told.failed.push(reason),
      workerEvent: (event) => told.events.push(event),
      ...overrides,
    },
  };
}

async function setUp(options: Partial<RunnerPipelineOptions> = {}, env: Record<string, string> = {}) {
  server = await startTestServer(env, { listen: true });
  const s = server;
  worker ??= startCopyWorker({ token: "secret" });
  const start = runnerAttempts({
    runner: worker.url,
    token: "secret",
    modelId: "noop",
    params: { prompt: "the pipeline's own", strength: 0.5 },
    trickle: s.trickle,
    publicUrl: () => s.url,
    startTimeoutMs: 5000,
    ...options,
  });
  return { s, start };
}

/** What the worker gets as input: the segmenter's pieces of these bytes, joined. */
function expectedSegments(input: Uint8Array): Uint8Array {
  const segmenter = new TsSegmenter({ minSegmentMs: 1000, maxSegmentBytes: 1 << 30 });
  return Buffer.concat([...segmenter.push(input), ...segmenter.flush()].map((p) => p.bytes));
}

describe("runner pipeline with a loopback copy worker", () => {
  test("the worker gets the start request go-livepeer sends, and the output is the input segments, byte for byte", async () => {
    const { s, start } = await setUp();
    const { context: ctx, told } = context();
    attempt = start(ctx);
    const input = readFixture("av-6s.mpegts");
    const firstKeyframeSegment = input.subarray(0, 188 * 200);
    attempt.write(firstKeyframeSegment);
    await eventually(
      () => worker!.jobs[0]?.segmentsCopied === 0 && attempt!.stats().inputSegmentsInFlight === 0,
      "the worker to read the first segment",
      { timeoutMs: 5000 },
    );
    attempt.write(input.subarray(firstKeyframeSegment.byteLength));
    attempt.endInput();
    await attempt.done;
    expect(Buffer.concat(told.output)).toEqual(Buffer.from(expectedSegments(input)));
    expect(worker!.jobs[0]!.segmentsCopied).toBe(3); // av-6s: 3 keyframes, 2 s apart
    expect(told.failed).toEqual([]);

    const [request] = worker!.requests;
    expect(request!.authorization).toBe("Bearer secret");
    expect(request!.status).toBe(200);
    const body = request!.body as Record<string, unknown>;
    const channelUrl = new RegExp(`^${s.url}/trickle/[A-Za-z0-9_-]{22}-`);
    expect(body.subscribe_url).toMatch(new RegExp(channelUrl.source + "in$"));
    expect(body.publish_url).toMatch(new RegExp(channelUrl.source + "out$"));
    expect(body.control_url).toMatch(new RegExp(channelUrl.source + "control$"));
    expect(body.events_url).toMatch(new RegExp(channelUrl.source + "events$"));
    expect(body).toMatchObject({
      model_id: "noop",
      params: { prompt: "from the publisher", strength: 0.5 },
      gateway_request_id: "req-123",
      manifest_id: "req-123-2",
      stream_id: "cam1",
    });
    // The attempt's channels are gone once it ended: a late writer gets 404.
    expect(s.trickle.size).toBe(0);
    const late = await fetch(`${body.publish_url}/7`, { method: "POST", body: "late" });
    expect(late.status).toBe(404);
    await late.text();
  });

  test("events reach workerEvent; params and keepalives reach the worker's control subscription", async () => {
    const { start } = await setUp({ keepaliveMs: 100 });
    const { context: ctx, told } = context();
    attempt = start(ctx);
    await eventually(() => told.events.length > 0, "the worker's first event");
    expect(told.events[0]).toEqual({ type: "copy_worker_started", stream_id: "cam1" });
    await eventually(() => worker!.jobs[0]!.control.length > 0, "a keepalive");
    attempt.updateParams!({ prompt: "a new one" });
    await eventually(
      () => worker!.jobs[0]!.control.some((m) => (m as { prompt?: string }).prompt === "a new one"),
      "the params on the control channel",
    );
    expect(worker!.jobs[0]!.control).toContainEqual({ keep: "alive" });
  });

  test("a stopped attempt: channels removed, readers told Lp-Trickle-Closed, a late POST refused with 404", async () => {
    const { s, start } = await setUp();
    const { context: ctx, told } = context();
    attempt = start(ctx);
    await eventually(() => worker!.jobs.length === 1, "the worker's start");
    const body = worker!.jobs[0]!.body;
    await attempt.stop("swap");
    expect(s.trickle.size).toBe(0);
    await worker!.jobs[0]!.done; // its subscription ended (Lp-Trickle-Closed / 404)
    for (const url of [body.publish_url, body.events_url]) {
      const late = await fetch(`${url}/0`, { method: "POST", body: "from a stale worker" });
      expect(late.status).toBe(404);
      await late.text();
    }
    expect(told.failed).toEqual([]);
  });

  test("a worker that closes its output before the input ended fails the attempt", async () => {
    const { s, start } = await setUp();
    const { context: ctx, told } = context();
    attempt = start(ctx);
    await eventually(() => worker!.jobs.length === 1, "the worker's start");
    const deleted = await fetch(String(worker!.jobs[0]!.body.publish_url), { method: "DELETE" });
    expect(deleted.status).toBe(200);
    await attempt.done;
    expect(told.failed).toEqual(["the worker closed its output channel"]);
    expect(s.trickle.size).toBe(0);
  });
});

describe("runner pipeline: a worker that refuses, does not answer or does not read", () => {
  test("a wrong token: the worker's 401 fails the attempt with its words, and the channels are removed", async () => {
    const { s, start } = await setUp({ token: "wrong" });
    const { context: ctx, told } = context();
    attempt = start(ctx);
    await attempt.done;
    expect(told.failed).toHaveLength(1);
    expect(told.failed[0]).toContain("answered 401");
    expect(told.failed[0]).toContain("Invalid bearer token.");
    expect(worker!.requests[0]!.authorization).toBe("Bearer wrong");
    expect(s.trickle.size).toBe(0);
  });

  test("no answer within RUNNER_START_TIMEOUT_MS, or nobody listening: the attempt fails saying so", async () => {
    let release!: () => void;
    const never = new Promise<void>((resolve) => (release = resolve));
    fake = serveHttp(async () => {
      await never;
      return new Response("too late");
    }, { port: 0, hostname: "127.0.0.1" });
    const { start } = await setUp({ runner: `http://127.0.0.1:${fake.port}`, startTimeoutMs: 200 });
    const slow = context();
    attempt = start(slow.context);
    await attempt.done;
    release();
    expect(slow.told.failed).toEqual([
      `runner http://127.0.0.1:${fake.port}/live-video-to-video did not answer within 200 ms (RUNNER_START_TIMEOUT_MS)`,
    ]);
    const nobody = context();
    attempt = runnerAttempts({
      runner: "http://127.0.0.1:9",
      trickle: server!.trickle,
      publicUrl: server!.url,
      startTimeoutMs: 2000,
    })(nobody.context);
    await attempt.done;
    expect(nobody.told.failed[0]).toContain("could not be reached");
  });

  test("a worker that never reads: segments in flight grow to the window of 5, older ones are dropped and counted; ingest never waits", async () => {
    fake = serveHttp(() => Response.json({}), { port: 0, hostname: "127.0.0.1" }); // says 200, never subscribes
    const { start } = await setUp({ runner: `http://127.0.0.1:${fake.port}` });
    const { context: ctx, told } = context();
    attempt = start(ctx);
    const input = readFixture("video-only.mpegts"); // 4 s, a keyframe a second: 4 segments
    for (let i = 0; i < 2; i++) attempt.write(input); // the PTS jumps back: a cut there too
    expect(attempt.stats()).toEqual({ inputSegmentsInFlight: 5, inputDrops: 3, inputDroppedBytes: expect.any(Number) });
    expect(attempt.stats().inputDroppedBytes).toBeGreaterThan(0);
    expect(told.failed).toEqual([]);
  });
});
