/**
 * A runner pipeline (issue 15): each attempt hands the stream to a
 * live-video worker with livepeer ai-runner's API over trickle channels that
 * Wisp hosts itself, as go-livepeer's orchestrator does (server/ai_http.go):
 * four fresh unguessable channels per attempt (input MPEG-TS, output, control,
 * events), then `POST {runner}/live-video-to-video` naming them. The worker
 * subscribes to the input and publishes to the output; Wisp writes the
 * input and reads the output in process (no HTTP on its side).
 */
import { isJsonObject } from "../jsonObject.ts";
import { unguessableId } from "../ids.ts";
import type { Logger } from "../logger.ts";
import { ChannelSubscriber } from "../trickle/channelSubscriber.ts";
import type { TrickleChannel } from "../trickle/trickleChannel.ts";
import { SEQ_NEXT } from "../trickle/trickleProtocol.ts";
import { segmentChunks, type TrickleSegment } from "../trickle/trickleSegment.ts";
import type { TrickleServer } from "../trickle/trickleServer.ts";
import type { AttemptContext, AttemptStats, PipelineAttempt, StartAttempt } from "./pipelineAttempt.ts";
import { type LiveVideoToVideoRequest, startRunner } from "./runnerStart.ts";
import { type SegmentPiece, TsSegmenter } from "./tsSegmenter.ts";

export interface RunnerPipelineOptions {
  /** The worker's base URL (PIPELINES `"runner"`), without a trailing slash. */
  runner: string;
  /** Sent as `Authorization: Bearer` (the worker's AUTH_TOKEN). */
  token?: string | undefined;
  /** The worker's `model_id`; empty lets it run its own pipeline. */
  modelId?: string | undefined;
  /** The pipeline's own params; each attempt's (the publisher's) are merged over them. */
  params?: Readonly<Record<string, unknown>>;
  /** The server that hosts the channels (AppContext.trickle). */
  trickle: TrickleServer;
  /** Where the worker reaches Wisp (see trickleBaseUrl); a function is read at each attempt's start. */
  publicUrl: string | (() => string);
  /** How long the worker has to answer its start (RUNNER_START_TIMEOUT_MS). */
  startTimeoutMs: number;
  /** Shortest input segment in media time, ms (default 1000, as issue 15 asks). */
  minSegmentMs?: number;
  /** How often `{"keep":"alive"}` goes to the control channel, ms (default 10000, as go-livepeer). */
  keepaliveMs?: number;
}

const DEFAULT_MIN_SEGMENT_MS = 1000;
const DEFAULT_KEEPALIVE_MS = 10_000;
/** ai-runner ignores this control message; it keeps the control subscription from waiting idle. */
const KEEPALIVE = { keep: "alive" };
/** An event is one small JSON segment; a bigger one is skipped (and logged). */
const MAX_EVENT_BYTES = 64 * 1024;

/** The base URL of Wisp's trickle routes as a worker reaches them: TRICKLE_PUBLIC_URL, or loopback on the listening port. */
export function trickleBaseUrl(configured: string | undefined, listeningPort: number): string {
  return configured ?? `http://127.0.0.1:${listeningPort}`;
}

/** The runner pipeline's StartAttempt: one RunnerAttempt per attempt. */
export function runnerAttempts(options: RunnerPipelineOptions): StartAttempt {
  return (context) => new RunnerAttempt(options, context);
}

/** The four channels of one attempt. */
interface AttemptChannels {
  input: TrickleChannel;
  output: TrickleChannel;
  control: TrickleChannel;
  events: TrickleChannel;
}

/**
 * One attempt: the input cut into segments (tsSegmenter.ts) and written to
 * the input channel without ever waiting for the worker (the window of 5
 * drops what it does not read, counted); the output channel's bytes passed on
 * as they arrive; events parsed and reported; params and keepalives on the
 * control channel. Ends when the output channel ends (the worker closed it,
 * or stop()); the channels are removed then, so a late request gets 404.
 */
