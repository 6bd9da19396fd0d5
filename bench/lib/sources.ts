import { existsSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * ffmpeg's output options for a benchmark source as an encoder would send it:
 * H.264 baseline without B-frames (browsers decode none over WebRTC), a fixed
 * GOP of `gopFrames` with no scene-cut keyframes, a constant `bitrateKbps`,
 * and Opus stereo at 48 kHz (RFC 7587).
 */
export function h264OpusArgs(gopFrames: number, bitrateKbps: number): string[] {
  const gop = String(gopFrames);
  const rate = `${bitrateKbps}k`;
  return [
    ...["-c:v", "libx264", "-profile:v", "baseline", "-bf", "0", "-g", gop, "-keyint_min", gop, "-sc_threshold", "0"],
    ...["-pix_fmt", "yuv420p", "-preset", "veryfast", "-tune", "zerolatency"],
    ...["-b:v", rate, "-maxrate", rate, "-bufsize", rate],
    ...["-c:a", "libopus", "-b:a", "64k", "-ac", "2", "-ar", "48000"],
  ];
}

/**
 * ffmpeg's argv pushing the MPEG-TS file `input`, looped and unchanged
 * (`-c copy`), to Wisp's ingest at `url`: at real time unless `realtime` is
 * false (a push at full speed); `mapArgs` choose what goes (`-map`), `limitArgs`
 * end it (`-fs`).
 */
export function loopedPushArgv(
  input: string,
  url: string,
  options: { realtime?: boolean; mapArgs?: string[]; limitArgs?: string[] } = {},
): string[] {
  return [
    ...["ffmpeg", "-hide_banner", "-loglevel", "error", ...(options.realtime === false ? [] : ["-re"])],
    ...["-stream_loop", "-1", "-i", input, ...(options.mapArgs ?? []), "-c", "copy", ...(options.limitArgs ?? [])],
    ...["-f", "mpegts", url],
  ];
}

/**
 * Makes (once, cached in the temp dir) an H.264 + Opus MPEG-TS test source
 * with the given GOP, as an encoder would push it: baseline, no B-frames.
 */
export function testSource(
  options: { gopSeconds: number; seconds?: number; bitrateKbps?: number; size?: string },
): string {
  const seconds = options.seconds ?? 12;
  const bitrate = options.bitrateKbps ?? 1000;
  const size = options.size ?? "640x360";
  const dir = join(tmpdir(), "wisp-bench");
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `src-${size}-gop${options.gopSeconds}-${seconds}s-${bitrate}k.mpegts`);
  if (existsSync(file)) return file;
  const proc = Bun.spawnSync([
    "ffmpeg",
    "-hide_banner",
    "-loglevel",
    "error",
    "-y",
    "-f",
    "lavfi",
    "-i",
    `testsrc2=size=${size}:rate=30`,
    "-f",
    "lavfi",
    "-i",
    "sine=frequency=440:sample_rate=48000",
    "-t",
    String(seconds),
    ...h264OpusArgs(30 * options.gopSeconds, bitrate), // 30 fps
    "-f",
    "mpegts",
    file,
  ]);
  if (proc.exitCode !== 0) throw new Error(`ffmpeg failed: ${proc.stderr.toString()}`);
  return file;
}

export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** Wall-clock time in ms with microsecond resolution, comparable between processes on one machine. */
export { wallClockMs } from "../../lib/pipeline/mediaClock.ts";
