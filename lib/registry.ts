import type { Logger } from "./logger.ts";
import { IngestSession } from "./ingest/ingestSession.ts";
import {
  AbortedError,
  BadRequestError,
  LimitReachedError,
  NotFoundError,
  ServiceUnavailableError,
  StaleSessionError,
} from "./errors.ts";
import { EmptySignal } from "./emptySignal.ts";
import { STREAM_NAME_PATTERN } from "./ids.ts";
import { StreamEvents } from "./streamEvents.ts";

export interface WaitOptions {
  /** Pin one ingest session; without it the stream's current session is meant. */
  requestId?: string;
  /** How long to wait for output, in ms. */
  timeoutMs: number;
  /** Aborts the wait (the client went away). */
  signal?: AbortSignal;
  /** Most waits allowed at once when this one has to wait (0 = unlimited): per stream name, and in all. */
  limits?: { perStream: number; total: number };
}

export interface RegistryOptions {
  /** Most live streams at once (MAX_STREAMS); default unlimited. */
  maxStreams?: number;
  /** Where stream events go (a fresh feed if not given). */
  events?: StreamEvents;
}

/** A reserved viewer place; release() is idempotent so every exit path may call it. */
export interface ViewerSlot {
  release(): void;
}

/**
 * The live streams, keyed by stream name; each holds its current ingest
 * session (keyed by request ID). Rule for a second publisher of a live name:
 * the newest wins (like a reconnecting encoder); the previous session ends with
 * reason "replaced" and its writer is refused from then on, so a late writer
 * can never overwrite a newer session.
 */
export class Registry {
  readonly #current = new Map<string, IngestSession>();
  readonly #viewerCounts = new Map<string, number>();
  /** Woken whenever a session starts or an output learns its tracks; each can be failed (server draining). */
  readonly #waiters = new Map<() => void, { name: string; fail: (error: Error) => void }>();
  readonly #emptied = new EmptySignal();
  readonly #logger: Logger;
  readonly #maxStreams: number;
  /** What happens to streams, for webhooks, WHEP server-sent events and metrics. */
  readonly events: StreamEvents;

  constructor(logger: Logger, options: RegistryOptions = {}) {
    this.#logger = logger;
    this.#maxStreams = options.maxStreams ?? Infinity;
    this.events = options.events ?? new StreamEvents(logger);
  }

