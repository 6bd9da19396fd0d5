import { afterAll, afterEach, beforeAll, expect, test } from "bun:test";
import { loopedPushArgv } from "../../bench/lib/sources.ts";
import { fileURLToPath } from "node:url";
import type { Page, Request } from "playwright-core";
import { launchChromium, waitForPlayback } from "../helpers/browser.ts";
import { trackChild } from "../helpers/children.ts";
import { ffmpegPush } from "../helpers/ffmpegPush.ts";
import { checkAndClose, startTestServer, type TestServer } from "../helpers/testServer.ts";

// The player page as a viewer's browser opens it: Chromium with its DEFAULT autoplay policy (no
// --autoplay-policy flag), where media with sound may not start by itself but muted media may.
let server: TestServer;
let browser: Awaited<ReturnType<typeof launchChromium>>;

beforeAll(async () => {
  server = await startTestServer({}, { listen: true });
  browser = await launchChromium([], { autoplayWithSound: false });
  await browser.context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: server.url });
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

interface PlayerView {
  state: string;
  detail: string;
  muted: boolean;
  paused: boolean;
  firstFrame: number | undefined;
  history: Array<{ state: string; at: number }>;
  events: string[];
}

/** What the page's player says and what its <video> does. */
function view(page: Page): Promise<PlayerView> {
  return page.evaluate(() => {
    const player = (globalThis as unknown as {
      wispPlayer: {
        state: string;
        detail?: string;
        timings: { firstFrame?: number };
        history: Array<{ state: string; at: number }>;
        events: Array<{ type: string }>;
      };
    }).wispPlayer;
    const video = document.getElementById("video") as HTMLVideoElement;
    return {
      state: player.state,
      detail: document.getElementById("detail")!.textContent ?? "",
      muted: video.muted,
      paused: video.paused,
      firstFrame: player.timings.firstFrame,
      history: player.history.map(({ state, at }) => ({ state, at })),
      events: player.events.map((e) => e.type),
    };
  });
}

async function stopPlayer(page: Page): Promise<void> {
  await page.evaluate(() => (globalThis as unknown as { wispPlayer: { stop(): Promise<void> } }).wispPlayer.stop());
  await page.close();
}

test("opened directly, it plays at once, muted; 'playing' only once frames are shown; unmute, copy, report, the list page; the end of the push comes by server-sent events", async () => {
  const push = ffmpegPush("av-6s.mpegts", `${server.url}/ingest/direct`);
  const page = await browser.context.newPage();
  const apiPolls: string[] = [];
  page.on("request", (r) => r.url().includes("/api/") && apiPolls.push(r.url()));
  const report = page.waitForRequest((r: Request) => r.method() === "POST" && r.url().endsWith("/report"));
  try {
    await page.goto(`${server.url}/play/direct`);
    const playing = await waitForPlayback(page, (s) => s.state === "playing" && s.framesDecoded > 10);
    const later = await waitForPlayback(page, (s) => s.framesDecoded > playing.framesDecoded + 15);
    expect(later.state).toBe("playing");
    const seen = await view(page);
    expect({ muted: seen.muted, paused: seen.paused }).toEqual({ muted: true, paused: false });
    // Never "playing" before a frame was shown.
    const firstPlaying = seen.history.find((h) => h.state === "playing")!;
    expect(seen.firstFrame).toBeDefined();
    expect(firstPlaying.at).toBeGreaterThanOrEqual(seen.firstFrame!);
    expect(seen.history.map((h) => h.state).slice(0, 2)).toEqual(["waiting", "connecting"]);
    expect(seen.events).toContain("active");
    await page.waitForFunction(() => document.getElementById("overlay")!.textContent!.includes("640×360"));

    const sent = JSON.parse((await report).postData() ?? "{}");
    expect(sent.timeToFirstFrameMs).toBeGreaterThan(0);
    expect(sent.stalls).toBe(0);
    await (await report).response(); // the server took it: the viewers API shows it
    const [listed] = await (await fetch(`${server.url}/api/streams/direct/viewers`)).json();
    expect(listed.player).toMatchObject({ timeToFirstFrameMs: sent.timeToFirstFrameMs, stalls: 0 });

    await page.click("#sound"); // a click: the gesture that lets sound start
    expect(await view(page)).toMatchObject({ muted: false, paused: false });
    await page.click("#copyUrl");
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(`${server.url}/whep/direct`);
    await page.click("#copyEmbed");
    expect(await page.evaluate(() => navigator.clipboard.readText())).toContain(
      `<iframe src="${server.url}/play/direct"`,
    );

    // The list page links to play and publish it, and its hints carry this server's address.
    const list = await browser.context.newPage();
    await list.goto(server.url);
    await list.waitForSelector('a[href="/play/direct"]');
    expect(await list.locator('a[href="/publish/direct"]').count()).toBe(1);
    expect(await list.locator("#ffmpegHint").textContent()).toContain(`-f mpegts ${server.url}/ingest/cam1`);
    await list.close();

    await push.stop();
    await waitForPlayback(page, (s) => s.state === "ended", 10_000);
    const ended = await view(page);
    expect(ended.events).toContain("inactive");
    expect(ended.detail).toBe("the stream ended");
    expect(apiPolls).toEqual([]); // learnt from the event stream, not by polling /api/streams
  } finally {
    await stopPlayer(page);
    await push.stop();
  }
});

