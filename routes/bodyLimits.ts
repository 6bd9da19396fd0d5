import type { MiddlewareHandler } from "hono";
import { readBounded, tooLarge } from "../lib/boundedRead.ts";

export interface BodyLimitOptions {
  maxBytes: number;
  timeoutMs: number;
  /** Paths whose bodies are streams with bounds of their own (an MPEG-TS push). */
  streamed: (path: string) => boolean;
}

/**
 * Every request body but a streamed one is read here, once, within
 * MAX_BODY_BYTES (413) and BODY_TIMEOUT_MS (408), before any handler runs:
 * no route can forget it, and a 128 MB offer or a body trickled a byte at a
 * time is refused without being held. Hono's bodyLimit bounds the size only.
 */
export function boundedBodies(options: BodyLimitOptions): MiddlewareHandler {
  return async (c, next) => {
    const body = c.req.raw.body;
    if (!body || options.streamed(c.req.path)) return next();
    const what = "the request body";
    const declared = Number(c.req.header("Content-Length") ?? 0);
    if (declared > options.maxBytes) {
      body.cancel().catch(() => {});
      throw tooLarge({ maxBytes: options.maxBytes, what });
    }
    const bytes = await readBounded(body, { maxBytes: options.maxBytes, timeoutMs: options.timeoutMs, what });
    c.req.raw = new Request(c.req.raw, { body: bytes as Uint8Array<ArrayBuffer> });
    return next();
  };
}
