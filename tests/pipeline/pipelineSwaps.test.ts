import { afterEach, describe, expect, test } from "bun:test";
import type { RtpPacket } from "werift";
import { eventually } from "../helpers/eventually.ts";
import { type CopyWorker, startCopyWorker } from "../../bench/lib/trickleCopyWorker.ts";
import { ffmpegPush } from "../helpers/ffmpegPush.ts";
import { ffmpegPipelineCommand } from "../../bench/lib/pipelines/benchPipelines.ts";
import { checkAndClose, startTestServer, type TestServer } from "../helpers/testServer.ts";
import { whepPlay, type WhepTestClient } from "../helpers/wheriftClient.ts";
import { chromeLikeOffer } from "../webrtc/chromeOffer.ts";

// A real ffmpeg between ingest and playback, a real ffmpeg pushing, a werift viewer: the viewer
// keeps its one WHEP session through a killed pipeline process and a publisher that comes back.

const MARK = `wisp-swap-test-${process.pid}`;
const COPY_COMMAND = ffmpegPipelineCommand(["-c", "copy"], MARK);

let server: TestServer | undefined;
let viewer: WhepTestClient | undefined;
let worker: CopyWorker | undefined;
const pushes: Array<{ stop(): Promise<void> }> = [];

afterEach(async () => {
  for (const push of pushes.splice(0)) await push.stop();
  await viewer?.close();
  viewer = undefined;
  await checkAndClose(server);
  server = undefined;
  await worker?.close();
  worker = undefined;
});

/** A process that reads its input and never writes a byte: the first-output watchdog's case. */
const SILENT_COMMAND = ["sh", "-c", `cat > /dev/null # ${MARK}`];

async function startServer(graceMs: number, env: Record<string, string> = {}) {
  server = await startTestServer({
    PIPELINES: JSON.stringify({
      copy: { command: COPY_COMMAND },
      crashing: { command: ["false"] },
      silentOrEnd: { command: SILENT_COMMAND, onFailure: "end" },
      ...(worker ? { worker: { runner: worker.url } } : {}),
    }),
    RECONNECT_GRACE_MS: String(graceMs),
    WHEP_WAIT_TIMEOUT_MS: "20000",
    ...env,
  }, { listen: true });
  return server;
}

function push(path: string, fixture = "av-6s.mpegts") {
  const started = ffmpegPush(fixture, `${server!.url}${path}`);
  pushes.push(started);
  return started;
}

/** Resolves once the viewer has received `more` video packets beyond what it had. */
function moreVideo(client: WhepTestClient, more: number, timeoutMs = 15_000) {
  const had = client.video.length;
  return client.until(() => client.video.length >= had + more, timeoutMs);
}

/** The largest forward step between consecutive sequence numbers (RFC 3550 16-bit wrap). */
function largestSeqStep(packets: RtpPacket[]): number {
  let largest = 0;
  for (let i = 1; i < packets.length; i++) {
    const step = (packets[i]!.header.sequenceNumber - packets[i - 1]!.header.sequenceNumber + 65536) % 65536;
    largest = Math.max(largest, step);
  }
  return largest;
}

