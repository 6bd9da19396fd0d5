import type { MediaFrame } from "./mediaFrame.ts";

export interface FrameReaderOptions {
  /** Bytes this reader may hold before it drops to the next keyframe. */
  maxQueueBytes: number;
  /** Skip video until a keyframe (default). False when the viewer already got the GOP so far. */
  startAtKeyframe?: boolean;
}

/**
 * One viewer's bounded view of a stream's frames. The stream pushes without
 * ever blocking; a reader that falls behind by more than `maxQueueBytes` drops
 * what it holds and skips video until the next keyframe, counting what it lost
 * (STYLE.md: no tee(), bounded per-viewer queues).
 *
 * A reader starts at the next video keyframe (a decoder cannot start
 * elsewhere) unless its viewer was already given the current GOP.
 */
export class FrameReader {
  /** Frames discarded because this reader was too slow. */
  droppedFrames = 0;
  #queue: MediaFrame[] = [];
  #queuedBytes = 0;
  #waitingForKeyframe: boolean;
  #ended = false;
  #wake: ((frame: MediaFrame | undefined) => void) | undefined;
  readonly #maxQueueBytes: number;
  readonly #onClose: (reader: FrameReader) => void;

  constructor(options: FrameReaderOptions, onClose: (reader: FrameReader) => void) {
    this.#maxQueueBytes = options.maxQueueBytes;
    this.#waitingForKeyframe = options.startAtKeyframe ?? true;
    this.#onClose = onClose;
  }

  get ended(): boolean {
    return this.#ended;
  }

  /** Called by the stream for every frame. Never blocks. */
  offer(frame: MediaFrame, hasVideo: boolean): void {
    if (this.#ended || !this.#admit(frame, hasVideo)) return;
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
  }

  /** The next frame, or undefined once the stream ended or the reader closed. */
  next(): Promise<MediaFrame | undefined> {
    const frame = this.#queue.shift();
    if (frame) {
      this.#queuedBytes -= frame.bytes;
      return Promise.resolve(frame);
    }
    if (this.#ended) return Promise.resolve(undefined);
    return new Promise((resolve) => (this.#wake = resolve));
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
