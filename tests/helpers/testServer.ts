import { type Config, loadConfig } from "../../lib/config.ts";
import { createLogger, type Logger, silentLogger } from "../../lib/logger.ts";
import { liveChildCount as liveSpawnedChildCount } from "../../lib/runtime/childProcess.ts";
import type { WebrtcSetup, WebrtcSetupOptions } from "../../lib/webrtc/webrtcSetup.ts";
import type { createApp } from "../../routes/app.ts";
import type { AppContext } from "../../routes/context.ts";
import { startWispServer } from "../../routes/wispServer.ts";
import { liveChildCount } from "./children.ts";
import { eventually } from "./eventually.ts";
import { liveTimerCount } from "./liveTimers.ts";
import { ownUdpSockets } from "./udpSockets.ts";

/** How long assertClean() lets closing things finish (werift closes a peer connection a turn later). */
const SETTLE_MS = 3000;

export interface TestServer extends AppContext {
  webrtc: WebrtcSetup;
  app: ReturnType<typeof createApp>;
  /** Base URL when started with listen: true. */
  url: string;
  /**
   * The leak check, called by every test that starts a server BEFORE close()
   * (which ends everything, and would hide a leak): viewers, streams, waiting
   * requests, mux peers and routes, UDP sockets, timers and child processes
   * back to where they were when the server started. Throws naming what is left.
   */
  assertClean(): Promise<void>;
  /** Ends whatever is left and frees the ports: the teardown, after assertClean(). */
  close(): Promise<void>;
}

/** The real app on a loopback port (or none, for app.request()). */
export async function startTestServer(
  env: Record<string, string> = {},
  options: { listen?: boolean; logSink?: (line: string) => void; webrtc?: WebrtcSetupOptions } = {},
): Promise<TestServer> {
  const logger: Logger = options.logSink
    ? createLogger("debug", options.logSink)
    : process.env.WISP_TEST_LOG
    ? createLogger("debug")
    : silentLogger;
  // Media on one loopback UDP port, as in production (tests pass WEBRTC_UDP_ADDR: "off" to compare).
  // No reconnect grace unless a test asks: a stream ends with its publish, as the leak check expects.
  const config: Readonly<Config> = loadConfig({
    PORT: "0",
    HOST: "127.0.0.1",
    WEBRTC_UDP_ADDR: "127.0.0.1:0",
    RECONNECT_GRACE_MS: "0",
    ...env,
  });
  // webrtc: a benchmark's slower path (bench/lib/benchServer.ts)
  const wisp = await startWispServer(config, logger, {
    listen: options.listen ?? false,
    ...(options.webrtc ? { webrtc: options.webrtc } : {}),
  });
  const { ctx, webrtc, app } = wisp;
  const { viewers, registry } = ctx;
  const baseline = {
    sockets: ownUdpSockets().length,
    timers: liveTimerCount(),
    children: liveChildCount(),
    spawned: liveSpawnedChildCount(),
  };
  const leftovers = (): string[] => {
    const left: string[] = [];
    const more = (what: string, now: number, before = 0) =>
      now > before && left.push(`${what}: ${now} (was ${before})`);
    more("WHEP viewers", viewers.size);
    more("live streams", registry.list().length);
    more("requests waiting for a stream", registry.waitingCount);
    more("trickle channels", ctx.trickle.size);
    more("trickle requests and readers waiting", ctx.trickle.waiting);
    more("UDP mux peers", webrtc.mux?.transportCount ?? 0);
    more("UDP mux routes", webrtc.mux?.routeCount ?? 0);
    more("UDP sockets", ownUdpSockets().length, baseline.sockets);
    more("pending timers", liveTimerCount(), baseline.timers);
    more("child processes", liveChildCount(), baseline.children);
    more("child processes started by Wisp (pipelines)", liveSpawnedChildCount(), baseline.spawned);
    return left;
  };
  return {
    ...ctx,
    webrtc,
    app,
    url: wisp.http ? `http://127.0.0.1:${wisp.http.port}` : "http://wisp.test",
    async assertClean() {
      await eventually(() => leftovers().length === 0, "the test's sessions to be freed", { timeoutMs: SETTLE_MS })
        .catch(() => {
          throw new Error(`left behind by the test: ${leftovers().join("; ")}`);
        });
    },
    close: () => wisp.close("test over"),
  };
}

/**
 * A test file's teardown: the leak check first, then close() whatever it
 * found (so one failing test does not leave ports open for the next).
 */
export async function checkAndClose(server: TestServer | undefined): Promise<void> {
  try {
    await server?.assertClean();
  } finally {
    await server?.close();
  }
}
