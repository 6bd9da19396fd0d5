import { loadConfig, type Config } from "../../lib/config.ts";
import { silentLogger, createLogger, type Logger } from "../../lib/logger.ts";
import { Registry } from "../../lib/registry.ts";
import { ViewerTable } from "../../lib/viewerTable.ts";
import { setUpWebrtc, type WebrtcSetup } from "../../lib/webrtc/webrtcSetup.ts";
import { createApp } from "../../routes/app.ts";
import type { AppContext } from "../../routes/context.ts";

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
  options: { listen?: boolean } = {},
): Promise<TestServer> {
  const logger: Logger = process.env.WISP_TEST_LOG ? createLogger("debug") : silentLogger;
  // Media on one loopback UDP port, as in production (tests pass WEBRTC_UDP_ADDR: "off" to compare).
  const config: Readonly<Config> = loadConfig({ PORT: "0", HOST: "127.0.0.1", WEBRTC_UDP_ADDR: "127.0.0.1:0", ...env });
  const webrtc = await setUpWebrtc(config, logger);
  const registry = new Registry(logger);
  const viewers = new ViewerTable();
  const ctx: AppContext = { config, logger, registry, viewers, peers: webrtc.peers, scheduler: webrtc.scheduler, mux: webrtc.mux, srtpSealing: webrtc.srtpSealing };
  const app = createApp(ctx);
  const server = options.listen
    ? Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: app.fetch }) // Bun's default 10 s idle timeout, as main.ts
    : undefined;
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
