import type { Logger } from "../logger.ts";
import { StreamOutput } from "../pipeline/streamOutput.ts";
import { StaleSessionError } from "../errors.ts";
import { unguessableId } from "../ids.ts";

const KEYFRAME_REQUEST_MIN_GAP_MS = 500;

export type EndReason = "finished" | "replaced" | "error" | "idle" | "shutdown" | "deleted";

/** How a WHIP publish's audio and video were put on one timeline (MPEG-TS pushes carry their own PTS). */
export interface AvSync {
  method: "arrival" | "sender reports";
  /** Per track kind, how much later the sender reports placed it than arrival did, in ms. */
  movedMs?: Record<string, number>;
}

/**
 * One publish of a stream: from the first byte (or WHIP answer) until the
 * publisher leaves. Each gets a fresh unguessable request ID; writes through a
 * session that has ended (replaced by a newer one, or finished) are refused.
 */
export class IngestSession {
  readonly requestId = unguessableId();
  readonly startedAt = new Date();
  readonly output: StreamOutput;
  readonly logger: Logger;
  endReason: EndReason | undefined;
  /** Set by a WHIP publisher; undefined for MPEG-TS pushes. */
  avSync: AvSync | undefined;
  readonly #endListeners = new Set<(reason: EndReason) => void>();
  #keyframeSource: (() => void) | undefined;
  #lastKeyframeRequest = -Infinity;

  /** `logger` should carry the stream name; the session adds its request ID. */
  constructor(
    readonly name: string,
    logger: Logger,
  ) {
    this.logger = logger.child({ requestId: this.requestId });
    this.output = new StreamOutput({ logger: this.logger });
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
    this.output.write(chunk);
  }

  /** Ends the session once: flushes and closes the output, tells listeners. */
  end(reason: EndReason): void {
    if (this.endReason) return;
    this.endReason = reason;
    this.output.end();
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
