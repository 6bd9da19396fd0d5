import { BadRequestError } from "../errors.ts";
import { unguessableId } from "../ids.ts";
import type { StreamEvent, StreamEvents } from "../streamEvents.ts";

/**
 * WHEP server-sent events (draft-ietf-wish-whep-02, "Server Sent Events
 * extension"): the 201 of a WHEP POST links to an entry point; the player
 * POSTs the JSON array of event types it wants there and GETs the event stream
 * at the Location it is given, in the WHATWG text/event-stream format (HTML
 * Living Standard 9.2). Each event is `event: <type>` and one `data:` line of
 * JSON. An event stream belongs to one WHEP session and ends with it.
 */
export const WHEP_SSE_REL = "urn:ietf:params:whep:ext:core:server-sent-events";

/** The event types Wisp sends: the Link's `events` attribute. */
export const WHEP_EVENT_TYPES = ["active", "inactive", "viewercount", "reconnect"] as const;
export type WhepEventType = (typeof WHEP_EVENT_TYPES)[number];

/** Types the draft defines that Wisp never sends (one rendition, no ad markers): accepted when asked for, never sent. */
const DRAFT_TYPES_NOT_SENT = ["layers", "scte35"];

/** A comment line this often while a GET is open, so that proxies keep it (nginx's proxy_read_timeout is 60 s). */
const KEEPALIVE_MS = 15_000;
/** At most one viewercount a second (the draft lets it be approximate): N joins would otherwise cost N x N writes. */
const VIEWERCOUNT_INTERVAL_MS = 1000;
/** Events kept for a client that is not reading (between its POST and its GET, or a stalled GET); the oldest go first. */
const MAX_QUEUED_EVENTS = 32;
/** Events handed to the HTTP response before it must be read: the rest wait in the queue above (bounded). */
const RESPONSE_HIGH_WATER_EVENTS = 8;
/** The `retry:` field (HTML 9.2.6): how long an EventSource waits to GET again after a broken connection, ms. */
const RETRY_MS = 2000;

const encoder = new TextEncoder();

/**
 * The types asked for in a POST body: a JSON array of type names, or no body
 * for all of them. A type the draft defines but Wisp never sends is accepted
 * (a player may ask for its whole list); anything else is a BadRequestError.
 */
export function parseEventRequest(body: string): Set<WhepEventType> {
  if (body.trim() === "") return new Set(WHEP_EVENT_TYPES);
  let asked: unknown;
  try {
    asked = JSON.parse(body);
  } catch (error) {
    throw new BadRequestError(`the event stream request is not JSON (${(error as Error).message}): ${EXPECTED}`);
  }
  if (!Array.isArray(asked)) throw new BadRequestError(`the event stream request is not a JSON array: ${EXPECTED}`);
  const wanted = new Set<WhepEventType>();
  for (const type of asked) {
    if (isWhepEventType(type)) wanted.add(type);
    else if (!DRAFT_TYPES_NOT_SENT.includes(type)) {
      throw new BadRequestError(`unknown event type ${JSON.stringify(type)}: ${EXPECTED}`);
    }
  }
  return wanted;
}

const EXPECTED = `send a JSON array of event types from ${JSON.stringify(WHEP_EVENT_TYPES)}`;

function isWhepEventType(type: unknown): type is WhepEventType {
  return (WHEP_EVENT_TYPES as readonly unknown[]).includes(type);
}

export interface WhepEventStreamOptions {
  streamName: string;
  /** The WHEP session it belongs to: its own joining and leaving change no count it reports. */
  viewerId: string;
  events: StreamEvents;
  wanted: ReadonlySet<WhepEventType>;
  /** Whether the stream has media now: if so, the first event is "active" (never an initial "inactive"). */
  active: boolean;
  viewerCount: () => number;
  /** Tests shorten these (ms); defaults KEEPALIVE_MS and VIEWERCOUNT_INTERVAL_MS. */
  keepAliveMs?: number;
  viewerCountIntervalMs?: number;
}

interface Reader {
  controller: ReadableStreamDefaultController<Uint8Array>;
  keepAlive: ReturnType<typeof setInterval>;
  /** The client went away (cancel) or a newer GET took over: nothing more is written to it. */
  done: boolean;
}

/**
 * One event stream: created by the POST, read by GETs (one at a time; a newer
 * GET takes over), ended with its WHEP session, when the stream ends for good,
 * or by DELETE. Events wait in a bounded queue while nobody reads.
 */
export class WhepEventStream {
  readonly id = unguessableId();
  readonly #options: WhepEventStreamOptions;
  readonly #queue: string[] = [];
  #reader: Reader | undefined;
  #active: boolean;
  #lastCount: number | undefined;
  #lastCountAt = -Infinity;
  #countTimer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;
  readonly #unsubscribe: () => void;
  readonly #closeListeners = new Set<() => void>();

