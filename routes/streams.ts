import { Hono } from "hono";
import { NotFoundError } from "../lib/errors.ts";
import type { IngestSession } from "../lib/ingest/ingestSession.ts";
import type { AppContext } from "./context.ts";
import { allowOnly } from "./methods.ts";

/** GET /api/streams: the live streams as JSON; GET /api/streams/{name}: one. */
export function streamRoutes(ctx: AppContext): Hono {
  const app = new Hono();
  app.get("/", (c) => c.json(ctx.registry.list().map((s) => describe(ctx, s))));
  app.get("/:stream", (c) => {
    const session = ctx.registry.current(c.req.param("stream"));
    if (!session) throw new NotFoundError(`stream "${c.req.param("stream")}" is not live`);
    return c.json(describe(ctx, session));
  });
  allowOnly(app, "/", ["GET", "HEAD"]);
  allowOnly(app, "/:stream", ["GET", "HEAD"]);
  return app;
}

export function describe(ctx: AppContext, session: IngestSession) {
  const info = session.output.info();
  const viewers = ctx.viewers.list(session.name);
  const stats = viewers.map((v) => v.stats());
  return {
    name: session.name,
    requestId: session.requestId,
    startedAt: session.startedAt.toISOString(),
    tracks: info.tracks.map((t) => ({
      pid: t.pid,
      kind: t.kind,
      codec: t.codec,
      playable: t.playable,
      ...(t.reason ? { reason: t.reason } : {}),
    })),
    video: info.video ?? null,
    viewers: ctx.registry.viewerCount(session.name),
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
    warnings: info.warnings,
    ...(session.avSync ? { avSync: session.avSync } : {}),
    whep: `/whep/${encodeURIComponent(session.name)}`,
    player: `/play/${encodeURIComponent(session.name)}`,
  };
}

/** The viewers' link counters added up (each key summed over the handed-over viewers). */
function sumLinkStats(all: Array<Record<string, number> | undefined>): Record<string, number> {
  const sum: Record<string, number> = {};
  for (const stats of all) for (const [key, value] of Object.entries(stats ?? {})) sum[key] = (sum[key] ?? 0) + value;
  return sum;
}
