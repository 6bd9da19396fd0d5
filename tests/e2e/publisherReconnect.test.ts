import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Page } from "playwright-core";
import { launchChromium, playbackStats, waitForPlayback } from "../helpers/browser.ts";
import { eventually } from "../helpers/eventually.ts";
import { ffmpegPush } from "../helpers/ffmpegPush.ts";
import { checkAndClose, startTestServer, type TestServer } from "../helpers/testServer.ts";

// A Chromium viewer on one WHEP session through what an encoder does to a stream: a restart
// (its push ends, a new one comes back within RECONNECT_GRACE_MS, at another resolution), then
// leaving for good (the grace runs out). Players in the wild would have to POST again for each.

const GRACE_MS = 3000;
let server: TestServer;
let browser: Awaited<ReturnType<typeof launchChromium>>;

beforeAll(async () => {
  server = await startTestServer({ RECONNECT_GRACE_MS: String(GRACE_MS) }, { listen: true });
  browser = await launchChromium([], { autoplayWithSound: false });
});

afterAll(async () => {
  try {
    await checkAndClose(server);
  } finally {
    await browser?.close();
  }
});

/** The player page's states as they changed, in order (routes/player/whepPlayer.js keeps them). */
function stateHistory(page: Page): Promise<string[]> {
  return page.evaluate(() =>
    (window as unknown as { wispPlayer: { history: Array<{ state?: string }> } }).wispPlayer.history
      .flatMap((entry) => entry.state ?? [])
  );
}

/** Whether `wanted` appears in `states` in order (other states may come between). */
function isSubsequence(wanted: string[], states: string[]): boolean {
  let at = 0;
  for (const state of states) if (state === wanted[at]) at++;
  return at === wanted.length;
}

describe("a publisher that goes away and comes back", () => {
  test("within the grace, at another resolution, the same session plays on; after the grace the player says ended", async () => {
    const page = await browser.context.newPage();
    let push = ffmpegPush("av.mpegts", `${server.url}/ingest/cam`); // 320x180
    try {
      await page.goto(`${server.url}/play/cam`);
      const first = await waitForPlayback(page, (s) => s.framesDecoded > 20 && s.state === "playing");
      expect([first.width, first.height]).toEqual([320, 180]);
      const stream = server.registry.stream("cam")!;
      const viewerIds = server.viewers.list().map((v) => v.id);
      expect(viewerIds).toHaveLength(1);

      await push.stop();
      await eventually(() => stream.state === "reconnecting", "the stream to wait for its publisher");
      await waitForPlayback(page, (s) => s.state === "reconnecting", 5000); // told by the inactive event
      push = ffmpegPush("av-6s.mpegts", `${server.url}/ingest/cam`); // 640x360: the encoder came back changed
      const before = (await playbackStats(page)).framesDecoded;
      const back = await waitForPlayback(page, (s) => s.framesDecoded > before + 30 && s.width === 640, 10_000);
      expect([back.width, back.height, back.state]).toEqual([640, 360, "playing"]);
      expect(server.viewers.list().map((v) => v.id)).toEqual(viewerIds); // the same session: no second POST
      expect(server.registry.stream("cam")).toBe(stream);

      await push.stop();
      await eventually(() => server.viewers.size === 0, "the viewer to be closed after the grace", {
        timeoutMs: GRACE_MS + 5000,
      });
      await waitForPlayback(page, (s) => s.state === "ended", 5000);
      const states = await stateHistory(page);
      expect(isSubsequence(["playing", "reconnecting", "playing", "ended"], states)).toBe(true);
      expect(states.at(-1)).toBe("ended");
    } finally {
      await page.evaluate(() => (window as unknown as { wispPlayer: { stop(): Promise<void> } }).wispPlayer.stop());
      await page.close();
      await push.stop();
    }
  });
});