describe("pipelines between ingest and playback", () => {
  test("a killed pipeline process is restarted and the same viewer plays on, its sequence numbers continuous", async () => {
    await startServer(0);
    push("/ingest/cam?pipeline=copy");
    viewer = await whepPlay(`${server!.url}/whep/cam`);
    expect(viewer.response.status).toBe(201);
    await moreVideo(viewer, 50);
    const stream = server!.registry.stream("cam")!;
    expect(stream.pipeline!.describe()).toMatchObject({ name: "copy", kind: "command", attempt: 1, state: "running" });

    const killer = Bun.spawn(["pkill", "-KILL", "-f", MARK]);
    expect(await killer.exited).toBe(0);
    await eventually(() => stream.pipeline!.attempt === 2, "the pipeline's second attempt", { timeoutMs: 10_000 });
    const before = viewer.video.length;
    await moreVideo(viewer, 50);

    const afterSwap = viewer.video.slice(before - 1);
    expect(largestSeqStep(afterSwap)).toBeLessThan(50); // continuous: no jump to a new random sequence
    expect(stream.pipeline!.describe()).toMatchObject({ attempt: 2, restarts: 1 });
    expect(stream.pipeline!.describe().lastSwapReason).toContain("attempt 1 failed");
    expect(server!.viewers.size).toBe(1); // the same session, no new POST
  });

  test("a worker that drops its job: a new worker call on fresh channels, and the same viewer plays on", async () => {
    worker = startCopyWorker();
    await startServer(0);
    push("/ingest/cam?pipeline=worker");
    viewer = await whepPlay(`${server!.url}/whep/cam`);
    await moreVideo(viewer, 50);
    const first = worker.jobs[0]!;
    // The worker closes its output channel, as ai-runner does when its job ends.
    expect((await fetch(String(first.body.publish_url), { method: "DELETE" })).status).toBe(200);
    const pipeline = server!.registry.stream("cam")!.pipeline!;
    await eventually(() => pipeline.attempt === 2 && worker!.jobs.length === 2, "a second attempt and worker call");
    await moreVideo(viewer, 50);
    const second = worker.jobs[1]!.body;
    expect(second.subscribe_url).not.toBe(first.body.subscribe_url); // fresh, unguessable channels per attempt
    expect(second.gateway_request_id).toBe(first.body.gateway_request_id); // the same publish
    expect((await fetch(String(first.body.publish_url), { method: "POST", body: "late" })).status).toBe(404);
    expect(server!.viewers.size).toBe(1);
  });

  test("audio only: a killed process is restarted at the next audio frame (there is no keyframe to wait for)", async () => {
    await startServer(0);
    push("/ingest/radio?pipeline=copy", "audio-only.mpegts");
    viewer = await whepPlay(`${server!.url}/whep/radio`, { video: false });
    await viewer.until(() => viewer!.audio.length > 50, 15_000);
    expect(await Bun.spawn(["pkill", "-KILL", "-f", MARK]).exited).toBe(0);
    const pipeline = server!.registry.stream("radio")!.pipeline!;
    await eventually(() => pipeline.attempt === 2, "the pipeline's second attempt", { timeoutMs: 10_000 });
    const before = viewer.audio.length;
    await viewer.until(() => viewer!.audio.length > before + 50, 15_000);
    expect(pipeline.describe()).toMatchObject({ attempt: 2, state: "running" });
  });

  test("a publisher that comes back within the grace keeps the viewer; after the grace it is closed", async () => {
    await startServer(4_000);
    const first = push("/ingest/cam");
    viewer = await whepPlay(`${server!.url}/whep/cam`);
    await moreVideo(viewer, 50);
    const stream = server!.registry.stream("cam")!;

    await first.stop();
    await eventually(() => stream.state === "reconnecting", "the stream to wait for its publisher");
    push("/ingest/cam"); // an encoder restart
    await moreVideo(viewer, 50);
    expect(stream.state).toBe("live");
    expect(server!.viewers.size).toBe(1);
    expect(largestSeqStep(viewer.video)).toBeLessThan(50);

    await pushes.pop()!.stop();
    // From the moment the viewer has been sent all the last output held (what was queued still goes out)...
    await eventually(
      () =>
        stream.state === "reconnecting" && stream.output!.closed &&
        server!.viewers.list()[0]!.stats().queuedFrames === 0,
      "the last output to be sent out",
    );
    const sent = viewer.video.length;
    await eventually(() => server!.viewers.size === 0, "the viewer to be closed after the grace", {
      timeoutMs: 10_000,
    });
    expect(viewer.video.length).toBe(sent); // ...nothing more until the close: the grace sends no media
    expect(stream.endReason).toContain("no publisher came back within 4000 ms");
  });

  test("a command that keeps crashing: two restarts, then passthrough, and the viewer plays the input", async () => {
    await startServer(0);
    push("/ingest/cam?pipeline=crashing");
    viewer = await whepPlay(`${server!.url}/whep/cam`);
    expect(viewer.response.status).toBe(201);
    await moreVideo(viewer, 50);
    const pipeline = server!.registry.stream("cam")!.pipeline!.describe();
    expect(pipeline).toMatchObject({ name: "crashing", attemptKind: "passthrough", state: "fallback", restarts: 3 });
    expect(pipeline.lastSwapReason).toMatch(/^attempt 3 failed: command "false" exited with code 1/);
  });

  test("a process that never outputs: WHEP's 404 names the pipeline; with onFailure end the push is ended", async () => {
    await startServer(0, {
      PIPELINE_FIRST_OUTPUT_TIMEOUT_MS: "1000",
      PIPELINE_MAX_SWAPS: "1",
      WHEP_WAIT_TIMEOUT_MS: "1500",
    });
    const started = push("/ingest/cam?pipeline=silentOrEnd");
    const res = await fetch(`${server!.url}/whep/cam`, {
      method: "POST",
      headers: { "Content-Type": "application/sdp" },
      body: chromeLikeOffer(),
    });
    expect(res.status).toBe(404);
    expect(await res.text()).toMatch(
      /stream "cam" is live but pipeline "silentOrEnd" has produced no output for \d+ s \(attempt [12]\)/,
    );
    // Attempt 2 fails too: the budget (1) is spent and this pipeline ends the stream; ffmpeg's push is answered.
    await started.exited;
    pushes.pop();
    await eventually(() => server!.registry.stream("cam") === undefined, "the stream to end");
  });
});
