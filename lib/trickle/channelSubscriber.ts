import type { TrickleChannel } from "./trickleChannel.ts";
import { SEQ_NEXT } from "./trickleProtocol.ts";
import type { TrickleSegment } from "./trickleSegment.ts";

/**
 * Reads a channel's segments in process, in order, as a trickle subscriber
 * does over HTTP (go-livepeer's TrickleLocalSubscriber): from `start` (-1:
 * the next segment written, -2: the current one), then seq + 1 each time. A
 * reader that fell out of the window continues at the channel's next write,
 * as after a 470. Wisp's runner pipelines read a worker's output and events
 * with it.
 */
export class ChannelSubscriber {
  #seq: number;

  constructor(
    readonly channel: TrickleChannel,
    start: number = SEQ_NEXT,
  ) {
    this.#seq = start;
  }

  /**
   * The next segment once its first byte is there (read its bytes with
   * segmentChunks); undefined once the channel is closed or `signal` aborts.
   */
  async next(signal?: AbortSignal): Promise<TrickleSegment | undefined> {
    for (;;) {
      if (signal?.aborted) return undefined;
      const lookup = this.channel.segmentForRead(this.#seq);
      const { segment } = lookup;
      if (!segment) {
        if (lookup.closed) return undefined;
        this.#seq = lookup.latest; // fell behind the window (a 470): on at the live edge
        continue;
      }
      const wait = await segment.waitBeyond(0, signal ? { signal } : {});
      if (wait === "aborted" || (wait === "closed" && this.channel.closed)) return undefined;
      // A segment closed before its first byte was dropped or skipped: go on with the one after it.
      this.#seq = segment.seq + 1;
      if (wait === "more") return segment;
    }
  }
}
