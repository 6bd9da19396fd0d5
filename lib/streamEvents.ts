import type { Logger } from "./logger.ts";

/**
 * What happens to streams and viewers, as one typed feed that the parts which
 * tell others about it subscribe to: webhooks (WEBHOOK_URL), WHEP
 * server-sent events, metrics. Emitting never waits for a listener and a
 * listener that throws harms nobody else (it is logged).
 */
export type StreamEvent =
  /** A publish of the stream began (a push or a WHIP session; a reconnect within the grace too). */
  | { type: "stream.started"; stream: string; requestId: string }
  /** The stream is gone for good: its input ended and no publisher came back in time (or it was ended). */
  | { type: "stream.ended"; stream: string; requestId: string; reason: string }
  /** Viewers can be sent media: an output knows its tracks. */
  | { type: "stream.active"; stream: string; requestId: string }
  /** The output stopped (input ended, pipeline swap, reconnect): viewers keep their last picture and wait. */
  | { type: "stream.inactive"; stream: string; requestId: string; reason: string }
  | { type: "viewer.joined"; stream: string; requestId: string; viewerId: string }
  | { type: "viewer.left"; stream: string; requestId: string; viewerId: string; reason: string }
  /** A pipeline began a new attempt (restart, worker swap, fallback to passthrough). */
  | { type: "pipeline.swapped"; stream: string; requestId: string; attempt: number; reason: string }
  /** The server is draining (SIGTERM): clients should reconnect elsewhere or later. */
  | { type: "server.draining" };

export type StreamEventType = StreamEvent["type"];
export type StreamEventListener = (event: StreamEvent & { at: Date }) => void;

export class StreamEvents {
  readonly #listeners = new Set<StreamEventListener>();
  readonly #logger: Logger | undefined;

  constructor(logger?: Logger) {
    this.#logger = logger;
  }

  /** Calls `listener` with every event from now on; returns the unsubscribe. */
  on(listener: StreamEventListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  emit(event: StreamEvent): void {
    const stamped = { ...event, at: new Date() };
    for (const listener of [...this.#listeners]) {
      try {
        listener(stamped);
      } catch (error) {
        this.#logger?.error("a stream event listener failed", { event: event.type, error: String(error) });
      }
    }
  }

  get listenerCount(): number {
    return this.#listeners.size;
  }
}
