import { concatBytes } from "../bytes.ts";
import { type AccessUnit, type AudioAccessUnit, PTS_CLOCK_HZ, PTS_WRAP, type VideoAccessUnit } from "../accessUnit.ts";
import { NAL, nalType } from "../codec/h264.ts";
import { OPUS_CLOCK_HZ } from "../codec/opus.ts";
import { ticksBetween, TsMuxClock } from "./tsMuxClock.ts";
import {
  type AdaptationFields,
  adaptationFieldSize,
  opusControlHeader,
  patSection,
  pesPacket,
  type PmtEntry,
  pmtSection,
  psiPacket,
  TS_PAYLOAD_SIZE,
  writeTsPacket,
} from "./tsMuxWriters.ts";
import { TS_PACKET_SIZE } from "./tsPacket.ts";

export interface TsMuxerOptions {
  /** An H.264 track: PID 0x100, stream_type 0x1B. */
  video?: boolean;
  /** An Opus track: PID 0x101, stream_type 0x06 with the "Opus" registration and DVB extension descriptors. */
  audio?: { channels: 1 | 2 };
  /** PAT/PMT repetition in ms of media time (default 100); they also go out before every keyframe. */
  psiIntervalMs?: number;
}

const PROGRAM_NUMBER = 1;
const PAT_PID = 0x0000; // Table 2-3
const PMT_PID = 0x1000;
export const VIDEO_PID = 0x100;
export const AUDIO_PID = 0x101;
const STREAM_TYPE_H264 = 0x1b; // Table 2-34: AVC video (ITU-T H.264)
const STREAM_TYPE_PES_PRIVATE = 0x06; // Table 2-34: PES packets with private data (Opus)
const STREAM_ID_VIDEO = 0xe0; // Table 2-22: first video stream
const STREAM_ID_PRIVATE_1 = 0xbd; // Table 2-22: private_stream_1, where Opus goes
/** ES_info of Opus: registration_descriptor "Opus" (2.6.8), then DVB extension descriptor 0x7F, tag 0x80 (Opus), channel_config_code. */
const OPUS_DESCRIPTORS = (channels: number) => [0x05, 4, 0x4f, 0x70, 0x75, 0x73, 0x7f, 2, 0x80, channels];
const DEFAULT_PSI_INTERVAL_MS = 100;
/** PCR at least every 40 ms of media time (ETSI TR 101 290 1.2.1's bound; ISO/IEC 13818-1 2.7.2 allows 100 ms). */
const PCR_MAX_INTERVAL_TICKS = 40 * (PTS_CLOCK_HZ / 1000);
/** Access unit delimiter (H.264 7.3.2.4): nal_unit_type 9, primary_pic_type 7 (any slice type), stop bit. */
const AUD_NALU = Uint8Array.of(0x09, 0xf0);
const START_CODE = Uint8Array.of(0, 0, 0, 1); // Annex B with zero_byte: 4 bytes before each NAL unit

/**
 * MPEG-TS muxer (ISO/IEC 13818-1) for one program of H.264 and/or Opus access
 * units, as WHIP ingest produces them. Pure and synchronous: push() returns
 * whole 188-byte packets, PAT/PMT first when due. Timestamps come from the
 * units (90 kHz, 33 bits) and are written as given; the units' `pid` is
 * ignored (video goes on VIDEO_PID, audio on AUDIO_PID). The PCR is carried
 * on the video PID (the audio PID without video); see TsMuxClock for its value.
 */
export class TsMuxer {
  readonly #videoPid: number | undefined;
  readonly #audioPid: number | undefined;
  readonly #pcrPid: number;
  readonly #pmt: Uint8Array;
  readonly #psiIntervalTicks: number;
  readonly #counters = new Map<number, number>();
  readonly #clock = new TsMuxClock();
  #lastPsiPcr: number | undefined;
  #lastSentPcr: number | undefined;
  #pendingDiscontinuity = false;

