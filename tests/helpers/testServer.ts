import { loadConfig, type Config } from "../../lib/config.ts";
import { silentLogger, createLogger, type Logger } from "../../lib/logger.ts";
import { serveHttp } from "../../lib/runtime/httpServer.ts";
import { setUpWebrtc, type WebrtcSetup } from "../../lib/webrtc/webrtcSetup.ts";
import { createApp } from "../../routes/app.ts";
import { createAppContext, type AppContext } from "../../routes/context.ts";

export interface TestServer extends AppContext {
  webrtc: WebrtcSetup;
  app: ReturnType<typeof createApp>;
  /** Base URL when started with listen: true. */
  url: string;
  close(): Promise<void>;
}

/** The real app on a loopback port (or none, for app.request()); close() checks nothing is left behind. */
export async function startTestServer(
  env: Record<string, string> = {},
  options: { listen?: boolean; logSink?: (line: string) => void } = {},
): Promise<TestServer> {
  const logger: Logger = options.logSink
    ? createLogger("debug", options.logSink)
    : process.env.WISP_TEST_LOG
      ? createLogger("debug")
      : silentLogger;
  // Media on one loopback UDP port, as in production (tests pass WEBRTC_UDP_ADDR: "off" to compare).
  const config: Readonly<Config> = loadConfig({ PORT: "0", HOST: "127.0.0.1", WEBRTC_UDP_ADDR: "127.0.0.1:0", ...env });
  const webrtc = await setUpWebrtc(config, logger);
  const ctx = createAppContext(config, logger, webrtc);
  const { viewers, registry } = ctx;
  const app = createApp(ctx);
  const server = options.listen ? serveHttp(app.fetch, { port: 0, hostname: "127.0.0.1" }) : undefined; // as main.ts
  return {
    ...ctx,
    webrtc,
    app,
    url: server ? `http://127.0.0.1:${server.port}` : "http://wisp.test",
    async close() {
      viewers.closeAll("test over");
      registry.close();
      await server?.stop(true);
      await webrtc.close();
    },
  };
}
