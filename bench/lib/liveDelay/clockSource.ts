// A live MPEG-TS source whose picture carries the wall clock: Bun draws the epoch time (ms) of each
// frame as a barcode strip, ffmpeg lays it over testsrc2, adds a tone, encodes it like testSource()
// (baseline, no B-frames, fixed GOP) and pushes it to Wisp's ingest in real time. A viewer's live
// delay is then the time it displays a frame minus the time written in that frame.
import { wallClockMs } from "../sources.ts";

/** Barcode geometry, shared with the page that reads it back (bench/clients/liveDelayPage.ts). */
export const CLOCK = {
  bits: 32, // epoch ms modulo 2^32 (49 days): the reader takes the value nearest its own clock
  block: 20, // px per bit: 32 x 20 = 640, the picture's width
  row: 16, // px per row; row 2 repeats row 1 inverted, so a misread block is caught
  width: 640,
  height: 360,
} as const;

const FPS = 30;
const STRIP_HEIGHT = 2 * CLOCK.row;
const STOP_TIMEOUT_MS = 3000;

export interface ClockSourceOptions {
  gopSeconds: number;
  bitrateKbps?: number;
  /** With a 440 Hz Opus tone (default true), as real streams have audio. */
  audio?: boolean;
}

export interface ClockSource {
  stop(): Promise<void>;
}

/** One 640x32 grey strip: the clock's bits in row 1, inverted in row 2. */
export function clockStrip(epochMs: number): Uint8Array {
  const strip = new Uint8Array(CLOCK.width * STRIP_HEIGHT);
  const code = epochMs % 2 ** CLOCK.bits;
  for (let bit = 0; bit < CLOCK.bits; bit++) {
    const on = Math.floor(code / 2 ** bit) % 2 === 1;
    for (let y = 0; y < STRIP_HEIGHT; y++) {
      const white = y < CLOCK.row ? on : !on;
      const start = y * CLOCK.width + bit * CLOCK.block;
      strip.fill(white ? 255 : 0, start, start + CLOCK.block);
    }
  }
  return strip;
}

// The pipe paces everything: the tone is not read with -re, so ffmpeg generates it as the video
// needs it. (With -re its clock starts when ffmpeg opens it, and the muxer's interleaving then holds
// every video frame back by that start-up offset: 0.2-0.8 s of extra, run-dependent delay.)
function ffmpegCommand(url: string, options: ClockSourceOptions): string[] {
  const gop = String(FPS * options.gopSeconds);
  const bitrate = `${options.bitrateKbps ?? 1000}k`;
  const audio = options.audio ?? true;
  return [
    "ffmpeg",
    "-hide_banner",
    "-loglevel",
    "error",
    "-f",
    "rawvideo",
    "-pix_fmt",
    "gray",
    "-video_size",
    `${CLOCK.width}x${STRIP_HEIGHT}`,
    "-framerate",
    String(FPS),
    "-i",
    "pipe:0",
    "-f",
    "lavfi",
    "-i",
    `testsrc2=size=${CLOCK.width}x${CLOCK.height}:rate=${FPS}`,
    ...(audio ? ["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000"] : []),
    "-filter_complex",
    "[1:v][0:v]overlay=0:0:shortest=1,format=yuv420p[v]",
    "-map",
    "[v]",
    ...(audio ? ["-map", "2:a", "-shortest", "-c:a", "libopus", "-b:a", "64k", "-ac", "2", "-ar", "48000"] : []),
    "-c:v",
    "libx264",
    "-profile:v",
    "baseline",
    "-bf",
    "0",
    "-g",
    gop,
    "-keyint_min",
    gop,
    "-sc_threshold",
    "0",
    "-preset",
    "veryfast",
    "-tune",
    "zerolatency",
    "-b:v",
    bitrate,
    "-maxrate",
    bitrate,
    "-bufsize",
    bitrate,
    "-flush_packets",
    "1",
    "-f",
    "mpegts",
    url,
  ];
}

/**
 * Runs the source in its own Bun process, so that its frame timing does not depend on the event
 * loop of the process under test. It stops on stop(), and by itself if this process goes away.
 */
export function startClockSource(url: string, options: ClockSourceOptions): ClockSource {
  const args = [url, String(options.gopSeconds), String(options.bitrateKbps ?? 1000), String(options.audio ?? true)];
  const proc = Bun.spawn([process.execPath, import.meta.path, ...args], {
    stdin: "pipe",
    stdout: "inherit",
    stderr: "inherit",
  });
  return {
    async stop() {
      const timer = setTimeout(() => proc.kill("SIGKILL"), 2 * STOP_TIMEOUT_MS);
      proc.kill("SIGTERM");
      await proc.exited;
      clearTimeout(timer);
    },
  };
}

/** ffmpeg and the 30 fps frame writer, in this process; resolves once both ended after `stopped`. */
async function runClockSource(url: string, options: ClockSourceOptions, stopped: Promise<void>): Promise<void> {
  const proc = Bun.spawn(ffmpegCommand(url, options), { stdin: "pipe", stdout: "ignore", stderr: "inherit" });
  let stopping = false;
  void stopped.then(() => (stopping = true));
  const start = performance.now();
  try {
    for (let frame = 0; !stopping; frame++) {
      const wait = start + (frame * 1000) / FPS - performance.now();
      if (wait > 0) await Bun.sleep(wait);
      proc.stdin.write(clockStrip(Math.round(wallClockMs())));
      await proc.stdin.flush();
    }
  } catch {
    // ffmpeg went away; its exit is awaited below
  } finally {
    await Promise.resolve(proc.stdin.end()).catch(() => {});
    const timer = setTimeout(() => proc.kill("SIGKILL"), STOP_TIMEOUT_MS);
    proc.kill("SIGINT");
    await proc.exited;
    clearTimeout(timer);
  }
}

if (import.meta.main) {
  const [url, gop, bitrate, audio] = process.argv.slice(2);
  if (!url || !gop) {
    throw new Error(
      "usage: bun bench/lib/liveDelay/clockSource.ts <ingest url> <gopSeconds> [bitrateKbps] [audio true|false]",
    );
  }
  const stop = Promise.withResolvers<void>();
  process.on("SIGTERM", () => stop.resolve());
  process.on("SIGINT", () => stop.resolve());
  void (async () => {
    const parent = Bun.stdin.stream().getReader(); // the parent's pipe closes when it goes away
    while (!(await parent.read()).done);
    stop.resolve();
  })();
  await runClockSource(
    url,
    { gopSeconds: Number(gop), bitrateKbps: Number(bitrate ?? 1000), audio: audio !== "false" },
    stop.promise,
  );
  process.exit(0);
}