  constructor(options: TsMuxerOptions) {
    if (!options.video && !options.audio) {
      throw new Error("TsMuxer needs a video or an audio track (options.video / options.audio)");
    }
    const psiIntervalMs = options.psiIntervalMs ?? DEFAULT_PSI_INTERVAL_MS;
    if (!(psiIntervalMs > 0) || !Number.isFinite(psiIntervalMs)) {
      throw new RangeError(`TsMuxer: psiIntervalMs must be > 0, got ${psiIntervalMs}`);
    }
    this.#psiIntervalTicks = psiIntervalMs * (PTS_CLOCK_HZ / 1000);
    this.#videoPid = options.video ? VIDEO_PID : undefined;
    this.#audioPid = options.audio ? AUDIO_PID : undefined;
    this.#pcrPid = options.video ? VIDEO_PID : AUDIO_PID;
    const entries: PmtEntry[] = [];
    if (options.video) entries.push({ streamType: STREAM_TYPE_H264, pid: VIDEO_PID, descriptors: [] });
    if (options.audio) {
      entries.push({
        streamType: STREAM_TYPE_PES_PRIVATE,
        pid: AUDIO_PID,
        descriptors: OPUS_DESCRIPTORS(options.audio.channels),
      });
    }
    this.#pmt = pmtSection(PROGRAM_NUMBER, this.#pcrPid, entries);
  }

