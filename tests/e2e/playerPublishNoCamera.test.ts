import { afterAll, beforeAll, expect, test } from "bun:test";
import { launchChromium } from "../helpers/browser.ts";
import { checkAndClose, startTestServer, type TestServer } from "../helpers/testServer.ts";

// The publish page where the browser has no camera, no microphone and no screen to give (Chromium
// with no fake devices), and where it is not a secure context (a plain-HTTP host name that is not
// localhost): each time a sentence that says what to do, and buttons that still work.
const INSECURE_HOST = "wisp.test"; // resolved to 127.0.0.1 by the browser alone

let server: TestServer;
let browser: Awaited<ReturnType<typeof launchChromium>>;

beforeAll(async () => {
  server = await startTestServer({}, { listen: true });
  browser = await launchChromium([
    "--use-fake-ui-for-media-stream", // permission prompts answered yes: what is missing is the devices
    `--host-resolver-rules=MAP ${INSECURE_HOST} 127.0.0.1`,
  ]);
});

afterAll(async () => {
  try {
    await checkAndClose(server);
  } finally {
    await browser?.close();
  }
});

function shown(page: import("playwright-core").Page) {
  return page.evaluate(() => {
    const $ = (id: string) => document.getElementById(id)!;
    const button = (id: string) => $(id) as HTMLButtonElement;
    return {
      error: $("error").hidden ? "" : $("error").textContent,
      videoSource: ($("videoSource") as HTMLSelectElement).value,
      camera: $("videoSource").querySelector('option[value="camera"]')!.textContent,
      startEnabled: !button("start").disabled,
      stopEnabled: !button("stop").disabled,
    };
  });
}

test("no camera: it says so, offers the screen, and a failed Start leaves the buttons usable", async () => {
  const page = await browser.context.newPage();
  try {
    await page.goto(`${server.url}/publish/nocam`);
    await page.waitForFunction(() => !document.getElementById("error")!.hidden);
    expect(await shown(page)).toEqual({
      error: "No camera found: publish your screen, or the microphone alone (Video: No video).",
      videoSource: "screen",
      camera: "Camera (none found)",
      startEnabled: true,
      stopEnabled: false,
    });
    await page.click("#start"); // the screen: this headless browser has none to give either
    await page.waitForFunction(() => document.getElementById("error")!.textContent!.startsWith("The screen"));
    expect(await shown(page)).toMatchObject({
      error: "The screen is in use by another application or cannot be opened.",
      startEnabled: true,
      stopEnabled: false,
    });
    expect(server.registry.list()).toEqual([]);
  } finally {
    await page.close();
  }
});

test("not a secure context: it says HTTPS is needed and still shows how to publish with OBS and ffmpeg", async () => {
  const page = await browser.context.newPage();
  const origin = `http://${INSECURE_HOST}:${new URL(server.url).port}`;
  try {
    await page.goto(`${origin}/publish/cam`);
    await page.waitForFunction(() => !document.getElementById("error")!.hidden);
    expect((await shown(page)).error).toBe(
      `Browsers let a page capture a camera, microphone or screen only over HTTPS or on localhost; this page is ${origin}. ` +
        "Open it over HTTPS, or publish with OBS or ffmpeg (below).",
    );
    expect(await shown(page)).toMatchObject({ startEnabled: false, stopEnabled: false });
    expect(await page.locator(".whipUrl").textContent()).toBe(`${origin}/whip/cam`);
    expect(await page.locator("#ffmpeg").textContent()).toContain(`-f mpegts "${origin}/ingest/cam"`);
  } finally {
    await page.close();
  }
});
