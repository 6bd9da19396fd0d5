/** From a parsed PES of a followed track to the pipeline's access units. */
import {
  type AccessUnit,
  type AudioAccessUnit,
  PTS_CLOCK_HZ,
  PTS_WRAP,
  type TrackInfo,
  type VideoAccessUnit,
} from "../accessUnit.ts";
import { isKeyframe, splitAnnexB } from "../codec/h264.ts";
import { OPUS_CLOCK_HZ, opusPacketSamples, splitOpusPes } from "../codec/opus.ts";
import type { PesPacket } from "./pes.ts";

export interface UnitsFromPes {
  units: AccessUnit[];
  /** Set when (part of) the PES was dropped: kind for DemuxError and what was wrong. */
  error?: { kind: "pes" | "h264" | "opus"; message: string };
}

/** `pts` plus the 90 kHz duration of `samples` 48 kHz samples, modulo the 33-bit wrap (2.4.3.7). */
export function addOpusSamples(pts: number, samples: number): number {
  return (pts + Math.round((samples * PTS_CLOCK_HZ) / OPUS_CLOCK_HZ)) % PTS_WRAP;
}

/** The access units of one PES: one per H.264 PES, one per Opus packet. */
export function accessUnitsFromPes(track: TrackInfo, pes: PesPacket): UnitsFromPes {
  if (pes.pts === undefined) {
    return { units: [], error: { kind: "pes", message: `PID ${track.pid}: PES without PTS dropped` } };
  }
  if (track.codec === "h264") {
    const unit = h264AccessUnit(track.pid, pes.pts, pes.dts, pes.payload);
    return typeof unit === "string" ? { units: [], error: { kind: "h264", message: unit } } : { units: [unit] };
  }
  if (track.codec === "opus") {
    const { units, error } = opusAccessUnits(track.pid, pes.pts, pes.payload);
    return error === undefined ? { units } : { units, error: { kind: "opus", message: error } };
  }
  throw new Error(`accessUnitsFromPes: track codec ${track.codec} (PID ${track.pid}) is not followed`);
}

/**
 * ISO/IEC 13818-1 2.14 (AVC in PES): the PES payload is Annex B byte stream;
 * each PES is taken as one access unit. A string says why there is none.
 */
export function h264AccessUnit(
  pid: number,
  pts: number,
  dts: number | undefined,
  payload: Uint8Array,
): VideoAccessUnit | string {
  const nalus = splitAnnexB(payload);
  if (nalus.length === 0) return `PID ${pid}: H.264 PES of ${payload.length} bytes (pts ${pts}) holds no NAL unit`;
  return { track: "video", pid, pts, dts: dts ?? pts, keyframe: isKeyframe(nalus), nalus };
}

/**
 * One unit per Opus packet of an Opus-in-MPEG-TS PES. The PES PTS belongs to
 * the first packet; each next one is later by the TOC duration of those
 * before it (RFC 6716 3.1). On a malformed control header or packet the rest
 * of the PES is dropped (its timing is unknown): the error says where.
 */
export function opusAccessUnits(
  pid: number,
  pesPts: number,
  payload: Uint8Array,
): { units: AudioAccessUnit[]; error?: string } {
  const { packets, error } = splitOpusPes(payload);
  const units: AudioAccessUnit[] = [];
  let offsetSamples = 0;
  for (const { packet } of packets) {
    const samples = opusPacketSamples(packet);
    if (samples === undefined) {
      const at = `packet ${units.length + 1} of ${packets.length}`;
      return {
        units,
        error: `PID ${pid}: malformed Opus ${at} (${packet.length} bytes, TOC ${
          packet[0] ?? "none"
        }); rest of the PES dropped`,
      };
    }
    units.push({ track: "audio", pid, pts: addOpusSamples(pesPts, offsetSamples), samples, payload: packet });
    offsetSamples += samples;
  }
  return error === undefined ? { units } : { units, error: `PID ${pid}: ${error}; rest of the PES dropped` };
}
