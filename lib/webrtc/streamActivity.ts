import type { StreamEvents } from "../streamEvents.ts";

/**
 * Which streams have media for viewers right now, as the stream events tell
 * it (stream.active until stream.inactive or stream.ended): what a WHEP event
 * stream created later must say first (draft-ietf-wish-whep-02, "Server Sent
 * Events extension": an initial "active", never an initial "inactive"). Holds only the names that are
 * active, so it is bounded by the live streams.
 */
export class StreamActivity {
  readonly #active = new Set<string>();
  readonly #unsubscribe: () => void;

  constructor(events: StreamEvents) {
    this.#unsubscribe = events.on((event) => {
      if (event.type === "stream.active") this.#active.add(event.stream);
      if (event.type === "stream.inactive" || event.type === "stream.ended") this.#active.delete(event.stream);
    });
  }

  isActive(streamName: string): boolean {
    return this.#active.has(streamName);
  }

  close(): void {
    this.#unsubscribe();
    this.#active.clear();
  }
}
