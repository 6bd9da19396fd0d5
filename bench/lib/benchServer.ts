// The server as main.ts composes it (configuration from the environment, the same context, app and
// drain on SIGTERM), with the code options a benchmark uses to measure a slower path next to the
// shipped one (WebrtcSetupOptions in lib/webrtc/webrtcSetup.ts). They are not configuration: the
// product's fast paths choose themselves and fall back by themselves (DESIGN.md).
// startInProcessServer() composes it the same way inside the benchmark's own process, for the
// benchmarks that read its registry or measure its memory.
// Usage: bun bench/lib/benchServer.ts [--werift-send-path] [--packet-sealing] [--send-many]
//   --werift-send-path  viewers' RTP through werift's RTCRtpSender.sendRtp (the baseline; werift keeps every connection)
//   --packet-sealing    SRTP sealed packet by packet from JS, never a whole frame per native call
//   --send-many         the mux's batches through the runtime's sendMany, never sendmmsg + UDP GSO
import { loadConfig } from "../../lib/config.ts";
import { createLogger, silentLogger } from "../../lib/logger.ts";
import type { WebrtcSetupOptions } from "../../lib/webrtc/webrtcSetup.ts";
import type { AppContext } from "../../routes/context.ts";
import { startWispServer } from "../../routes/wispServer.ts";
import { weriftSendPath } from "./weriftSendPath.ts";

/** The WebrtcSetupOptions named by a benchmark's flags (see the usage above). */
export function benchSetupOptions(args: readonly string[]): WebrtcSetupOptions {
  return {
    ...(args.includes("--werift-send-path") ? { weriftSendPath } : {}),
    ...(args.includes("--packet-sealing") ? { packetSealing: true } : {}),
    ...(args.includes("--send-many") ? { sendMany: true } : {}),
  };
}

export interface InProcessServer extends AppContext {
  /** http://127.0.0.1:PORT */
  url: string;
  /** Ends the viewers and streams, then frees the ports. */
  close(): Promise<void>;
}

/**
 * The server in this process on a loopback port, media on one loopback UDP port as in production.
 * Configured by `env` alone (on top of PORT, HOST and WEBRTC_UDP_ADDR for loopback), not by this
 * process's environment; silent unless LOG_LEVEL is set.
 */
export async function startInProcessServer(
  env: Record<string, string> = {},
  options: WebrtcSetupOptions = {},
): Promise<InProcessServer> {
  const logLevel = process.env.LOG_LEVEL ? { LOG_LEVEL: process.env.LOG_LEVEL } : {};
  const config = loadConfig({ PORT: "0", HOST: "127.0.0.1", WEBRTC_UDP_ADDR: "127.0.0.1:0", ...logLevel, ...env });
  const logger = process.env.LOG_LEVEL ? createLogger(config.logLevel) : silentLogger;
  const wisp = await startWispServer(config, logger, { webrtc: options });
  return { ...wisp.ctx, url: `http://127.0.0.1:${wisp.http!.port}`, close: () => wisp.close("benchmark over") };
}

/** As main.ts, with the benchmark's options: the configuration from the environment, drain on SIGTERM. */
async function serve(options: WebrtcSetupOptions): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config.logLevel);
  const wisp = await startWispServer(config, logger, { webrtc: options });
  logger.info("wisp (bench server) listening", {
    url: `http://${config.host}:${wisp.http!.port}/`,
    options: Object.keys(options).join(",") || "none",
  });
  const shutdown = async () => {
    if (wisp.ctx.drain.draining) process.exit(0);
    await wisp.shutdown();
    process.exit(0);
  };
  process.on("unhandledRejection", (reason) => logger.error("unhandled rejection", { error: String(reason) }));
  process.on(
    "uncaughtException",
    (error) => logger.error("uncaught exception", { error: String(error.stack ?? error) }),
  );
  process.on("SIGINT", () => void shutdown());
  process.on("SIGTERM", () => void shutdown());
}

if (import.meta.main) await serve(benchSetupOptions(process.argv.slice(2)));
