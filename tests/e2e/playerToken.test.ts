import { afterAll, beforeAll, expect, test } from "bun:test";
import { launchChromium, waitForPlayback } from "../helpers/browser.ts";
import { ffmpegPush } from "../helpers/ffmpegPush.ts";
import { checkAndClose, startTestServer, type TestServer } from "../helpers/testServer.ts";

// With PLAY_TOKENS and PUBLISH_TOKENS set, the pages and ffmpeg carry their tokens as users would:
// ffmpeg's push with ?token=, the player page with /play/{stream}?token=.
let server: TestServer;
let browser: Awaited<ReturnType<typeof launchChromium>>;

beforeAll(async () => {
  server = await startTestServer({ PLAY_TOKENS: "watch-me", PUBLISH_TOKENS: "push-me" }, { listen: true });
  browser = await launchChromium([], { autoplayWithSound: false }); // as a viewer's browser: muted autoplay only
});

afterAll(async () => {
  try {
    await checkAndClose(server);
  } finally {
    await browser?.close();
  }
});

test("the player page plays with ?token= and says 401 with the reason without one", async () => {
  const push = ffmpegPush("av.mpegts", `${server.url}/ingest/cam?token=push-me`);
  const page = await browser.context.newPage();
  try {
    await page.goto(`${server.url}/play/cam?token=watch-me`);
    // Fast start decodes a GOP at once, before the video element says "playing": wait for both.
    const stats = await waitForPlayback(page, (s) => s.state === "playing" && s.framesDecoded > 10);
    expect(stats.state).toBe("playing");
    await page.goto(`${server.url}/play/cam`);
    await page.waitForFunction(() => /401/.test(document.getElementById("detail")?.textContent ?? ""));
    expect(await page.locator("#detail").textContent()).toContain('playing "cam" needs a token');
  } finally {
    await page.close();
    await push.stop();
  }
  await server.assertClean();
});
