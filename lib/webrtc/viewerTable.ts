import { EmptySignal } from "../emptySignal.ts";
import type { WhepViewer } from "./whepViewer.ts";

/** The live WHEP sessions, by their unguessable ID; a viewer leaves the table when it closes. */
export class ViewerTable {
  readonly #viewers = new Map<string, WhepViewer>();
  readonly #emptied = new EmptySignal();

  add(viewer: WhepViewer): void {
    this.#viewers.set(viewer.id, viewer);
    viewer.onClose(() => {
      this.#viewers.delete(viewer.id);
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
