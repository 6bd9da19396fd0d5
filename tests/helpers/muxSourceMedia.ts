/**
 * Real H.264 and Opus access units for muxer tests, made by ffmpeg at test
 * time from lavfi sources (no container involved, so no demuxer of ours):
 * an Annex B elementary stream cut into access units at its AUDs, and the
 * Opus packets of an Ogg file (RFC 7845).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { AudioAccessUnit, VideoAccessUnit } from "../../lib/accessUnit.ts";
import { isKeyframe, NAL, nalType, splitAnnexB } from "../../lib/codec/h264.ts";
import { opusPacketSamples } from "../../lib/codec/opus.ts";

const FF = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-threads", "1"];
const BITEXACT = ["-fflags", "+bitexact", "-flags", "+bitexact", "-map_metadata", "-1"];

function run(args: string[]): void {
  const result = Bun.spawnSync([...FF, ...args]);
  if (result.exitCode !== 0) throw new Error(`ffmpeg ${args.join(" ")} failed: ${result.stderr.toString()}`);
}

export interface VideoSource {
  seconds: number;
  fps: number;
  gop: number;
  /** PTS of the first unit (90 kHz); units follow at 90_000 / fps. */
  firstPts: number;
}

/**
 * `ffmpeg -f lavfi -i testsrc -c:v libx264 -bf 0 -x264-params aud=1 -f h264`,
 * split at the AUDs into access units (AUDs kept, as sent), PTS = DTS.
 */
export function ffmpegH264Units(dir: string, source: VideoSource): VideoAccessUnit[] {
  const file = join(dir, "source.h264");
  run([
    ...["-f", "lavfi", "-i", `testsrc=size=320x180:rate=${source.fps}`, "-t", String(source.seconds)],
    ...["-c:v", "libx264", "-profile:v", "baseline", "-bf", "0", "-g", String(source.gop), "-pix_fmt", "yuv420p"],
    ...["-preset", "veryfast", "-x264-params", "aud=1", ...BITEXACT, "-f", "h264", file],
  ]);
  const groups: Uint8Array[][] = [];
  for (const nalu of splitAnnexB(new Uint8Array(readFileSync(file)))) {
    if (nalType(nalu) === NAL.AUD || groups.length === 0) groups.push([]);
    groups.at(-1)!.push(nalu);
  }
  const step = 90_000 / source.fps;
  return groups.map((nalus, i) => {
    const pts = source.firstPts + i * step;
    return { track: "video", pid: 0x100, pts, dts: pts, keyframe: isKeyframe(nalus), nalus };
  });
}

/** `ffmpeg -f lavfi -i sine -c:a libopus -f ogg`, its Opus packets; PTS from the summed TOC durations. */
export function ffmpegOpusUnits(dir: string, seconds: number, channels: 1 | 2, firstPts: number): AudioAccessUnit[] {
  const file = join(dir, "source.ogg");
  run([
    ...["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", String(seconds)],
    ...["-c:a", "libopus", "-b:a", "32k", "-ac", String(channels), "-ar", "48000", ...BITEXACT, "-f", "ogg", file],
  ]);
  const packets = oggPackets(new Uint8Array(readFileSync(file))).slice(2); // OpusHead, OpusTags (RFC 7845 3)
  let samples = 0;
  return packets.map((payload) => {
    const duration = opusPacketSamples(payload);
    if (duration === undefined) throw new Error(`ffmpeg wrote a malformed Opus packet of ${payload.length} bytes`);
    const unit: AudioAccessUnit = {
      track: "audio",
      pid: 0x101,
      pts: firstPts + (samples * 90_000) / 48_000,
      samples: duration,
      payload,
    };
    samples += duration;
    return unit;
  });
}

/** The packets of an Ogg stream (RFC 3533 6: pages, segment table, lacing values of 255 continue a packet). */
export function oggPackets(bytes: Uint8Array): Uint8Array[] {
  const packets: Uint8Array[] = [];
  let pending: number[] = [];
  for (let page = 0; page < bytes.length;) {
    if (String.fromCharCode(...bytes.subarray(page, page + 4)) !== "OggS") {
      throw new Error(`no Ogg page at byte ${page}`);
    }
    const segments = bytes[page + 26]!;
    let data = page + 27 + segments;
    for (let s = 0; s < segments; s++) {
      const lacing = bytes[page + 27 + s]!;
      pending.push(...bytes.subarray(data, data + lacing));
      data += lacing;
      if (lacing < 255) {
        packets.push(Uint8Array.from(pending));
        pending = [];
      }
    }
    page = data;
  }
  return packets;
}
