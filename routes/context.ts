import type { Config } from "../lib/config.ts";
import type { Logger } from "../lib/logger.ts";
import type { Registry } from "../lib/registry.ts";
import type { ViewerTable } from "../lib/viewerTable.ts";
import type { SendScheduler } from "../lib/pipeline/sendScheduler.ts";
import type { PeerFactory } from "../lib/webrtc/peerFactory.ts";
import type { UdpMux } from "../lib/webrtc/udpMux.ts";
import type { SrtpSealing } from "../lib/webrtc/webrtcSetup.ts";

/** Everything the routes need, built once by main.ts (or a test). */
export interface AppContext {
  config: Readonly<Config>;
  logger: Logger;
  registry: Registry;
  viewers: ViewerTable;
  peers: PeerFactory;
  scheduler: SendScheduler;
  /** The one UDP socket of all WebRTC media; undefined with WEBRTC_UDP_ADDR=off. */
  mux: UdpMux | undefined;
  /** How handed-over viewers' SRTP is made (lib/webrtc/webrtcSetup.ts). */
  srtpSealing: SrtpSealing;
}

/** Bun's server, when the app runs under Bun.serve (absent under app.request() in tests). */
export interface BunServerEnv {
  timeout?(request: Request, seconds: number): void;
  requestIP?(request: Request): { address: string } | null;
}

/** Lets one request outlive Bun's idle timeout (10 s by default; FACTS.md). */
export function extendRequestTimeout(env: unknown, request: Request, seconds: number): void {
  const server = env as BunServerEnv | undefined;
  server?.timeout?.(request, Math.min(255, Math.max(0, Math.ceil(seconds))));
}
