import type { Logger } from "../logger.ts";
import type { StreamOutput } from "../pipeline/streamOutput.ts";
import { StaleSessionError } from "../errors.ts";
import { unguessableId } from "../ids.ts";
import { type ScannedPacket, TsKeyframeScanner } from "../mpegts/tsKeyframeScanner.ts";

const KEYFRAME_REQUEST_MIN_GAP_MS = 500;

export type EndReason = "finished" | "replaced" | "error" | "idle" | "shutdown" | "deleted";

/** How a WHIP publish's audio and video were put on one timeline (MPEG-TS pushes carry their own PTS). */
export interface AvSync {
  method: "arrival" | "sender reports";
  /** Per track kind, how much later the sender reports placed it than arrival did, in ms. */
  movedMs?: Record<string, number>;
}

/** Where a publish's MPEG-TS goes: its stream's pipeline (lib/pipeline/livePipeline.ts). */
export interface IngestSink {
  /** `packets`: the chunk's whole packets as the scanner saw them (where keyframes start). */
  write(chunk: Uint8Array, packets: ScannedPacket[]): void;
  /** The output this publish feeds now (its pipeline's current attempt's). */
  readonly output: StreamOutput;
}

/**
 * One publish of a stream (its input): from the first byte (or WHIP answer)
 * until the publisher leaves. Each gets a fresh unguessable request ID; writes
 * through a session that has ended (replaced by a newer one, or finished) are
 * refused. Its bytes go to the stream's pipeline (lib/liveStream.ts).
 */
export class IngestSession {
  readonly requestId = unguessableId();
  readonly startedAt = new Date();
  readonly logger: Logger;
  /** Input bytes so far. */
  bytesIn = 0;
  endReason: EndReason | undefined;
  /** Set by a WHIP publisher; undefined for MPEG-TS pushes. */
  avSync: AvSync | undefined;
  readonly #endListeners = new Set<(reason: EndReason) => void>();
  #keyframeSource: (() => void) | undefined;
  #lastKeyframeRequest = -Infinity;
  #sink: IngestSink | undefined;
  /** The input's program and keyframes, packet by packet: the push probe, the input PTS, where a new attempt may start. */
  readonly #scanner = new TsKeyframeScanner();
  #lastInputPts: number | undefined;

  /** `logger` should carry the stream name; the session adds its request ID. */
  constructor(
    readonly name: string,
    logger: Logger,
  ) {
    this.logger = logger.child({ requestId: this.requestId });
  }

  /** Set once by the stream, before the first write. */
  attachSink(sink: IngestSink): void {
    this.#sink = sink;
  }

  /** The output this publish feeds now (its pipeline's current attempt's). */
  get output(): StreamOutput {
    if (!this.#sink) throw new Error(`ingest session ${this.requestId} is not attached to a stream`);
    return this.#sink.output;
  }

  /** Whether the input has shown its program (PAT and PMT): the push probe asks. */
  get programKnown(): boolean {
    return this.#scanner.programKnown;
  }

  /** The input's latest PAT and PMT packets (empty before both came). */
  programPackets(): Uint8Array[] {
    return this.#scanner.programPackets();
  }

  /** Whether the input's program has a video track (false before its PMT). */
  get inputHasVideo(): boolean {
    return this.#scanner.videoPid !== undefined;
  }

  /** PTS (90 kHz) of the latest PES in the input; undefined before the first. */
  get lastInputPts(): number | undefined {
    return this.#lastInputPts;
  }

  get ended(): boolean {
    return this.endReason !== undefined;
  }

  /** Feeds MPEG-TS bytes; throws StaleSessionError once the session has ended. */
  write(chunk: Uint8Array): void {
    if (this.endReason) {
      throw new StaleSessionError(
        `stream "${this.name}" request ${this.requestId} has ended (${this.endReason}); its writer is refused`,
      );
    }
    this.bytesIn += chunk.byteLength;
    const packets = this.#scanner.push(chunk);
    for (let i = packets.length - 1; i >= 0; i--) {
      const pts = packets[i]!.pts;
      if (pts !== undefined) {
        this.#lastInputPts = pts;
        break;
      }
    }
    this.#sink?.write(chunk, packets);
  }

  /** Ends the session once and tells listeners (the stream lets its pipeline finish the output). */
  end(reason: EndReason): void {
    if (this.endReason) return;
    this.endReason = reason;
    this.logger.info("ingest session ended", { reason });
    for (const listener of this.#endListeners) listener(reason);
    this.#endListeners.clear();
  }

  /** Where keyframe requests go (a WHIP publisher's PLI); MPEG-TS pushes have none. */
  setKeyframeSource(source: () => void): void {
    this.#keyframeSource = source;
  }

  /**
   * A viewer joined or lost a picture: ask the source for a keyframe, at most
   * every KEYFRAME_REQUEST_MIN_GAP_MS so many viewers do not flood it.
   */
  requestKeyframe(now = performance.now()): void {
    if (!this.#keyframeSource || now - this.#lastKeyframeRequest < KEYFRAME_REQUEST_MIN_GAP_MS) return;
    this.#lastKeyframeRequest = now;
    this.#keyframeSource();
  }

  /** Calls `listener` when the session ends (at once if it already has). Returns an unsubscribe. */
  onEnd(listener: (reason: EndReason) => void): () => void {
    if (this.endReason) {
      listener(this.endReason);
      return () => {};
    }
    this.#endListeners.add(listener);
    return () => this.#endListeners.delete(listener);
  }
}
