import { ServiceUnavailableError } from "./errors.ts";
import type { Logger } from "./logger.ts";
import type { Registry } from "./registry.ts";
import type { ViewerTable } from "./webrtc/viewerTable.ts";

/** What a client refused during a drain is told to wait before it tries again (another instance, or this one restarted). */
const RETRY_AFTER_S = 5;

export interface DrainResult {
  /** Whether every viewer and stream ended by itself within the timeout. */
  endedByThemselves: boolean;
  /** Viewers and streams still live at the timeout, ended by the server. */
  viewersEnded: number;
  streamsEnded: number;
}

/**
 * A graceful stop (SIGTERM): new sessions are refused with 503 and a
 * Retry-After, requests waiting for a stream are answered 503 at once, and
 * the live viewers and publishers are served until they end or the timeout,
 * when they are ended cleanly (viewers: RTCP BYE and DTLS close_notify;
 * pushes: a 503 answer; WHIP publishers: their session closes).
 */
export class Drain {
  #draining = false;
  readonly #registry: Registry;
  readonly #viewers: ViewerTable;
  readonly #logger: Logger;

  constructor(options: { registry: Registry; viewers: ViewerTable; logger: Logger }) {
    this.#registry = options.registry;
    this.#viewers = options.viewers;
    this.#logger = options.logger;
  }

  get draining(): boolean {
    return this.#draining;
  }

  /** Throws ServiceUnavailableError once the drain has begun: every route that starts a session calls it. */
  assertAccepting(): void {
    if (this.#draining) throw refusal();
  }

  async run(timeoutMs: number): Promise<DrainResult> {
    this.#draining = true;
    this.#registry.events.emit({ type: "server.draining" });
    this.#registry.failWaiters(refusal());
    const live = { viewers: this.#viewers.size, streams: this.#registry.list().length };
    this.#logger.info("draining: no new sessions; serving the live ones until they end", { ...live, timeoutMs });
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<true>((resolve) => (timer = setTimeout(() => resolve(true), timeoutMs)));
    const allEnded = Promise.all([this.#viewers.whenEmpty(), this.#registry.whenEmpty()]).then(() => false as const);
    const late = await Promise.race([allEnded, timedOut]);
    clearTimeout(timer);
    const result = {
      endedByThemselves: !late,
      viewersEnded: this.#viewers.size,
      streamsEnded: this.#registry.list().length,
    };
    this.#viewers.closeAll("server shutting down");
    this.#registry.close();
    this.#logger.info("drained", { ...result });
    return result;
  }
}

function refusal(): ServiceUnavailableError {
  return new ServiceUnavailableError(
    "the server is shutting down and takes no new sessions; try again shortly",
    RETRY_AFTER_S,
  );
}
