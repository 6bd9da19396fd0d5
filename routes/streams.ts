import { Hono } from "hono";
import { NotFoundError } from "../lib/errors.ts";
import type { LiveStream } from "../lib/liveStream.ts";
import type { OutputInfo } from "../lib/pipeline/streamOutput.ts";
import type { AppContext } from "./context.ts";
import { allowOnly } from "./methods.ts";

/** GET /api/streams: the live streams as JSON; GET /api/streams/{name}: one. */
export function streamRoutes(ctx: AppContext): Hono {
  const app = new Hono();
  app.get("/", (c) => c.json(ctx.registry.list().map((s) => describe(ctx, s))));
  app.get("/:stream", (c) => {
    const stream = ctx.registry.stream(c.req.param("stream"));
    if (!stream) throw new NotFoundError(`stream "${c.req.param("stream")}" is not live`);
    return c.json(describe(ctx, stream));
  });
  allowOnly(app, "/", ["GET", "HEAD"]);
  allowOnly(app, "/:stream", ["GET", "HEAD", "DELETE"]); // DELETE: routes/adminApi.ts
  return app;
}

/** A stream as the API shows it: its publish, pipeline, output and viewers. */
export function describe(ctx: AppContext, stream: LiveStream) {
  const info = stream.output?.info() ?? EMPTY_OUTPUT;
  const viewers = ctx.viewers.list(stream.name);
  const stats = viewers.map((v) => v.stats());
  const input = stream.input;
  return {
    name: stream.name,
    // "live", or "reconnecting": the publisher left and viewers wait for it (RECONNECT_GRACE_MS).
    state: stream.state,
    requestId: stream.requestId,
    startedAt: stream.startedAt.toISOString(),
    publish: input
      ? { requestId: input.requestId, startedAt: input.startedAt.toISOString(), bytesIn: input.bytesIn }
      : null,
    pipeline: stream.pipeline?.describe() ?? null,
    tracks: info.tracks.map((t) => ({
      pid: t.pid,
      kind: t.kind,
      codec: t.codec,
      playable: t.playable,
      ...(t.reason ? { reason: t.reason } : {}),
    })),
    video: info.video ?? null,
    viewers: ctx.registry.viewerCount(stream.name),
    // Viewers whose connection Wisp keeps itself, werift's released (WEBRTC_HANDOVER), and what
    // their links have seen: consent checks answered, RTCP read or rejected, forged alerts, repeated flights.
    viewersHandedOver: viewers.filter((v) => v.handedOver).length,
    viewerLinks: sumLinkStats(viewers.map((v) => v.linkStats())),
    retransmitted: stats.reduce((n, s) => n + s.retransmitted, 0),
    // Frames the viewers' queues skipped because a viewer fell behind (a slow network or a stalled server).
    viewerDroppedFrames: stats.reduce((n, s) => n + s.droppedFrames, 0),
    // Frames waiting in the viewers' queues now: about one per viewer when the server keeps up.
    viewerQueuedFrames: stats.reduce((n, s) => n + s.queuedFrames, 0),
    bitrateBps: info.bitrateBps,
    packetsOut: info.packetsOut,
    bytesIn: info.bytesIn,
    decodeErrors: info.decodeErrors,
    warnings: [...info.warnings, ...stream.warnings],
    ...(input?.avSync ? { avSync: input.avSync } : {}),
    whep: `/whep/${encodeURIComponent(stream.name)}`,
    player: `/play/${encodeURIComponent(stream.name)}`,
  };
}

/** What a stream shows before its first output. */
const EMPTY_OUTPUT: OutputInfo = {
  tracks: [],
  video: undefined,
  warnings: [],
  bitrateBps: 0,
  bytesIn: 0,
  packetsOut: 0,
  decodeErrors: 0,
};

/** The viewers' link counters added up (each key summed over the handed-over viewers). */
function sumLinkStats(all: Array<Record<string, number> | undefined>): Record<string, number> {
  const sum: Record<string, number> = {};
  for (const stats of all) for (const [key, value] of Object.entries(stats ?? {})) sum[key] = (sum[key] ?? 0) + value;
  return sum;
}
