import { PTS_WRAP, type AccessUnit, type TrackInfo } from "../accessUnit.ts";
import { isKeyframe, splitAnnexB } from "../codec/h264.ts";
import { opusPacketSamples, splitOpusPes } from "../codec/opus.ts";
import { parsePes } from "./pes.ts";
import { PesAssembler } from "./pesAssembler.ts";
import { PAT_PID, parsePat, parsePmt, SectionAssembler, type Pmt } from "./psi.ts";
import { describeStream } from "./streamTypes.ts";
import { parseTsPacket, TsPacketSplitter, type TsPacket } from "./tsPacket.ts";

export type DemuxEvent =
  | { type: "tracks"; tracks: TrackInfo[]; programNumber: number; pmtVersion: number }
  | { type: "unit"; unit: AccessUnit };

export interface DemuxStats {
  packets: number;
  resyncs: number;
  continuityErrors: number;
  crcErrors: number;
  droppedUnits: number;
}

export interface DemuxError {
  kind: "resync" | "continuity" | "crc" | "pes" | "opus" | "h264";
  pid?: number;
  message: string;
}

export interface TsDemuxerOptions {
  /** Non-fatal problems: counted in stats and reported here; demuxing goes on. */
  onDecodeError?: (error: DemuxError) => void;
}

interface Followed {
  track: TrackInfo;
  pes: PesAssembler;
}

/**
 * MPEG-TS demuxer (ISO/IEC 13818-1): bytes in any chunking -> "tracks" events
 * (from the PMT of the first program) and access units (one per H.264 picture,
 * one per Opus packet). Pure and synchronous; never throws on bad input.
 */
export class TsDemuxer {
  readonly #splitter = new TsPacketSplitter();
  readonly #pat = new SectionAssembler();
  readonly #pmt = new SectionAssembler();
  readonly #onError: (error: DemuxError) => void;
  #pmtPid: number | undefined;
  #pmtSignature = "";
  #followed = new Map<number, Followed>();
  #stats = { packets: 0, continuityErrors: 0, crcErrors: 0, droppedUnits: 0 };

  constructor(options: TsDemuxerOptions = {}) {
    this.#onError = options.onDecodeError ?? (() => {});
  }

  get stats(): DemuxStats {
    return { ...this.#stats, resyncs: this.#splitter.resyncs };
  }

  push(chunk: Uint8Array): DemuxEvent[] {
    const events: DemuxEvent[] = [];
    const resyncsBefore = this.#splitter.resyncs;
    const packets = this.#splitter.push(chunk);
    if (this.#splitter.resyncs > resyncsBefore) {
      this.#error({ kind: "resync", message: `lost packet sync; skipped to the next 0x47 (${this.#splitter.skippedBytes} bytes skipped so far)` });
    }
    for (const bytes of packets) {
      const packet = parseTsPacket(bytes);
      this.#stats.packets++;
      if (packet) this.#onPacket(packet, events);
    }
    return events;
  }

  /** End of input: emits the PES packets still open (video PES have no length). */
  flush(): DemuxEvent[] {
    const events: DemuxEvent[] = [];
    for (const [pid, followed] of this.#followed) {
      const pes = followed.pes.finish();
      if (pes) this.#emitPes(pid, followed.track, pes, events);
    }
    return events;
  }

  #onPacket(packet: TsPacket, events: DemuxEvent[]): void {
    if (packet.pid === PAT_PID) return this.#onPat(packet);
    if (packet.pid === this.#pmtPid) return this.#onPmt(packet, events);
    const followed = this.#followed.get(packet.pid);
    if (!followed) return;
    const result = followed.pes.push(packet);
    if (result.continuityError) {
      this.#stats.continuityErrors++;
      this.#error({ kind: "continuity", pid: packet.pid, message: result.continuityError });
    }
    if (result.droppedUnit) this.#stats.droppedUnits++;
    for (const pes of result.complete) this.#emitPes(packet.pid, followed.track, pes, events);
  }

  #onPat(packet: TsPacket): void {
    for (const section of this.#pat.push(packet.payload, packet.payloadUnitStart)) {
      const pat = parsePat(section);
      if (!pat.ok) this.#sectionError(pat, PAT_PID);
      else if (pat.value && pat.value.pmtPid !== this.#pmtPid) {
        this.#pmtPid = pat.value.pmtPid;
        this.#pmt.reset();
      }
    }
  }

