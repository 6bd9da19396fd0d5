import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type CopyWorker, startCopyWorker } from "../../bench/lib/trickleCopyWorker.ts";
import { launchChromium, playbackStats, waitForPlayback } from "../helpers/browser.ts";
import { eventually } from "../helpers/eventually.ts";
import { ffmpegPush } from "../helpers/ffmpegPush.ts";
import { ffmpegPipelineCommand } from "../../bench/lib/pipelines/benchPipelines.ts";
import { checkAndClose, startTestServer, type TestServer } from "../helpers/testServer.ts";

// Real Chromium plays what a real ffmpeg pipeline made of a real ffmpeg push: H.264 + AAC in,
// H.264 + Opus out (AAC cannot be played over WebRTC). Then the pipeline's process is killed
// and the same page, on the same WHEP session, decodes frames again.

const MARK = `wisp-e2e-opus-${process.pid}`;
const AAC_TO_OPUS = ffmpegPipelineCommand(["-c:v", "copy", "-c:a", "libopus", "-ar", "48000", "-ac", "2"], MARK);

let server: TestServer;
let browser: Awaited<ReturnType<typeof launchChromium>>;
let worker: CopyWorker;

beforeAll(async () => {
  worker = startCopyWorker({ token: "worker-secret" });
  const pipelines = {
    opus: { command: AAC_TO_OPUS },
    copyWorker: { runner: worker.url, token: "worker-secret", modelId: "noop" },
  };
  server = await startTestServer({ PIPELINES: JSON.stringify(pipelines), ADMIN_TOKEN: "admin" }, { listen: true });
  browser = await launchChromium();
});

afterAll(async () => {
  try {
    await checkAndClose(server);
  } finally {
    await browser?.close();
    await worker?.close();
  }
});

describe("pipelines, watched in Chromium", () => {
  test("H.264 + AAC in plays with picture and Opus sound; a killed process is replaced and the same viewer plays on within 5 s", async () => {
    const push = ffmpegPush("aac.mpegts", `${server.url}/ingest/aac?pipeline=opus`);
    const page = await browser.context.newPage();
    try {
      await page.goto(`${server.url}/play/aac`);
      const playing = await waitForPlayback(page, (s) => s.framesDecoded > 30 && s.audioPackets > 50);
      expect(playing.width).toBeGreaterThan(0);
      const tracks = server.registry.stream("aac")!.output!.tracks!.map((t) => t.codec);
      expect(tracks).toEqual(["h264", "opus"]);
      expect(server.viewers.size).toBe(1);
      const viewerId = server.viewers.list()[0]!.id;

      expect(await Bun.spawn(["pkill", "-KILL", "-f", MARK]).exited).toBe(0);
      const pipeline = server.registry.stream("aac")!.pipeline!;
      await eventually(() => pipeline.attempt === 2, "the pipeline's second attempt", { timeoutMs: 5000 });
      const swappedAt = performance.now();
      const before = (await playbackStats(page)).framesDecoded;
      await waitForPlayback(page, (s) => s.framesDecoded > before + 30, 5000);
      expect(performance.now() - swappedAt).toBeLessThan(5000);
      expect(server.viewers.list().map((v) => v.id)).toEqual([viewerId]); // the same session, no new POST
    } finally {
      await page.evaluate(() => (window as unknown as { wispPlayer: { stop(): Promise<void> } }).wispPlayer.stop());
      await page.close();
      await push.stop();
    }
  });

  test("a trickle worker (copying input segments to output) plays end to end, called as go-livepeer calls ai-runner", async () => {
    const push = ffmpegPush("av-6s.mpegts", `${server.url}/ingest/ai?pipeline=copyWorker`);
    const page = await browser.context.newPage();
    try {
      await page.goto(`${server.url}/play/ai`);
      await waitForPlayback(page, (s) => s.framesDecoded > 30 && s.audioPackets > 50, 30_000);
      const job = worker.jobs[0]!;
      expect(job.authorization).toBe("Bearer worker-secret");
      expect(job.body).toMatchObject({ model_id: "noop", stream_id: "ai", gateway_request_id: expect.any(String) });
      await eventually(() => job.segmentsCopied > 0, "a whole segment copied by the worker", { timeoutMs: 10_000 });
      const pipeline = server.registry.stream("ai")!.pipeline!.describe();
      expect(pipeline).toMatchObject({ kind: "runner", attempt: 1, state: "running" });
      // A params update reaches the worker on its control channel, as ai-runner reads it.
      const update = await fetch(`${server.url}/api/streams/ai/params`, {
        method: "POST",
        headers: { Authorization: "Bearer admin", "Content-Type": "application/json" },
        body: JSON.stringify({ prompt: "a lighthouse at dusk" }),
      });
      expect(update.status).toBe(200);
      await eventually(
        () => job.control.some((m) => (m as { prompt?: string }).prompt === "a lighthouse at dusk"),
        "the params on the worker's control channel",
      );
    } finally {
      await page.evaluate(() => (window as unknown as { wispPlayer: { stop(): Promise<void> } }).wispPlayer.stop());
      await page.close();
      await push.stop();
    }
  });
});
