// How late each track of a live ffmpeg MPEG-TS push arrives, relative to its PTS:
// arrival time - PTS, per access unit, against the earliest video unit. Shows what
// ffmpeg's PES packing of audio costs (by default ~5 Opus packets per PES).
// Usage: bun run bench avArrival [extra ffmpeg output options, e.g. -pes_payload_size 0]
import { TsDemuxer } from "../lib/mpegts/tsDemuxer.ts";
import { printFigureLine } from "./lib/figureLine.ts";
import { percentile } from "./lib/sources.ts";

const SECONDS = 12;
const WARM_UP_UNITS = 30; // ffmpeg's start-up burst is not the steady state

export async function measureAvArrival(
  extraOptions: string[] = [],
): Promise<Record<"video" | "audio", { p50: number; max: number }>> {
  const proc = Bun.spawn(
    [
      "ffmpeg",
      "-hide_banner",
      "-loglevel",
      "error",
      "-re",
      "-f",
      "lavfi",
      "-i",
      "testsrc2=size=640x360:rate=30",
      "-re",
      "-f",
      "lavfi",
      "-i",
      "sine=frequency=440:sample_rate=48000",
      "-t",
      String(SECONDS),
      "-c:v",
      "libx264",
      "-profile:v",
      "baseline",
      "-bf",
      "0",
      "-g",
      "60",
      "-preset",
      "veryfast",
      "-tune",
      "zerolatency",
      "-b:v",
      "1000k",
      "-c:a",
      "libopus",
      "-b:a",
      "64k",
      "-ac",
      "2",
      "-ar",
      "48000",
      ...extraOptions,
      "-flush_packets",
      "1",
      "-f",
      "mpegts",
      "pipe:1",
    ],
    { stdout: "pipe", stderr: "inherit" },
  );
  const demuxer = new TsDemuxer();
  const lag = { video: [] as number[], audio: [] as number[] };
  const reader = proc.stdout.getReader();
  for (let r = await reader.read(); !r.done; r = await reader.read()) {
    const now = performance.now();
    for (const event of demuxer.push(r.value)) {
      if (event.type === "unit") lag[event.unit.track].push(now - event.unit.pts / 90);
    }
  }
  const base = Math.min(...lag.video.slice(WARM_UP_UNITS));
  const summary = (values: number[]) => {
    const relative = values.slice(WARM_UP_UNITS).map((v) => v - base);
    return { p50: percentile(relative, 50), max: Math.max(...relative) };
  };
  return { video: summary(lag.video), audio: summary(lag.audio) };
}

export async function main(args: string[]): Promise<void> {
  const r = await measureAvArrival(args);
  console.log(
    `ffmpeg ${args.join(" ") || "(default muxer options)"}: arrival - PTS against the earliest video unit: ` +
      `video p50 ${r.video.p50.toFixed(1)} ms (max ${r.video.max.toFixed(1)}), audio p50 ${
        r.audio.p50.toFixed(1)
      } ms (max ${r.audio.max.toFixed(1)})`,
  );
  printFigureLine("avArrival", args, r);
}

if (import.meta.main) await main(process.argv.slice(2));
