/** MPEG-TS demuxer (ISO/IEC 13818-1): bytes in, program tracks and access units out. */
import type { AccessUnit, TrackInfo } from "../accessUnit.ts";
import { accessUnitsFromPes } from "./accessUnitsFromPes.ts";
import { ContinuityChecker } from "./continuityChecker.ts";
import { parsePes } from "./pes.ts";
import { PesAssembler, type PesOutput } from "./pesAssembler.ts";
import { firstProgram, parsePat, parsePmt, PAT_PID, type Pmt, TABLE_ID_PMT } from "./psi.ts";
import { SectionAssembler } from "./sectionAssembler.ts";
import { describeProgram } from "./streamTypes.ts";
import { NULL_PID, parseTsPacket, type TsPacket, TsPacketSplitter } from "./tsPacket.ts";

export type DemuxEvent =
  | { type: "tracks"; tracks: TrackInfo[]; programNumber: number; pmtVersion: number }
  | { type: "unit"; unit: AccessUnit };

export interface DemuxStats {
  /** Whole 188-byte packets read. */
  packets: number;
  /** Times packet sync was found again after skipping bytes. */
  resyncs: number;
  /** continuity_counter gaps on the PAT, PMT and followed PIDs. */
  continuityErrors: number;
  /** PAT/PMT sections whose CRC_32 failed (ignored). */
  crcErrors: number;
  /** PES packets (or the rest of one, for Opus) dropped: gaps, malformed headers, no PTS, bad payload. */
  droppedUnits: number;
}

export interface DemuxError {
  /** "packet": a malformed TS packet header; "psi": a malformed PAT/PMT (other than its CRC). */
  kind: "resync" | "continuity" | "crc" | "pes" | "opus" | "h264" | "packet" | "psi";
  pid?: number;
  message: string;
}

export interface TsDemuxerOptions {
  /** Non-fatal problems: counted in stats and reported here; demuxing goes on. */
  onDecodeError?: (error: DemuxError) => void;
}

/** One PSI PID being read: its sections and its continuity. */
interface PsiReader {
  pid: number;
  sections: SectionAssembler;
  continuity: ContinuityChecker;
}

/** One elementary stream being followed. */
interface Followed {
  track: TrackInfo;
  pes: PesAssembler;
  continuity: ContinuityChecker;
}

const psiReader = (pid: number): PsiReader => ({
  pid,
  sections: new SectionAssembler(),
  continuity: new ContinuityChecker(),
});

/**
 * Reads the first program of the PAT: a "tracks" event when its PMT first
 * arrives and whenever its version or streams change, then one "unit" event
 * per H.264 picture and per Opus packet of the playable tracks. Any chunking
 * of the input gives the same events. Pure and synchronous; bad input bytes
 * never throw: they are counted in `stats` and reported to onDecodeError.
 */
export class TsDemuxer {
  readonly #splitter: TsPacketSplitter;
  readonly #onError: (error: DemuxError) => void;
  readonly #stats = { packets: 0, continuityErrors: 0, crcErrors: 0, droppedUnits: 0 };
  readonly #pat = psiReader(PAT_PID);
  #pmt: (PsiReader & { programNumber: number }) | undefined;
  #tracksSignature = "";
  #followed = new Map<number, Followed>();

