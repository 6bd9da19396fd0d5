import { SEQ_NEXT, STATUS_OUTSIDE_WINDOW, TRICKLE_HEADERS as H } from "./trickleProtocol.ts";

export interface TrickleSubscriberOptions {
  /** First seq to read: -1 the next segment (default), -2 the current one, or a number. */
  start?: number;
  /** 470s in a row (each a jump to Lp-Trickle-Latest, or a wait that timed out) before next() gives up. */
  maxMisses?: number;
}

/** One segment as a subscriber gets it: its seq and its bytes as they are written. */
export interface SubscribedSegment {
  seq: number;
  body: ReadableStream<Uint8Array>;
}

const DEFAULT_MAX_MISSES = 10;

/**
 * Reads a trickle channel over HTTP as go-livepeer's TrickleSubscriber does:
 * `GET {url}/{seq}` from `start`, then the seq after the one the server said
 * (Lp-Trickle-Seq), the next GET opened (preconnected) as soon as a segment's
 * headers are in. A 470 moves to Lp-Trickle-Latest; Lp-Trickle-Closed or a
 * 404 ends the subscription. Used by Wisp's tests, the loopback copy worker
 * and the benchmark.
 */
export class TrickleSubscriber {
  readonly #url: string;
  readonly #maxMisses: number;
  readonly #abort = new AbortController();
  #seq: number;
  #pending: Promise<Response> | undefined;
  #ended = false;

  constructor(url: string, options: TrickleSubscriberOptions = {}) {
    this.#url = url.replace(/\/+$/, "");
    this.#seq = options.start ?? SEQ_NEXT;
    this.#maxMisses = options.maxMisses ?? DEFAULT_MAX_MISSES;
  }

  /**
   * The next segment, once the server has its first byte; undefined once the
   * channel is closed or gone, or after close(). Throws on other failures.
   */
  async next(): Promise<SubscribedSegment | undefined> {
    for (let misses = 0; !this.#ended;) {
      const response = await (this.#pending ?? this.#get(this.#seq)).catch((error: Error) => {
        if (this.#abort.signal.aborted) return undefined; // close() while waiting: the end, not a failure
        throw error;
      });
      this.#pending = undefined;
      if (!response) return this.#end();
      if (response.status === 404 || response.headers.has(H.closed)) {
        await response.body?.cancel().catch(() => {});
        return this.#end();
      }
      if (response.status === STATUS_OUTSIDE_WINDOW) {
        await response.body?.cancel().catch(() => {});
        if (++misses > this.#maxMisses) throw new Error(`trickle GET ${this.#url}: ${misses} answers 470 in a row`);
        this.#seq = Number(response.headers.get(H.latest) ?? SEQ_NEXT);
        continue;
      }
      if (!response.ok) {
        const message = (await response.text()).trim();
        throw new Error(`trickle GET ${this.#url}/${this.#seq} answered ${response.status}: ${message}`);
      }
      const seq = Number(response.headers.get(H.seq));
      if (seq >= 0) this.#seq = seq + 1;
      this.#pending = this.#get(this.#seq); // preconnect the next one while this one is read
      this.#pending.catch(() => {}); // its failure is seen by the next next()
      return { seq, body: response.body ?? emptyBody() };
    }
    return undefined;
  }

  /** Stops: open GETs are aborted. Idempotent. */
  close(): void {
    this.#end();
    this.#abort.abort();
  }

  #get(seq: number): Promise<Response> {
    return fetch(`${this.#url}/${seq}`, { signal: this.#abort.signal });
  }

  #end(): undefined {
    this.#ended = true;
    this.#pending?.then((r) => r.body?.cancel(), () => {}).catch(() => {});
    this.#pending = undefined;
    return undefined;
  }
}

function emptyBody(): ReadableStream<Uint8Array> {
  return new ReadableStream({ start: (controller) => controller.close() });
}
