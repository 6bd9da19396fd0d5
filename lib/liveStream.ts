import type { TrackInfo } from "./accessUnit.ts";
import type { EndReason, IngestSession } from "./ingest/ingestSession.ts";
import type { Logger } from "./logger.ts";
import { LivePipeline, type PipelineDefinition, type PipelineLimits } from "./pipeline/livePipeline.ts";
import type { StreamOutput } from "./pipeline/streamOutput.ts";
import type { StreamEvents } from "./streamEvents.ts";

export type LiveStreamState = "live" | "reconnecting" | "ended";

export interface LiveStreamOptions {
  name: string;
  logger: Logger;
  events: StreamEvents;
  limits: PipelineLimits;
  /** How long the stream (and its viewers) waits for its publisher to come back (RECONNECT_GRACE_MS). */
  reconnectGraceMs: number;
}

/** What a publish asks of the stream: its pipeline and initial params. */
export interface PublishOptions {
  pipeline: PipelineDefinition;
  params: Record<string, unknown>;
}

/** Input end reasons after which the publisher may come back (the others end the stream at once). */
const RECONNECTABLE: ReadonlySet<EndReason> = new Set(["finished", "error", "idle"]);
/** How long a pipeline may take to flush its output after its input ended, before the stream ends anyway. */
const PIPELINE_FLUSH_MS = 5000;

/**
 * A stream name's life, across publishes: input (the current ingest session)
 * → pipeline (its attempts) → output (the current attempt's StreamOutput,
 * what viewers play). Viewers follow it through every swap: a pipeline
 * restart, a worker swap, a replacement push, and a publisher that comes back
 * within the reconnect grace (issue 15 item 5). It ends when its input ended
 * and nobody came back in time, or when it is ended (DELETE, shutdown).
 */
export class LiveStream {
  readonly name: string;
  readonly startedAt = new Date();
  readonly logger: Logger;
  state: LiveStreamState = "live";
  endReason: string | undefined;
  /** The current publish; undefined while reconnecting. */
  input: IngestSession | undefined;
  pipeline: LivePipeline | undefined;
  /** What viewers play now; undefined until the first publish's output exists. */
  output: StreamOutput | undefined;
  /** Things viewers should know about (a track a live viewer cannot get). */
  readonly warnings: string[] = [];
  readonly #options: LiveStreamOptions;
  /** The request ID of the publish that owns `output`. */
  #outputRequestId: string | undefined;
  readonly #changeListeners = new Set<() => void>();
  #graceTimer: ReturnType<typeof setTimeout> | undefined;
  #lastInputRequestId = "";
  #hadOutput = false;
  /** Whether viewers are being sent media (an output is ready and current). */
  #active = false;

  constructor(options: LiveStreamOptions) {
    this.#options = options;
    this.name = options.name;
    this.logger = options.logger;
  }

  get ended(): boolean {
    return this.state === "ended";
  }

  /** Whether viewers are being sent media now (between stream.active and stream.inactive). */
  get active(): boolean {
    return this.#active;
  }

  /** The request ID of the current (or, while reconnecting, the last) publish. */
  get requestId(): string {
    return this.input?.requestId ?? this.#lastInputRequestId;
  }

  /** The request ID of the publish whose output viewers play now. */
  get outputRequestId(): string | undefined {
    return this.#outputRequestId;
  }

