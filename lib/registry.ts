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
import { LiveStream, type PublishOptions } from "./liveStream.ts";
import type { PipelineLimits } from "./pipeline/livePipeline.ts";
import { startPassthrough } from "./pipeline/passthroughAttempt.ts";

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
  /** How long a stream waits for its publisher to come back (RECONNECT_GRACE_MS); default 0. */
  reconnectGraceMs?: number;
  /** The pipeline watchdogs' limits (lib/config.ts has the defaults). */
  pipelineLimits?: PipelineLimits;
}

/** Without a pipeline named, a publish plays as it comes. */
export const PASSTHROUGH: PublishOptions = {
  pipeline: { name: "passthrough", kind: "passthrough", onFailure: "passthrough", start: startPassthrough },
  params: {},
};

const DEFAULT_PIPELINE_LIMITS: PipelineLimits = {
  firstOutputTimeoutMs: 15_000,
  stallTimeoutMs: 10_000,
  maxSegmentsInFlight: 3,
  maxSwaps: 2,
  swapWindowMs: 180_000,
};

/** A reserved viewer place; release() is idempotent so every exit path may call it. */
export interface ViewerSlot {
  release(): void;
}

/**
 * The live streams, keyed by stream name (lib/liveStream.ts); each holds its
 * current publish (an ingest session, keyed by request ID), its pipeline and
 * its output. Rule for a second publisher of a live name: the newest wins
 * (like a reconnecting encoder); the previous session ends with reason
 * "replaced" and its writer is refused from then on, so a late writer can
 * never overwrite a newer session. Viewers stay with the stream.
 */
export class Registry {
  readonly #current = new Map<string, LiveStream>();
  readonly #viewerCounts = new Map<string, number>();
  /** Woken whenever a session starts or an output learns its tracks; each can be failed (server draining). */
  readonly #waiters = new Map<() => void, { name: string; fail: (error: Error) => void }>();
  readonly #emptied = new EmptySignal();
  readonly #logger: Logger;
  readonly #maxStreams: number;
  readonly #reconnectGraceMs: number;
  readonly #pipelineLimits: PipelineLimits;
  /** What happens to streams, for webhooks, WHEP server-sent events and metrics. */
  readonly events: StreamEvents;

  constructor(logger: Logger, options: RegistryOptions = {}) {
    this.#logger = logger;
    this.#maxStreams = options.maxStreams ?? Infinity;
    this.events = options.events ?? new StreamEvents(logger);
    this.#reconnectGraceMs = options.reconnectGraceMs ?? 0;
    this.#pipelineLimits = options.pipelineLimits ?? DEFAULT_PIPELINE_LIMITS;
  }

