import { expect, test } from "bun:test";
import { spawn } from "../../lib/runtime/childProcess.ts";
import { readFixture } from "../fixtures/readFixture.ts";
import { chromeLikeOffer } from "../webrtc/chromeOffer.ts";
import { liveTimerCount } from "./liveTimers.ts";
import { startTestServer } from "./testServer.ts";

// The leak check every server test runs before close() must be able to fail: here a viewer is
// left behind on purpose, then ended, and the check passes.
test("assertClean() names a viewer, its stream, mux peers and timers left behind, and passes once they are ended", async () => {
  const server = await startTestServer();
  try {
    const session = server.registry.startSession("cam");
    session.write(readFixture("av.mpegts").subarray(0, 188 * 100));
    const res = await server.app.request("/whep/cam", {
      method: "POST",
      headers: { "Content-Type": "application/sdp" },
      body: chromeLikeOffer(),
    });
    expect(res.status).toBe(201);
    const error = await server.assertClean().catch((e: Error) => e);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(
      /^left behind by the test: WHEP viewers: 1 \(was 0\); live streams: 1 \(was 0\); UDP mux peers: [12] \(was 0\);.*pending timers/,
    );
    session.end("finished"); // its viewer is closed with it
    await server.assertClean();
  } finally {
    await server.close();
  }
});

test("pending timers are counted until they fire or are cleared", async () => {
  const before = liveTimerCount();
  const cleared = setTimeout(() => {}, 60_000);
  const interval = setInterval(() => {}, 60_000);
  let fired!: () => void;
  const firing = new Promise<void>((resolve) => (fired = resolve));
  setTimeout(fired, 1);
  expect(liveTimerCount()).toBe(before + 3);
  clearTimeout(cleared);
  clearInterval(interval);
  await firing;
  expect(liveTimerCount()).toBe(before);
});

test("assertClean() names a child process started through the spawn seam (a pipeline's) until it has exited", async () => {
  const server = await startTestServer();
  try {
    const child = spawn(["sh", "-c", "exec sleep 30"]);
    const error = await server.assertClean().catch((e: Error) => e);
    expect((error as Error).message).toMatch(/child processes started by Wisp \(pipelines\): 1 \(was 0\)/);
    child.kill("SIGKILL");
    await child.exited;
    await server.assertClean();
  } finally {
    await server.close();
  }
});