  constructor(options: WhepEventStreamOptions) {
    this.#options = options;
    this.#active = options.active;
    if (options.active) this.#send("active", {});
    this.#sendViewerCount();
    this.#unsubscribe = options.events.on((event) => this.#onEvent(event));
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Events waiting for a reader. */
  get queued(): number {
    return this.#queue.length;
  }

  /** The body of a GET: queued events first, then each as it happens, until the stream ends or `signal` aborts. */
  open(signal?: AbortSignal): ReadableStream<Uint8Array> {
    if (this.#closed) throw new Error("the event stream has ended");
    this.#endReader(); // one reader at a time: the newest GET wins
    let reader: Reader | undefined;
    const end = () => {
      if (reader && this.#reader === reader) this.#endReader();
    };
    signal?.addEventListener("abort", end, { once: true });
    return new ReadableStream<Uint8Array>({
      start: (controller) => {
        const keepAlive = setInterval(() => this.#keepAlive(), this.#options.keepAliveMs ?? KEEPALIVE_MS);
        reader = { controller, keepAlive, done: false };
        this.#reader = reader;
        controller.enqueue(encoder.encode(`retry: ${RETRY_MS}\n\n`));
        this.#flush();
      },
      pull: () => this.#flush(),
      cancel: () => {
        if (reader) reader.done = true;
        end();
      },
    }, { highWaterMark: RESPONSE_HIGH_WATER_EVENTS });
  }

  onClose(listener: () => void): void {
    if (this.#closed) listener();
    else this.#closeListeners.add(listener);
  }

  /**
   * Ends the event stream once: what is queued is still written to an open GET,
   * unless `discardQueued` (a DELETE: the draft says pending events are dropped).
   */
  close(discardQueued = false): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#unsubscribe();
    clearTimeout(this.#countTimer);
    if (discardQueued) this.#queue.length = 0;
    this.#flush(true);
    this.#queue.length = 0;
    this.#endReader();
    for (const listener of this.#closeListeners) listener();
    this.#closeListeners.clear();
  }

  #onEvent(event: StreamEvent): void {
    if (event.type === "server.draining") return this.#send("reconnect", {});
    if (event.stream !== this.#options.streamName) return;
    switch (event.type) {
      case "stream.active":
        return this.#setActive(true);
      case "stream.inactive":
        return this.#setActive(false);
      case "stream.ended":
        this.#setActive(false);
        return this.close();
      case "viewer.joined":
      case "viewer.left":
        if (event.viewerId !== this.#options.viewerId) this.#viewerCountChanged();
    }
  }

  #setActive(active: boolean): void {
    if (active === this.#active) return;
    this.#active = active;
    this.#send(active ? "active" : "inactive", {});
  }

  /** Sends the count now, or once VIEWERCOUNT_INTERVAL_MS has passed since the last one. */
  #viewerCountChanged(): void {
    if (!this.#options.wanted.has("viewercount") || this.#countTimer) return;
    const interval = this.#options.viewerCountIntervalMs ?? VIEWERCOUNT_INTERVAL_MS;
    const wait = this.#lastCountAt + interval - performance.now();
    if (wait <= 0) return this.#sendViewerCount();
    this.#countTimer = setTimeout(() => {
      this.#countTimer = undefined;
      this.#sendViewerCount();
    }, wait);
  }

  #sendViewerCount(): void {
    const count = this.#options.viewerCount();
    if (count === this.#lastCount || !this.#options.wanted.has("viewercount")) return;
    this.#lastCount = count;
    this.#lastCountAt = performance.now();
    this.#send("viewercount", { viewercount: count });
  }

  /** One event, its data on a single line of JSON (the draft asks for one "data" line). */
  #send(type: WhepEventType, data: Record<string, unknown>): void {
    if (!this.#options.wanted.has(type) || this.#closed) return;
    this.#enqueue(`event: ${type}\ndata: ${JSON.stringify(data)}\n\n`);
  }

  /** A comment line (HTML 9.2.6: a line starting with ":" is ignored), only when nothing else is waiting. */
  #keepAlive(): void {
    if (this.#queue.length === 0) this.#enqueue(": keep-alive\n\n");
  }

  #enqueue(message: string): void {
    this.#queue.push(message);
    if (this.#queue.length > MAX_QUEUED_EVENTS) this.#queue.shift();
    this.#flush();
  }

  /** Hands queued events to the open GET while it has room (or all of them, at the end). */
  #flush(all = false): void {
    const reader = this.#reader;
    if (!reader || reader.done) return;
    while (this.#queue.length > 0 && (all || (reader.controller.desiredSize ?? 0) > 0)) {
      reader.controller.enqueue(encoder.encode(this.#queue.shift()!));
    }
  }

  #endReader(): void {
    const reader = this.#reader;
    if (!reader) return;
    this.#reader = undefined;
    clearInterval(reader.keepAlive);
    if (!reader.done) reader.controller.close();
    reader.done = true;
  }
}
