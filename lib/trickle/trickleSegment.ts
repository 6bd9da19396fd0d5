/** What a wait on a segment ended with. */
export type SegmentWait = "more" | "closed" | "timeout" | "aborted";

export interface SegmentWaitOptions {
  /** Give up after this long, in ms (none: wait until more data, the close, or the abort). */
  timeoutMs?: number;
  signal?: AbortSignal;
}

/**
 * One segment of a trickle channel: the bytes written so far, kept in the
 * chunks they came in, and readable from the start by any number of readers
 * while it is still being written (go-livepeer's Segment + segmentBuffer).
 * Closed once its writer finished, or when it is dropped from the window, the
 * channel closes or a publisher resets: readers then get what is there and
 * their end.
 */
export class TrickleSegment {
  readonly #chunks: Uint8Array[] = [];
  readonly #waiters = new Set<() => void>();
  readonly #onFirstByte: (segment: TrickleSegment) => void;
  #bytes = 0;
  #closed = false;
  #delivered = false;

  constructor(
    readonly seq: number,
    onFirstByte: (segment: TrickleSegment) => void = () => {},
  ) {
    this.#onFirstByte = onFirstByte;
  }

  get bytes(): number {
    return this.#bytes;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Its writer has begun: at least one byte is there. */
  get started(): boolean {
    return this.#bytes > 0;
  }

  /** A reader has received some of it (for "published, not yet read" counts). */
  get delivered(): boolean {
    return this.#delivered;
  }

  /** Not written to and not closed: a preconnected GET or POST may still take it. */
  get fresh(): boolean {
    return !this.#closed && this.#bytes === 0;
  }

  get chunkCount(): number {
    return this.#chunks.length;
  }

  /**
   * Appends bytes (kept as given: the caller must not reuse the buffer);
   * false if the segment is closed already and the bytes went nowhere.
   */
  write(chunk: Uint8Array): boolean {
    if (this.#closed) return false;
    if (chunk.byteLength === 0) return true;
    const first = this.#bytes === 0;
    this.#chunks.push(chunk);
    this.#bytes += chunk.byteLength;
    if (first) this.#onFirstByte(this);
    this.#wake();
    return true;
  }

  /** Ends the segment: readers get what is there, then their end. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#wake();
  }

  /** The chunk at `index` for a reader (marks the segment as read), or undefined if not written yet. */
  chunkAt(index: number): Uint8Array | undefined {
    const chunk = this.#chunks[index];
    if (chunk) this.#delivered = true;
    return chunk;
  }

  /**
   * Waits until the segment holds more than `chunks` chunks or is closed,
   * bounded by a timeout and a signal. `Infinity` waits for the close alone.
   */
  waitBeyond(chunks: number, options: SegmentWaitOptions = {}): Promise<SegmentWait> {
    if (this.#chunks.length > chunks) return Promise.resolve("more");
    if (this.#closed) return Promise.resolve("closed");
    if (options.signal?.aborted) return Promise.resolve("aborted");
    return new Promise((resolve) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const finish = (result: SegmentWait) => {
        this.#waiters.delete(onChange);
        clearTimeout(timer);
        options.signal?.removeEventListener("abort", onAbort);
        resolve(result);
      };
      const onChange = () => {
        if (this.#chunks.length > chunks) finish("more");
        else if (this.#closed) finish("closed");
      };
      const onAbort = () => finish("aborted");
      this.#waiters.add(onChange);
      options.signal?.addEventListener("abort", onAbort);
      if (options.timeoutMs !== undefined) timer = setTimeout(() => finish("timeout"), options.timeoutMs);
    });
  }

  /** Requests and readers waiting on this segment now (for leak checks). */
  get waiting(): number {
    return this.#waiters.size;
  }

  #wake(): void {
    for (const waiter of [...this.#waiters]) waiter();
  }
}

/**
 * A segment's bytes as a stream, from its start, as they are written; ends
 * when the segment closes. Pull-based: nothing is queued for a slow reader
 * beyond the segment itself. `onEnd` runs once, at the end or the cancel.
 */
export function segmentStream(segment: TrickleSegment, onEnd: () => void = () => {}): ReadableStream<Uint8Array> {
  let index = 0;
  let ended = false;
  const cancelled = new AbortController();
  const end = () => {
    if (ended) return;
    ended = true;
    onEnd();
  };
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        for (;;) {
          const chunk = segment.chunkAt(index);
          if (chunk) {
            index++;
            return controller.enqueue(chunk);
          }
          if (segment.closed) {
            controller.close();
            return end();
          }
          if (await segment.waitBeyond(index, { signal: cancelled.signal }) === "aborted") return;
        }
      },
      cancel() {
        cancelled.abort();
        end();
      },
    },
    { highWaterMark: 0 },
  );
}

/** A segment's chunks from its start as they are written, in process (no HTTP); ends at its close or the abort. */
export async function* segmentChunks(segment: TrickleSegment, signal?: AbortSignal): AsyncGenerator<Uint8Array> {
  let index = 0;
  for (;;) {
    const chunk = segment.chunkAt(index);
    if (chunk) {
      index++;
      yield chunk;
    } else if (segment.closed) {
      return;
    } else if (await segment.waitBeyond(index, signal ? { signal } : {}) === "aborted") {
      return;
    }
  }
}
