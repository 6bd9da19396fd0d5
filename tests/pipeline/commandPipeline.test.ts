// test layer: loopback
// Real child processes (ffmpeg, sh) through lib/runtime/childProcess.ts.
import { afterEach, describe, expect, test } from "bun:test";
import { concatBytes } from "../../bench/lib/mpegts/tsBuilders.ts";
import type { AudioAccessUnit, TrackInfo, VideoAccessUnit } from "../../lib/accessUnit.ts";
import { createLogger } from "../../lib/logger.ts";
import { TsDemuxer } from "../../lib/mpegts/tsDemuxer.ts";
import { commandPipeline } from "../../lib/pipeline/commandPipeline.ts";
import type { AttemptContext, PipelineAttempt } from "../../lib/pipeline/pipelineAttempt.ts";
import { liveChildCount } from "../../lib/runtime/childProcess.ts";
import { factsOf } from "../fixtures/fixtureFacts.ts";
import { readFixture } from "../fixtures/readFixture.ts";
import { eventually } from "../helpers/eventually.ts";
import { countResumes } from "../helpers/tsResumes.ts";

const FFMPEG = ["ffmpeg", "-hide_banner", "-nostats", "-loglevel", "error", "-f", "mpegts", "-i", "pipe:0"];
const TO_STDOUT = ["-f", "mpegts", "pipe:1"];
const COPY = [...FFMPEG, "-map", "0", "-c", "copy", ...TO_STDOUT];
const AAC_TO_OPUS = [...FFMPEG, "-c:v", "copy", "-c:a", "libopus", "-b:a", "64k", "-ar", "48000", ...TO_STDOUT];
const PMT_PID = 0x1000;
const CHUNK = 7 * 188; // a UDP-sized chunk, as an encoder's push arrives

interface Run {
  attempt: PipelineAttempt;
  output: Uint8Array[];
  failures: string[];
  logs: Array<Record<string, unknown>>;
  /** The pid the attempt logged when it started its process. */
  pid(): number;
}

const started: PipelineAttempt[] = [];
const baselineChildren = liveChildCount();

function start(argv: string[], options: { inputQueueBytes?: number; stopGraceMs?: number } = {}): Run {
  const output: Uint8Array[] = [];
  const failures: string[] = [];
  const logs: Array<Record<string, unknown>> = [];
  const logger = createLogger("debug", (line) => logs.push(JSON.parse(line)));
  const context: AttemptContext = {
    stream: "cam1",
    requestId: "req-1",
    attempt: 1,
    params: {},
    logger,
    output: (chunk) => output.push(chunk.slice()),
    failed: (reason) => failures.push(reason),
  };
  const startAttempt = commandPipeline(argv, {
    inputQueueBytes: options.inputQueueBytes ?? 2_000_000,
    ...(options.stopGraceMs === undefined ? {} : { stopGraceMs: options.stopGraceMs }),
  });
  const attempt = startAttempt(context);
  started.push(attempt);
  const pid = () => Number(logs.find((l) => l.msg === "pipeline command started")?.pid);
  return { attempt, output, failures, logs, pid };
}

function feed(attempt: PipelineAttempt, bytes: Uint8Array): void {
  for (let i = 0; i < bytes.length; i += CHUNK) attempt.write(bytes.subarray(i, i + CHUNK));
}

function demux(chunks: Uint8Array[]) {
  const demuxer = new TsDemuxer();
  const events = [...chunks.flatMap((chunk) => demuxer.push(chunk)), ...demuxer.flush()];
  const units = events.flatMap((e) => (e.type === "unit" ? [e.unit] : []));
  return {
    tracks: events.flatMap((e) => (e.type === "tracks" ? [e.tracks] : [])).at(-1) ?? ([] as TrackInfo[]),
    video: units.filter((u): u is VideoAccessUnit => u.track === "video"),
    audio: units.filter((u): u is AudioAccessUnit => u.track === "audio"),
  };
}

afterEach(async () => {
  // Every test ends what it started: stop() is idempotent, and no child may outlive its attempt.
  await Promise.all(started.splice(0).map((attempt) => attempt.stop("test over")));
  expect(liveChildCount()).toBe(baselineChildren);
});

describe("commandPipeline with ffmpeg", () => {
  test("-c copy: the output demuxes to the input's pictures and audio; done settles after endInput", async () => {
    const facts = factsOf("av.mpegts");
    const run = start(COPY);
    feed(run.attempt, readFixture("av.mpegts"));
    run.attempt.endInput();
    await run.attempt.done;
    expect(run.failures).toEqual([]);
    expect(liveChildCount()).toBe(baselineChildren);
    const { tracks, video, audio } = demux(run.output);
    expect(tracks.map((t) => t.codec)).toEqual(["h264", "opus"]);
    expect(video.length).toBe(facts.video!.count);
    expect(video.filter((u) => u.keyframe).length).toBe(facts.video!.keyframes);
    expect(audio.length).toBe(facts.opus!.count);
    expect(run.attempt.stats()).toEqual({ inputDroppedBytes: 0, inputDrops: 0, inputSegmentsInFlight: 0 });
    expect(run.logs.some((l) => l.msg === "pipeline command finished after its input ended")).toBe(true);
  });

  test("AAC in, -c:a libopus: the output is H.264 + Opus", async () => {
    const run = start(AAC_TO_OPUS);
    feed(run.attempt, readFixture("aac.mpegts"));
    run.attempt.endInput();
    await run.attempt.done;
    expect(run.failures).toEqual([]);
    const { tracks, video, audio } = demux(run.output);
    expect(tracks.map((t) => [t.kind, t.codec, t.playable])).toEqual([["video", "h264", true], [
      "audio",
      "opus",
      true,
    ]]);
    expect(video.length).toBe(factsOf("aac.mpegts").video!.count);
    expect(audio.length).toBeGreaterThan(90); // 2 s of 20 ms Opus packets
  });

  test("a process killed mid-stream fails the attempt, saying how", async () => {
    const run = start(COPY);
    const input = readFixture("av-6s.mpegts");
    const part = Math.floor((0.9 * input.length) / 188) * 188; // past ffmpeg's 5 s of probing: output flows
    feed(run.attempt, input.subarray(0, part));
    await eventually(() => run.output.length > 0, "the first output");
    process.kill(run.pid(), "SIGKILL");
    await run.attempt.done;
    expect(run.failures).toEqual(['command "ffmpeg" was killed by SIGKILL before its input ended']);
    run.attempt.write(input.subarray(part)); // input after the end: ignored
    expect(liveChildCount()).toBe(baselineChildren);
  });
});