export class RunnerAttempt implements PipelineAttempt {
  readonly done: Promise<void>;
  readonly #options: RunnerPipelineOptions;
  readonly #context: AttemptContext;
  readonly #logger: Logger;
  readonly #channels: AttemptChannels;
  readonly #segmenter: TsSegmenter;
  readonly #abort = new AbortController();
  readonly #keepalive: ReturnType<typeof setInterval>;
  #current: TrickleSegment | undefined;
  #inputEnded = false;
  /** Torn down: channels removed, nothing more is read or written. */
  #finished = false;

  constructor(options: RunnerPipelineOptions, context: AttemptContext) {
    this.#options = options;
    this.#context = context;
    this.#logger = context.logger.child({ pipeline: "runner" });
    this.#channels = createChannels(options.trickle);
    this.#segmenter = new TsSegmenter({
      minSegmentMs: options.minSegmentMs ?? DEFAULT_MIN_SEGMENT_MS,
      maxSegmentBytes: options.trickle.limits.maxSegmentBytes,
    });
    this.done = this.#pumpOutput();
    void this.#pumpEvents();
    this.#keepalive = setInterval(() => this.#sendControl(KEEPALIVE), options.keepaliveMs ?? DEFAULT_KEEPALIVE_MS);
    void this.#startWorker();
  }

  write(chunk: Uint8Array): void {
    if (this.#inputEnded || this.#finished) return;
    for (const piece of this.#segmenter.push(chunk)) this.#publish(piece);
  }

  endInput(): void {
    if (this.#inputEnded || this.#finished) return;
    this.#inputEnded = true;
    for (const piece of this.#segmenter.flush()) this.#publish(piece);
    this.#current?.close();
    // The worker reads what is left, then sees Lp-Trickle-Closed and ends; it then closes its output.
    this.#channels.input.finish();
  }

  async stop(reason: string): Promise<void> {
    if (!this.#finished) {
      this.#logger.info("runner attempt stopped", { reason });
      this.#teardown();
    }
    await this.done;
  }

  updateParams(params: Record<string, unknown>): void {
    this.#sendControl(params);
  }

  stats(): AttemptStats {
    const input = this.#channels.input.stats();
    return {
      inputDroppedBytes: input.droppedUnreadBytes,
      inputDrops: input.droppedUnread,
      inputSegmentsInFlight: this.#finished ? 0 : input.unreadSegments,
    };
  }

  /** A segment piece into the input channel: a new segment at each cut. Never waits. */
  #publish(piece: SegmentPiece): void {
    if (piece.startsSegment) {
      this.#current?.close();
      this.#current = this.#channels.input.segmentForWrite(SEQ_NEXT);
    }
    this.#current?.write(piece.bytes);
  }

  /** One JSON message as one control segment (ai-runner reads each as one message). */
  #sendControl(message: Record<string, unknown>): void {
    if (this.#finished) return;
    const segment = this.#channels.control.segmentForWrite(SEQ_NEXT);
    segment.write(new TextEncoder().encode(JSON.stringify(message)));
    segment.close();
  }

  async #startWorker(): Promise<void> {
    const { runner, token, startTimeoutMs } = this.#options;
    try {
      await startRunner(this.#request(), { runner, token, timeoutMs: startTimeoutMs, signal: this.#abort.signal });
      if (!this.#finished) this.#logger.info("runner worker started", { runner });
    } catch (error) {
      if (this.#finished) return;
      const reason = (error as Error).message;
      this.#logger.warn("runner worker did not start", { runner, reason });
      this.#teardown();
      this.#context.failed(reason);
    }
  }

  /** The worker's start request: which URL it reads (the input) and which it writes (the output), as go-livepeer says them. */
  #request(): LiveVideoToVideoRequest {
    const { publicUrl, modelId, params } = this.#options;
    const base = `${typeof publicUrl === "function" ? publicUrl() : publicUrl}/trickle`;
    const { input, output, control, events } = this.#channels;
    const { stream, requestId, attempt } = this.#context;
    return {
      subscribe_url: `${base}/${input.name}`,
      publish_url: `${base}/${output.name}`,
      control_url: `${base}/${control.name}`,
      events_url: `${base}/${events.name}`,
      model_id: modelId ?? "",
      params: { ...params, ...this.#context.params },
      gateway_request_id: requestId,
      manifest_id: `${requestId}-${attempt}`,
      stream_id: stream,
    };
  }

  /** The worker's output, passed on as it arrives; its end ends the attempt. Never rejects. */
  async #pumpOutput(): Promise<void> {
    const { signal } = this.#abort;
    try {
      const subscriber = new ChannelSubscriber(this.#channels.output);
      for (let segment = await subscriber.next(signal); segment; segment = await subscriber.next(signal)) {
        for await (const chunk of segmentChunks(segment, signal)) this.#context.output(chunk);
      }
    } catch (error) {
      this.#logger.error("reading the runner's output failed", { error: String(error) });
    }
    if (this.#finished) return;
    const early = !this.#inputEnded;
    this.#teardown();
    if (early) this.#context.failed("the worker closed its output channel");
  }

  /** The worker's events: one JSON object per segment, to context.workerEvent. */
  async #pumpEvents(): Promise<void> {
    const { signal } = this.#abort;
    const subscriber = new ChannelSubscriber(this.#channels.events);
    try {
      for (let segment = await subscriber.next(signal); segment; segment = await subscriber.next(signal)) {
        const event = parseEvent(await eventBytes(segment, signal));
        if (typeof event === "string") this.#logger.warn("runner event ignored", { seq: segment.seq, reason: event });
        else this.#context.workerEvent?.(event);
      }
    } catch (error) {
      this.#logger.error("reading the runner's events failed", { error: String(error) });
    }
  }

  #teardown(): void {
    if (this.#finished) return;
    this.#finished = true;
    clearInterval(this.#keepalive);
    this.#abort.abort();
    this.#current?.close();
    for (const channel of Object.values(this.#channels)) this.#options.trickle.removeChannel(channel.name);
  }
}

/** Four channels named `{id}-in`, `-out`, `-control`, `-events` (go-livepeer's suffixes); all or none. */
function createChannels(trickle: TrickleServer): AttemptChannels {
  const id = unguessableId();
  const made: TrickleChannel[] = [];
  const make = (suffix: string, mimeType: string) => {
    const channel = trickle.createChannel(`${id}-${suffix}`, { mimeType });
    made.push(channel);
    return channel;
  };
  try {
    return {
      input: make("in", "video/mp2t"),
      output: make("out", "video/mp2t"),
      control: make("control", "application/json"),
      events: make("events", "application/json"),
    };
  } catch (error) {
    for (const channel of made) trickle.removeChannel(channel.name);
    throw error;
  }
}

/** A segment's bytes up to MAX_EVENT_BYTES; undefined if it is larger. */
async function eventBytes(segment: TrickleSegment, signal: AbortSignal): Promise<Uint8Array | undefined> {
  const parts: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of segmentChunks(segment, signal)) {
    total += chunk.byteLength;
    if (total > MAX_EVENT_BYTES) return undefined;
    parts.push(chunk);
  }
  return Buffer.concat(parts);
}

/** An event object, or why it is not one. */
function parseEvent(bytes: Uint8Array | undefined): Record<string, unknown> | string {
  if (!bytes) return `larger than ${MAX_EVENT_BYTES} bytes`;
  try {
    const value: unknown = JSON.parse(new TextDecoder().decode(bytes));
    return isJsonObject(value) ? value : "not a JSON object";
  } catch (error) {
    return `not JSON (${(error as Error).message})`;
  }
}
