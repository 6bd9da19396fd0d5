// Composition root: config -> logger -> WebRTC -> context -> app -> HTTP server. Nothing else lives here.
import { ConfigError, loadConfig } from "./lib/config.ts";
import { createLogger } from "./lib/logger.ts";
import { serveHttp } from "./lib/runtime/httpServer.ts";
import { setUpWebrtc } from "./lib/webrtc/webrtcSetup.ts";
import { createApp } from "./routes/app.ts";
import { createAppContext } from "./routes/context.ts";

/** After the drain, how long answers still being written (a push's 503) get before connections are cut. */
const RESPONSES_GRACE_MS = 2000;

function exitOnConfigError(error: unknown): never {
  if (!(error instanceof ConfigError)) throw error;
  console.error(`wisp: bad configuration: ${error.message}`);
  process.exit(2);
}

const config = (() => {
  try {
    return loadConfig();
  } catch (error) {
    return exitOnConfigError(error);
  }
})();
const logger = createLogger(config.logLevel);
const webrtc = await setUpWebrtc(config, logger).catch(exitOnConfigError);
const ctx = createAppContext(config, logger, webrtc);
const server = serveHttp(createApp(ctx).fetch, { port: config.port, hostname: config.host });
logger.info("wisp listening", {
  url: `http://${config.host}:${server.port}/`,
  udp: webrtc.mux ? `${webrtc.mux.address}:${webrtc.mux.port}` : "per connection",
});

/** SIGTERM (fly.io, docker stop) or Ctrl-C: drain (DRAIN_TIMEOUT_MS), then exit 0; a second signal exits at once. */
async function shutdown(signal: string): Promise<void> {
  if (ctx.drain.draining) process.exit(0);
  logger.info("shutting down", { signal });
  await ctx.drain.run(config.drainTimeoutMs);
  const grace = new Promise<void>((resolve) => setTimeout(resolve, RESPONSES_GRACE_MS).unref?.());
  await Promise.race([server.stop(false), grace]);
  await server.stop(true);
  await webrtc.close();
  process.exit(0);
}
// A fault in one peer connection's callbacks (werift runs many detached promises) must not end
// every other stream: log it and keep serving. The session it belonged to ends on its own path.
process.on("unhandledRejection", (reason) => logger.error("unhandled rejection", { error: String(reason) }));
process.on("uncaughtException", (error) => logger.error("uncaught exception", { error: String(error.stack ?? error) }));
process.on("SIGINT", () => void shutdown("SIGINT"));
process.on("SIGTERM", () => void shutdown("SIGTERM"));
