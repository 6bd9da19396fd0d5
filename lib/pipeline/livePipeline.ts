import { concatBytes } from "../bytes.ts";
import type { Logger } from "../logger.ts";
import type { ScannedPacket } from "../mpegts/tsKeyframeScanner.ts";
import type { StreamEvents } from "../streamEvents.ts";
import type { PipelineAttempt, StartAttempt } from "./pipelineAttempt.ts";
import { startPassthrough } from "./passthroughAttempt.ts";
import { judgeAttempt } from "./attemptWatchdog.ts";
import { InputGop } from "./inputGop.ts";
import { StreamOutput } from "./streamOutput.ts";
import { SwapBudget } from "./swapBudget.ts";

/** A named pipeline as a publish uses it (lib/pipeline/pipelineKinds.ts builds it from PIPELINES). */
export interface PipelineDefinition {
  name: string;
  kind: "passthrough" | "command" | "runner";
  /** When the swap budget is spent: carry on unprocessed, or end the stream. */
  onFailure: "passthrough" | "end";
  start: StartAttempt;
}

/** The watchdogs' limits (go-livepeer's numbers are the defaults: lib/config.ts). */
export interface PipelineLimits {
  /** An attempt that has had input but no output for this long is replaced. */
  firstOutputTimeoutMs: number;
  /** An attempt whose output stopped this long while its input flows is replaced. */
  stallTimeoutMs: number;
  /** More input segments than this in flight to a worker: it is behind, replaced. */
  maxSegmentsInFlight: number;
  /** At most this many new attempts within `swapWindowMs`, then the fallback. */
  maxSwaps: number;
  swapWindowMs: number;
}

export type PipelineState = "starting" | "running" | "stalled" | "fallback" | "failed" | "finished";

export interface LivePipelineOptions {
  definition: PipelineDefinition;
  stream: string;
  requestId: string;
  params: Record<string, unknown>;
  limits: PipelineLimits;
  logger: Logger;
  events: StreamEvents;
  /** Each attempt's output as it starts: the stream hands it to viewers once it is ready. */
  onOutput(output: StreamOutput): void;
  /** The budget is spent and the pipeline says "end": the publish must end. */
  onGiveUp(reason: string): void;
  /** Latest input PTS (90 kHz), for the latency figure. */
  lastInputPts(): number | undefined;
  /** The input's latest PAT and PMT packets: what an attempt started mid-stream gets first. */
  programPackets(): Uint8Array[];
  /** Whether the input has a video track (a new attempt then starts at a keyframe; audio alone, at any frame). */
  inputHasVideo(): boolean;
  /** Asks the publisher for a keyframe (a WHIP publisher's PLI; a push has none): a new attempt starts at one. */
  requestKeyframe?(): void;
  now?: () => number;
  /** How often the watchdogs look; default WATCHDOG_TICK_MS. */
  watchdogTickMs?: number;
}

/** How often the watchdogs look. */
const WATCHDOG_TICK_MS = 1000;
/** Largest input GOP kept for a new attempt to start with at once: 8 s at 4 Mbit/s. */
const MAX_INPUT_GOP_BYTES = 4_000_000;
/** Worker events kept for the API. */
const KEPT_WORKER_EVENTS = 10;

interface Current {
  attempt: PipelineAttempt;
  output: StreamOutput;
  number: number;
  kind: PipelineDefinition["kind"];
  startedAt: number;
  lastOutputAt: number | undefined;
  /** Until a keyframe comes, input is held back: a process or worker started mid-stream must begin with PAT, PMT and a keyframe. */
  waitingForKeyframe: boolean;
  /** Input as whole scanned packets (started mid-stream, or a process/worker); else the bytes as they came. */
  wholePackets: boolean;
}

/**
 * The processing stage of one publish: attempts of its pipeline, each with
 * its own StreamOutput, and the watchdogs that replace an attempt that gives
 * no output, stalls or falls behind (issue 15; go-livepeer's
 * server/ai_live_video.go does the same for its workers). Input goes only to
 * the current attempt; a stopped attempt's output is ignored. The end of the
 * input never starts an attempt: it lets the current one finish.
 */
export class LivePipeline {
  readonly definition: PipelineDefinition;
  state: PipelineState = "starting";
  /** New attempts started after the first (restarts, swaps, the fallback). */
  swaps = 0;
  lastSwapReason: string | undefined;
  readonly workerEvents: Array<Record<string, unknown> & { at: string }> = [];
  #current: Current;
  #params: Record<string, unknown>;
  #lastInputAt: number | undefined;
  #inputEnded = false;
  #stopped = false;
  #watchdog: ReturnType<typeof setInterval> | undefined;
  readonly #options: LivePipelineOptions;
  readonly #budget: SwapBudget;
  readonly #now: () => number;
  /** The input since its latest keyframe (not kept for passthrough, which never swaps). */
  readonly #inputGop: InputGop | undefined;
  /** Input dropped by attempts that have ended, so the figure does not go back at a swap. */
  #droppedBefore = { bytes: 0, drops: 0 };

