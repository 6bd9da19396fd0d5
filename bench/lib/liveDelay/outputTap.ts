// Watches a stream's output from inside the test server: when each video frame arrived and how
// many readers the output had then. A WHEP viewer subscribes when it connects and gets the GOP so
// far as fast-start catch-up, so the frame at which the count rises says exactly what it got.
import type { IngestSession } from "../../../lib/ingest/ingestSession.ts";
import type { ViewerFeed } from "../../../lib/pipeline/viewerFeed.ts";
import { wallClockMs } from "../sources.ts";

const TAP_QUEUE_BYTES = 10_000_000; // drained on every frame: never reached

export interface FrameArrival {
  /** Epoch ms. */
  at: number;
  keyframe: boolean;
  /** MPEG-TS PTS, 90 kHz. */
  pts: number;
  /** Readers of the output when this frame was offered, the tap included. */
  readers: number;
}

export interface Subscription {
  /** Epoch ms, midway between the two frames it fell between. */
  at: number;
  /** Frames it got as fast-start catch-up: the keyframe and the frames after it (1 = joined at the keyframe). */
  catchUpFrames: number;
  /** How long after that keyframe's arrival it subscribed (ms). */
  afterKeyframeMs: number;
}

export class OutputTap {
  readonly frames: FrameArrival[] = [];
  readonly #session: IngestSession;
  readonly #feed: ViewerFeed;

  constructor(session: IngestSession) {
    this.#session = session;
    this.#feed = session.output.subscribe(TAP_QUEUE_BYTES, { onReadable: () => this.#drain() });
  }

  /** Readers besides the tap: the WHEP viewers now subscribed. */
  get viewers(): number {
    return this.#session.output.feedCount - 1;
  }

  get lastKeyframe(): FrameArrival | undefined {
    return this.frames.findLast((f) => f.keyframe);
  }

  /** The first viewer subscription after frame index `from`, once a frame after it arrived. */
  subscriptionAfter(from: number): Subscription | undefined {
    for (let k = Math.max(from, 1); k < this.frames.length; k++) {
      const before = this.frames[k - 1]!;
      const after = this.frames[k]!;
      if (after.readers <= before.readers) continue;
      const keyframe = this.frames.findLastIndex((f, i) => i < k && f.keyframe);
      const at = (before.at + after.at) / 2;
      return {
        at,
        catchUpFrames: keyframe < 0 ? 0 : k - keyframe,
        afterKeyframeMs: keyframe < 0 ? NaN : at - this.frames[keyframe]!.at,
      };
    }
    return undefined;
  }

  async waitForSubscription(from: number, timeoutMs: number): Promise<Subscription> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.subscriptionAfter(from);
      if (found) return found;
      if (Date.now() > deadline) {
        throw new Error(`no viewer subscribed to "${this.#session.name}" within ${timeoutMs} ms`);
      }
      await Bun.sleep(10);
    }
  }

  close(): void {
    this.#feed.close();
  }

  #drain(): void {
    for (let next = this.#feed.poll(); next; next = this.#feed.poll()) {
      const { frame } = next;
      if (frame.track !== "video") continue;
      const at = wallClockMs();
      this.frames.push({ at, keyframe: frame.keyframe, pts: frame.pts, readers: this.#session.output.feedCount });
    }
  }
}
