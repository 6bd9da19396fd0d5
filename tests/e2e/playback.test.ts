import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import type { Page } from "playwright-core";
import { launchChromium, waitForPlayback } from "../helpers/browser.ts";
import { eventually } from "../helpers/eventually.ts";
import { ffmpegPush } from "../helpers/ffmpegPush.ts";
import { checkAndClose, startTestServer, type TestServer } from "../helpers/testServer.ts";

// Real Debian Chromium plays what a real ffmpeg pushes over MPEG-TS ingest.
let server: TestServer;
let browser: Awaited<ReturnType<typeof launchChromium>>;

beforeAll(async () => {
  server = await startTestServer({ WHEP_MAX_VIEWERS: "0" }, { listen: true });
  browser = await launchChromium();
});

// Each test closes its pages and stops its pushes; then the leak check, before anything is closed for it.
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

type Stats = Awaited<ReturnType<typeof waitForPlayback>>;

/** Plays `stream` until `ready` holds (fast start decodes a GOP at once: wait for what is checked), then checks. */
async function playAndCheck(
  stream: string,
  fixture: string,
  ready: (s: Stats) => boolean,
  expectation: (s: Stats) => void,
  pushFirst = true,
) {
  const push = pushFirst ? ffmpegPush(fixture, `${server.url}/ingest/${stream}`) : undefined;
  const page = await browser.context.newPage();
  await page.goto(`${server.url}/play/${stream}`);
  if (!pushFirst) {
    await eventually(() => server.registry.waitingFor(stream) > 0, "the player's POST to wait for the stream", {
      timeoutMs: 10_000,
    });
  }
  const laterPush = pushFirst ? undefined : ffmpegPush(fixture, `${server.url}/ingest/${stream}`);
  try {
    const stats = await waitForPlayback(page, ready);
    expectation(stats);
    expect(stats.state).toBe("playing");
  } finally {
    await page.evaluate(() => (window as unknown as { wispPlayer: { stop(): Promise<void> } }).wispPlayer.stop());
    await page.close();
    await (push ?? laterPush)!.stop();
  }
}

/** What Chromium saw of the connection: ICE answers on the selected pair, sender reports, decoded frames. */
function connectionStats(page: Page) {
  return page.evaluate(async () => {
    const pc = (window as unknown as { wispPlayer: { pc: RTCPeerConnection } }).wispPlayer.pc;
    const stats = await pc.getStats();
    const figures = { responsesReceived: 0, reportsReceived: 0, framesDecoded: 0 };
    const byId = new Map<string, { responsesReceived?: number }>();
    stats.forEach((r) => byId.set(r.id, r));
    stats.forEach((r) => {
      if (r.type === "transport") {
        figures.responsesReceived = byId.get(r.selectedCandidatePairId)?.responsesReceived ?? 0;
      }
      if (r.type === "remote-outbound-rtp" && r.kind === "video") figures.reportsReceived = r.reportsSent ?? 0;
      if (r.type === "inbound-rtp" && r.kind === "video") figures.framesDecoded = r.framesDecoded ?? 0;
    });
    return figures;
  });
}

describe("Chromium plays MPEG-TS pushed by ffmpeg", () => {
  test("once werift hands over, Chromium gets our ICE answers and sender reports, and hanging up ends the session", async () => {
    const push = ffmpegPush("av-6s.mpegts", `${server.url}/ingest/handover`);
    const page = await browser.context.newPage();
    try {
      await page.goto(`${server.url}/play/handover`);
      await waitForPlayback(page, (s) => s.framesDecoded > 30);
      await eventually(() => server.viewers.list("handover")[0]?.handedOver === true, "the hand-over", {
        timeoutMs: 10_000,
        intervalMs: 20,
      });
      const before = await connectionStats(page);
      // Chromium checks the selected pair every 2.5 s or so; we report every second.
      let after = before;
      const grown = async () => {
        after = await connectionStats(page);
        return after.responsesReceived > before.responsesReceived &&
          after.reportsReceived > before.reportsReceived + 3 && after.framesDecoded > before.framesDecoded + 100;
      };
      await eventually(
        grown,
        () => `ICE answers, sender reports and frames after the hand-over (${JSON.stringify({ before, after })})`,
        { timeoutMs: 15_000, intervalMs: 250 },
      );
      // Closing the peer connection without a DELETE: only its DTLS close_notify tells the server.
      const viewer = server.viewers.list("handover")[0]!;
      const closed = new Promise((resolve) => viewer.onClose(resolve));
      await page.evaluate(() => (window as unknown as { wispPlayer: { pc: RTCPeerConnection } }).wispPlayer.pc.close());
      await closed; // at once; without the close_notify only ICE consent (~30 s) would end it, with another reason
      expect(viewer.closeReason).toBe("the viewer closed DTLS");
    } finally {
      await page.evaluate(() => (window as unknown as { wispPlayer: { stop(): Promise<void> } }).wispPlayer.stop());
      await page.close();
      await push.stop();
    }
  });

  test("H.264 + Opus: decoded frames at the right size and audio packets", async () => {
    await playAndCheck("av", "av-6s.mpegts", (s) => s.framesDecoded > 30 && s.audioPackets > 20, (s) => {
      expect(s.framesDecoded).toBeGreaterThan(30);
      expect(s.width).toBe(640);
      expect(s.height).toBe(360);
      expect(s.audioPackets).toBeGreaterThan(20);
    });
  });

  test("video-only stream", async () => {
    await playAndCheck("vid", "video-only.mpegts", (s) => s.framesDecoded > 30, (s) => {
      expect(s.framesDecoded).toBeGreaterThan(30);
      expect(s.audioPackets).toBe(0);
    });
  });

  test("audio-only stream", async () => {
    await playAndCheck("aud", "audio-only.mpegts", (s) => s.audioPackets > 100, (s) => {
      expect(s.audioPackets).toBeGreaterThan(100);
      expect(s.framesDecoded).toBe(0);
    });
  });

  test("a viewer that POSTs before the stream starts plays once it does", async () => {
    await playAndCheck("early", "av-6s.mpegts", (s) => s.framesDecoded > 30 && s.audioPackets > 0, (s) => {
      expect(s.framesDecoded).toBeGreaterThan(30);
      expect(s.audioPackets).toBeGreaterThan(0);
    }, false);
  });

  test("the player shows the end of a push and plays again when the stream comes back", async () => {
    const page = await browser.context.newPage();
    let push = ffmpegPush("av-6s.mpegts", `${server.url}/ingest/back`);
    try {
      await page.goto(`${server.url}/play/back`);
      await waitForPlayback(page, (s) => s.state === "playing" && s.framesDecoded > 10);
      await push.stop();
      await waitForPlayback(page, (s) => s.state === "ended", 10_000);
      push = ffmpegPush("av-6s.mpegts", `${server.url}/ingest/back`);
      const again = await waitForPlayback(page, (s) => s.state === "playing" && s.framesDecoded > 10, 20_000);
      expect(again.width).toBe(640);
    } finally {
      await page.evaluate(() => (window as unknown as { wispPlayer: { stop(): Promise<void> } }).wispPlayer.stop());
      await page.close();
      await push.stop();
    }
  });
});