  constructor(options: LivePipelineOptions) {
    this.#options = options;
    this.definition = options.definition;
    this.#params = { ...options.params };
    this.#now = options.now ?? (() => performance.now());
    this.#budget = new SwapBudget(options.limits.maxSwaps, options.limits.swapWindowMs, this.#now);
    this.#inputGop = options.definition.kind === "passthrough" ? undefined : new InputGop(MAX_INPUT_GOP_BYTES);
    this.#current = this.#startAttempt(1, options.definition.kind, options.definition.start);
    if (options.definition.kind !== "passthrough") {
      this.#watchdog = setInterval(() => this.#watch(), options.watchdogTickMs ?? WATCHDOG_TICK_MS);
    }
  }

  get attempt(): number {
    return this.#current.number;
  }

  get output(): StreamOutput {
    return this.#current.output;
  }

  /** How long the current attempt has run, in ms. */
  get attemptAgeMs(): number {
    return this.#now() - this.#current.startedAt;
  }

  /**
   * The publisher's MPEG-TS, to the current attempt: passthrough gets the
   * bytes as they came; a process or worker gets whole packets, from
   * PAT + PMT and a keyframe on when it started mid-stream.
   */
  write(chunk: Uint8Array, packets: ScannedPacket[]): void {
    if (this.#stopped || this.#inputEnded) return;
    this.#lastInputAt = this.#now();
    this.#inputGop?.add(packets);
    const current = this.#current;
    if (!current.wholePackets) return current.attempt.write(chunk);
    let from = 0;
    if (current.waitingForKeyframe) {
      // Video starts at a keyframe; audio alone at any frame.
      from = packets.findIndex((p) => this.#options.inputHasVideo() ? p.keyframe : p.pts !== undefined);
      const program = this.#options.programPackets();
      if (from < 0 || program.length === 0) return;
      current.waitingForKeyframe = false;
      current.attempt.write(concatBytes(program));
    }
    if (from < packets.length) current.attempt.write(concatBytes(packets.slice(from).map((p) => p.bytes)));
  }

  /** Settles when the current attempt's output has ended after endInput(), or after `timeoutMs`. */
  async flushed(timeoutMs: number): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
    await Promise.race([this.#current.attempt.done, late]);
    clearTimeout(timer);
  }

  /** The publish ended: the current attempt finishes what it has, its output ends, and no attempt follows. */
  endInput(): void {
    if (this.#stopped || this.#inputEnded) return;
    this.#inputEnded = true;
    this.#stopWatchdog();
    const current = this.#current;
    current.attempt.endInput();
    void current.attempt.done.then(() => {
      current.output.end();
      if (this.state !== "failed") this.state = "finished";
    });
  }

  /** Ends now (a replacement, the stream ended for good, shutdown): the attempt is stopped and its output closed. */
  stop(reason: string): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#stopWatchdog();
    if (this.state !== "failed") this.state = "finished";
    void this.#current.attempt.stop(reason);
    this.#current.output.end();
  }

  /** New params for the worker (runner pipelines); kept for later attempts too. */
  updateParams(params: Record<string, unknown>): boolean {
    this.#params = { ...this.#params, ...params };
    if (!this.#current.attempt.updateParams) return false;
    this.#current.attempt.updateParams(params);
    return true;
  }

  /** For /api/streams/{name}. */
  describe() {
    const { attempt, number, kind, lastOutputAt } = this.#current;
    const stats = attempt.stats();
    const inputPts = this.#options.lastInputPts();
    const outputPts = this.#current.output.lastPts;
    const now = this.#now();
    return {
      name: this.definition.name,
      kind: this.definition.kind,
      attemptKind: kind,
      attempt: number,
      state: this.state,
      restarts: this.swaps,
      lastSwapReason: this.lastSwapReason ?? null,
      lastOutputMsAgo: lastOutputAt === undefined ? null : Math.round(now - lastOutputAt),
      // go-livepeer PR 3829: last input PTS minus last output PTS.
      latencyMs: inputPts !== undefined && outputPts !== undefined ? Math.round((inputPts - outputPts) / 90) : null,
      inputDroppedBytes: this.#droppedBefore.bytes + stats.inputDroppedBytes,
      inputDrops: this.#droppedBefore.drops + stats.inputDrops,
      inputSegmentsInFlight: stats.inputSegmentsInFlight,
      params: this.#params,
      workerEvents: this.workerEvents,
    };
  }

  #startAttempt(number: number, kind: PipelineDefinition["kind"], start: StartAttempt): Current {
    const { stream, requestId, logger } = this.#options;
    const output = new StreamOutput({ logger: logger.child({ attempt: number }) });
    const current: Current = {
      attempt: undefined!,
      output,
      number,
      kind,
      startedAt: this.#now(),
      lastOutputAt: undefined,
      // The first attempt of a publish starts with its first byte; a later one mid-stream.
      waitingForKeyframe: number > 1,
      wholePackets: number > 1 || kind !== "passthrough",
    };
    const isCurrent = () => this.#current === current && !this.#stopped;
    current.attempt = start({
      stream,
      requestId,
      attempt: number,
      params: this.#params,
      logger: logger.child({ attempt: number }),
      output: (chunk) => {
        if (!isCurrent()) return; // a stale attempt's output: refused
        current.lastOutputAt = this.#now();
        if (this.state === "starting" || this.state === "stalled") {
          this.state = kind === "passthrough" && number > 1 ? "fallback" : "running";
        }
        output.write(chunk);
      },
      failed: (reason) => {
        if (isCurrent() && !this.#inputEnded) this.#replace(`attempt ${number} failed: ${reason}`);
      },
      workerEvent: (event) => {
        if (!isCurrent()) return;
        logger.info("worker event", { attempt: number, event: JSON.stringify(event).slice(0, 500) });
        this.workerEvents.push({ ...event, at: new Date().toISOString() });
        if (this.workerEvents.length > KEPT_WORKER_EVENTS) this.workerEvents.shift();
      },
    });
    this.#current = current;
    this.#options.onOutput(output);
    if (number > 1) this.#replayInputGop(current);
    return current;
  }

  /** A mid-stream attempt starts at once with PAT, PMT and the input since its latest keyframe, when there is one. */
  #replayInputGop(current: Current): void {
    const gop = this.#inputGop?.packets ?? [];
    const program = this.#options.programPackets();
    if (gop.length === 0 || program.length === 0) return;
    current.waitingForKeyframe = false;
    current.attempt.write(concatBytes([...program, ...gop]));
  }

  /** The watchdogs (issue 15 item 4, lib/pipeline/attemptWatchdog.ts) on the current attempt. */
  #watch(): void {
    if (this.#stopped || this.#inputEnded || this.#current.kind === "passthrough") return;
    const { attempt, startedAt, lastOutputAt } = this.#current;
    const verdict = judgeAttempt(
      {
        startedAt,
        lastOutputAt,
        lastInputAt: this.#lastInputAt,
        inputSegmentsInFlight: attempt.stats().inputSegmentsInFlight,
      },
      this.#options.limits,
      this.#now(),
    );
    // "stalled" is said in the API before a swap; the next output makes it "running" again.
    if (verdict === "stalled" && this.state === "running") this.state = "stalled";
    else if (typeof verdict === "object") this.#replace(verdict.replace);
  }

  /** A new attempt in place of the current one, or the fallback once the budget is spent. */
  #replace(reason: string): void {
    const previous = this.#current;
    const { logger, limits, stream, requestId, events } = this.#options;
    const stats = previous.attempt.stats();
    this.#droppedBefore = {
      bytes: this.#droppedBefore.bytes + stats.inputDroppedBytes,
      drops: this.#droppedBefore.drops + stats.inputDrops,
    };
    const canSwap = previous.kind !== "passthrough" && this.#budget.take();
    this.lastSwapReason = reason;
    void previous.attempt.stop(reason);
    previous.output.end();
    if (!canSwap && this.definition.onFailure === "end") {
      this.state = "failed";
      logger.error("pipeline failed: no swaps left, the stream ends", { reason, maxSwaps: limits.maxSwaps });
      this.#stopped = true;
      this.#stopWatchdog();
      return this.#options.onGiveUp(`pipeline "${this.definition.name}" failed: ${reason}`);
    }
    this.swaps++;
    const number = previous.number + 1;
    if (canSwap) {
      logger.warn("pipeline attempt replaced", { reason, attempt: number });
      this.state = "starting";
      try {
        this.#current = this.#startAttempt(number, this.definition.kind, this.definition.start);
      } catch (error) {
        // It could not even start (no process, no channels left): no point in the rest of the budget.
        logger.error("pipeline falls back to passthrough: a new attempt could not start", { error: String(error) });
        this.lastSwapReason = `attempt ${number} could not start: ${(error as Error).message}`;
        this.state = "fallback";
        this.#stopWatchdog();
        this.#current = this.#startAttempt(number, "passthrough", startPassthrough);
      }
    } else {
      logger.error("pipeline falls back to passthrough: no swaps left", {
        reason,
        maxSwaps: limits.maxSwaps,
        windowMs: limits.swapWindowMs,
      });
      this.state = "fallback";
      this.#stopWatchdog();
      this.#current = this.#startAttempt(number, "passthrough", startPassthrough);
    }
    this.#options.requestKeyframe?.(); // the new attempt waits for one: sooner from a publisher that can make one
    events.emit({ type: "pipeline.swapped", stream, requestId, attempt: number, reason });
  }

  #stopWatchdog(): void {
    clearInterval(this.#watchdog);
    this.#watchdog = undefined;
  }
}
