import type { Config } from "../lib/config.ts";
import type { Logger } from "../lib/logger.ts";
import { type HttpServer, serveHttp } from "../lib/runtime/httpServer.ts";
import { setUpWebrtc, type WebrtcSetup, type WebrtcSetupOptions } from "../lib/webrtc/webrtcSetup.ts";
import { createApp } from "./app.ts";
import { type AppContext, createAppContext } from "./context.ts";

/** After the drain, how long answers still being written (a push's 503) get before connections are cut. */
const RESPONSES_GRACE_MS = 2000;

export interface WispServerOptions {
  /** Listen on the configuration's HOST and PORT; false: no socket, for app.request() (default true). */
  listen?: boolean;
  /** A benchmark's slower paths to compare (bench/lib/benchServer.ts): code options, never configuration. */
  webrtc?: WebrtcSetupOptions;
}

export interface WispServer {
  ctx: AppContext;
  webrtc: WebrtcSetup;
  app: ReturnType<typeof createApp>;
  /** The HTTP server, when listening. */
  http: HttpServer | undefined;
  /** The graceful stop (SIGTERM): the drain (DRAIN_TIMEOUT_MS), then stop listening and close the UDP socket. */
  shutdown(): Promise<void>;
  /** The immediate stop: every viewer and stream ended now for `reason`, the ports freed. */
  close(reason: string): Promise<void>;
}

/**
 * The whole server from its configuration: WebRTC, the routes' context, the
 * app and its HTTP server. main.ts, the tests and the benchmarks compose it
 * this one way.
 */
export async function startWispServer(
  config: Readonly<Config>,
  logger: Logger,
  options: WispServerOptions = {},
): Promise<WispServer> {
  const udpPort = config.udpMux?.port ?? 0;
  const webrtc = await setUpWebrtc(config, logger, options.webrtc).catch(portInUse("UDP", udpPort, "WEBRTC_UDP_ADDR"));
  const ctx = createAppContext(config, logger, webrtc);
  const app = createApp(ctx);
  let http: HttpServer | undefined;
  try {
    http = options.listen === false ? undefined : serveHttp(app.fetch, { port: config.port, hostname: config.host });
  } catch (error) {
    await webrtc.close();
    portInUse("TCP", config.port, "PORT")(error);
  }
  if (http) ctx.listening.port = http.port;
  return {
    ctx,
    webrtc,
    app,
    http,
    async shutdown() {
      await ctx.drain.run(config.drainTimeoutMs);
      // The drain's last events (viewers left, streams ended) get one attempt's time to reach the webhook.
      await ctx.webhooks?.flush(config.webhookTimeoutMs);
      await ctx.webhooks?.close();
      ctx.metrics.close();
      await stopListening(http);
      await webrtc.close();
    },
    async close(reason) {
      ctx.viewers.closeAll(reason);
      ctx.registry.close();
      ctx.trickle.close();
      await ctx.webhooks?.close();
      ctx.metrics.close();
      await http?.stop(true);
      await webrtc.close();
    },
  };
}

/** A port another process holds: said in one sentence naming the variable to change (main.ts prints it, no stack). */
export class PortInUseError extends Error {
  override name = "PortInUseError";
}

/** Rethrows `error`, as a PortInUseError when it says the port is taken. */
function portInUse(protocol: "TCP" | "UDP", port: number, variable: string): (error: unknown) => never {
  return (error) => {
    const code = (error as { code?: string }).code;
    if (code === "EADDRINUSE" || /in use|EADDRINUSE/i.test(String((error as Error)?.message))) {
      throw new PortInUseError(
        `${protocol} port ${port} is already in use by another process: stop it, or set ${variable} to a free port`,
      );
    }
    throw error;
  };
}

/** Lets answers still being written (a push's 503) go out for up to RESPONSES_GRACE_MS, then cuts what is left. */
async function stopListening(http: HttpServer | undefined): Promise<void> {
  if (!http) return;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const grace = new Promise<void>((resolve) => (timer = setTimeout(resolve, RESPONSES_GRACE_MS)));
  await Promise.race([http.stop(false), grace]);
  clearTimeout(timer);
  await http.stop(true);
}
