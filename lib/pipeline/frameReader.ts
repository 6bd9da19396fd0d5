import type { MediaFrame } from "./mediaFrame.ts";

export interface FrameReaderOptions {
  /** Bytes this reader may hold before it drops to the next keyframe. */
  maxQueueBytes: number;
  /** Skip video until a keyframe (default). False when the viewer already got the GOP so far. */
  startAtKeyframe?: boolean;
  /** Called when a frame was queued: a push-style consumer polls then (lib/pipeline/sendScheduler.ts). */
  onReadable?: () => void;
}

/**
 * One viewer's bounded view of a stream's frames. The stream pushes without
 * ever blocking; a reader that falls behind by more than `maxQueueBytes` drops
 * what it holds and skips video until the next keyframe, counting what it lost
 * (STYLE.md: no tee(), bounded per-viewer queues).
 *
 * A reader starts at the next video keyframe (a decoder cannot start
 * elsewhere) unless its viewer was already given the current GOP.
 *
 * Read it either with next() (a promise per frame) or with poll() when
 * onReadable says there is something; `done` settles once nothing more will come.
 */
export class FrameReader {
  /** Frames discarded because this reader was too slow. */
  droppedFrames = 0;
  #queue: MediaFrame[] = [];
  #queuedBytes = 0;
  #waitingForKeyframe: boolean;
  #ended = false;
  #finished = false;
  #wake: ((frame: MediaFrame | undefined) => void) | undefined;
  readonly #maxQueueBytes: number;
  readonly #onClose: (reader: FrameReader) => void;
  readonly #onReadable: (() => void) | undefined;
  readonly #done = Promise.withResolvers<void>();

  constructor(options: FrameReaderOptions, onClose: (reader: FrameReader) => void) {
    this.#maxQueueBytes = options.maxQueueBytes;
    this.#waitingForKeyframe = options.startAtKeyframe ?? true;
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

  /** Settles when the reader closed, or its stream finished and every queued frame was read. */
  get done(): Promise<void> {
    return this.#done.promise;
  }

  /** Called by the stream for every frame. Never blocks. */
  offer(frame: MediaFrame, hasVideo: boolean): void {
    if (this.#ended || this.#finished || !this.#admit(frame, hasVideo)) return;
    if (this.#wake) {
      const wake = this.#wake;
      this.#wake = undefined;
      wake(frame);
      return;
    }
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
  poll(): MediaFrame | undefined {
    const frame = this.#queue.shift();
    if (frame) this.#queuedBytes -= frame.bytes;
    if (this.#finished && this.#queue.length === 0) this.close();
    return frame;
  }

  /** The next frame, or undefined once the stream ended or the reader closed. */
  next(): Promise<MediaFrame | undefined> {
    const frame = this.poll();
    if (frame) return Promise.resolve(frame);
    if (this.#ended) return Promise.resolve(undefined);
    return new Promise((resolve) => (this.#wake = resolve));
  }

  /** The stream ended normally: what is queued can still be read, then the reader closes. */
  finish(): void {
    if (this.#ended) return;
    this.#finished = true;
    if (this.#queue.length === 0) this.close();
  }

  /** Ends the reader; a pending next() resolves with undefined. Idempotent. */
  close(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#queue = [];
    this.#queuedBytes = 0;
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.(undefined);
    this.#done.resolve();
    this.#onClose(this);
  }

  /** Gate for a reader that waits for a keyframe: audio-only streams never wait. */
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
    this.#queuedBytes = 0;
    // Without video every audio frame is a fine place to resume.
    this.#waitingForKeyframe = hasVideo;
  }
}
