import { BadRequestError, LimitReachedError, NotFoundError } from "../errors.ts";
import type { Logger } from "../logger.ts";
import { TrickleChannel } from "./trickleChannel.ts";

export interface TrickleLimits {
  /** Largest segment a POST may write, in bytes (TRICKLE_MAX_SEGMENT_BYTES). */
  maxSegmentBytes: number;
  /**
   * How long a request may move no byte (TRICKLE_FIRST_BYTE_TIMEOUT_MS): a
   * preconnected POST or GET waiting for its segment's first byte, a POST
   * body between two chunks.
   */
  firstByteTimeoutMs: number;
  /** Most channels at once (TRICKLE_MAX_CHANNELS). */
  maxChannels: number;
  /** Most HTTP requests on one channel at once (TRICKLE_MAX_REQUESTS_PER_CHANNEL). */
  maxRequestsPerChannel: number;
}

export interface CreateChannelOptions {
  /** What a GET answers as Content-Type: "video/mp2t", "application/json". */
  mimeType: string;
}

/** Channel names travel in URL paths: one path segment of URL-safe characters. */
const CHANNEL_NAME = /^[A-Za-z0-9._~-]{1,200}$/;

/**
 * The trickle channels Wisp hosts (go-livepeer's trickle.Server). Only Wisp
 * creates channels (createChannel: a runner pipeline's input, output, control
 * and events), never a request: an unguessable name is the credential of a
 * channel, as in go-livepeer, so the HTTP routes take no token. A channel
 * lives until its owner removes it or a client DELETEs it; then requests for
 * it get 404.
 */
export class TrickleServer {
  readonly #channels = new Map<string, TrickleChannel>();
  readonly limits: Readonly<TrickleLimits>;
  readonly #logger: Logger;

  constructor(limits: TrickleLimits, logger: Logger) {
    this.limits = Object.freeze({ ...limits });
    this.#logger = logger.child({ component: "trickle" });
  }

  /** A new, empty channel; its name must be unguessable (lib/ids.ts unguessableId) and unused. */
  createChannel(name: string, options: CreateChannelOptions): TrickleChannel {
    if (!CHANNEL_NAME.test(name)) {
      throw new BadRequestError(`trickle channel name ${JSON.stringify(name)} is not URL-safe`);
    }
    if (this.#channels.has(name)) throw new BadRequestError(`trickle channel "${name}" exists already`);
    if (this.#channels.size >= this.limits.maxChannels) {
      throw new LimitReachedError(
        `the server already has ${this.#channels.size} trickle channels, its limit (TRICKLE_MAX_CHANNELS)`,
      );
    }
    const channel = new TrickleChannel(name, options.mimeType);
    this.#channels.set(name, channel);
    // Never the name in a log line: it is the channel's credential.
    this.#logger.debug("trickle channel created", { mimeType: options.mimeType, channels: this.#channels.size });
    return channel;
  }

  /** The live channel of that name, if any. */
  channel(name: string): TrickleChannel | undefined {
    return this.#channels.get(name);
  }

  /** The channel a request names, or NotFoundError (404). */
  requireChannel(name: string): TrickleChannel {
    const channel = this.#channels.get(name);
    if (!channel) throw new NotFoundError(`trickle channel "${name}" does not exist (or was closed)`);
    return channel;
  }

  /** Closes a channel and forgets it: readers see Lp-Trickle-Closed, later requests 404. Idempotent. */
  removeChannel(name: string): void {
    const channel = this.#channels.get(name);
    if (!channel) return;
    this.#channels.delete(name);
    channel.close();
    this.#logger.debug("trickle channel removed", { mimeType: channel.mimeType, ...channel.stats() });
  }

  /**
   * Counts one HTTP request on `channel` until the returned release() (idempotent):
   * beyond TRICKLE_MAX_REQUESTS_PER_CHANNEL it is refused (429).
   */
  admitRequest(channel: TrickleChannel): () => void {
    if (channel.requests >= this.limits.maxRequestsPerChannel) {
      throw new LimitReachedError(
        `trickle channel "${channel.name}" already has ${channel.requests} requests open, its limit (TRICKLE_MAX_REQUESTS_PER_CHANNEL)`,
      );
    }
    channel.requests++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      channel.requests--;
    };
  }

  /** Channels open now. */
  get size(): number {
    return this.#channels.size;
  }

  /** Requests and readers waiting on segments of any channel now (for leak checks). */
  get waiting(): number {
    let sum = 0;
    for (const channel of this.#channels.values()) sum += channel.waiting + channel.requests;
    return sum;
  }

  /** Closes every channel (shutdown). */
  close(): void {
    for (const name of [...this.#channels.keys()]) this.removeChannel(name);
  }
}
