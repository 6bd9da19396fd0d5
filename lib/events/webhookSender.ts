import type { Logger } from "../logger.ts";
import { unguessableId } from "../ids.ts";
import type { StreamEvent, StreamEvents, StreamEventType } from "../streamEvents.ts";
import { SIGNATURE_HEADER, WebhookSigner } from "./webhookSignature.ts";

/** The JSON body of one webhook: what happened, to which stream (and viewer), when. */
export interface WebhookPayload {
  /** Unique per event, the same on every retry of it: a receiver can drop duplicates. */
  id: string;
  event: StreamEventType;
  stream: string;
  requestId: string;
  viewerId?: string;
  reason?: string;
  /** pipeline.swapped: the pipeline's new attempt number. */
  pipelineAttempt?: number;
  /** ISO 8601, when it happened. */
  time: string;
}

export interface WebhookSenderOptions {
  url: string;
  /** Signs each body (WEBHOOK_SECRET); unsigned without it. */
  secret: string | undefined;
  /** Most events waiting (WEBHOOK_QUEUE_SIZE): beyond it the oldest is dropped and counted. */
  queueSize: number;
  /** One attempt's limit, in ms (WEBHOOK_TIMEOUT_MS). */
  timeoutMs: number;
  /** Attempts per event, the first included (WEBHOOK_MAX_ATTEMPTS). */
  maxAttempts: number;
  /** Before the first retry, in ms; doubled for each further one (WEBHOOK_RETRY_BACKOFF_MS). */
  retryBackoffMs: number;
  events: StreamEvents;
  logger: Logger;
  /** The HTTP client (a test may pass its own). */
  fetch?: typeof fetch;
}

/** The events other systems are told about; the rest (active, inactive, draining) are for the pages. */
const SENT_EVENTS: ReadonlySet<StreamEventType> = new Set([
  "stream.started",
  "stream.ended",
  "viewer.joined",
  "viewer.left",
  "pipeline.swapped",
]);
/** The longest wait between two attempts, however many doublings the backoff has had. */
const MAX_RETRY_DELAY_MS = 300_000;

type AttemptResult = "delivered" | "retry" | "refused";

/**
 * Tells another system (WEBHOOK_URL) what happens to streams and viewers:
 * each event of lib/streamEvents.ts it cares about becomes a JSON POST,
 * signed when WEBHOOK_SECRET is set. Sent in the background, one at a time
 * and in order, from a bounded queue (the oldest dropped and counted when it
 * is full); each attempt has a timeout, failures are retried a bounded number
 * of times with a doubling backoff. Emitting an event only queues it: media
 * and requests never wait for the receiver. close() stops at once and leaves
 * no timer or request behind; flush() first lets the queue empty, bounded.
 */
export class WebhookSender {
  readonly stats = { delivered: 0, failed: 0, dropped: 0, retries: 0 };
  readonly #options: WebhookSenderOptions;
  readonly #signer: WebhookSigner | undefined;
  readonly #fetch: typeof fetch;
  readonly #unsubscribe: () => void;
  #queue: WebhookPayload[] = [];
  /** The loop sending the queue, while it runs. */
  #running: Promise<void> | undefined;
  /** Aborts what the loop waits for now: an attempt's request or a backoff. */
  #abortWait: (() => void) | undefined;
  #closed = false;

  constructor(options: WebhookSenderOptions) {
    this.#options = options;
    this.#signer = options.secret === undefined ? undefined : new WebhookSigner(options.secret);
    this.#fetch = options.fetch ?? fetch;
    this.#unsubscribe = options.events.on((event) => this.#enqueue(event));
  }

  /** Events waiting to be sent (the one being sent not included). */
  get queueLength(): number {
    return this.#queue.length;
  }