  #onPmt(packet: TsPacket, events: DemuxEvent[]): void {
    for (const section of this.#pmt.push(packet.payload, packet.payloadUnitStart)) {
      const pmt = parsePmt(section);
      if (!pmt.ok) this.#sectionError(pmt, packet.pid);
      else this.#applyPmt(pmt.value, events);
    }
  }

  /** A new or changed PMT (version or stream list): follow its PIDs, tell the consumer. */
  #applyPmt(pmt: Pmt, events: DemuxEvent[]): void {
    const signature = `${pmt.version}|${pmt.streams.map((s) => `${s.pid}:${s.streamType}`).join(",")}`;
    if (signature === this.#pmtSignature) return;
    this.#pmtSignature = signature;
    const tracks = pmt.streams.map(describeStream);
    const followed = new Map<number, Followed>();
    for (const track of tracks) {
      if (!track.playable) continue;
      const existing = this.#followed.get(track.pid);
      followed.set(track.pid, existing?.track.codec === track.codec ? existing : { track, pes: new PesAssembler() });
    }
    this.#followed = followed;
    events.push({ type: "tracks", tracks, programNumber: pmt.programNumber, pmtVersion: pmt.version });
  }

  #emitPes(pid: number, track: TrackInfo, bytes: Uint8Array, events: DemuxEvent[]): void {
    const pes = parsePes(bytes);
    if (typeof pes === "string") return this.#drop("pes", pid, pes);
    if (pes.pts === undefined) return this.#drop("pes", pid, "PES without PTS");
    if (track.codec === "h264") {
      const nalus = splitAnnexB(pes.payload);
      if (nalus.length === 0) return this.#drop("h264", pid, "PES holds no H.264 NAL unit");
      const unit = { track: "video" as const, pid, pts: pes.pts, dts: pes.dts ?? pes.pts, keyframe: isKeyframe(nalus), nalus };
      events.push({ type: "unit", unit });
      return;
    }
    this.#emitOpus(pid, pes.pts, pes.payload, events);
  }

  /** One unit per Opus packet; each packet's PTS follows the durations before it (TOC). */
  #emitOpus(pid: number, pesPts: number, payload: Uint8Array, events: DemuxEvent[]): void {
    const { units, error } = splitOpusPes(payload);
    if (error) this.#drop("opus", pid, error);
    let offsetSamples = 0;
    for (const { packet } of units) {
      const samples = opusPacketSamples(packet);
      if (samples === undefined) {
        this.#drop("opus", pid, `malformed Opus packet of ${packet.length} bytes`);
        continue;
      }
      const pts = (pesPts + Math.round((offsetSamples * 90_000) / 48_000)) % PTS_WRAP;
      events.push({ type: "unit", unit: { track: "audio", pid, pts, samples, payload: packet } });
      offsetSamples += samples;
    }
  }

  #drop(kind: DemuxError["kind"], pid: number, message: string): void {
    this.#stats.droppedUnits++;
    this.#error({ kind, pid, message });
  }

  #sectionError(result: { error: "crc" | "syntax"; message: string }, pid: number): void {
    if (result.error === "crc") this.#stats.crcErrors++;
    this.#error({ kind: result.error === "crc" ? "crc" : "pes", pid, message: result.message });
  }

  #error(error: DemuxError): void {
    this.#onError(error);
  }
}

/** The demuxer as a web TransformStream: MPEG-TS bytes in, DemuxEvents out. */
export class TsDemuxStream extends TransformStream<Uint8Array, DemuxEvent> {
  constructor(options?: TsDemuxerOptions) {
    const demuxer = new TsDemuxer(options);
    super({
      transform(chunk, controller) {
        for (const event of demuxer.push(chunk)) controller.enqueue(event);
      },
      flush(controller) {
        for (const event of demuxer.flush()) controller.enqueue(event);
      },
    });
  }
}
