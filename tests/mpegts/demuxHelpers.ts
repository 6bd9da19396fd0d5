/** Shared by the demuxer tests: run a demuxer over chunks, pick units out, compare runs. */
import type { AccessUnit, AudioAccessUnit, VideoAccessUnit } from "../../lib/accessUnit.ts";
import { type DemuxError, type DemuxEvent, TsDemuxer } from "../../lib/mpegts/tsDemuxer.ts";
import { readFixture } from "../fixtures/readFixture.ts";

export const AV = readFixture("av.mpegts");
export const PMT_PID = 0x1000;
export const VIDEO_PID = 0x100;
export const AUDIO_PID = 0x101;

export function demuxAll(chunks: Uint8Array[]) {
  const errors: DemuxError[] = [];
  const demuxer = new TsDemuxer({ onDecodeError: (e) => errors.push(e) });
  const events: DemuxEvent[] = [];
  for (const chunk of chunks) events.push(...demuxer.push(chunk));
  const flushed = demuxer.flush();
  events.push(...flushed);
  return { events, flushed, errors, stats: demuxer.stats };
}

export const unitsOf = (events: DemuxEvent[]): AccessUnit[] =>
  events.flatMap((e) => (e.type === "unit" ? [e.unit] : []));
export const videoOf = (events: DemuxEvent[]) =>
  unitsOf(events).filter((u): u is VideoAccessUnit => u.track === "video");
export const audioOf = (events: DemuxEvent[]) =>
  unitsOf(events).filter((u): u is AudioAccessUnit => u.track === "audio");
export const tracksOf = (events: DemuxEvent[]) => events.filter((e) => e.type === "tracks");
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

/** A comparable form of one event (bytes as hex). */
function digestOne(e: DemuxEvent): string {
  if (e.type === "tracks") return JSON.stringify(e);
  const u = e.unit;
  return u.track === "video"
    ? `v ${u.pid} ${u.pts} ${u.dts} ${u.keyframe} ${u.nalus.map(hex).join(".")}`
    : `a ${u.pid} ${u.pts} ${u.samples} ${hex(u.payload)}`;
}
export const digest = (events: DemuxEvent[]) => events.map(digestOne);

export const CLEAN = demuxAll([AV]);
export const CLEAN_DIGEST = digest(CLEAN.events);
export const NO_ERRORS = { continuityErrors: 0, crcErrors: 0, droppedUnits: 0, resyncs: 0 };