  /** A new publish of this name: the first, a replacement (the previous one already ended "replaced") or a reconnect. */
  attach(session: IngestSession, publish: PublishOptions): void {
    if (this.ended) throw new Error(`stream "${this.name}" has ended; a new publish needs a new stream`);
    clearTimeout(this.#graceTimer);
    this.#graceTimer = undefined;
    const wasReconnecting = this.state === "reconnecting";
    this.pipeline?.stop("a new publish took over");
    this.state = "live";
    this.input = session;
    this.#lastInputRequestId = session.requestId;
    const { events, limits } = this.#options;
    const pipeline = new LivePipeline({
      definition: publish.pipeline,
      stream: this.name,
      requestId: session.requestId,
      params: publish.params,
      limits,
      logger: session.logger,
      events,
      onOutput: (output) => this.#useOutput(output, session.requestId),
      onGiveUp: (reason) => this.end(reason, "error"),
      lastInputPts: () => session.lastInputPts,
      programPackets: () => session.programPackets(),
      requestKeyframe: () => session.requestKeyframe(),
      inputHasVideo: () => session.inputHasVideo,
    });
    this.pipeline = pipeline;
    session.attachSink(pipeline);
    session.onEnd((reason) => this.#inputEnded(session, reason));
    if (wasReconnecting) this.logger.info("the publisher is back within the grace", { requestId: session.requestId });
  }

  /** Ask the current publisher for a keyframe (a viewer joined or lost its picture). */
  requestKeyframe(): void {
    this.input?.requestKeyframe();
  }

  /**
   * The output to play after `previous` (undefined: any ready one): resolves
   * once a different output is ready, or with undefined when the stream
   * ended or `signal` aborted (the viewer closed while it waited).
   * `requestId` pins the publish: another publish's output ends the wait.
   */
  nextOutput(
    previous: StreamOutput | undefined,
    options: { requestId?: string | undefined; signal?: AbortSignal } = {},
  ): Promise<StreamOutput | undefined> {
    const { requestId, signal } = options;
    return new Promise((resolve) => {
      const check = () => {
        const output = this.output;
        const pinnedAway = requestId !== undefined && this.requestId !== requestId;
        if (this.ended || pinnedAway || signal?.aborted) finish(undefined);
        else if (output && output !== previous && output.ready && !output.closed) finish(output);
      };
      const finish = (output: StreamOutput | undefined) => {
        this.#changeListeners.delete(check);
        signal?.removeEventListener("abort", check);
        resolve(output);
      };
      this.#changeListeners.add(check);
      signal?.addEventListener("abort", check);
      check();
    });
  }

  /** Calls `listener` on every change of input, output readiness or state; returns the unsubscribe. */
  onChange(listener: () => void): () => void {
    this.#changeListeners.add(listener);
    return () => this.#changeListeners.delete(listener);
  }

  /** Ends the stream for good: its pipeline stops, its output closes, viewers end; a live publish ends with `inputReason`. */
  end(reason: string, inputReason: EndReason = "deleted"): void {
    if (this.ended) return;
    this.state = "ended";
    this.endReason = reason;
    clearTimeout(this.#graceTimer);
    this.#graceTimer = undefined;
    this.pipeline?.stop(reason);
    this.output?.end();
    this.input?.end(inputReason);
    this.logger.info("stream ended", { reason });
    this.#setActive(false, this.requestId, reason);
    this.#changed();
  }

  /** stream.active / stream.inactive, once per change: media started, or stopped (a swap, a reconnect, the end). */
  #setActive(active: boolean, requestId: string | undefined, reason = ""): void {
    if (active === this.#active || requestId === undefined) return;
    this.#active = active;
    const { events } = this.#options;
    if (active) events.emit({ type: "stream.active", stream: this.name, requestId });
    else events.emit({ type: "stream.inactive", stream: this.name, requestId, reason });
  }

  #useOutput(output: StreamOutput, requestId: string): void {
    const previous = this.output;
    const hadRequestId = this.#outputRequestId;
    this.output = output;
    this.#outputRequestId = requestId;
    if (previous && !previous.closed) previous.end();
    this.#setActive(false, hadRequestId, "the pipeline started a new attempt");
    output.whenReady().then((tracks) => {
      if (this.output !== output) return; // already replaced by a later attempt's
      this.#noteTrackChanges(previous, tracks.map((t) => t.kind));
      this.#hadOutput = true;
      this.#setActive(true, requestId);
      this.#changed();
    }, () => {});
    this.#changed();
  }

  /** A new output's tracks against what live viewers negotiated: a new kind cannot be added to them. */
  #noteTrackChanges(previous: StreamOutput | undefined, kinds: ReadonlyArray<TrackInfo["kind"]>): void {
    if (!previous?.tracks) return;
    const before = new Set(previous.tracks.filter((t) => t.playable).map((t) => t.kind));
    for (const kind of kinds) {
      if (before.has(kind)) continue;
      const warning =
        `the new output has ${kind} that the stream had not: viewers who joined before cannot get it (a new WHEP session can)`;
      this.logger.warn(warning);
      if (!this.warnings.includes(warning)) this.warnings.push(warning);
    }
  }

  #inputEnded(session: IngestSession, reason: EndReason): void {
    if (this.input !== session) return; // replaced: the new publish is attached already
    this.input = undefined;
    if (this.ended) return;
    const pipeline = this.pipeline;
    pipeline?.endInput();
    if (!RECONNECTABLE.has(reason)) return this.end(reason);
    const grace = this.#options.reconnectGraceMs;
    if (grace <= 0 || !this.#hadOutput) {
      // The pipeline's output flushes first (a process's last frames); a publisher back by then carries on.
      void pipeline?.flushed(PIPELINE_FLUSH_MS).then(() => {
        if (!this.input && this.pipeline === pipeline) this.end(reason);
      });
      return;
    }
    this.state = "reconnecting";
    this.logger.info("publisher gone: waiting for it to come back", { reason, graceMs: grace });
    this.#setActive(false, session.requestId, `the publisher left (${reason})`);
    this.#graceTimer = setTimeout(() => this.end(`${reason}; no publisher came back within ${grace} ms`), grace);
    this.#changed();
  }

  #changed(): void {
    for (const listener of [...this.#changeListeners]) listener();
  }
}
