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
  const env: ServerEnv = {
    remoteAddress: (request) => server.requestIP(request)?.address,
    setIdleTimeout: (request, seconds) =>
      server.timeout(request, Math.min(MAX_IDLE_TIMEOUT_S, Math.max(0, Math.ceil(seconds)))),
  };
  const server = Bun.serve({
    port: options.port,
    hostname: options.hostname,
    maxRequestBodySize: Number.MAX_SAFE_INTEGER,
    fetch: (request) => fetch(request, env),
  });
  return {
    get port() {
      return server.port ?? options.port;
    },
    stop: (closeActive = false) => server.stop(closeActive),
  };
}
