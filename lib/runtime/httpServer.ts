/** The HTTP server as the rest of Wisp sees it (the runtime seam: Bun.serve or Deno.serve behind it). */
import { runtime } from "./runtime.ts";

export interface HttpServer {
  readonly port: number;
  /**
   * Stops listening. Without `closeActive` the open requests finish first;
   * with it they are cut where the runtime can (Bun), and left to the
   * process's exit where it cannot (Deno's server only shuts down gracefully).
   */
  stop(closeActive?: boolean): Promise<void>;
}

export interface HttpServerOptions {
  port: number;
  hostname: string;
}

/**
 * What the server tells a handler about a request beyond the request itself: Hono's `c.env`. One per
 * request and bound to it, so a copy of the request (routes/bodyLimits.ts makes one) works as well.
 */
export interface ServerEnv {
  /** The client's IP address as the connection shows it (no proxy headers), if known. */
  remoteAddress(request: Request): string | undefined;
  /**
   * Lets `request` stay idle up to `seconds` (0: no limit). Bun closes a
   * request idle for 10 s by default (FACTS.md), 255 s at most; Deno's server
   * has no per-request idle timeout, so there this does nothing.
   */
  setIdleTimeout(request: Request, seconds: number): void;
}

export type FetchHandler = (request: Request, env: ServerEnv) => Response | Promise<Response>;

/**
 * Serves `fetch` (Hono's app.fetch, which hands `env` to the routes as
 * `c.env`). No runtime body limit applies: Bun's (128 MiB, streamed bodies
 * included) would cut every long MPEG-TS push, so it is lifted;
 * routes/bodyLimits.ts bounds every other body itself, and a push is bounded
 * by the time since its last byte instead.
 */
export function serveHttp(fetch: FetchHandler, options: HttpServerOptions): HttpServer {
  return runtime.serveHttp(fetch, options);
}