  /** Starts a new ingest session for `name`, replacing any live one; a further name beyond MAX_STREAMS is refused. */
  startSession(name: string): IngestSession {
    assertStreamName(name);
    const previous = this.#current.get(name);
    if (!previous && this.#current.size >= this.#maxStreams) {
      throw new ServiceUnavailableError(
        `the server already has ${this.#current.size} live streams, its limit (MAX_STREAMS)`,
        10,
      );
    }
    const session = new IngestSession(name, this.#logger.child({ stream: name }));
    this.#current.set(name, session);
    const { requestId } = session;
    session.onEnd((reason) => {
      if (this.#current.get(name) === session) this.#current.delete(name);
      this.events.emit({ type: "stream.inactive", stream: name, requestId, reason });
      if (reason !== "replaced") this.events.emit({ type: "stream.ended", stream: name, requestId, reason });
      this.#wakeWaiters();
      if (this.#current.size === 0) this.#emptied.emptied();
    });
    session.output.whenReady().then(() => {
      this.events.emit({ type: "stream.active", stream: name, requestId });
      this.#wakeWaiters();
    }, () => {});
    session.logger.info("ingest session started", { replaces: previous?.requestId });
    previous?.end("replaced");
    this.events.emit({ type: "stream.started", stream: name, requestId });
    this.#wakeWaiters();
    return session;
  }

  /** The live session of a stream name, if any. */
  current(name: string): IngestSession | undefined {
    return this.#current.get(name);
  }

  /** The live session with this request ID, or throws StaleSessionError / NotFoundError. */
  currentWithRequestId(name: string, requestId: string): IngestSession {
    const session = this.#current.get(name);
    if (!session) throw new NotFoundError(`stream "${name}" is not live`);
    if (session.requestId !== requestId) {
      throw new StaleSessionError(`request ID ${requestId} is not the current session of stream "${name}"`);
    }
    return session;
  }

  list(): IngestSession[] {
    return [...this.#current.values()];
  }

  /** Resolves once no stream is live (at once if none is). */
  whenEmpty(): Promise<void> {
    return this.#emptied.wait(this.#current.size === 0);
  }

  /**
   * Resolves with the session once it exists and its output knows its tracks
   * (the PMT arrived). Event-driven: no polling. Rejects with NotFoundError on
   * timeout or an unknown pinned request ID, AbortedError on abort,
   * LimitReachedError when it would have to wait beyond `options.limits`.
   */
  waitForOutput(name: string, options: WaitOptions): Promise<IngestSession> {
    assertStreamName(name);
    const ready = this.#current.get(name);
    if (ready?.output.tracks && (!options.requestId || ready.requestId === options.requestId)) {
      return Promise.resolve(ready);
    }
    if (options.limits) this.#assertRoomToWait(name, options.limits);
    return new Promise((resolve, reject) => {
      const finish = (error: Error | undefined, session?: IngestSession) => {
        clearTimeout(timer);
        options.signal?.removeEventListener("abort", onAbort);
        this.#waiters.delete(check);
        if (error) reject(error);
        else resolve(session!);
      };
      const check = () => {
        const session = this.#current.get(name);
        if (options.requestId && session?.requestId !== options.requestId) {
          finish(new NotFoundError(`stream "${name}" has no live session with request ID ${options.requestId}`));
        } else if (session?.output.tracks) {
          finish(undefined, session);
        }
      };
      const onAbort = () => finish(new AbortedError(`the client stopped waiting for stream "${name}"`));
      const timer = setTimeout(() => {
        const state = this.#current.has(name) ? "is live but has sent no program map (PMT) yet" : "is not live";
        finish(new NotFoundError(`stream "${name}" ${state} after waiting ${options.timeoutMs} ms`));
      }, options.timeoutMs);
      if (options.signal?.aborted) return onAbort();
      options.signal?.addEventListener("abort", onAbort);
      this.#waiters.set(check, { name, fail: (error) => finish(error) });
      check();
    });
  }

  #assertRoomToWait(name: string, { perStream, total }: { perStream: number; total: number }): void {
    const forName = this.waitingFor(name);
    if (perStream > 0 && forName >= perStream) {
      throw new LimitReachedError(
        `stream "${name}" already has ${forName} requests waiting for it to go live (WHEP_MAX_WAITING_PER_STREAM)`,
      );
    }
    if (total > 0 && this.#waiters.size >= total) {
      throw new LimitReachedError(
        `the server already has ${this.#waiters.size} requests waiting for streams to go live (WHEP_MAX_WAITING)`,
      );
    }
  }

  /** Fails every wait now with `error` (the server is draining: nobody waits for what will not come). */
  failWaiters(error: Error): void {
    for (const { fail } of [...this.#waiters.values()]) fail(error);
  }

  /** Reserves a viewer place on `name`; `limit` 0 means unlimited. */
  reserveViewer(name: string, limit: number): ViewerSlot {
    const count = this.viewerCount(name);
    if (limit > 0 && count >= limit) {
      throw new LimitReachedError(`stream "${name}" already has ${count} of ${limit} viewers`);
    }
    this.#viewerCounts.set(name, count + 1);
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        const left = this.viewerCount(name) - 1;
        if (left > 0) this.#viewerCounts.set(name, left);
        else this.#viewerCounts.delete(name);
      },
    };
  }

  /** Requests waiting for any stream's output right now. */
  get waitingCount(): number {
    return this.#waiters.size;
  }

  /** Requests (WHEP POSTs) waiting for this stream's output right now. */
  waitingFor(name: string): number {
    let count = 0;
    for (const waiter of this.#waiters.values()) if (waiter.name === name) count++;
    return count;
  }

  viewerCount(name: string): number {
    return this.#viewerCounts.get(name) ?? 0;
  }

  /** Ends every session (server shutdown). */
  close(): void {
    for (const session of this.#current.values()) session.end("shutdown");
  }

  #wakeWaiters(): void {
    for (const check of [...this.#waiters.keys()]) check();
  }
}

export function assertStreamName(name: string): void {
  if (!STREAM_NAME_PATTERN.test(name)) {
    throw new BadRequestError(
      `stream name ${JSON.stringify(name)} is not valid: use 1-128 letters, digits, '.', '_', '~' or '-'`,
    );
  }
}