describe("commandPipeline with small processes", () => {
  test("an exit before the input ended: the code and the last stderr line", async () => {
    const run = start(["sh", "-c", "head -c 1000 >/dev/null; echo 'Invalid data found' >&2; exit 3"]);
    feed(run.attempt, readFixture("av.mpegts"));
    await run.attempt.done;
    expect(run.failures).toEqual([
      `command "sh" exited with code 3 before its input ended; its last message: Invalid data found`,
    ]);
    expect(run.logs.some((l) => l.msg === "pipeline stderr" && l.line === "Invalid data found")).toBe(true);
  });

  test("a binary that does not exist: failed() says so, once, after the attempt was returned and before done", async () => {
    const run = start(["wisp-no-such-binary", "-i", "pipe:0"]);
    expect(run.failures).toEqual([]);
    await run.attempt.done;
    expect(run.failures).toHaveLength(1);
    expect(run.failures[0]).toMatch(/^command "wisp-no-such-binary" could not start: .*wisp-no-such-binary/);
    run.attempt.write(new Uint8Array(188));
    run.attempt.endInput();
    await run.attempt.stop("test");
    expect(run.failures).toHaveLength(1);
  });

  test("stop() ends a process that ignores SIGTERM and its stdin with SIGKILL after the grace; stop is idempotent", async () => {
    const run = start(["sh", "-c", "trap '' TERM; echo ready >&2; exec sleep 60"], { stopGraceMs: 300 });
    await eventually(() => run.logs.some((l) => l.line === "ready"), "the process to ignore SIGTERM");
    run.attempt.endInput(); // closing stdin does not end it
    const began = performance.now();
    const stopping = run.attempt.stop("swap");
    expect(run.attempt.stop("again")).toBe(stopping);
    await stopping;
    expect(performance.now() - began).toBeGreaterThanOrEqual(290);
    expect(run.logs.some((l) => l.msg === "pipeline command was killed by SIGKILL after stop")).toBe(true);
    expect(run.failures).toEqual([]);
    expect(liveChildCount()).toBe(baselineChildren);
  });

  test("after stop(), output the process still writes is ignored and failed() is never called", async () => {
    // On SIGTERM it writes to stdout and exits 1: neither may reach the stream.
    const run = start(["sh", "-c", "trap 'echo late; exit 1' TERM; echo ready >&2; while true; do sleep 0.05; done"]);
    await eventually(() => run.logs.some((l) => l.line === "ready"), "the process to set its trap");
    await run.attempt.stop("swap");
    expect(run.logs.some((l) => l.msg === "pipeline command exited with code 1 after stop")).toBe(true);
    expect(run.output).toEqual([]);
    expect(run.failures).toEqual([]);
  });

  test("a process that never reads: input is dropped to the next keyframe and counted, ingest never waits", () => {
    const run = start(["sh", "-c", "exec sleep 30"], { inputQueueBytes: 50_000 });
    const input = readFixture("av-6s.mpegts");
    const began = performance.now();
    feed(run.attempt, concatBytes([input, input, input]));
    expect(performance.now() - began).toBeLessThan(1000);
    const { inputDrops, inputDroppedBytes } = run.attempt.stats();
    expect(inputDrops).toBeGreaterThanOrEqual(1);
    expect(inputDroppedBytes).toBeGreaterThan(input.length);
  });

  test("a process that reads late gets the input from before the drop, then PAT, PMT and a keyframe", async () => {
    const run = start(["sh", "-c", "sleep 0.5; exec cat"], { inputQueueBytes: 50_000 });
    const copy = readFixture("av-6s.mpegts");
    const input = concatBytes([copy, copy, copy]);
    feed(run.attempt, input.subarray(0, 2 * copy.length)); // while it does not read yet: dropped to keyframes
    expect(run.attempt.stats().inputDrops).toBeGreaterThanOrEqual(1);
    await eventually(() => run.output.length > 0, "the process to read");
    for (let i = 2 * copy.length; i < input.length; i += CHUNK) {
      run.attempt.write(input.subarray(i, i + CHUNK));
      await new Promise((resolve) => setImmediate(resolve)); // a live source: chunk by chunk
    }
    run.attempt.endInput();
    await run.attempt.done;
    expect(run.failures).toEqual([]);
    const output = concatBytes(run.output);
    // Every gap is followed by PAT, PMT and a keyframe (countResumes throws otherwise); the one at the
    // third copy's first keyframe at least is written, as the process reads by then.
    expect(countResumes(input, output, PMT_PID)).toBeGreaterThanOrEqual(1);
    expect(output.length).toBeGreaterThan(copy.length / 2);
  });
});
