import { afterAll, afterEach, beforeAll, expect, test } from "bun:test";
import { launchChromium, waitForPlayback } from "../helpers/browser.ts";
import { eventually } from "../helpers/eventually.ts";
import { checkAndClose, startTestServer, type TestServer } from "../helpers/testServer.ts";

// One Chromium page publishes its fake camera and microphone over WHIP; another
// plays the stream over WHEP, started right after the WHIP answer.
let server: TestServer;
let browser: Awaited<ReturnType<typeof launchChromium>>;

beforeAll(async () => {
  server = await startTestServer({ WHEP_MAX_VIEWERS: "0" }, { listen: true });
  browser = await launchChromium(["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]);
});

// The test stops its player and publisher and closes their pages; then the leak check, before anything is closed for it.
afterEach(async () => {
  await server.assertClean();
});

afterAll(async () => {
  try {
    await checkAndClose(server);
  } finally {
    await browser?.close();
  }
});

test("Chromium publishes over WHIP and another page plays it over WHEP", async () => {
  const publisherPage = await browser.context.newPage();
  await publisherPage.goto(`${server.url}/publish/cam?autostart`);
  await publisherPage.waitForFunction(
    () => (window as unknown as { wispPublisher: { location?: string } }).wispPublisher.location,
    null,
    { timeout: 20_000 },
  );
  const viewerPage = await browser.context.newPage();
  await viewerPage.goto(`${server.url}/play/cam`);
  try {
    const stats = await waitForPlayback(viewerPage, (s) => s.framesDecoded > 30 && s.audioPackets > 20, 30_000);
    expect(stats.width).toBe(640);
    expect(stats.height).toBe(360);
    expect(stats.state).toBe("playing");
    expect(server.registry.current("cam")?.output.info().tracks.map((t) => t.codec)).toEqual(["h264", "opus"]);
    // Chromium's sender reports agree with its RTP clocks, so they, not arrival, place audio against video.
    const method = () => server.registry.current("cam")?.avSync?.method;
    await eventually(() => method() === "sender reports", () => `A/V placed by sender reports (now: ${method()})`, {
      timeoutMs: 10_000,
    });
    const avSync = server.registry.current("cam")!.avSync!;
    console.log(
      "WHIP A/V placed by Chromium's sender reports, ms later than by arrival:",
      JSON.stringify(avSync.movedMs),
    );
  } finally {
    await viewerPage.evaluate(() => (window as unknown as { wispPlayer: { stop(): Promise<void> } }).wispPlayer.stop());
    await publisherPage.evaluate(() =>
      (window as unknown as { wispPublisher: { stop(): Promise<void> } }).wispPublisher.stop()
    );
    await Promise.all([viewerPage.close(), publisherPage.close()]);
  }
});
