const decoder = new TextDecoder();

/**
 * Reads a text/event-stream body (HTML Living Standard 9.2) message by message,
 * as a test sees it: each message's lines joined with "|", e.g.
 * `event: active|data: {}`, or `: keep-alive` for a comment.
 */
export class EventStreamReader {
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;
  #text = "";

  constructor(body: ReadableStream<Uint8Array>) {
    this.#reader = body.getReader();
  }

  /** The next message, or undefined at the end of the stream. */
  async next(): Promise<string | undefined> {
    while (!this.#text.includes("\n\n")) {
      const { done, value } = await this.#reader.read();
      if (done) return undefined;
      this.#text += decoder.decode(value, { stream: true });
    }
    const end = this.#text.indexOf("\n\n");
    const message = this.#text.slice(0, end).split("\n").join("|");
    this.#text = this.#text.slice(end + 2);
    return message;
  }

  /** The next `count` messages (undefined for those past the end). */
  async take(count: number): Promise<Array<string | undefined>> {
    const taken: Array<string | undefined> = [];
    for (let i = 0; i < count; i++) taken.push(await this.next());
    return taken;
  }

  /** The messages up to the end of the stream. */
  async rest(): Promise<string[]> {
    const all: string[] = [];
    for (let m = await this.next(); m !== undefined; m = await this.next()) all.push(m);
    return all;
  }

  cancel(): Promise<void> {
    return this.#reader.cancel();
  }
}

/** The messages Wisp's WHEP event streams send (lib/webrtc/whepEventStream.ts). */
export const SSE = {
  retry: "retry: 2000",
  active: "event: active|data: {}",
  inactive: "event: inactive|data: {}",
  reconnect: "event: reconnect|data: {}",
  keepAlive: ": keep-alive",
  viewercount: (n: number) => `event: viewercount|data: {"viewercount":${n}}`,
};
