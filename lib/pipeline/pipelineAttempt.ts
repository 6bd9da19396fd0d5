import type { Logger } from "../logger.ts";

/**
 * One attempt of a stream's processing pipeline: MPEG-TS from the publisher
 * in, processed MPEG-TS out. A stream's pipeline (lib/pipeline/livePipeline.ts)
 * starts attempt 1 when a publish begins and a further attempt when a
 * watchdog gives up on the current one (restart a command, swap a worker).
 * Every attempt is tied to its (request ID, attempt): once it is stopped, its
 * output is ignored, whatever still arrives.
 */
export interface AttemptContext {
  stream: string;
  /** The publish (ingest session) this attempt processes. */
  requestId: string;
  /** 1 for the first attempt of a publish, then 2, 3, ... */
  attempt: number;
  /** The publisher's initial params (?params=), merged over the pipeline's own. */
  params: Record<string, unknown>;
  /** Carries stream, requestId and attempt. */
  logger: Logger;
  /** Processed MPEG-TS, in any chunking. Ignored once the attempt was stopped. */
  output(chunk: Uint8Array): void;
  /** The attempt ended by itself before its input did (the process exited, the worker refused): why. */
  failed(reason: string): void;
  /** An event the worker reported (runner pipelines): logged and shown in the API. */
  workerEvent?(event: Record<string, unknown>): void;
}

/** What the watchdogs and the API read from an attempt. */
export interface AttemptStats {
  /** Input bytes dropped because the pipeline could not take them (skipped to the next keyframe). */
  inputDroppedBytes: number;
  /** Times the input skipped to a next keyframe. */
  inputDrops: number;
  /** Input segments handed to a worker and not yet read by it (runner pipelines; 0 otherwise). */
  inputSegmentsInFlight: number;
}

export interface PipelineAttempt {
  /** MPEG-TS from the publisher. Never blocks ingest: when the pipeline is behind, input is dropped up to the next keyframe and counted. */
  write(chunk: Uint8Array): void;
  /** The input ended: the pipeline may still flush output; `done` settles when its output has ended. */
  endInput(): void;
  /** Stops at once (a swap, the publish ended for good, shutdown): kills the process / closes the channels. Idempotent. */
  stop(reason: string): Promise<void>;
  /** Settles (never rejects) when the attempt's output has ended, whatever ended it. */
  readonly done: Promise<void>;
  /** New params for the running pipeline (runner pipelines send them on the control channel). */
  updateParams?(params: Record<string, unknown>): void;
  stats(): AttemptStats;
}

/** Starts an attempt; throws (BadRequestError / an Error) when it cannot start at all. */
export type StartAttempt = (context: AttemptContext) => PipelineAttempt;
