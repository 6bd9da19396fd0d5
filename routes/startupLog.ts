import type { Config } from "../lib/config.ts";
import type { Logger } from "../lib/logger.ts";
import type { WispServer } from "./wispServer.ts";

/**
 * The start-up log: where the server listens, and where to push, publish and
 * watch, ready to copy. On fly.io without WEBRTC_PUBLIC_IPS, a warning: media
 * would announce the machine's private address and no viewer could connect.
 */
export function logStartup(
  config: Readonly<Config>,
  logger: Logger,
  wisp: WispServer,
  env: Record<string, string | undefined>,
): void {
  const { mux } = wisp.webrtc;
  const port = wisp.http?.port ?? config.port;
  const host = config.host === "0.0.0.0" || config.host === "::" ? "localhost" : config.host;
  const base = env.FLY_APP_NAME ? `https://${env.FLY_APP_NAME}.fly.dev` : `http://${host}:${port}`;
  logger.info("wisp listening", {
    url: `http://${config.host}:${port}/`,
    udp: mux ? `${mux.address}:${mux.port}` : "per connection",
  });
  const token = config.publishTokens.length > 0 ? ' -headers "Authorization: Bearer <token>"' : "";
  logger.info("push MPEG-TS", {
    example: `ffmpeg -re -i in.mp4 -c:v libx264 -bf 0 -c:a libopus${token} -f mpegts ${base}/ingest/cam1`,
  });
  logger.info("publish with WHIP", { obs: `${base}/whip/cam1`, browser: `${base}/publish/cam1` });
  logger.info("watch", { player: `${base}/play/cam1`, whep: `${base}/whep/cam1`, list: `${base}/` });
  if (env.FLY_APP_NAME && config.publicIps.length === 0) {
    logger.warn(
      "running on fly.io without WEBRTC_PUBLIC_IPS: viewers and WHIP publishers cannot reach the media port; set it to the app's dedicated IPv4 (fly ips allocate-v4)",
    );
  }
}
