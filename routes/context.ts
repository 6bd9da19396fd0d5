import type { Config } from "../lib/config.ts";
import { AccessControl } from "../lib/auth/accessControl.ts";
import { Drain } from "../lib/drain.ts";
import type { Logger } from "../lib/logger.ts";
import type { ServerEnv } from "../lib/runtime/httpServer.ts";
import { Registry } from "../lib/registry.ts";
import { ViewerTable } from "../lib/webrtc/viewerTable.ts";
import type { SendScheduler } from "../lib/pipeline/sendScheduler.ts";
import type { PeerFactory } from "../lib/werift/peerFactory.ts";
import type { UdpMux } from "../lib/udp/udpMux.ts";
import type { SrtpSealing, WebrtcSetup } from "../lib/webrtc/webrtcSetup.ts";
import type { ViewerSending } from "../lib/webrtc/whepViewer.ts";

/** Everything the routes need, built once by main.ts (or a test) with createAppContext(). */
export interface AppContext {
  config: Readonly<Config>;
  logger: Logger;
  registry: Registry;
  viewers: ViewerTable;
  /** Who may publish and play: every route that does either asks it (routes/access.ts). */
  access: AccessControl;
  /** Refuses new sessions once SIGTERM has begun the drain. */
  drain: Drain;
  peers: PeerFactory;
  scheduler: SendScheduler;
  /** The one UDP socket of all WebRTC media; undefined with WEBRTC_UDP_ADDR=off. */
  mux: UdpMux | undefined;
  /** How handed-over viewers' SRTP is made (lib/webrtc/webrtcSetup.ts). */
  srtpSealing: SrtpSealing;
  /** How viewers' media is sent, for every WhepViewer (lib/webrtc/webrtcSetup.ts). */
  viewerSending: ViewerSending;
}

/** The routes' context from the configuration and the WebRTC set-up (the same for main.ts and the tests). */
export function createAppContext(config: Readonly<Config>, logger: Logger, webrtc: WebrtcSetup): AppContext {
  const registry = new Registry(logger, { maxStreams: config.maxStreams });
  const viewers = new ViewerTable(registry.events);
  const access = new AccessControl({
    publishTokens: config.publishTokens,
    playTokens: config.playTokens,
    webhookUrl: config.authWebhookUrl,
    webhookTimeoutMs: config.authWebhookTimeoutMs,
    logger,
  });
  const drain = new Drain({ registry, viewers, logger });
  const { peers, scheduler, mux, srtpSealing, viewerSending } = webrtc;
  return { config, logger, registry, viewers, access, drain, peers, scheduler, mux, srtpSealing, viewerSending };
}

/** The server's word on a request (lib/runtime/httpServer.ts); absent under app.request() in tests. */
export function serverEnv(env: unknown): Partial<ServerEnv> | undefined {
  return env as Partial<ServerEnv> | undefined;
}

/** Lets one request outlive the server's idle timeout (Bun's: 10 s by default, FACTS.md; Deno has none). */
export function extendRequestTimeout(env: unknown, request: Request, seconds: number): void {
  serverEnv(env)?.setIdleTimeout?.(request, seconds);
}

/** Turns the server's idle timeout off for one request whose liveness Wisp watches itself (a long push). */
export function disableRequestTimeout(env: unknown, request: Request): void {
  serverEnv(env)?.setIdleTimeout?.(request, 0);
}