  constructor(options: TsDemuxerOptions = {}) {
    this.#onError = options.onDecodeError ?? (() => {});
    this.#splitter = new TsPacketSplitter({
      onResync: (skipped) =>
        this.#onError({ kind: "resync", message: `lost packet sync; found it again after skipping ${skipped} bytes` }),
    });
  }

  get stats(): DemuxStats {
    return { ...this.#stats, resyncs: this.#splitter.resyncs };
  }

  push(chunk: Uint8Array): DemuxEvent[] {
    const events: DemuxEvent[] = [];
    for (const packet of this.#splitter.push(chunk)) this.#onPacket(packet, events);
    return events;
  }

  /** End of input: the last packets, and the PES still open (video PES have no length). */
  flush(): DemuxEvent[] {
    const events: DemuxEvent[] = [];
    const { packets, leftoverBytes } = this.#splitter.flush();
    for (const packet of packets) this.#onPacket(packet, events);
    if (leftoverBytes > 0) {
      this.#onError({
        kind: "resync",
        message: `stream ended with ${leftoverBytes} bytes that are not a whole packet`,
      });
    }
    for (const followed of this.#followed.values()) {
      for (const output of followed.pes.flush()) this.#onPes(followed, output, events);
    }
    return events;
  }

  #onPacket(bytes: Uint8Array, events: DemuxEvent[]): void {
    this.#stats.packets++;
    const packet = parseTsPacket(bytes);
    if (typeof packet === "string") return this.#onError({ kind: "packet", message: packet });
    if (packet.pid === NULL_PID) return;
    if (packet.transportError) {
      // 2.4.3.3: the packet is damaged, its header included; the counter gap it leaves is what gets counted.
      return this.#onError({
        kind: "packet",
        pid: packet.pid,
        message: `PID ${packet.pid}: transport_error_indicator set; packet discarded`,
      });
    }
    if (packet.pid === PAT_PID) return this.#onPsi(this.#pat, packet, (section) => this.#onPat(section));
    if (packet.pid === this.#pmt?.pid) return this.#onPsi(this.#pmt, packet, (section) => this.#onPmt(section, events));
    const followed = this.#followed.get(packet.pid);
    if (followed) this.#onMedia(followed, packet, events);
  }

  #onPsi(reader: PsiReader, packet: TsPacket, onSection: (section: Uint8Array) => void): void {
    const verdict = reader.continuity.check(packet);
    if (verdict.kind === "duplicate") return;
    if (verdict.kind === "gap") {
      this.#continuityError(packet.pid, verdict.message);
      reader.sections.reset();
    }
    if (!packet.hasPayload) return;
    const { sections, errors } = reader.sections.push(packet.payload, packet.payloadUnitStart);
    for (const message of errors) {
      this.#onError({ kind: "psi", pid: packet.pid, message: `PID ${packet.pid}: ${message}` });
    }
    for (const section of sections) onSection(section);
  }

  #onPat(section: Uint8Array): void {
    const pat = parsePat(section);
    if (!pat.ok) return this.#sectionError(pat, PAT_PID);
    if (!pat.current) return; // current_next_indicator 0: not in force yet
    const program = firstProgram(pat.value);
    if (!program) return this.#onError({ kind: "psi", pid: PAT_PID, message: "PAT lists no program" });
    if (program.pid === this.#pmt?.pid && program.programNumber === this.#pmt.programNumber) return;
    this.#pmt = { ...psiReader(program.pid), programNumber: program.programNumber };
  }

  #onPmt(section: Uint8Array, events: DemuxEvent[]): void {
    if (section[0] !== TABLE_ID_PMT) return; // other tables may share the PID (2.4.4.8)
    const pmt = parsePmt(section);
    if (!pmt.ok) return this.#sectionError(pmt, this.#pmt?.pid);
    if (!pmt.current || pmt.value.programNumber !== this.#pmt?.programNumber) return; // another program's map
    this.#applyPmt(pmt.value, events);
  }

  /** A new or changed PMT (version or streams): follow its playable PIDs, tell the consumer. */
  #applyPmt(pmt: Pmt, events: DemuxEvent[]): void {
    const tracks = describeProgram(pmt.streams);
    const signature = JSON.stringify([pmt.programNumber, pmt.version, tracks]);
    if (signature === this.#tracksSignature) return;
    this.#tracksSignature = signature;
    const followed = new Map<number, Followed>();
    for (const track of tracks.filter((t) => t.playable)) {
      const kept = this.#followed.get(track.pid);
      const same = kept !== undefined && kept.track.codec === track.codec;
      followed.set(
        track.pid,
        same ? { ...kept, track } : { track, pes: new PesAssembler(track.pid), continuity: new ContinuityChecker() },
      );
    }
    this.#followed = followed;
    events.push({ type: "tracks", tracks, programNumber: pmt.programNumber, pmtVersion: pmt.version });
  }

  #onMedia(followed: Followed, packet: TsPacket, events: DemuxEvent[]): void {
    const verdict = followed.continuity.check(packet);
    if (verdict.kind === "duplicate") return;
    if (verdict.kind === "gap") {
      this.#continuityError(packet.pid, verdict.message);
      // Lost payload belonged to the PES being assembled or to one whose start is gone: one unit lost.
      followed.pes.interrupt();
      this.#stats.droppedUnits++;
      // A third copy (2.4.3.3 allows two) was read already: fed again, a PES it holds whole would come out twice.
      if (verdict.repeat) return;
    }
    for (const output of followed.pes.push(packet)) this.#onPes(followed, output, events);
  }

  #onPes(followed: Followed, output: PesOutput, events: DemuxEvent[]): void {
    const pid = followed.track.pid;
    if (!output.ok) return this.#drop({ kind: "pes", pid, message: output.message });
    const pes = parsePes(output.bytes);
    if (typeof pes === "string") return this.#drop({ kind: "pes", pid, message: `PID ${pid}: ${pes}` });
    const { units, error } = accessUnitsFromPes(followed.track, pes);
    for (const unit of units) events.push({ type: "unit", unit });
    if (error) this.#drop({ ...error, pid });
  }

  #drop(error: DemuxError): void {
    this.#stats.droppedUnits++;
    this.#onError(error);
  }

  #continuityError(pid: number, message: string): void {
    this.#stats.continuityErrors++;
    this.#onError({ kind: "continuity", pid, message });
  }

  #sectionError(result: { error: "crc" | "syntax"; message: string }, pid: number | undefined): void {
    if (result.error === "crc") this.#stats.crcErrors++;
    this.#onError({
      kind: result.error === "crc" ? "crc" : "psi",
      ...(pid === undefined ? {} : { pid }),
      message: result.message,
    });
  }
}