  /** Resolves once every queued event was sent or given up on, or after `timeoutMs`; true if the queue emptied. */
  async flush(timeoutMs: number): Promise<boolean> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)));
    const emptied = (async () => {
      while (this.#running) await this.#running;
      return true as const;
    })();
    const result = await Promise.race([emptied, timedOut]);
    clearTimeout(timer);
    return result;
  }

  /** Stops now: no new events, the queue dropped, the attempt or backoff under way abandoned. Idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#unsubscribe();
    this.#queue = [];
    this.#abortWait?.();
    await this.#running;
  }

  #enqueue(event: StreamEvent & { at: Date }): void {
    if (this.#closed || event.type === "server.draining" || !SENT_EVENTS.has(event.type)) return;
    this.#queue.push(payloadOf(event));
    if (this.#queue.length > this.#options.queueSize) this.#dropOldest();
    this.#kick();
  }

  /** Starts the sending loop unless it runs; an event queued as it was ending starts it again. */
  #kick(): void {
    if (this.#running || this.#closed) return;
    this.#running = this.#sendQueued().finally(() => {
      this.#running = undefined;
      if (this.#queue.length > 0) this.#kick();
    });
  }

  #dropOldest(): void {
    const dropped = this.#queue.shift()!;
    this.stats.dropped++;
    // Logged at 1, 10, 100, ... drops: a receiver that is down for long must not flood the log.
    if (Number.isInteger(Math.log10(this.stats.dropped))) {
      this.#options.logger.warn("webhook queue full (WEBHOOK_QUEUE_SIZE): the oldest events are dropped", {
        dropped: this.stats.dropped,
        event: dropped.event,
        stream: dropped.stream,
      });
    }
  }

  async #sendQueued(): Promise<void> {
    for (let next = this.#queue.shift(); next && !this.#closed; next = this.#queue.shift()) {
      await this.#deliver(next);
    }
  }

  /** Every attempt an event gets, with the backoff between them; counts the outcome. */
  async #deliver(payload: WebhookPayload): Promise<void> {
    const body = new TextEncoder().encode(JSON.stringify(payload));
    const headers: Record<string, string> = { "Content-Type": "application/json", "Wisp-Event": payload.event };
    if (this.#signer) headers[SIGNATURE_HEADER] = await this.#signer.sign(body);
    const { maxAttempts, retryBackoffMs } = this.#options;
    let outcome = "";
    for (let attempt = 1; attempt <= maxAttempts && !this.#closed; attempt++) {
      if (attempt > 1) {
        this.stats.retries++;
        await this.#wait(Math.min(retryBackoffMs * 2 ** (attempt - 2), MAX_RETRY_DELAY_MS));
        if (this.#closed) return;
      }
      const result = await this.#attempt(body, headers);
      if (result.kind === "delivered") return void this.stats.delivered++;
      outcome = result.detail;
      if (result.kind === "refused") break;
    }
    if (this.#closed) return;
    this.stats.failed++;
    this.#options.logger.warn("webhook not delivered", { event: payload.event, stream: payload.stream, outcome });
  }

  /** One POST within WEBHOOK_TIMEOUT_MS: delivered (2xx), worth a retry (network, timeout, 429, 5xx) or refused. */
  async #attempt(
    body: Uint8Array<ArrayBuffer>,
    headers: Record<string, string>,
  ): Promise<{ kind: AttemptResult; detail: string }> {
    const { url, timeoutMs } = this.#options;
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    this.#abortWait = () => abort.abort(new Error("the server is stopping"));
    try {
      const response = await this.#fetch(url, {
        method: "POST",
        headers,
        body,
        signal: abort.signal,
        redirect: "manual",
      });
      await response.body?.cancel().catch(() => {});
      const { status } = response;
      if (status >= 200 && status < 300) return { kind: "delivered", detail: String(status) };
      const retry = status === 429 || status >= 500;
      return { kind: retry ? "retry" : "refused", detail: `answered ${status}` };
    } catch (error) {
      const reason = abort.signal.aborted ? String((abort.signal.reason as Error).message) : (error as Error).message;
      return { kind: "retry", detail: reason };
    } finally {
      clearTimeout(timer);
      this.#abortWait = undefined;
    }
  }

  /** The backoff before a retry; close() ends it early. */
  #wait(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.#abortWait = done;
    }).finally(() => (this.#abortWait = undefined));
  }
}

function payloadOf(event: Exclude<StreamEvent, { type: "server.draining" }> & { at: Date }): WebhookPayload {
  return {
    id: unguessableId(),
    event: event.type,
    stream: event.stream,
    requestId: event.requestId,
    ...("viewerId" in event ? { viewerId: event.viewerId } : {}),
    ...("reason" in event ? { reason: event.reason } : {}),
    ...("attempt" in event ? { pipelineAttempt: event.attempt } : {}),
    time: event.at.toISOString(),
  };
}