/** ffmpeg pushing a fixture at real time, looped, `args` choosing what goes (its process, to pause it). */
function spawnPush(fixture: string, stream: string, args: string[] = []) {
  const input = fileURLToPath(new URL(`../fixtures/${fixture}`, import.meta.url));
  return trackChild(Bun.spawn(loopedPushArgv(input, `${server.url}/ingest/${stream}`, { mapArgs: args }), {
    stdout: "ignore",
    stderr: "ignore",
  }));
}

async function stopPush(push: ReturnType<typeof spawnPush>): Promise<void> {
  push.kill("SIGCONT");
  push.kill("SIGINT");
  await push.exited;
}

test("a stream it cannot play: 'not playable' with the server's reason", async () => {
  const push = spawnPush("aac.mpegts", "aac", ["-map", "0:a"]); // AAC audio only: listed, nothing plays over WebRTC (422)
  const page = await browser.context.newPage();
  try {
    await page.goto(`${server.url}/play/aac`);
    await page.waitForFunction(() => document.getElementById("state")!.textContent === "not playable", null, {
      timeout: 15_000,
    });
    expect(await page.locator("#detail").textContent()).toBe(
      '422: stream "aac" has no track playable over WebRTC (H.264 or Opus)',
    );
  } finally {
    await stopPush(push);
    await stopPlayer(page);
  }
});

test("a frozen picture is not 'playing': an encoder that stalls shows 'reconnecting', then plays on and reports the stall", async () => {
  const push = spawnPush("av-6s.mpegts", "stall");
  const page = await browser.context.newPage();
  try {
    await page.goto(`${server.url}/play/stall`);
    await waitForPlayback(page, (s) => s.state === "playing" && s.framesDecoded > 10);
    push.kill("SIGSTOP"); // the encoder stops sending; its connection stays open, the stream stays live
    await waitForPlayback(page, (s) => s.state === "reconnecting", 10_000);
    expect((await view(page)).detail).toMatch(/^no new frame for [23] s$/);
    const report = page.waitForRequest((r: Request) => r.url().endsWith("/report"), { timeout: 10_000 });
    push.kill("SIGCONT");
    await waitForPlayback(page, (s) => s.state === "playing", 10_000);
    const sent = JSON.parse((await report).postData() ?? "{}");
    expect(sent.stalls).toBe(1);
    expect(sent.stalledMs).toBeGreaterThan(2000);
  } finally {
    await stopPush(push);
    await stopPlayer(page);
  }
});

test("H.264 with B-frames, whose frames arrive but mostly do not decode: 'not playable' with why, not 'playing'", async () => {
  const push = ffmpegPush("bframes.mpegts", `${server.url}/ingest/bframes`);
  const page = await browser.context.newPage();
  try {
    await page.goto(`${server.url}/play/bframes`);
    await page.waitForFunction(() => document.getElementById("state")!.textContent === "not playable", null, {
      timeout: 15_000,
    });
    expect(await page.locator("#detail").textContent()).toMatch(
      /^only \d+ of the last \d+ frames decoded: H\.264 with B-frames\? \(encode with -bf 0\)$/,
    );
  } finally {
    await stopPlayer(page);
    await push.stop();
  }
});
