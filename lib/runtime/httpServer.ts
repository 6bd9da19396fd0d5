/** The HTTP server as the rest of Wisp sees it; Bun.serve behind it (the runtime seam). */
export interface HttpServer {
  readonly port: number;
  /** Stops listening; `closeActive` also cuts the connections still open, else they finish first. */
  stop(closeActive?: boolean): Promise<void>;
}

export interface HttpServerOptions {
  port: number;
  hostname: string;
}

/**
 * Serves `fetch` (Hono's app.fetch; under Bun its `c.env` is this server,
 * for per-request timeouts and the client's address). Bun's own body limit
 * (128 MiB by default, streamed bodies included) would cut every long
 * MPEG-TS push, so it is lifted here: routes/bodyLimits.ts bounds every other
 * body itself, and a push is bounded by time since its last byte instead.
 * Bun's 10 s idle timeout stays: it also bounds a client that sends its
 * headers slowly.
 */
export function serveHttp(fetch: (request: Request, server: unknown) => Response | Promise<Response>, options: HttpServerOptions): HttpServer {
  const server = Bun.serve({ port: options.port, hostname: options.hostname, fetch, maxRequestBodySize: Number.MAX_SAFE_INTEGER });
  return {
    get port() {
      return server.port ?? options.port;
    },
    stop: (closeActive = false) => server.stop(closeActive),
  };
}
