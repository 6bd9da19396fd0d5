import { PTS_WRAP, type AccessUnit, type AudioAccessUnit, type VideoAccessUnit } from "../accessUnit.ts";
import { NAL, nalType } from "../codec/h264.ts";
import { crc32Mpeg2 } from "./crc32.ts";
import { SYNC_BYTE, TS_PACKET_SIZE } from "./tsPacket.ts";

export interface TsMuxerOptions {
  /** An H.264 track (PID 0x100, stream_type 0x1B). */
  video?: boolean;
  /** An Opus track (PID 0x101, stream_type 0x06 + "Opus" registration). */
  audio?: { channels: 1 | 2 };
  /** PAT/PMT repetition in ms of media time; they are also sent before every keyframe. */
  psiIntervalMs?: number;
}

const PMT_PID = 0x1000;
const VIDEO_PID = 0x100;
const AUDIO_PID = 0x101;
const STREAM_ID_VIDEO = 0xe0;
const STREAM_ID_PRIVATE_1 = 0xbd; // Opus travels as private_stream_1
/** PCR runs this far ahead of... behind the DTS (ISO/IEC 13818-1 2.4.2.2: a decoder needs the PCR first). */
const PCR_LEAD_TICKS = 9_000; // 100 ms at 90 kHz
const AUD = Uint8Array.of(0x09, 0xf0); // access unit delimiter, primary_pic_type 7 (any)
const START_CODE = Uint8Array.of(0, 0, 0, 1);

/**
 * MPEG-TS muxer (ISO/IEC 13818-1) for one program of H.264 and/or Opus access
 * units, as the WHIP ingest produces them. Pure and synchronous: push() returns
 * whole 188-byte packets. Each Opus packet gets its own PES: the lowest
 * latency, and what a demuxer reads most simply.
 */
export class TsMuxer {
  readonly #options: TsMuxerOptions;
  readonly #counters = new Map<number, number>();
  readonly #pcrPid: number;
  readonly #psiIntervalTicks: number;
  #lastPsiAt: number | undefined;

  constructor(options: TsMuxerOptions) {
    if (!options.video && !options.audio) throw new Error("TsMuxer needs a video or an audio track");
    this.#options = options;
    this.#pcrPid = options.video ? VIDEO_PID : AUDIO_PID;
    this.#psiIntervalTicks = (options.psiIntervalMs ?? 100) * 90;
  }

