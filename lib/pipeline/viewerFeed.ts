import type { MediaFrame } from "./mediaFrame.ts";
import { forwardDistance, RTP_TIMESTAMP_WRAP } from "../wrapArithmetic.ts";

export interface ViewerFeedOptions {
  /** Bytes this feed may hold, fast-start and live frames together, before it drops to the next keyframe. */
  maxQueueBytes: number;
  /** Called when a live frame was queued: a push-style consumer polls then (lib/pipeline/sendScheduler.ts). */
  onReadable?: () => void;
}

/** A frame to send, and how many RTP ticks its timestamps move later (fast start; 0 for live frames). */
export interface FeedFrame {
  frame: MediaFrame;
  timestampShift: number;
}

/** Ticks between two squeezed fast-start frames: 1 ms at 90 kHz. */
const FAST_START_SPACING = 90;

/**
 * One viewer's bounded queue of a stream's frames: first the fast-start GOP
 * (startWith), then every live frame (offer), under ONE byte limit. The
 * stream pushes without ever blocking; a feed that falls behind by more than
 * `maxQueueBytes` drops what it holds and skips video until the next
 * keyframe, counting what it lost (STYLE.md: no tee(), bounded per-viewer
 * queues; MediaMTX's "reader is too slow").
 *
 * Without a fast start a feed starts at the next video keyframe (a decoder
 * cannot start elsewhere). Read it with poll() when onReadable says there is
 * something; `done` settles once nothing more will come.
 */
export class ViewerFeed {
  /** Frames discarded because this feed's viewer was too slow. */
  droppedFrames = 0;
  #queue: MediaFrame[] = [];
  /** The timestamp shifts of the first #shifts.length queued frames: the fast-start GOP, always at the front. */
  #shifts: number[] = [];
  #queuedBytes = 0;
  #waitingForKeyframe = true;
  #ended = false;
  #finished = false;
  readonly #maxQueueBytes: number;
  readonly #onClose: (feed: ViewerFeed) => void;
  readonly #onReadable: (() => void) | undefined;
  readonly #done = Promise.withResolvers<void>();

  constructor(options: ViewerFeedOptions, onClose: (feed: ViewerFeed) => void) {
    this.#maxQueueBytes = options.maxQueueBytes;
    this.#onReadable = options.onReadable;
    this.#onClose = onClose;
  }

  get ended(): boolean {
    return this.#ended;
  }

  /** Frames queued and not yet read. */
  get size(): number {
    return this.#queue.length;
  }

  /** Bytes queued and not yet read (counted against maxQueueBytes). */
  get queuedBytes(): number {
    return this.#queuedBytes;
  }

  /** Settles when the feed closed, or its stream finished and every queued frame was read. */
  get done(): Promise<void> {
    return this.#done.promise;
  }

  /**
   * Fast start (DESIGN.md: a new viewer sees a picture at once): the GOP so
   * far, from its keyframe, queued ahead of everything live. Its timestamps
   * are squeezed into the FAST_START_SPACING ticks just before the newest
   * frame, so the receiver's playout clock starts at the live edge and no
   * delay lasts (the decoder still gets every reference frame). A GOP over
   * the byte limit is not queued: the feed starts at the next keyframe.
   */
  startWith(gop: MediaFrame[]): void {
    if (this.#ended || this.#finished || this.#queue.length > 0 || gop.length === 0) return;
    const bytes = gop.reduce((sum, frame) => sum + frame.bytes, 0);
    if (bytes > this.#maxQueueBytes) return;
    this.#queue = [...gop];
    this.#shifts = squeezedShifts(gop);
    this.#queuedBytes = bytes;
    this.#waitingForKeyframe = false;
  }

  /** Called by the stream for every live frame. Never blocks. */
  offer(frame: MediaFrame, hasVideo: boolean): void {
    if (this.#ended || this.#finished || !this.#admit(frame, hasVideo)) return;
    if (this.#queuedBytes + frame.bytes > this.#maxQueueBytes) {
      this.#overflow(hasVideo);
      if (!this.#admit(frame, hasVideo)) {
        this.droppedFrames++;
        return;
      }
    }
    this.#queue.push(frame);
    this.#queuedBytes += frame.bytes;
    this.#onReadable?.();
  }

  /** The next queued frame, if any, without waiting. */
  poll(): FeedFrame | undefined {
    const frame = this.#queue.shift();
    const timestampShift = this.#shifts.shift() ?? 0;
    if (frame) this.#queuedBytes -= frame.bytes;
    if (this.#finished && this.#queue.length === 0) this.close();
    return frame && { frame, timestampShift };
  }

  /** The stream ended normally: what is queued can still be read, then the feed closes. */
  finish(): void {
    if (this.#ended) return;
    this.#finished = true;
    if (this.#queue.length === 0) this.close();
  }

  /** Ends the feed and drops what it holds; `done` settles and the owner is told. Idempotent. */
  close(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#queue = [];
    this.#shifts = [];
    this.#queuedBytes = 0;
    this.#done.resolve();
    this.#onClose(this);
  }

  /** Gate for a feed that waits for a keyframe: audio-only streams never wait. */
  #admit(frame: MediaFrame, hasVideo: boolean): boolean {
    if (!this.#waitingForKeyframe) return true;
    if (frame.track === "video" && frame.keyframe) {
      this.#waitingForKeyframe = false;
      return true;
    }
    return !hasVideo;
  }

  #overflow(hasVideo: boolean): void {
    this.droppedFrames += this.#queue.length;
    this.#queue = [];
    this.#shifts = [];
    this.#queuedBytes = 0;
    // Without video every audio frame is a fine place to resume.
    this.#waitingForKeyframe = hasVideo;
  }
}

/**
 * How far each fast-start frame's timestamps move so that the frames sit
 * FAST_START_SPACING ticks apart, the newest unmoved (shift 0): source ticks
 * behind the newest minus ticks behind it after squeezing, mod 2^32.
 */
export function squeezedShifts(frames: MediaFrame[]): number[] {
  const newest = frames.at(-1);
  if (!newest) return [];
  const newestTs = newest.packets[0]!.timestamp;
  return frames.map((frame, i) => {
    const span = forwardDistance(frame.packets[0]!.timestamp, newestTs, RTP_TIMESTAMP_WRAP);
    const squeezed = (frames.length - 1 - i) * FAST_START_SPACING;
    return span - squeezed;
  });
}
