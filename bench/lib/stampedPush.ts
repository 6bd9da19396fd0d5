// An MPEG-TS push, paced in real time, whose every picture carries the wall-clock
// time at which its bytes were written (an H.264 SEI, user_data_unregistered), so
// a viewer in another process can tell how long the server took to get it there.
import type { AccessUnit, VideoAccessUnit } from "../../lib/accessUnit.ts";
import { TsDemuxer } from "../../lib/mpegts/tsDemuxer.ts";
import { TsMuxer, VIDEO_PID } from "../../lib/mpegts/tsMuxer.ts";
import { TS_PACKET_SIZE } from "../../lib/mpegts/tsPacket.ts";
import { wallClockMs } from "./sources.ts";

/** user_data_unregistered UUID (H.264 D.2.6) marking our clock SEI; no zero bytes, so no emulation prevention. */
export const CLOCK_SEI_UUID = Uint8Array.from("WispClockSEI!v1.", (c) => c.charCodeAt(0));
const SEI_USER_DATA_UNREGISTERED = 5;
const CLOCK_DIGITS = 16; // microseconds since the epoch as 16 hex digits: never a zero byte either

/** SEI NAL unit (H.264 7.3.2.3) carrying `timeMs`. */
export function clockSei(timeMs: number): Uint8Array {
  const digits = Math.round(timeMs * 1000).toString(16).padStart(CLOCK_DIGITS, "0");
  const body = [...CLOCK_SEI_UUID, ...Array.from(digits, (c) => c.charCodeAt(0))];
  return Uint8Array.from([0x06, SEI_USER_DATA_UNREGISTERED, body.length, ...body, 0x80]);
}

/** The time in a clock SEI NAL unit, or undefined if it is not one. */
export function readClockSei(nal: Uint8Array): number | undefined {
  if ((nal[0]! & 0x1f) !== 6 || nal[1] !== SEI_USER_DATA_UNREGISTERED || nal.length < 3 + 16 + CLOCK_DIGITS) {
    return undefined;
  }
  for (let i = 0; i < 16; i++) if (nal[3 + i] !== CLOCK_SEI_UUID[i]) return undefined;
  const digits = String.fromCharCode(...nal.subarray(3 + 16, 3 + 16 + CLOCK_DIGITS));
  return parseInt(digits, 16) / 1000;
}

/** Every access unit of an MPEG-TS file, demuxed with Wisp's own demuxer. */
export async function accessUnitsOf(file: string): Promise<AccessUnit[]> {
  const demuxer = new TsDemuxer();
  const events = [...demuxer.push(new Uint8Array(await Bun.file(file).arrayBuffer())), ...demuxer.flush()];
  return events.flatMap((e) => (e.type === "unit" ? [e.unit] : []));
}

/**
 * Pushes `units` in a loop to `url` in real time until stop() is called.
 * Video PES lengths are written as 0 (unbounded), as ffmpeg writes them by
 * default, so the measured delay includes finding where a picture ends;
 * `boundedVideoPes` keeps the lengths of PES under 64 KiB, as ffmpeg's
 * `-omit_video_pes_length 0` does.
 */
export function stampedPush(
  url: string,
  units: AccessUnit[],
  options: { boundedVideoPes?: boolean } = {},
): { stop(): Promise<void> } {
  const finish = options.boundedVideoPes ? (packets: Uint8Array) => packets : unboundedVideoPes;
  const loopTicks = loopDuration(units);
  const muxer = new TsMuxer({ video: true, audio: { channels: 2 } });
  let stopped = false;
  const body = new ReadableStream<Uint8Array>({
    async start(controller) {
      const start = wallClockMs();
      const firstPts = units[0]!.pts;
      for (let loop = 0; !stopped; loop++) {
        for (const unit of units) {
          const ticks = unit.pts - firstPts + loop * loopTicks;
          const due = start + ticks / 90;
          if (due > wallClockMs()) await Bun.sleep(due - wallClockMs());
          if (stopped) break;
          const shifted = { ...unit, pts: (unit.pts + loop * loopTicks) % 2 ** 33 } as AccessUnit;
          if (shifted.track === "video") (shifted as VideoAccessUnit).dts = shifted.pts;
          controller.enqueue(finish(muxer.push(stamp(shifted))));
        }
      }
      controller.close();
    },
  });
  const done = fetch(url, { method: "PUT", body, headers: { "Content-Type": "video/mp2t" } }).catch(() => undefined);
  return {
    async stop() {
      stopped = true;
      await done;
    },
  };
}

/** The unit with a clock SEI in front of its first slice (video), stamped now. */
function stamp(unit: AccessUnit): AccessUnit {
  if (unit.track !== "video") return unit;
  return { ...unit, nalus: [clockSei(wallClockMs()), ...unit.nalus] };
}

/** One pass over the file in 90 kHz ticks: last pts - first pts + one frame. */
function loopDuration(units: AccessUnit[]): number {
  const video = units.filter((u) => u.track === "video");
  return video.at(-1)!.pts - video[0]!.pts + (video[1]!.pts - video[0]!.pts);
}

/** Sets PES_packet_length 0 in every video PES start (ISO/IEC 13818-1 2.4.3.7 allows it for video). */
function unboundedVideoPes(packets: Uint8Array): Uint8Array {
  for (let at = 0; at + TS_PACKET_SIZE <= packets.length; at += TS_PACKET_SIZE) {
    const pid = ((packets[at + 1]! & 0x1f) << 8) | packets[at + 2]!;
    const unitStart = (packets[at + 1]! & 0x40) !== 0;
    if (pid !== VIDEO_PID || !unitStart) continue;
    const hasAdaptation = (packets[at + 3]! & 0x20) !== 0;
    const pes = at + 4 + (hasAdaptation ? 1 + packets[at + 4]! : 0);
    packets[pes + 4] = 0;
    packets[pes + 5] = 0;
  }
  return packets;
}
