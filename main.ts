// Composition root: config -> logger -> registry -> app -> Bun.serve. Nothing else lives here.
import { ConfigError, loadConfig } from "./lib/config.ts";
import { createLogger } from "./lib/logger.ts";
import { Registry } from "./lib/registry.ts";
import { ViewerTable } from "./lib/viewerTable.ts";
import { setUpWebrtc } from "./lib/webrtc/webrtcSetup.ts";
import { createApp } from "./routes/app.ts";

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
const registry = new Registry(logger);
const viewers = new ViewerTable();
const app = createApp({ config, logger, registry, viewers, peers: webrtc.peers, scheduler: webrtc.scheduler, mux: webrtc.mux, srtpSealing: webrtc.srtpSealing });

const server = Bun.serve({ port: config.port, hostname: config.host, fetch: app.fetch });
logger.info("wisp listening", { url: `http://${config.host}:${server.port}/`, udp: webrtc.mux ? `${webrtc.mux.address}:${webrtc.mux.port}` : "per connection" });

function shutdown(signal: string): void {
  logger.info("shutting down", { signal });
  viewers.closeAll("server shutting down");
  registry.close();
  server.stop(true);
  void webrtc.close().finally(() => process.exit(0));
}
// A fault in one peer connection's callbacks (werift runs many detached promises) must not end
// every other stream: log it and keep serving. The session it belonged to ends on its own path.
process.on("unhandledRejection", (reason) => logger.error("unhandled rejection", { error: String(reason) }));
process.on("uncaughtException", (error) => logger.error("uncaught exception", { error: String(error.stack ?? error) }));
process.on("SIGINT", () => shutdown("SIGINT"));
process.on("SIGTERM", () => shutdown("SIGTERM"));
