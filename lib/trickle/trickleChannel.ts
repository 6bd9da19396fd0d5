import { SEQ_CURRENT, SEQ_NEXT, TRICKLE_WINDOW } from "./trickleProtocol.ts";
import { TrickleSegment } from "./trickleSegment.ts";

/** Where a read of `seq` stands: its segment if the window holds it (or it was just precreated). */
export interface SegmentLookup {
  segment: TrickleSegment | undefined;
  /** The effective seq (-1 and -2 resolved). */
  seq: number;
  /** The channel's next write when asked. */
  latest: number;
  closed: boolean;
}

export interface ChannelStats {
  /** Segments begun (first byte written) since the channel was created. */
  segmentsStarted: number;
  /** Segments in the window that were written to and that no reader has received yet. */
  unreadSegments: number;
  /** Segments that left the window written to but never read (a reader too slow or absent). */
  droppedUnread: number;
  droppedUnreadBytes: number;
}

/**
 * One trickle channel (go-livepeer's Stream): a window of the last
 * TRICKLE_WINDOW segments, addressed by seq at slot seq % TRICKLE_WINDOW, and
 * the next seq to be written. A read of the next seq (or of seq 1 before
 * anything was written) precreates its segment, so a subscriber can wait for
 * it before its publisher arrives. Closing the channel closes every segment:
 * waiting readers get their end and "closed".
 */
export class TrickleChannel {
  readonly #slots: Array<TrickleSegment | undefined> = new Array(TRICKLE_WINDOW).fill(undefined);
  readonly #closeListeners = new Set<() => void>();
  #nextWrite = 0;
  #closed = false;
  /** finish() was called: no more segments; those in the window can still be read. */
  #finishing = false;
  #segmentsStarted = 0;
  #droppedUnread = 0;
  #droppedUnreadBytes = 0;
  /** HTTP requests on this channel now (bounded by the server). */
  requests = 0;

  constructor(
    readonly name: string,
    readonly mimeType: string,
  ) {}

  get nextWrite(): number {
    return this.#nextWrite;
  }

  /** No more segments will come: closed, or finishing (a reader of a segment not written gets Lp-Trickle-Closed). */
  get closed(): boolean {
    return this.#closed || this.#finishing;
  }

  /**
   * The segment a write of `seq` goes to (-1: the next one): the one already
   * there if it is fresh (precreated by a waiting GET, preconnected), else a
   * new one replacing whatever held its slot. On a closed channel, a closed
   * segment (the bytes go nowhere).
   */
  segmentForWrite(seq: number): TrickleSegment {
    const effective = seq === SEQ_NEXT ? this.#nextWrite : seq;
    const existing = this.#slots[effective % TRICKLE_WINDOW];
    if (existing?.seq === effective && existing.fresh) return existing;
    const segment = this.#newSegment(effective);
    if (this.closed) segment.close();
    else this.#put(segment);
    return segment;
  }

  /** The segment for a read of `seq` (-1 next, -2 current), precreating the next one (go-livepeer's getForRead). */
  segmentForRead(seq: number): SegmentLookup {
    const next = this.#nextWrite;
    const effective = seq === SEQ_NEXT ? next : seq === SEQ_CURRENT ? Math.max(next - 1, 0) : seq;
    let segment: TrickleSegment | undefined = this.#slots[effective % TRICKLE_WINDOW];
    if (segment?.seq !== effective) segment = undefined;
    // A read just ahead of the writer waits for it; go-livepeer also allows seq 1 before the first write.
    const justAhead = effective === next || (next === 0 && effective === 1);
    if (!segment && justAhead && !this.closed) {
      segment = this.#newSegment(effective);
      this.#put(segment);
    }
    return { segment, seq: effective, latest: next, closed: this.closed };
  }

  /** A publisher restarted (Lp-Trickle-Reset): segments before `seq` end, so their readers stop waiting. */
  resetBefore(seq: number): void {
    for (const segment of this.#slots) if (segment && segment.seq < seq) segment.close();
  }

  /**
   * A write of `seq` ended with no byte: the next write moves past it anyway
   * (go-livepeer: "avoids clients erroring out"), unless a newer segment
   * already took its slot (the next write is past it then).
   */
  skipEmpty(segment: TrickleSegment): void {
    segment.close();
    const current = this.#slots[segment.seq % TRICKLE_WINDOW] === segment;
    if (current && !this.#closed) this.#nextWrite = segment.seq + 1;
  }

  /**
   * The publisher is done (its input ended): the segments in the window stay
   * readable, a segment still open is ended, and a read of one not written
   * (a preconnected GET of the next) gets Lp-Trickle-Closed instead of
   * waiting. A reader thus gets everything, then its end. close() still
   * follows, when the channel's owner is done with it.
   */
  finish(): void {
    if (this.closed) return;
    this.#finishing = true;
    for (const segment of this.#slots) segment?.close();
  }

  /** Closes every segment and the channel; idempotent. Readers see Lp-Trickle-Closed. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const segment of this.#slots) segment?.close();
    this.#slots.fill(undefined);
    const listeners = [...this.#closeListeners];
    this.#closeListeners.clear();
    for (const listener of listeners) listener();
  }

  /** Calls `listener` once when the channel closes (at once if it is closed); returns the unsubscribe. */
  onClose(listener: () => void): () => void {
    if (this.#closed) {
      listener();
      return () => {};
    }
    this.#closeListeners.add(listener);
    return () => this.#closeListeners.delete(listener);
  }

  stats(): ChannelStats {
    const unreadSegments = this.#slots.filter((s) => s?.started && !s.delivered).length;
    return {
      segmentsStarted: this.#segmentsStarted,
      unreadSegments,
      droppedUnread: this.#droppedUnread,
      droppedUnreadBytes: this.#droppedUnreadBytes,
    };
  }

  /** Segments, readers and requests waiting on this channel now (for leak checks). */
  get waiting(): number {
    return this.#slots.reduce((sum, segment) => sum + (segment?.waiting ?? 0), 0);
  }

  #newSegment(seq: number): TrickleSegment {
    return new TrickleSegment(seq, (segment) => this.#started(segment));
  }

  /** Its first byte makes a segment the current one: the next write is the one after it (go-livepeer). */
  #started(segment: TrickleSegment): void {
    this.#segmentsStarted++;
    if (!this.#closed) this.#nextWrite = segment.seq + 1;
  }

  #put(segment: TrickleSegment): void {
    const slot = segment.seq % TRICKLE_WINDOW;
    const old = this.#slots[slot];
    if (old && old !== segment) this.#evict(old);
    this.#slots[slot] = segment;
  }

  /** A segment leaves the window: its readers end; if nobody read it, it counts as dropped. */
  #evict(segment: TrickleSegment): void {
    segment.close();
    if (segment.started && !segment.delivered) {
      this.#droppedUnread++;
      this.#droppedUnreadBytes += segment.bytes;
    }
  }
}
