import { afterAll, afterEach, beforeAll, expect, test } from "bun:test";
import type { Page } from "playwright-core";
import type { StreamEvent, StreamEventType } from "../../lib/streamEvents.ts";
import { launchChromium } from "../helpers/browser.ts";
import { checkAndClose, startTestServer, type TestServer } from "../helpers/testServer.ts";

// The publish page in Chromium with a fake camera, microphone and screen: a refusal, Start, Stop,
// Start again, the screen. The server's stream events say what it saw. (No camera:
// playerPublishNoCamera.test.ts.)
let server: TestServer;
let browser: Awaited<ReturnType<typeof launchChromium>>;

beforeAll(async () => {
  server = await startTestServer({ PUBLISH_TOKENS: "push-me" }, { listen: true });
  browser = await launchChromium(["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]);
});

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

/** Resolves with the next stream event of `type` for `stream` (on the server's own feed). */
function nextEvent(stream: string, type: StreamEventType): Promise<StreamEvent> {
  return new Promise((resolve) => {
    const off = server.registry.events.on((event) => {
      if (event.type !== type || !("stream" in event) || event.stream !== stream) return;
      off();
      resolve(event);
    });
  });
}

/** A publish page that records every track the page captured, to check that Stop releases them. */
async function publishPage(stream: string): Promise<Page> {
  const page = await browser.context.newPage();
  await page.addInitScript(() => {
    const captured: MediaStreamTrack[] = [];
    (globalThis as unknown as { captured: MediaStreamTrack[] }).captured = captured;
    const devices = navigator.mediaDevices;
    for (const method of ["getUserMedia", "getDisplayMedia"] as const) {
      const capture = devices[method].bind(devices);
      devices[method] = async (constraints?: MediaStreamConstraints) => {
        const media = await capture(constraints);
        captured.push(...media.getTracks());
        return media;
      };
    }
  });
  await page.goto(`${server.url}/publish/${stream}`);
  return page;
}

/** What the page shows and what became of its captured tracks. */
function pageView(page: Page) {
  return page.evaluate(() => {
    const $ = (id: string) => document.getElementById(id) as HTMLButtonElement;
    const captured = (globalThis as unknown as { captured: MediaStreamTrack[] }).captured;
    return {
      state: $("state").textContent,
      error: $("error").hidden ? "" : $("error").textContent,
      startEnabled: !$("start").disabled,
      stopEnabled: !$("stop").disabled,
      tracks: captured.map((t) => `${t.kind} ${t.readyState}`),
    };
  });
}

async function waitForState(page: Page, state: string): Promise<void> {
  await page.waitForFunction((s) => document.getElementById("state")!.textContent === s, state, { timeout: 20_000 });
}

test("a 401 says the server's sentence and releases the camera; with the token it publishes; Stop releases it; Start works again", async () => {
  const page = await publishPage("cam");
  try {
    await page.click("#start");
    await page.waitForFunction(() => !document.getElementById("error")!.hidden);
    expect(await pageView(page)).toEqual({
      state: "stopped",
      // The server's own sentence (routes/access.ts), then what to do here.
      error: expect.stringMatching(
        /^401: publishing .*"cam" needs a token.*\. Enter the publish token in the Token field\.$/,
      ),
      startEnabled: true,
      stopEnabled: false,
      tracks: ["video ended", "audio ended"],
    });

    await page.fill("#token", "push-me");
    for (const round of [1, 2]) {
      const active = nextEvent("cam", "stream.active");
      await page.click("#start");
      await active; // the server has the stream's tracks
      await waitForState(page, "publishing");
      const inactive = nextEvent("cam", "stream.inactive");
      await page.click("#stop");
      await inactive; // the server saw the publish end
      const view = await pageView(page);
      expect({ round, ...view, tracks: view.tracks.slice(-2) }).toEqual({
        round,
        state: "stopped",
        error: "",
        startEnabled: true,
        stopEnabled: false,
        tracks: ["video ended", "audio ended"],
      });
    }
  } finally {
    await page.close();
  }
});

test("the screen instead of the camera: published, then released by Stop", async () => {
  const page = await publishPage("screen");
  try {
    await page.fill("#token", "push-me");
    await page.selectOption("#videoSource", "screen");
    await page.selectOption("#microphone", "none");
    const active = nextEvent("screen", "stream.active");
    await page.click("#start");
    await active;
    await waitForState(page, "publishing");
    const screenTrack = () =>
      page.evaluate(() => {
        const video = document.getElementById("preview") as HTMLVideoElement;
        const track = (video.srcObject as MediaStream | null)?.getVideoTracks()[0];
        return track ? { surface: track.getSettings().displaySurface, state: track.readyState } : undefined;
      });
    expect(await screenTrack()).toEqual({ surface: "monitor", state: "live" });
    const inactive = nextEvent("screen", "stream.inactive");
    await page.click("#stop");
    await inactive;
    expect(await pageView(page)).toEqual({
      state: "stopped",
      error: "",
      startEnabled: true,
      stopEnabled: false,
      tracks: ["video ended"],
    });
    expect(await screenTrack()).toBeUndefined();
  } finally {
    await page.close();
  }
});
