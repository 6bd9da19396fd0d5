/**
 * Packet-level MPEG-TS scanner (ISO/IEC 13818-1): what each 188-byte packet
 * is and where a decoder could start, without assembling PES packets. For
 * cutting a transport stream at video keyframes: a command pipeline's input
 * writer skipping to the next keyframe, trickle input segments that each start
 * with PAT + PMT and a keyframe.
 */
import { NAL, nalType, splitAnnexB } from "../codec/h264.ts";
import { ContinuityChecker } from "./continuityChecker.ts";
import { parsePes, PES_PREFIX_SIZE, type PesPacket } from "./pes.ts";
import { firstProgram, parsePat, parsePmt, PAT_PID, TABLE_ID_PMT } from "./psi.ts";
import { SectionAssembler } from "./sectionAssembler.ts";
import { describeStream } from "./streamTypes.ts";
import { parseTsPacket, type TsPacket, TsPacketSplitter } from "./tsPacket.ts";

export type ScannedKind = "pat" | "pmt" | "video" | "audio" | "other";

/** One whole transport packet and what it is. */
export interface ScannedPacket {
  /** The 188 bytes: a copy, safe to keep and to pass on. */
  bytes: Uint8Array;
  pid: number;
  /** "video": the program's first video track; "audio": any of its audio tracks; "other" until the PMT is known. */
  kind: ScannedKind;
  /**
   * Starts a video access unit a decoder can start from: a PES start on the
   * video PID with random_access_indicator set (2.4.3.5), or whose first
   * packet holds an H.264 IDR slice or SPS (nal_unit_type 5 or 7).
   */
  keyframe: boolean;
  /** The PTS (90 kHz, 33 bits) of the PES this packet starts (video and audio); undefined otherwise. */
  pts: number | undefined;
}

export interface TsKeyframeScannerStats {
  /** Whole packets scanned. */
  packets: number;
  /** Times packet sync was found again after skipping bytes that were no packets. */
  resyncs: number;
  /** Packets that started a video keyframe. */
  keyframes: number;
}

export interface TsKeyframeScannerOptions {
  /** Called when sync is found again after `skippedBytes` bytes that were not packets. */
  onResync?: (skippedBytes: number) => void;
}

/** A PAT or PMT section spans a few packets at most: 1021-byte sections (2.4.4.3) over 183-byte payloads. */
const MAX_PSI_PACKETS = 6;

/** One PSI PID: its sections, its continuity, the packets of the section being read and of the last good one. */
class PsiTrack {
  readonly sections = new SectionAssembler();
  readonly continuity = new ContinuityChecker();
  /** Packets since the start of the section being assembled. */
  pending: Uint8Array[] = [];
  /** The packets that carried the last section accepted. */
  kept: Uint8Array[] = [];

  constructor(readonly pid: number) {}

  /** Feeds one packet; returns each completed section with the packets that carried it. */
  push(packet: TsPacket, bytes: Uint8Array): Array<{ section: Uint8Array; packets: Uint8Array[] }> {
    const verdict = this.continuity.check(packet);
    if (verdict.kind === "duplicate") return []; // 2.4.3.3: a repeated packet carries nothing new
    if (verdict.kind === "gap") {
      this.sections.reset();
      this.pending = [];
    }
    if (!packet.hasPayload) return [];
    const before = this.pending;
    if (packet.payloadUnitStart) this.pending = [bytes];
    else if (before.length > 0 && before.length < MAX_PSI_PACKETS) before.push(bytes);
    else this.pending = [];
    const { sections } = this.sections.push(packet.payload, packet.payloadUnitStart);
    // 2.4.4.1: with a pointer_field > 0 the first section completed ends the one begun in earlier packets.
    const endsEarlier = packet.payloadUnitStart && packet.payload[0] !== 0 && before.length > 0;
    return sections.map((section, i) => ({
      section,
      packets: i === 0 && endsEarlier ? [...before, bytes] : packet.payloadUnitStart ? [bytes] : [...this.pending],
    }));
  }
}

/**
 * Scans any chunking of a transport stream into whole packets (a partial
 * packet is kept for the next chunk; lost sync is found again, see
 * TsPacketSplitter) and classifies each. Follows the first program of the
 * PAT (as TsDemuxer does) and keeps the latest PAT and PMT packets, so a
 * consumer can start a stream anywhere with programPackets() and then a
 * keyframe. Pure and synchronous; malformed packets and sections are skipped,
 * never thrown.
 */
export class TsKeyframeScanner {
  readonly #splitter: TsPacketSplitter;
  readonly #pat = new PsiTrack(PAT_PID);
  #pmt: PsiTrack | undefined;
  #programNumber: number | undefined;
  #videoPid: number | undefined;
  #audioPids = new Set<number>();
  #packets = 0;
  #keyframes = 0;

  constructor(options: TsKeyframeScannerOptions = {}) {
    this.#splitter = new TsPacketSplitter(options.onResync ? { onResync: options.onResync } : {});
  }