  /** PAT + PMT packets (2.4.4.3 / 2.4.4.8). */
  programTables(): Uint8Array {
    return concatAll([this.#psiPacket(0, patSection()), this.#psiPacket(PMT_PID, this.#pmtSection())]);
  }

  push(unit: AccessUnit): Uint8Array {
    const time = unit.track === "video" ? unit.dts : unit.pts;
    const parts: Uint8Array[] = [];
    if (this.#psiDue(time, unit.track === "video" && unit.keyframe)) {
      parts.push(this.programTables());
      this.#lastPsiAt = time;
    }
    parts.push(unit.track === "video" ? this.#videoPes(unit) : this.#audioPes(unit));
    return concatAll(parts);
  }

  #psiDue(time: number, keyframe: boolean): boolean {
    if (this.#lastPsiAt === undefined || keyframe) return true;
    return (time - this.#lastPsiAt + PTS_WRAP) % PTS_WRAP >= this.#psiIntervalTicks;
  }

  #videoPes(unit: VideoAccessUnit): Uint8Array {
    const nalus = unit.nalus[0] && nalType(unit.nalus[0]) === NAL.AUD ? unit.nalus : [AUD, ...unit.nalus];
    const body = concatAll(nalus.flatMap((n) => [START_CODE, n]));
    const pes = pesPacket(STREAM_ID_VIDEO, unit.pts, unit.dts, body, true);
    return this.#packetize(VIDEO_PID, pes, { pcr: pcrFor(unit.dts), randomAccess: unit.keyframe });
  }

  #audioPes(unit: AudioAccessUnit): Uint8Array {
    const pes = pesPacket(STREAM_ID_PRIVATE_1, unit.pts, unit.pts, concatAll([opusControlHeader(unit.payload.length), unit.payload]), false);
    const pcr = this.#pcrPid === AUDIO_PID ? pcrFor(unit.pts) : undefined;
    return this.#packetize(AUDIO_PID, pes, { pcr, randomAccess: pcr !== undefined });
  }

  #pmtSection(): Uint8Array {
    const streams: number[] = [];
    if (this.#options.video) streams.push(0x1b, 0xe0 | (VIDEO_PID >> 8), VIDEO_PID & 0xff, 0xf0, 0x00);
    if (this.#options.audio) {
      // registration_descriptor "Opus" (2.6.8) + DVB extension descriptor 0x80 with channel_config_code
      const descriptors = [0x05, 4, 0x4f, 0x70, 0x75, 0x73, 0x7f, 2, 0x80, this.#options.audio.channels];
      streams.push(0x06, 0xe0 | (AUDIO_PID >> 8), AUDIO_PID & 0xff, 0xf0, descriptors.length, ...descriptors);
    }
    const pcrPid = [0xe0 | (this.#pcrPid >> 8), this.#pcrPid & 0xff];
    return section(0x02, [0x00, 0x01, 0xc1, 0x00, 0x00, ...pcrPid, 0xf0, 0x00, ...streams]);
  }

  #psiPacket(pid: number, sectionBytes: Uint8Array): Uint8Array {
    const packet = new Uint8Array(TS_PACKET_SIZE).fill(0xff);
    packet.set([SYNC_BYTE, 0x40 | (pid >> 8), pid & 0xff, 0x10 | this.#nextCounter(pid), 0x00]);
    packet.set(sectionBytes, 5);
    return packet;
  }

  /** Cuts a PES into TS packets; the first may carry PCR, the last is padded by adaptation-field stuffing. */
  #packetize(pid: number, pes: Uint8Array, first: { pcr: number | undefined; randomAccess: boolean }): Uint8Array {
    const packets: Uint8Array[] = [];
    for (let offset = 0, index = 0; offset < pes.length; index++) {
      const field: number[] = [];
      if (index === 0 && (first.pcr !== undefined || first.randomAccess)) {
        field.push((first.randomAccess ? 0x40 : 0) | (first.pcr !== undefined ? 0x10 : 0));
        if (first.pcr !== undefined) field.push(...pcrBytes(first.pcr));
      }
      const packet = new Uint8Array(TS_PACKET_SIZE);
      const take = fillHeader(packet, pid, index === 0, this.#nextCounter(pid), field, pes.length - offset);
      packet.set(pes.subarray(offset, offset + take), TS_PACKET_SIZE - take);
      offset += take;
      packets.push(packet);
    }
    return concatAll(packets);
  }

  #nextCounter(pid: number): number {
    const next = ((this.#counters.get(pid) ?? -1) + 1) & 0x0f; // 2.4.3.3: +1 per packet with payload
    this.#counters.set(pid, next);
    return next;
  }
}

/**
 * Writes the 4-byte header and the adaptation field (with stuffing when the
 * remaining payload is short); returns how many payload bytes fit.
 */
function fillHeader(packet: Uint8Array, pid: number, unitStart: boolean, counter: number, field: number[], remaining: number): number {
  let hasField = field.length > 0;
  let capacity = TS_PACKET_SIZE - 4 - (hasField ? 1 + field.length : 0);
  if (remaining < capacity) {
    let pad = capacity - remaining;
    if (!hasField) {
      hasField = true;
      pad -= 1; // the adaptation_field_length byte itself
    }
    if (pad > 0 && field.length === 0) {
      field.push(0x00); // flags byte
      pad -= 1;
    }
    for (; pad > 0; pad--) field.push(0xff);
    capacity = remaining;
  }
  packet[0] = SYNC_BYTE;
  packet[1] = (unitStart ? 0x40 : 0) | (pid >> 8);
  packet[2] = pid & 0xff;
  packet[3] = (hasField ? 0x30 : 0x10) | counter;
  if (hasField) {
    packet[4] = field.length;
    packet.set(field, 5);
  }
  return capacity;
}

/** PES header (2.4.3.6) with PTS, and DTS when it differs; video PES may be unbounded (length 0). */
function pesPacket(streamId: number, pts: number, dts: number, body: Uint8Array, video: boolean): Uint8Array {
  const withDts = video && dts !== pts;
  const headerData = withDts ? [...timestampBytes(0x3, pts), ...timestampBytes(0x1, dts)] : timestampBytes(0x2, pts);
  const length = 3 + headerData.length + body.length;
  const declared = video && length > 0xffff ? 0 : length;
  const header = [0, 0, 1, streamId, declared >> 8, declared & 0xff, video ? 0x84 : 0x80, withDts ? 0xc0 : 0x80, headerData.length, ...headerData];
  return concatAll([Uint8Array.from(header), body]);
}

/** 33-bit PTS/DTS in the 5-byte marker-bit layout (2.4.3.7). */
function timestampBytes(prefix: number, ts: number): number[] {
  const high = Math.floor(ts / 2 ** 30) & 0x07;
  const low = ts % 2 ** 30;
  return [(prefix << 4) | (high << 1) | 1, (low >> 22) & 0xff, (((low >> 15) & 0x7f) << 1) | 1, (low >> 7) & 0xff, ((low & 0x7f) << 1) | 1];
}

function pcrFor(dts: number): number {
  return (dts - PCR_LEAD_TICKS + PTS_WRAP) % PTS_WRAP;
}

/** program_clock_reference_base (33 bits), 6 reserved bits, extension 0 (2.4.3.5). */
function pcrBytes(base: number): number[] {
  const low25 = base % 2 ** 25;
  return [Math.floor(base / 2 ** 25) & 0xff, (low25 >> 17) & 0xff, (low25 >> 9) & 0xff, (low25 >> 1) & 0xff, ((low25 & 1) << 7) | 0x7e, 0];
}

/** Opus control header: 0x7FE0 prefix, no trims, au_size as 0xFF run + final byte. */
function opusControlHeader(size: number): Uint8Array {
  const bytes = [0x7f, 0xe0];
  for (let left = size; ; left -= 255) {
    bytes.push(Math.min(left, 255));
    if (left < 255) break;
  }
  return Uint8Array.from(bytes);
}

function patSection(): Uint8Array {
  // transport_stream_id 1, version 0 current; program 1 -> PMT PID
  return section(0x00, [0x00, 0x01, 0xc1, 0x00, 0x00, 0x00, 0x01, 0xe0 | (PMT_PID >> 8), PMT_PID & 0xff]);
}

/** A long-form section: table_id, section_syntax_indicator + length, body, CRC_32. */
function section(tableId: number, body: number[]): Uint8Array {
  const length = body.length + 4; // + CRC_32
  const head = Uint8Array.from([tableId, 0xb0 | (length >> 8), length & 0xff, ...body]);
  const out = new Uint8Array(head.length + 4);
  out.set(head);
  new DataView(out.buffer).setUint32(head.length, crc32Mpeg2(head));
  return out;
}

function concatAll(parts: Uint8Array[]): Uint8Array {
  let size = 0;
  for (const p of parts) size += p.length;
  const out = new Uint8Array(size);
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

/** The muxer as a web TransformStream: access units in, MPEG-TS bytes out. */
export class TsMuxStream extends TransformStream<AccessUnit, Uint8Array> {
  constructor(options: TsMuxerOptions) {
    const muxer = new TsMuxer(options);
    super({
      transform(unit, controller) {
        controller.enqueue(muxer.push(unit));
      },
    });
  }
}