  /** PAT + PMT packets (2.4.4.3, 2.4.4.8), e.g. to announce the tracks before any media arrives. */
  programTables(): Uint8Array {
    const out = new Uint8Array(2 * TS_PACKET_SIZE);
    out.set(psiPacket(PAT_PID, this.#nextCounter(PAT_PID), patSection(PROGRAM_NUMBER, PMT_PID)));
    out.set(psiPacket(PMT_PID, this.#nextCounter(PMT_PID), this.#pmt), TS_PACKET_SIZE);
    return out;
  }

  /** The packets for one access unit: PAT/PMT when due, a PCR-only packet when due, then its PES. */
  push(unit: AccessUnit): Uint8Array {
    const pid = this.#pidFor(unit);
    const time = unit.track === "video" ? unit.dts : unit.pts;
    const tick = this.#clock.advance(unit.track, time);
    this.#pendingDiscontinuity ||= tick.discontinuity;
    const parts: Uint8Array[] = [];
    if (this.#psiDue(tick.pcr, unit)) {
      parts.push(this.programTables());
      this.#lastPsiPcr = tick.pcr;
    }
    if (pid !== this.#pcrPid && this.#pcrDue(tick.pcr, unit)) parts.push(this.#pcrOnlyPacket(tick.pcr));
    // random_access_indicator (2.4.3.5): an IDR picture; every Opus packet decodes on its own (ffmpeg marks them too)
    const fields: AdaptationFields = { randomAccess: unit.track === "audio" || unit.keyframe };
    if (pid === this.#pcrPid) Object.assign(fields, this.#takePcr(tick.pcr)); // a PCR in every PES of the PCR PID
    parts.push(this.#packetize(pid, unit.track === "video" ? videoPes(unit) : audioPes(unit), fields));
    return concatBytes(parts);
  }

  /** PAT/PMT at the start, before every keyframe (a decoder can join there), after a time-base jump, and every interval. */
  #psiDue(pcr: number, unit: AccessUnit): boolean {
    if (this.#lastPsiPcr === undefined || this.#pendingDiscontinuity || (unit.track === "video" && unit.keyframe)) {
      return true;
    }
    return ticksBetween(this.#lastPsiPcr, pcr) >= this.#psiIntervalTicks;
  }

  #pidFor(unit: AccessUnit): number {
    const pid = unit.track === "video" ? this.#videoPid : this.#audioPid;
    if (pid === undefined) {
      throw new Error(
        `TsMuxer got a unit for the ${unit.track} track, but was created without one (options.${unit.track})`,
      );
    }
    checkTimestamp(unit.track, "pts", unit.pts);
    if (unit.track === "video") checkTimestamp(unit.track, "dts", unit.dts);
    return pid;
  }

  /**
   * A unit on the other PID: would the PCR go stale before the next chance?
   * Audio comes every `samples`; if the PCR sent last is older than 40 ms
   * minus this unit's duration, send one now rather than risk a longer gap.
   */
  #pcrDue(pcr: number, unit: AccessUnit): boolean {
    if (this.#lastSentPcr === undefined || this.#pendingDiscontinuity) return true;
    const duration = unit.track === "audio" ? Math.round((unit.samples * PTS_CLOCK_HZ) / OPUS_CLOCK_HZ) : 0;
    return ticksBetween(this.#lastSentPcr, pcr) + duration > PCR_MAX_INTERVAL_TICKS;
  }

  /** PCR fields for the next packet on the PCR PID (with discontinuity_indicator after a time-base jump). */
  #takePcr(pcr: number): AdaptationFields {
    const fields: AdaptationFields = { pcr, discontinuity: this.#pendingDiscontinuity };
    this.#pendingDiscontinuity = false;
    this.#lastSentPcr = pcr;
    return fields;
  }

  /** Adaptation field only (adaptation_field_control '10'): the continuity counter stays (2.4.3.3). */
  #pcrOnlyPacket(pcr: number): Uint8Array {
    const packet = new Uint8Array(TS_PACKET_SIZE);
    const counter = this.#counters.get(this.#pcrPid) ?? 0x0f; // before any payload packet: the next one is 0
    writeTsPacket(packet, 0, {
      pid: this.#pcrPid,
      payloadUnitStart: false,
      counter,
      fields: this.#takePcr(pcr),
      payload: new Uint8Array(0),
    });
    return packet;
  }

  /** Cuts a PES into packets: fields in the first, adaptation-field stuffing in the last (2.4.3.5). */
  #packetize(pid: number, pes: Uint8Array, fields: AdaptationFields): Uint8Array {
    const firstCapacity = TS_PAYLOAD_SIZE - adaptationFieldSize(fields);
    const count = 1 + Math.ceil(Math.max(0, pes.length - firstCapacity) / TS_PAYLOAD_SIZE);
    const out = new Uint8Array(count * TS_PACKET_SIZE);
    let offset = 0;
    for (let index = 0; index < count; index++) {
      const take = Math.min(pes.length - offset, index === 0 ? firstCapacity : TS_PAYLOAD_SIZE);
      const payload = pes.subarray(offset, offset + take);
      writeTsPacket(out, index * TS_PACKET_SIZE, {
        pid,
        payloadUnitStart: index === 0,
        counter: this.#nextCounter(pid),
        fields: index === 0 ? fields : undefined,
        payload,
      });
      offset += take;
    }
    return out;
  }

  /** continuity_counter: +1 modulo 16 per packet with payload, per PID (2.4.3.3); the first is 0. */
  #nextCounter(pid: number): number {
    const next = ((this.#counters.get(pid) ?? 0x0f) + 1) & 0x0f;
    this.#counters.set(pid, next);
    return next;
  }
}

/**
 * Video PES (stream_id 0xE0): the NAL units with 4-byte start codes, led by an
 * access unit delimiter when the unit has none (H.264 7.4.1.2.3 puts it first;
 * ffmpeg's muxer adds one too: decoders find picture boundaries by it).
 */
function videoPes(unit: VideoAccessUnit): Uint8Array {
  const nalus = unit.nalus[0] && nalType(unit.nalus[0]) === NAL.AUD ? unit.nalus : [AUD_NALU, ...unit.nalus];
  return pesPacket(
    { streamId: STREAM_ID_VIDEO, pts: unit.pts, dts: unit.dts, video: true },
    nalus.flatMap((n) => [START_CODE, n]),
  );
}

/**
 * Opus PES (private_stream_1, PTS only): ONE Opus packet per PES, behind its
 * control header. The simplest layout and the lowest latency (nothing waits
 * to fill a PES); ffmpeg bundles up to ~120 ms instead, demuxers read both.
 */
function audioPes(unit: AudioAccessUnit): Uint8Array {
  const parts = [opusControlHeader(unit.payload.length), unit.payload];
  return pesPacket({ streamId: STREAM_ID_PRIVATE_1, pts: unit.pts, dts: unit.pts, video: false }, parts);
}

function checkTimestamp(track: string, name: string, value: number): void {
  if (!Number.isInteger(value) || value < 0 || value >= PTS_WRAP) {
    throw new RangeError(`TsMuxer: ${track} ${name} must be an integer in 0 .. 2^33 - 1 (90 kHz), got ${value}`);
  }
}
