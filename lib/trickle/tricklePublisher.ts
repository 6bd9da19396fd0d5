import { TRICKLE_HEADERS as H } from "./trickleProtocol.ts";

export interface TricklePublisherOptions {
  /** Content-Type of the segments (ai-runner sends "video/mp2t" and "application/json"). */
  mimeType?: string;
  /** The first seq to write (default 0, as go-livepeer's and ai-runner's publishers). */
  start?: number;
}

/** How the server answered one segment's POST. */
export interface PostResult {
  status: number;
  /** Lp-Trickle-Seq: the segment the server wrote. */
  seq: number | undefined;
  /** Lp-Trickle-Closed: the channel is closed; nothing more will be taken. */
  closed: boolean;
  /** The server's sentence when status is not 2xx. */
  message: string;
}

/** One segment being written: its POST is open, the bytes go out as they are written. */
export interface SegmentPost {
  readonly seq: number;
  /** Sends bytes at once (false if the POST already ended: the server answered or the channel went away). */
  write(chunk: Uint8Array): boolean;
  /** Ends the segment and waits for the server's answer. */
  end(): Promise<PostResult>;
}

interface PendingPost {
  seq: number;
  body: ReadableStreamDefaultController<Uint8Array>;
  /** Never rejects: a network failure is a PostResult with status 0. */
  answer: Promise<PostResult>;
  /** The body was ended, or the POST is over: nothing more can be written. */
  state: { ended: boolean };
}

/**
 * Writes segments to a trickle channel over HTTP as go-livepeer's
 * TricklePublisher does: `POST {url}/{seq}` with a streamed body, the next
 * segment's POST opened (preconnected) while the current one is written, so
 * it starts without a round trip. Used by Wisp's tests, the loopback copy
 * worker and the benchmark; a real worker (ai-runner) brings its own.
 */
export class TricklePublisher {
  readonly #url: string;
  readonly #mimeType: string;
  #seq: number;
  #pending: PendingPost | undefined;
  #closed = false;

  constructor(url: string, options: TricklePublisherOptions = {}) {
    this.#url = url.replace(/\/+$/, "");
    this.#mimeType = options.mimeType ?? "video/mp2t";
    this.#seq = options.start ?? 0;
  }

  /** The next segment: the preconnected POST if there is one; the POST after it is preconnected now. */
  next(): SegmentPost {
    if (this.#closed) throw new Error(`trickle publisher for ${this.#url} is closed`);
    const current = this.#pending ?? this.#open();
    this.#pending = this.#open();
    return segmentPost(current);
  }

  /** Writes one whole segment. */
  writeSegment(bytes: Uint8Array): Promise<PostResult> {
    const post = this.next();
    post.write(bytes);
    return post.end();
  }

  /**
   * Ends the preconnected POST (empty: the server moves past its seq) and,
   * unless told not to, DELETEs the channel, as both reference publishers do.
   */
  async close(options: { deleteChannel?: boolean } = {}): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (options.deleteChannel ?? true) await fetch(this.#url, { method: "DELETE" }).then(drain, () => {});
    const pending = this.#pending;
    this.#pending = undefined;
    if (pending) {
      endBody(pending);
      await pending.answer;
    }
  }

  /** Opens the POST of the next seq; its body stays open until written and ended. */
  #open(): PendingPost {
    const seq = this.#seq++;
    let body!: ReadableStreamDefaultController<Uint8Array>;
    const stream = new ReadableStream<Uint8Array>({ start: (controller) => void (body = controller) });
    const state = { ended: false };
    const init = { method: "POST", headers: { "Content-Type": this.#mimeType }, body: stream, duplex: "half" };
    const answer = fetch(`${this.#url}/${seq}`, init as RequestInit).then(postResult, (error: Error) => {
      state.ended = true;
      return { status: 0, seq: undefined, closed: false, message: error.message };
    });
    return { seq, body, answer, state };
  }
}

function segmentPost(pending: PendingPost): SegmentPost {
  return {
    seq: pending.seq,
    write(chunk) {
      if (pending.state.ended) return false;
      try {
        pending.body.enqueue(chunk);
        return true;
      } catch {
        pending.state.ended = true; // the server answered early and the body was cancelled
        return false;
      }
    },
    end() {
      endBody(pending);
      return pending.answer;
    },
  };
}

function endBody(pending: PendingPost): void {
  if (pending.state.ended) return;
  pending.state.ended = true;
  try {
    pending.body.close();
  } catch {
    // cancelled by the fetch already
  }
}

async function postResult(response: Response): Promise<PostResult> {
  const seq = response.headers.get(H.seq);
  const message = response.ok ? "" : (await response.text()).trim();
  if (response.ok) await drain(response);
  return {
    status: response.status,
    seq: seq === null ? undefined : Number(seq),
    closed: response.headers.has(H.closed),
    message,
  };
}

async function drain(response: Response): Promise<void> {
  await response.body?.cancel().catch(() => {});
}
