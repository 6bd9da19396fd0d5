import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { launchChromium, waitForPlayback } from "../helpers/browser.ts";
import { trackChild } from "../helpers/children.ts";
import { ffmpegPush } from "../helpers/ffmpegPush.ts";

// The server as `deno task start` runs it (Deno from npm, lib/runtime/deno): ffmpeg pushes a
// fixture, Debian Chromium plays it, and SIGTERM drains and exits 0.
const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const DENO_VERSION = JSON.parse(readFileSync(`${ROOT}/node_modules/deno/package.json`, "utf8")).version as string;

type LogLine = Record<string, string | number | boolean>;

/** The JSON log lines a process writes to `stream`, awaited by message (each chunk read wakes the waiting finds). */
function logLines(stream: ReadableStream<Uint8Array>) {
  const lines: LogLine[] = [];
  let wake = () => {};
  const reading = (async () => {
    let buffered = "";
    const decoder = new TextDecoder();
    const reader = stream.getReader();
    for (let r = await reader.read(); !r.done; r = await reader.read()) {
      buffered += decoder.decode(r.value, { stream: true });
      for (let i = buffered.indexOf("\n"); i >= 0; i = buffered.indexOf("\n")) {
        lines.push(JSON.parse(buffered.slice(0, i)));
        buffered = buffered.slice(i + 1);
      }
      wake();
    }
  })();
  return {
    async find(msg: string): Promise<LogLine> {
      for (let ended = false;;) {
        const line = lines.find((l) => l.msg === msg);
        if (line) return line;
        if (ended) throw new Error(`the process ended without a "${msg}" log line`);
        ended = await Promise.race([
          new Promise<boolean>((resolve) => (wake = () => resolve(false))),
          reading.then(() => true),
        ]);
      }
    },
  };
}

test("deno task start: Chromium plays an ffmpeg push, /api/udp names Deno and its send path, SIGTERM exits 0", async () => {
  const proc = trackChild(
    Bun.spawn(["node_modules/.bin/deno", "task", "start"], {
      cwd: ROOT,
      env: {
        ...process.env,
        PORT: "0",
        HOST: "127.0.0.1",
        WEBRTC_UDP_ADDR: "127.0.0.1:0",
        LOG_LEVEL: "info",
        DRAIN_TIMEOUT_MS: "500",
        NO_COLOR: "1",
      },
      stdout: "pipe",
      stderr: "inherit",
    }),
  );
  const browser = await launchChromium();
  try {
    const log = logLines(proc.stdout);
    expect(await log.find("webrtc media on one UDP port")).toMatchObject({
      runtime: `deno ${DENO_VERSION}`,
      send: "sendmmsg+gso",
      srtp: "packets, libcrypto",
    });
    const url = String((await log.find("wisp listening")).url);
    const push = ffmpegPush("av.mpegts", `${url}ingest/cam`);
    const page = await browser.context.newPage();
    try {
      await page.goto(`${url}play/cam`);
      const stats = await waitForPlayback(page, (s) => s.framesDecoded >= 30 && s.audioPackets > 0);
      expect(stats).toMatchObject({ state: "playing", width: 320, height: 180 });
      const udp = await (await fetch(`${url}api/udp`)).json();
      expect(udp).toMatchObject({
        runtime: `deno ${DENO_VERSION}`,
        sendMethod: "sendmmsg+gso",
        srtpSealing: "packets, libcrypto",
        sendFailures: 0,
      });
      expect(udp.datagramsSent).toBeGreaterThan(30);
    } finally {
      await page.evaluate(() => (window as unknown as { wispPlayer: { stop(): Promise<void> } }).wispPlayer.stop());
      await page.close();
      await push.stop();
    }
    proc.kill("SIGTERM");
    expect(await log.find("drained")).toMatchObject({ viewersEnded: 0 });
    expect(await proc.exited).toBe(0);
  } finally {
    if (proc.exitCode === null) proc.kill("SIGKILL"); // only when an assertion failed first
    await browser.close();
  }
});
