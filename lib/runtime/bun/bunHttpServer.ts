import type { FetchHandler, HttpServer, HttpServerOptions, ServerEnv } from "../httpServer.ts";

/** Bun.serve's per-request idle timeout cannot go above this (seconds). */
const MAX_IDLE_TIMEOUT_S = 255;

/**
 * Bun.serve with its body limit lifted (see serveHttp). Its 10 s idle timeout
 * stays as the default: it also bounds a client that sends its headers slowly
 * (tests/runtime/httpServer.test.ts); routes raise it per request through
 * ServerEnv.setIdleTimeout.
 */
export function serveHttp(fetch: FetchHandler, options: HttpServerOptions): HttpServer {
  // Each request's env is bound to the Request object Bun made: requestIP() and timeout() know only that
  // one, and routes/bodyLimits.ts hands the handlers a copy (its body read), for which both do nothing.
  const envFor = (received: Request): ServerEnv => ({
    remoteAddress: () => server.requestIP(received)?.address,
    setIdleTimeout: (_request, seconds) =>
      server.timeout(received, Math.min(MAX_IDLE_TIMEOUT_S, Math.max(0, Math.ceil(seconds)))),
  });
  const server = Bun.serve({
    port: options.port,
    hostname: options.hostname,
    maxRequestBodySize: Number.MAX_SAFE_INTEGER,
    fetch: (request) => fetch(request, envFor(request)),
  });
  return {
    get port() {
      return server.port ?? options.port;
    },
    stop: (closeActive = false) => server.stop(closeActive),
  };
}
