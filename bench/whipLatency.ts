// WHIP -> WHEP in Chromium: WHIP answer -> first decoded frame on a viewer opened right after it,
// and the end-to-end delay of a clock drawn as a barcode into the publisher's canvas and read back
// from the viewer's video. Usage: bun run bench whipLatency [samples = 60]
import { startInProcessServer } from "./lib/benchServer.ts";
import { launchChromium } from "./lib/chromium.ts";
import { printFigureLine } from "./lib/figureLine.ts";
import { percentile } from "./lib/sources.ts";
import type { PageGlobals } from "./lib/pageGlobals.ts";

const BITS = 44; // epoch milliseconds fit in 44 bits until the year 2527

/** Runs in the publisher page: a 640x360 canvas showing the clock as 44 black/white blocks, plus a tone. */
async function publishClock(bits: number): Promise<{ post: number; answer: number }> {
  const canvas = Object.assign(document.createElement("canvas"), { width: 640, height: 360 });
  const ctx = canvas.getContext("2d")!;
  const block = Math.floor(640 / bits);
  setInterval(() => {
    const t = Math.round(performance.timeOrigin + performance.now());
    ctx.fillStyle = "#808080";
    ctx.fillRect(0, 0, 640, 360);
    for (let i = 0; i < bits; i++) {
      ctx.fillStyle = Math.floor(t / 2 ** i) % 2 ? "#ffffff" : "#000000";
      ctx.fillRect(i * block, 0, block, 120);
    }
  }, 5);
  const audio = new AudioContext();
  const tone = audio.createOscillator();
  const sink = audio.createMediaStreamDestination();
  tone.connect(sink);
  tone.start();
  const stream = new MediaStream([...canvas.captureStream(30).getVideoTracks(), ...sink.stream.getAudioTracks()]);
  const { WhipPublisher } = await import("/player/whipPublisher.js" as string);
  const publisher = new WhipPublisher({ url: "/whip/lat" });
  (window as unknown as { publisher: unknown }).publisher = publisher;
  await publisher.start(stream);
  const abs = (t: number) => performance.timeOrigin + t;
  return { post: abs(publisher.timings.post), answer: abs(publisher.timings.answer) };
}

/** Runs in the viewer page: reads the barcode from `samples` rendered frames; returns now - drawn time. */
function readClock([bits, samples]: readonly [number, number]): Promise<number[]> {
  const video = document.getElementById("video") as HTMLVideoElement;
  const canvas = document.createElement("canvas");
  const delays: number[] = [];
  return new Promise((resolve) => {
    const onFrame = () => {
      const now = performance.timeOrigin + performance.now();
      canvas.width = video.videoWidth;
      canvas.height = video.videoHeight;
      const ctx = canvas.getContext("2d", { willReadFrequently: true })!;
      ctx.drawImage(video, 0, 0);
      const scale = video.videoWidth / 640;
      const block = Math.floor(640 / bits);
      let t = 0;
      for (let i = 0; i < bits; i++) {
        const [r] = ctx.getImageData(Math.round((i * block + block / 2) * scale), Math.round(60 * scale), 1, 1).data;
        if (r! > 128) t += 2 ** i;
      }
      delays.push(now - t);
      if (delays.length >= samples) resolve(delays);
      else video.requestVideoFrameCallback(onFrame);
    };
    video.requestVideoFrameCallback(onFrame);
  });
}

export async function measureWhipLatency(samples: number) {
  const server = await startInProcessServer({ WHEP_MAX_VIEWERS: "0" });
  const browser = await launchChromium();
  try {
    const publisherPage = await browser.context.newPage();
    await publisherPage.goto(`${server.url}/healthz`);
    const published = await publisherPage.evaluate(publishClock, BITS);
    const viewerPage = await browser.context.newPage();
    await viewerPage.goto(`${server.url}/play/lat`);
    await viewerPage.waitForFunction(() => (window as unknown as PageGlobals).wispPlayer?.timings?.firstFrame, null, {
      timeout: 20_000,
    });
    const firstFrame = await viewerPage.evaluate(() =>
      performance.timeOrigin + (window as unknown as PageGlobals).wispPlayer.timings.firstFrame
    );
    await Bun.sleep(3000); // past the start: steady-state delay
    const delays = await viewerPage.evaluate(readClock, [BITS, samples] as const);
    await viewerPage.evaluate(() => (window as unknown as PageGlobals).wispPlayer.stop());
    await publisherPage.evaluate(() => (window as unknown as PageGlobals).publisher.stop());
    return {
      answerToFirstFrame: firstFrame - published.answer,
      postToAnswer: published.answer - published.post,
      delayP50: percentile(delays, 50),
      delayP95: percentile(delays, 95),
      samples: delays.length,
    };
  } finally {
    await browser.close();
    await server.close();
  }
}

export async function main(args: string[]): Promise<void> {
  const r = await measureWhipLatency(Number(args[0] ?? 60));
  console.log(
    `whip: POST->answer ${r.postToAnswer.toFixed(0)} ms; answer->first decoded frame on a viewer ${
      r.answerToFirstFrame.toFixed(0)
    } ms; ` +
      `end-to-end delay (canvas clock, ${r.samples} frames) p50 ${r.delayP50.toFixed(0)} ms, p95 ${
        r.delayP95.toFixed(0)
      } ms`,
  );
  printFigureLine("whipLatency", args, r);
}

if (import.meta.main) await main(process.argv.slice(2));
