/**
 * Cuts a publisher's MPEG-TS into trickle segments for a runner pipeline's
 * worker (issue 15): each segment starts with the latest PAT and PMT and,
 * with a video track, a video keyframe, so a worker can start decoding at
 * any segment; a segment lasts at least `minSegmentMs` of media time (PTS).
 * An audio-only stream is cut by time alone, at a PES start. A segment that
 * reaches `maxSegmentBytes` without a keyframe is cut at the next packet
 * anyway (counted), since the trickle server would refuse it whole.
 * Pure and synchronous: packets come from TsKeyframeScanner
 * (lib/mpegts/tsKeyframeScanner.ts).
 */
import { concatBytes } from "../bytes.ts";
import { type ScannedPacket, TsKeyframeScanner } from "../mpegts/tsKeyframeScanner.ts";
import { TS_PACKET_SIZE, TsPacketSplitter } from "../mpegts/tsPacket.ts";

export interface TsSegmenterOptions {
  /** Shortest segment in media time, in ms (1000 for ai-runner workers). */
  minSegmentMs: number;
  /** A segment this large is cut at the next packet, keyframe or not. */
  maxSegmentBytes: number;
}

/** Bytes of the output: `startsSegment` when they open a new segment (PAT, PMT, then the cut packet). */
export interface SegmentPiece {
  startsSegment: boolean;
  bytes: Uint8Array;
}

export interface TsSegmenterStats {
  /** Segments begun. */
  segments: number;
  /** Cuts made at the size bound, without a keyframe. */
  forcedCuts: number;
  /** Bytes before the first place a segment could start (no program or keyframe yet). */
  skippedBytes: number;
}

/** 90 kHz PTS ticks per ms (ISO/IEC 13818-1 2.4.3.7). */
const TICKS_PER_MS = 90;
/** PTS are 33 bits: differences are taken modulo 2^33. */
const PTS_MODULO = 2 ** 33;

export class TsSegmenter {
  /**
   * The chunk is cut into packets first and the scanner fed one at a time, so
   * the PAT and PMT put before a cut are the ones that preceded it in the
   * stream, whatever the chunking.
   */
  readonly #splitter = new TsPacketSplitter();
  readonly #scanner = new TsKeyframeScanner();
  readonly #minTicks: number;
  readonly #maxBytes: number;
  #open = false;
  #startPts: number | undefined;
  #segmentBytes = 0;
  #segments = 0;
  #forcedCuts = 0;
  #skippedBytes = 0;

  constructor(options: TsSegmenterOptions) {
    this.#minTicks = options.minSegmentMs * TICKS_PER_MS;
    this.#maxBytes = options.maxSegmentBytes;
  }

  /** The pieces this chunk (any chunking) makes, in order. */
  push(chunk: Uint8Array): SegmentPiece[] {
    return this.#cut(this.#splitter.push(chunk));
  }

  /** End of the input: the packets still held. */
  flush(): SegmentPiece[] {
    return this.#cut(this.#splitter.flush().packets);
  }

  get stats(): TsSegmenterStats {
    return { segments: this.#segments, forcedCuts: this.#forcedCuts, skippedBytes: this.#skippedBytes };
  }

  #cut(packets: Uint8Array[]): SegmentPiece[] {
    const pieces: SegmentPiece[] = [];
    let parts: Uint8Array[] = [];
    let startsSegment = false;
    const emit = () => {
      if (parts.length > 0) pieces.push({ startsSegment, bytes: concatBytes(parts) });
      parts = [];
      startsSegment = false;
    };
    const take = (packet: ScannedPacket) => {
      if (this.#cutsHere(packet)) {
        emit();
        startsSegment = true;
        parts = [...this.#scanner.programPackets()];
        this.#begin(packet, parts.length * TS_PACKET_SIZE);
      }
      if (!this.#open) return void (this.#skippedBytes += packet.bytes.byteLength);
      parts.push(packet.bytes);
      this.#segmentBytes += packet.bytes.byteLength;
    };
    // One packet at a time through the scanner: its PAT and PMT are then those before this packet.
    for (const bytes of packets) this.#scanner.push(bytes).forEach(take);
    emit();
    return pieces;
  }

  /** Whether a new segment starts at this packet. */
  #cutsHere(packet: ScannedPacket): boolean {
    if (!this.#scanner.programKnown) return false;
    if (this.#open && this.#segmentBytes >= this.#maxBytes) {
      this.#forcedCuts++;
      return true;
    }
    const startable = this.#scanner.videoPid !== undefined
      ? packet.keyframe
      : packet.kind === "audio" && packet.pts !== undefined;
    if (!startable) return false;
    return !this.#open || this.#longEnough(packet.pts);
  }

  /** At least the minimum since the segment's start; a missing PTS does not hold a cut back. */
  #longEnough(pts: number | undefined): boolean {
    if (pts === undefined || this.#startPts === undefined) return true;
    return (pts - this.#startPts + PTS_MODULO) % PTS_MODULO >= this.#minTicks;
  }

  #begin(packet: ScannedPacket, programBytes: number): void {
    this.#open = true;
    this.#segments++;
    this.#startPts = packet.pts;
    this.#segmentBytes = programBytes;
  }
}
