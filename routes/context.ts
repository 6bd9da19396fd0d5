import type { Config } from "../lib/config.ts";
import { AccessControl } from "../lib/auth/accessControl.ts";
import { Drain } from "../lib/drain.ts";
import { WebhookSender } from "../lib/events/webhookSender.ts";
import { WispMetrics } from "../lib/metrics/wispMetrics.ts";
import { runtime } from "../lib/runtime/runtime.ts";
import type { Logger } from "../lib/logger.ts";
import type { ServerEnv } from "../lib/runtime/httpServer.ts";
import { Registry } from "../lib/registry.ts";
import { TrickleServer } from "../lib/trickle/trickleServer.ts";
import type { PipelineDefinition } from "../lib/pipeline/livePipeline.ts";
import { pipelineDefinitions } from "../lib/pipeline/pipelineKinds.ts";
import { runnerAttempts, trickleBaseUrl } from "../lib/pipeline/runnerPipeline.ts";
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
  /** Everything GET /metrics shows (lib/metrics/wispMetrics.ts). */
  metrics: WispMetrics;
  /** Stream and viewer events POSTed to WEBHOOK_URL; undefined without it. */
  webhooks: WebhookSender | undefined;
  /** The trickle channels runner pipelines' workers read and write (routes/trickle.ts). */
  trickle: TrickleServer;
  /** The configured pipelines by name (PIPELINES); a publish picks one with ?pipeline=. */
  pipelines: ReadonlyMap<string, PipelineDefinition>;
  /** The HTTP port actually listened on (PORT=0 picks one): where a local worker reaches the trickle channels. */
  listening: { port: number };
}

/** The routes' context from the configuration and the WebRTC set-up (the same for main.ts and the tests). */
export function createAppContext(config: Readonly<Config>, logger: Logger, webrtc: WebrtcSetup): AppContext {
  const registry = new Registry(logger, {
    maxStreams: config.maxStreams,
    reconnectGraceMs: config.reconnectGraceMs,
    pipelineLimits: config.pipelineLimits,
  });
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
  const webhooks = webhookSender(config, registry, logger);
  const metrics = new WispMetrics({ registry, viewers, mux, webhooks, runtimeName: runtime.name });
  const trickle = new TrickleServer({
    maxSegmentBytes: config.trickleMaxSegmentBytes,
    firstByteTimeoutMs: config.trickleFirstByteTimeoutMs,
    maxChannels: config.trickleMaxChannels,
    maxRequestsPerChannel: config.trickleMaxRequestsPerChannel,
  }, logger);
  const listening = { port: config.port };
  const pipelines = pipelineDefinitions(config, {
    runner: (spec) =>
      runnerAttempts({
        ...spec,
        trickle,
        publicUrl: () => trickleBaseUrl(config.tricklePublicUrl, listening.port),
        startTimeoutMs: config.runnerStartTimeoutMs,
      }),
  });
  return {
    config,
    logger,
    pipelines,
    listening,
    registry,
    viewers,
    access,
    drain,
    peers,
    scheduler,
    mux,
    srtpSealing,
    viewerSending,
    trickle,
    metrics,
    webhooks,
  };
}

/** The webhook sender for WEBHOOK_URL and its bounds, subscribed to the registry's events; none without the URL. */
function webhookSender(config: Readonly<Config>, registry: Registry, logger: Logger): WebhookSender | undefined {
  if (!config.webhookUrl) return undefined;
  return new WebhookSender({
    url: config.webhookUrl,
    secret: config.webhookSecret,
    queueSize: config.webhookQueueSize,
    timeoutMs: config.webhookTimeoutMs,
    maxAttempts: config.webhookMaxAttempts,
    retryBackoffMs: config.webhookRetryBackoffMs,
    events: registry.events,
    logger: logger.child({ component: "webhooks" }),
  });
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
