import { createHash, timingSafeEqual } from "node:crypto";
import { ForbiddenError, UnauthorizedError } from "../errors.ts";
import type { Logger } from "../logger.ts";

export type AccessAction = "publish" | "play";

/** What a publish or play asks to do, and who asks: the auth webhook's JSON body, as it is sent. */
export interface AccessRequest {
  action: AccessAction;
  stream: string;
  /** From `Authorization: Bearer …` or `?token=…`; undefined when none was sent. */
  token: string | undefined;
  remoteAddr: string | undefined;
  userAgent: string | undefined;
  /** The request's raw query string, without the leading `?`. */
  query: string;
}

export interface AccessControlOptions {
  /** Tokens that may publish; empty = anyone may (unless the webhook says no). */
  publishTokens: readonly string[];
  /** Tokens that may play; empty = anyone may (unless the webhook says no). */
  playTokens: readonly string[];
  /** Asked on every publish and play when set. */
  webhookUrl?: string | undefined;
  webhookTimeoutMs: number;
  logger: Logger;
  /** The HTTP client for the webhook (a test may pass its own). */
  fetch?: typeof fetch;
}

const VERB: Record<AccessAction, string> = { publish: "publishing to", play: "playing" };

/**
 * The one auth model of every route that publishes or plays (/ingest, /whip,
 * /whep): first the static tokens of the action, when any are set, then the
 * auth webhook, when one is set (as MediaMTX's authHTTPAddress and
 * go-livepeer's live AI auth webhook). Both must allow. A refusal is thrown
 * as UnauthorizedError (no or a wrong token: 401) or ForbiddenError (the
 * webhook said no to a token it was shown: 403), and logged without the token.
 */
export class AccessControl {
  readonly #options: AccessControlOptions;
  readonly #tokenDigests: Record<AccessAction, Buffer[]>;

  constructor(options: AccessControlOptions) {
    this.#options = options;
    this.#tokenDigests = { publish: options.publishTokens.map(digest), play: options.playTokens.map(digest) };
  }

  /** Resolves when the request may go ahead; throws the refusal otherwise. */
  async check(request: AccessRequest): Promise<void> {
    try {
      this.#checkTokens(request);
      await this.#askWebhook(request);
    } catch (error) {
      const { action, stream, remoteAddr, userAgent } = request;
      this.#options.logger.warn("access denied", {
        action,
        stream,
        remoteAddr,
        userAgent,
        reason: (error as Error).message,
      });
      throw error;
    }
  }

  #checkTokens({ action, stream, token }: AccessRequest): void {
    const accepted = this.#tokenDigests[action];
    if (accepted.length === 0) return;
    if (token === undefined) {
      throw new UnauthorizedError(
        `${VERB[action]} "${stream}" needs a token: send Authorization: Bearer <token> or ?token=<token>`,
      );
    }
    const given = digest(token);
    // Every accepted digest is compared, in constant time: no token is learnt byte by byte from timing.
    if (!accepted.map((d) => timingSafeEqual(d, given)).includes(true)) {
      throw new UnauthorizedError(`the token is not accepted for ${VERB[action]} "${stream}"`, true);
    }
  }

  async #askWebhook(request: AccessRequest): Promise<void> {
    const { webhookUrl, webhookTimeoutMs } = this.#options;
    if (!webhookUrl) return;
    const send = this.#options.fetch ?? fetch;
    let status: number;
    try {
      const response = await send(webhookUrl, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(request),
        signal: AbortSignal.timeout(webhookTimeoutMs),
      });
      status = response.status;
      await response.body?.cancel();
    } catch (error) {
      const why = (error as Error).name === "TimeoutError"
        ? `no answer within ${webhookTimeoutMs} ms`
        : (error as Error).message;
      throw new ForbiddenError(
        `${VERB[request.action]} "${request.stream}" is denied: the auth webhook failed (${why})`,
      );
    }
    if (status >= 200 && status < 300) return;
    const denial = `${VERB[request.action]} "${request.stream}" is denied by the auth webhook (${status})`;
    throw request.token === undefined
      ? new UnauthorizedError(`${denial}; no token was sent`)
      : new ForbiddenError(denial);
  }
}

function digest(token: string): Buffer {
  return createHash("sha256").update(token).digest();
}
