import type { Config } from "../config.ts";
import { ConfigError } from "../config.ts";
import type { Logger } from "../logger.ts";
import { SendScheduler } from "../pipeline/sendScheduler.ts";
import { runtime } from "../runtime/runtime.ts";
import { libcryptoAvailable } from "../srtp/aesGcm.ts";
import { frameSealingAvailable } from "../srtp/srtpFrameSealer.ts";
import { PeerFactory } from "../werift/peerFactory.ts";
import { installUdpErrorGuard } from "../werift/udpErrorGuard.ts";
import { UdpMux } from "../udp/udpMux.ts";
import type { WeriftSendPath } from "../werift/viewerHandshake.ts";
import type { ViewerSending } from "./whepViewer.ts";

export interface WebrtcSetup {
  peers: PeerFactory;
  mux: UdpMux | undefined;
  /** Spreads every viewer's sending over event-loop turns. */
  scheduler: SendScheduler;
  /** How viewers' SRTP is made once handed over (for the log and /api/udp). */
  srtpSealing: SrtpSealing;
  /** How viewers' media is sent (WhepViewerOptions), decided here once. */
  viewerSending: ViewerSending;
  close(): Promise<void>;
}

/**
 * Code options for benchmarks that compare the fast paths with the slower
 * ones (bench/lib/benchServer.ts); not configuration. The product leaves
 * them unset: each fast path is used where it works, its fallback elsewhere.
 */
export interface WebrtcSetupOptions {
  /** Seal SRTP packet by packet from JS even where whole frames could be sealed natively. */
  packetSealing?: boolean;
  /** Send the mux's batches with the runtime's sendMany even where sendmmsg + UDP GSO works. */
  sendMany?: boolean;
  /** Send viewers' RTP through a path of werift's (the baseline, bench/lib/weriftSendPath.ts); werift keeps every connection. */
  weriftSendPath?: WeriftSendPath;
}

/**
 * The WebRTC side of the server from its configuration: UDP mux, announced
 * addresses, ICE servers, and which send paths run (logged, and in /api/udp).
 */
export async function setUpWebrtc(
  config: Readonly<Config>,
  logger: Logger,
  options: WebrtcSetupOptions = {},
): Promise<WebrtcSetup> {
  installUdpErrorGuard(logger);
  const mux = config.udpMux ? await openMux(config.udpMux, !options.sendMany, logger) : undefined;
  const bound = mux && mux.address !== "0.0.0.0" ? [mux.address] : [];
  const announcedAddresses = config.publicIps.length > 0 ? [...config.publicIps] : bound;
  const peers = new PeerFactory({
    iceServers: config.iceServers.map((s) => ({ ...s })),
    ...(mux ? { mux } : {}),
    announcedAddresses,
    announceMode: config.announceMode,
  });
  const srtpSealing = srtpSealingIn(config, options);
  const viewerSending = {
    handOver: config.handOver === "on",
    nativeFrames: !options.packetSealing,
    ...(options.weriftSendPath ? { sendPath: options.weriftSendPath } : {}),
  };
  if (mux) {
    const announced = announcedAddresses.join(",");
    logger.info("webrtc media on one UDP port", {
      address: mux.address,
      port: mux.port,
      send: mux.sendMethod,
      srtp: srtpSealing,
      runtime: runtime.name,
      announced,
    });
  } else {
    logger.info("webrtc media on a UDP socket per connection (werift's)", { srtp: srtpSealing });
  }
  return { peers, mux, scheduler: new SendScheduler(), srtpSealing, viewerSending, close: async () => mux?.close() };
}

export type SrtpSealing = "frames in C + libcrypto" | "packets, libcrypto" | "packets, node:crypto" | "werift";

/**
 * Compiles the native frame sealer now, if it is to be used, so the first
 * viewer's hand-over does not wait for TinyCC (~15 ms); says what sealing is in use.
 */
function srtpSealingIn(config: Readonly<Config>, options: WebrtcSetupOptions): SrtpSealing {
  if (options.weriftSendPath) return "werift";
  const handedOver = config.handOver === "on" && config.udpMux !== undefined;
  if (handedOver && !options.packetSealing && frameSealingAvailable()) return "frames in C + libcrypto";
  return libcryptoAvailable() ? "packets, libcrypto" : "packets, node:crypto";
}

async function openMux(address: { host: string; port: number }, gso: boolean, logger: Logger): Promise<UdpMux> {
  try {
    return await UdpMux.open({ address: address.host, port: address.port, gso, logger });
  } catch (error) {
    throw new ConfigError(
      `WEBRTC_UDP_ADDR ${address.host}:${address.port} cannot be bound: ${(error as Error).message}`,
    );
  }
}
