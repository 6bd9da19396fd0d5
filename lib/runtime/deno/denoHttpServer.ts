import type { FetchHandler, HttpServer, HttpServerOptions, ServerEnv } from "../httpServer.ts";

/**
 * Deno.serve. It has no body limit to lift and no per-request idle timeout
 * (setIdleTimeout does nothing), and it can only shut down gracefully: with
 * `closeActive`, stop() begins that shutdown and returns without waiting for
 * the open requests, which end with the process.
 */
export function serveHttp(fetch: FetchHandler, options: HttpServerOptions): HttpServer {
  const server = Deno.serve(
    // onListen given: Deno would otherwise print "Listening on ..." to stdout, where our JSON log lines go.
    { port: options.port, hostname: options.hostname, onListen: () => {} },
    (request, info) => fetch(request, envOf(info)),
  );
  let shutdown: Promise<void> | undefined;
  return {
    port: server.addr.port,
    stop(closeActive = false) {
      shutdown ??= server.shutdown();
      return closeActive ? Promise.resolve() : shutdown;
    },
  };
}

function envOf(info: Deno.ServeHandlerInfo<Deno.NetAddr>): ServerEnv {
  return { remoteAddress: () => info.remoteAddr.hostname, setIdleTimeout: () => {} };
}