  /**
   * Starts a new publish of `name` through `publish`'s pipeline: a new stream,
   * or the next publish of a live one (a replacement, or a reconnect within
   * the grace). A further name beyond MAX_STREAMS is refused.
   */
  startSession(name: string, publish: PublishOptions = PASSTHROUGH): IngestSession {
    assertStreamName(name);
    let stream = this.#current.get(name);
    if (!stream && this.#current.size >= this.#maxStreams) {
      throw new ServiceUnavailableError(
        `the server already has ${this.#current.size} live streams, its limit (MAX_STREAMS)`,
        10,
      );
    }
    const previous = stream?.input;
    const session = new IngestSession(name, stream?.logger ?? this.#logger.child({ stream: name }));
    if (!stream) stream = this.#newStream(name);
    session.logger.info("ingest session started", {
      replaces: previous?.requestId,
      pipeline: publish.pipeline.name,
    });
    stream.attach(session, publish); // first: the previous publish's end is then a replacement, not the stream's end
    previous?.end("replaced");
    this.#wakeWaiters();
    return session;
  }

  #newStream(name: string): LiveStream {
    const stream = new LiveStream({
      name,
      logger: this.#logger.child({ stream: name }),
      events: this.events,
      limits: this.#pipelineLimits,
      reconnectGraceMs: this.#reconnectGraceMs,
    });
    this.#current.set(name, stream);
    stream.onChange(() => {
      if (stream.ended && this.#current.get(name) === stream) {
        this.#current.delete(name);
        this.events.emit({
          type: "stream.ended",
          stream: name,
          requestId: stream.requestId,
          reason: stream.endReason!,
        });
        if (this.#current.size === 0) this.#emptied.emptied();
      }
      this.#wakeWaiters();
    });
    queueMicrotask(() => this.events.emit({ type: "stream.started", stream: name, requestId: stream.requestId }));
    return stream;
  }

  /** The current publish (ingest session) of a stream name, if one is live. */
  current(name: string): IngestSession | undefined {
    return this.#current.get(name)?.input;
  }

  /** The stream of this name while it lives (publishing, or waiting for its publisher to come back). */
  stream(name: string): LiveStream | undefined {
    return this.#current.get(name);
  }

  /** The live publish with this request ID, or throws StaleSessionError / NotFoundError. */
  currentWithRequestId(name: string, requestId: string): IngestSession {
    const session = this.current(name);
    if (!session) throw new NotFoundError(`stream "${name}" is not live`);
    if (session.requestId !== requestId) {
      throw new StaleSessionError(`request ID ${requestId} is not the current session of stream "${name}"`);
    }
    return session;
  }

  list(): LiveStream[] {
    return [...this.#current.values()];
  }

  /** Resolves once no stream is live (at once if none is). */
  whenEmpty(): Promise<void> {
    return this.#emptied.wait(this.#current.size === 0);
  }

  /**
   * Resolves with the stream once its output is ready (program known and,
   * with video, a first keyframe). Event-driven: no polling. Rejects with
   * NotFoundError on timeout (saying why) or an unknown pinned request ID,
   * AbortedError on abort, LimitReachedError when it would have to wait
   * beyond `options.limits`.
   */
  waitForOutput(name: string, options: WaitOptions): Promise<LiveStream> {
    assertStreamName(name);
    // Output of a publish that is still on: not the last of one that left (it is flushing, or the stream reconnecting).
    const isReady = (stream: LiveStream | undefined) =>
      stream?.input && stream.output?.ready && stream.outputRequestId === stream.input.requestId &&
      (!options.requestId || stream.outputRequestId === options.requestId);
    const ready = this.#current.get(name);
    if (isReady(ready)) return Promise.resolve(ready!);
    if (options.limits) this.#assertRoomToWait(name, options.limits);
    return new Promise((resolve, reject) => {
      const finish = (error: Error | undefined, stream?: LiveStream) => {
        clearTimeout(timer);
        options.signal?.removeEventListener("abort", onAbort);
        this.#waiters.delete(check);
        if (error) reject(error);
        else resolve(stream!);
      };
      const check = () => {
        const stream = this.#current.get(name);
        if (options.requestId && stream?.requestId !== options.requestId) {
          finish(new NotFoundError(`stream "${name}" has no live session with request ID ${options.requestId}`));
        } else if (isReady(stream)) {
          finish(undefined, stream);
        }
      };
      const onAbort = () => finish(new AbortedError(`the client stopped waiting for stream "${name}"`));
      const timer = setTimeout(() => {
        const why = whyNoOutput(this.#current.get(name));
        finish(new NotFoundError(`stream "${name}" ${why} after waiting ${options.timeoutMs} ms`));
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

  /** Ends every stream (server shutdown). */
  close(): void {
    for (const stream of [...this.#current.values()]) {
      stream.input?.end("shutdown");
      stream.end("shutdown");
    }
  }

  #wakeWaiters(): void {
    for (const check of [...this.#waiters.keys()]) check();
  }
}

/** Why a stream has no output to play yet, for the 404 of a WHEP POST that waited. */
function whyNoOutput(stream: LiveStream | undefined): string {
  if (!stream) return "is not live";
  if (stream.state === "reconnecting") return "is waiting for its publisher to come back";
  const pipeline = stream.pipeline;
  if (!stream.output?.tracks) {
    if (pipeline && pipeline.definition.kind !== "passthrough") {
      const seconds = Math.round(pipeline.attemptAgeMs / 1000);
      return `is live but pipeline "${pipeline.definition.name}" has produced no output for ${seconds} s (attempt ${pipeline.attempt})`;
    }
    return "is live but has sent no program map (PMT) yet";
  }
  return "is live but its output has had no keyframe yet";
}

export function assertStreamName(name: string): void {
  if (!STREAM_NAME_PATTERN.test(name)) {
    throw new BadRequestError(
      `stream name ${JSON.stringify(name)} is not valid: use 1-128 letters, digits, '.', '_', '~' or '-'`,
    );
  }
}
