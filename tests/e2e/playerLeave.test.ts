import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Page } from "playwright-core";
import type { WhepViewer } from "../../lib/webrtc/whepViewer.ts";
import { launchChromium, waitForPlayback } from "../helpers/browser.ts";
import { ffmpegPush } from "../helpers/ffmpegPush.ts";
import { startTestServer, type TestServer } from "../helpers/testServer.ts";

// The player page gives its viewer place back: a closed tab DELETEs its WHEP session at once
// (without it the server keeps sending until ICE consent fails, ~30 s), and a re-offer DELETEs
// the old session before it POSTs. One viewer place per stream, so a second session would be refused.
const LEAVE_MS = 2000; // a departed page's session ends within this (consent would take ~30 s)
// The page sends its DELETE, then closes its peer connection: whichever reaches the server first ends the session.
const LEFT = ["DELETE by the client", "the viewer closed DTLS"];

let server: TestServer;
let browser: Awaited<ReturnType<typeof launchChromium>>;

beforeAll(async () => {
  server = await startTestServer({ WHEP_MAX_VIEWERS: "1" }, { listen: true });
  browser = await launchChromium([], { autoplayWithSound: false }); // as a viewer's browser: muted autoplay only
});

afterAll(async () => {
  await browser?.close();
  // Checked before close(), which would empty them.
  expect(server.viewers.size).toBe(0);
  expect(server.registry.list()).toEqual([]);
  await server?.close();
});

/** Resolves with the viewer's close reason, or rejects when it is still open after `ms`. */
function closedWithin(viewer: WhepViewer, ms: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`viewer still open after ${ms} ms`)), ms);
    viewer.onClose(() => {
      clearTimeout(timer);
      resolve(viewer.closeReason!);
    });
  });
}

/** Opens the player on a pushed stream and returns once it plays, with the server's one viewer. */
async function playing(
  stream: string,
): Promise<{ page: Page; viewer: WhepViewer; push: ReturnType<typeof ffmpegPush> }> {
  const push = ffmpegPush("av-6s.mpegts", `${server.url}/ingest/${stream}`);
  const page = await browser.context.newPage();
  await page.goto(`${server.url}/play/${stream}`);
  await waitForPlayback(page, (s) => s.state === "playing" && s.framesDecoded > 0);
  const viewers = server.viewers.list(stream);
  expect(viewers).toHaveLength(1);
  expect(viewers[0]!.connectionState).toBe("connected");
  expect(server.registry.viewerCount(stream)).toBe(1);
  return { page, viewer: viewers[0]!, push };
}

/**
 * The page's WHEP offers (POST /whep/{stream}) and session DELETEs (/whep/{stream}/{id}) in the order it
 * sent them ("POST", "DELETE <session id>"); its event stream and report requests are left out.
 */
function whepRequests(page: Page): string[] {
  const sent: string[] = [];
  page.on("request", (request) => {
    const path = new URL(request.url()).pathname.split("/");
    if (path[1] !== "whep") return;
    if (request.method() === "POST" && path.length === 3) sent.push("POST");
    if (request.method() === "DELETE" && path.length === 4) sent.push(`DELETE ${path[3]}`);
  });
  return sent;
}

/** Stops the player (its DELETE), unless the test closed the page, and closes the page. */
async function stopPlayer(page: Page): Promise<void> {
  if (page.isClosed()) return;
  await page.evaluate(() => (window as unknown as { wispPlayer: { stop(): Promise<void> } }).wispPlayer.stop());
  await page.close();
}

describe("the player page releases its viewer place", () => {
  test("closing the tab ends its session within 2 s", async () => {
    const { page, viewer, push } = await playing("leave-close");
    try {
      const closed = closedWithin(viewer, LEAVE_MS);
      const pageClosed = page.waitForEvent("close");
      await page.close({ runBeforeUnload: true }); // runs the unload handlers, does not wait for them
      expect(LEFT).toContain(await closed);
      await pageClosed;
      expect(server.viewers.list("leave-close")).toHaveLength(0);
      expect(server.registry.viewerCount("leave-close")).toBe(0);
    } finally {
      await stopPlayer(page);
      await push.stop();
    }
  });

  test("navigating away ends its session within 2 s", async () => {
    const { page, viewer, push } = await playing("leave-navigate");
    try {
      const closed = closedWithin(viewer, LEAVE_MS);
      await page.goto("about:blank");
      expect(LEFT).toContain(await closed);
      expect(server.registry.viewerCount("leave-navigate")).toBe(0);
    } finally {
      await page.close();
      await push.stop();
    }
  });

  test("a re-offer after the stream ends DELETEs the old session before it POSTs", async () => {
    const stream = "leave-reoffer";
    const started = await playing(stream);
    const { page, viewer } = started;
    let push = started.push;
    const sent = whepRequests(page);
    try {
      await push.stop(); // the server closes its viewers; the page learns it from its event stream
      await waitForPlayback(page, (s) => s.state === "ended", 10_000);
      push = ffmpegPush("av-6s.mpegts", `${server.url}/ingest/${stream}`);
      await waitForPlayback(page, (s) => s.state === "playing" && s.framesDecoded > 0);
      expect(sent.slice(0, 2)).toEqual([`DELETE ${viewer.id}`, "POST"]);
      expect(server.viewers.list(stream)).toHaveLength(1);
    } finally {
      await stopPlayer(page);
      await push.stop();
    }
  });

  test("a re-offer while the server still holds the session: DELETE first, never two viewers", async () => {
    const stream = "leave-retry";
    const { page, viewer, push } = await playing(stream);
    const sent = whepRequests(page);
    try {
      // The server asks its viewers to reconnect (a WHEP "reconnect" event, as when it drains): the page
      // re-offers while its session is live, and with one viewer place the new POST would get 429 if the
      // old one stayed. Only the event: the server itself goes on taking sessions.
      await page.waitForFunction(() =>
        (globalThis as unknown as { wispPlayer: { events: Array<{ type: string }> } }).wispPlayer.events
          .some((e) => e.type === "active")
      ); // its event stream is open
      const closed = closedWithin(viewer, 10_000);
      server.registry.events.emit({ type: "server.draining" });
      let othersAtClose = -1;
      viewer.onClose(() => (othersAtClose = server.viewers.list(stream).length));
      expect(LEFT).toContain(await closed);
      expect(othersAtClose).toBe(0);
      await waitForPlayback(page, (s) => s.state === "playing" && s.framesDecoded > 0);
      expect(sent.slice(0, 2)).toEqual([`DELETE ${viewer.id}`, "POST"]);
      expect(server.viewers.list(stream).map((v) => v.id)).not.toContain(viewer.id);
      expect(server.registry.viewerCount(stream)).toBe(1);
    } finally {
      await stopPlayer(page);
      await push.stop();
    }
  });
});
