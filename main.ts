// Composition root: config -> logger -> registry -> app -> Bun.serve. Nothing else lives here.
import { ConfigError, loadConfig } from "./lib/config.ts";
import { createLogger } from "./lib/logger.ts";
import { Registry } from "./lib/registry.ts";
import { ViewerTable } from "./lib/viewerTable.ts";
import { PeerFactory } from "./lib/webrtc/peerFactory.ts";
import { installUdpErrorGuard } from "./lib/webrtc/udpErrorGuard.ts";
import { createApp } from "./routes/app.ts";

let config;
try {
  config = loadConfig();
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  console.error(`wisp: bad configuration: ${error.message}`);
  process.exit(2);
}

const logger = createLogger(config.logLevel);
installUdpErrorGuard(logger);
const registry = new Registry(logger);
const viewers = new ViewerTable();
const app = createApp({ config, logger, registry, viewers, peers: new PeerFactory() });

const server = Bun.serve({ port: config.port, hostname: config.host, fetch: app.fetch });
logger.info("wisp listening", { url: `http://${config.host}:${server.port}/` });

function shutdown(signal: string): void {
  logger.info("shutting down", { signal });
  viewers.closeAll("server shutting down");
  registry.close();
  server.stop(true);
  process.exit(0);
}
process.on("SIGINT", () => shutdown("SIGINT"));
process.on("SIGTERM", () => shutdown("SIGTERM"));