  /** The packets this chunk completes, in order. */
  push(chunk: Uint8Array): ScannedPacket[] {
    return this.#splitter.push(chunk).map((bytes) => this.#scan(bytes));
  }

  /** End of the stream: the packets still held (sync confirmed on what there is); a trailing partial packet is dropped. */
  flush(): ScannedPacket[] {
    return this.#splitter.flush().packets.map((bytes) => this.#scan(bytes));
  }

  /**
   * The latest PAT packets then the latest PMT packets (usually one each),
   * to put before a keyframe where a stream is cut; empty until both were seen.
   */
  programPackets(): Uint8Array[] {
    const pmt = this.#pmt?.kept ?? [];
    return this.#pat.kept.length > 0 && pmt.length > 0 ? [...this.#pat.kept, ...pmt] : [];
  }

  /** The PID of the video track the keyframes are found on; undefined before the PMT or without video. */
  get videoPid(): number | undefined {
    return this.#videoPid;
  }

  /** Whether a PMT of the program has been read (so an undefined videoPid means: no video track). */
  get programKnown(): boolean {
    return this.#pat.kept.length > 0 && (this.#pmt?.kept.length ?? 0) > 0;
  }

  get stats(): TsKeyframeScannerStats {
    return { packets: this.#packets, resyncs: this.#splitter.resyncs, keyframes: this.#keyframes };
  }

  #scan(bytes: Uint8Array): ScannedPacket {
    this.#packets++;
    const pid = ((bytes[1]! & 0x1f) << 8) | bytes[2]!; // read here too for a packet parseTsPacket refuses
    const scanned: ScannedPacket = { bytes, pid, kind: this.#kindOf(pid), keyframe: false, pts: undefined };
    const packet = parseTsPacket(bytes);
    // A malformed or damaged packet (2.4.3.3 transport_error_indicator) is passed on but not read.
    if (typeof packet === "string" || packet.transportError) return scanned;
    if (scanned.kind === "pat") this.#onPat(packet, bytes);
    else if (scanned.kind === "pmt") this.#onPmt(packet, bytes);
    else if (scanned.kind !== "other" && packet.payloadUnitStart) this.#onPesStart(packet, scanned);
    return scanned;
  }

  #onPesStart(packet: TsPacket, scanned: ScannedPacket): void {
    const pes = pesStart(packet.payload);
    scanned.pts = pes?.pts;
    if (scanned.kind !== "video") return;
    scanned.keyframe = packet.randomAccess || (pes !== undefined && holdsH264Keyframe(pes.payload));
    if (scanned.keyframe) this.#keyframes++;
  }

  #kindOf(pid: number): ScannedKind {
    if (pid === PAT_PID) return "pat";
    if (pid === this.#pmt?.pid) return "pmt";
    if (pid === this.#videoPid) return "video";
    return this.#audioPids.has(pid) ? "audio" : "other";
  }

  #onPat(packet: TsPacket, bytes: Uint8Array): void {
    for (const { section, packets } of this.#pat.push(packet, bytes)) {
      const pat = parsePat(section);
      if (!pat.ok || !pat.current) continue;
      const program = firstProgram(pat.value);
      if (!program) continue;
      this.#pat.kept = packets;
      if (program.pid === this.#pmt?.pid && program.programNumber === this.#programNumber) continue;
      this.#pmt = new PsiTrack(program.pid);
      this.#programNumber = program.programNumber;
      this.#videoPid = undefined;
      this.#audioPids = new Set();
    }
  }

  #onPmt(packet: TsPacket, bytes: Uint8Array): void {
    const track = this.#pmt!;
    for (const { section, packets } of track.push(packet, bytes)) {
      if (section[0] !== TABLE_ID_PMT) continue; // other tables may share the PID (2.4.4.8)
      const pmt = parsePmt(section);
      if (!pmt.ok || !pmt.current || pmt.value.programNumber !== this.#programNumber) continue;
      track.kept = packets;
      const streams = pmt.value.streams.map(describeStream);
      this.#videoPid = streams.find((s) => s.kind === "video")?.pid;
      this.#audioPids = new Set(streams.filter((s) => s.kind === "audio").map((s) => s.pid));
    }
  }
}

/**
 * The header (and the payload so far) of a PES from its first packet.
 * parsePes wants the whole PES when PES_packet_length is set, so it reads a
 * copy marked unbounded (length 0, 2.4.3.7): the header fields are the same.
 */
function pesStart(payload: Uint8Array): PesPacket | undefined {
  const copy = payload.slice();
  if (copy.length >= PES_PREFIX_SIZE) copy[4] = copy[5] = 0;
  const pes = parsePes(copy);
  return typeof pes === "string" ? undefined : pes;
}

/** Whether these bytes (the start of an access unit) hold an IDR slice or an SPS (ITU-T H.264 Table 7-1). */
function holdsH264Keyframe(annexB: Uint8Array): boolean {
  return splitAnnexB(annexB).some((nalu) => nalType(nalu) === NAL.IDR || nalType(nalu) === NAL.SPS);
}
