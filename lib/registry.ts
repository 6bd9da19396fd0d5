import type { Logger } from "./logger.ts";
import { IngestSession } from "./ingestSession.ts";
import { AbortedError, BadRequestError, LimitReachedError, NotFoundError, StaleSessionError } from "./errors.ts";
import { STREAM_NAME_PATTERN } from "./ids.ts";

export interface WaitOptions {
  /** Pin one ingest session; without it the stream's current session is meant. */
  requestId?: string;
  /** How long to wait for output, in ms. */
  timeoutMs: number;
  /** Aborts the wait (the client went away). */
  signal?: AbortSignal;
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
  /** Woken whenever a session starts or an output learns its tracks. */
  readonly #waiters = new Map<() => void, string>();
  readonly #logger: Logger;

  constructor(logger: Logger) {
    this.#logger = logger;
  }

  /** Starts a new ingest session for `name`, replacing any live one. */
  startSession(name: string): IngestSession {
    assertStreamName(name);
    const previous = this.#current.get(name);
    const session = new IngestSession(name, this.#logger.child({ stream: name }));
    this.#current.set(name, session);
    session.onEnd(() => {
      if (this.#current.get(name) === session) this.#current.delete(name);
      this.#wakeWaiters();
    });
    session.output.whenReady().then(() => this.#wakeWaiters(), () => {});
    session.logger.info("ingest session started", { replaces: previous?.requestId });
    previous?.end("replaced");
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

  /**
   * Resolves with the session once it exists and its output knows its tracks
   * (the PMT arrived). Event-driven: no polling. Rejects with NotFoundError on
   * timeout or an unknown pinned request ID, AbortedError on abort.
   */
  waitForOutput(name: string, options: WaitOptions): Promise<IngestSession> {
    assertStreamName(name);
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
      this.#waiters.set(check, name);
      check();
    });
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

  /** Requests (WHEP POSTs) waiting for this stream's output right now. */
  waitingFor(name: string): number {
    let count = 0;
    for (const waitingName of this.#waiters.values()) if (waitingName === name) count++;
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
