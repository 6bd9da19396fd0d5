import { EmptySignal } from "../emptySignal.ts";
import type { StreamEvents } from "../streamEvents.ts";
import type { WhepViewer } from "./whepViewer.ts";

/** The live WHEP sessions, by their unguessable ID; a viewer leaves the table when it closes. */
export class ViewerTable {
  readonly #viewers = new Map<string, WhepViewer>();
  readonly #emptied = new EmptySignal();
  readonly #events: StreamEvents | undefined;

  /** `events`: where viewer.joined and viewer.left go. */
  constructor(events?: StreamEvents) {
    this.#events = events;
  }

  add(viewer: WhepViewer): void {
    this.#viewers.set(viewer.id, viewer);
    const { streamName: stream, id: viewerId } = viewer;
    this.#events?.emit({ type: "viewer.joined", stream, requestId: viewer.requestId, viewerId });
    viewer.onClose(() => {
      this.#viewers.delete(viewer.id);
      const reason = viewer.closeReason ?? "closed";
      this.#events?.emit({ type: "viewer.left", stream, requestId: viewer.requestId, viewerId, reason });
      if (this.#viewers.size === 0) this.#emptied.emptied();
    });
  }

  /** Resolves once no viewer is left (at once if none is). */
  whenEmpty(): Promise<void> {
    return this.#emptied.wait(this.#viewers.size === 0);
  }

  /** The viewer with this ID on this stream, if it is still open. */
  get(streamName: string, id: string): WhepViewer | undefined {
    const viewer = this.#viewers.get(id);
    return viewer?.streamName === streamName ? viewer : undefined;
  }

  list(streamName?: string): WhepViewer[] {
    const all = [...this.#viewers.values()];
    return streamName === undefined ? all : all.filter((v) => v.streamName === streamName);
  }

  get size(): number {
    return this.#viewers.size;
  }

  closeAll(reason: string): void {
    for (const viewer of [...this.#viewers.values()]) viewer.close(reason);
  }
}
