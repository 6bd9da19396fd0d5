// Composition root: config -> logger -> the server (routes/wispServer.ts) -> signals. Nothing else lives here.
import { ConfigError, loadConfig } from "./lib/config.ts";
import { createLogger } from "./lib/logger.ts";
import { PortInUseError, startWispServer } from "./routes/wispServer.ts";
import { logStartup } from "./routes/startupLog.ts";

/** A configuration the server cannot start with: one sentence, no stack trace, exit 2. */
function exitOnConfigError(error: unknown): never {
  if (error instanceof ConfigError) console.error(`wisp: bad configuration: ${error.message}`);
  else if (error instanceof PortInUseError) console.error(`wisp: ${error.message}`);
  else throw error;
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
const wisp = await startWispServer(config, logger).catch(exitOnConfigError);
logStartup(config, logger, wisp, process.env);

/** SIGTERM (fly.io, docker stop) or Ctrl-C: drain (DRAIN_TIMEOUT_MS), then exit 0; a second signal exits at once. */
async function shutdown(signal: string): Promise<void> {
  if (wisp.ctx.drain.draining) process.exit(0);
  logger.info("shutting down", { signal });
  await wisp.shutdown();
  process.exit(0);
}
// A fault in one peer connection's callbacks (werift runs many detached promises) must not end
// every other stream: log it and keep serving. The session it belonged to ends on its own path.
process.on("unhandledRejection", (reason) => logger.error("unhandled rejection", { error: String(reason) }));
process.on("uncaughtException", (error) => logger.error("uncaught exception", { error: String(error.stack ?? error) }));
process.on("SIGINT", () => void shutdown("SIGINT"));
process.on("SIGTERM", () => void shutdown("SIGTERM"));
