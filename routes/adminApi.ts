import { Hono } from "hono";
import { NotFoundError } from "../lib/errors.ts";
import { assertStreamName } from "../lib/registry.ts";
import type { Reception } from "../lib/rtp/receptionReports.ts";
import type { WhepViewer } from "../lib/webrtc/whepViewer.ts";
import type { AppContext } from "./context.ts";
import { allowOnly } from "./methods.ts";

/** What ends a viewer or a stream through this API, as its logs and events say. */
const ENDED_BY_API = "ended through the admin API";

/**
 * The session API under /api/streams (routes/adminAuth.ts guards it):
 * GET /{stream}/viewers lists each viewer and how it is served;
 * DELETE /{stream}/viewers/{id} ends one viewer (RTCP BYE, DTLS close_notify);
 * DELETE /{stream} ends the publish (a push's request is answered, a WHIP
 * publisher closed) and with it the stream and its viewers.
 */
export function adminApiRoutes(ctx: AppContext): Hono {
  const app = new Hono();
  app.get("/:stream/viewers", (c) => {
    const name = c.req.param("stream");
    assertStreamName(name);
    const viewers = ctx.viewers.list(name);
    if (viewers.length === 0 && !ctx.registry.stream(name)) throw new NotFoundError(`stream "${name}" is not live`);
    // With ADMIN_TOKEN set every /api request carried it; without it, reads are open: no addresses then.
    const withAddresses = ctx.config.adminToken !== undefined;
    return c.json(viewers.map((viewer) => describeViewer(viewer, withAddresses)));
  });
  app.delete("/:stream/viewers/:id", (c) => {
    const { stream, id } = c.req.param();
    const viewer = ctx.viewers.get(stream, id);
    if (!viewer) throw new NotFoundError(`no WHEP session ${id} on stream "${stream}" (ended or never existed)`);
    viewer.close(ENDED_BY_API);
    return c.json({ stream, viewerId: id, ended: true });
  });
  app.delete("/:stream", (c) => {
    const name = c.req.param("stream");
    assertStreamName(name);
    const stream = ctx.registry.stream(name);
    if (!stream) throw new NotFoundError(`stream "${name}" is not live`);
    const { requestId } = stream;
    const publish = ctx.registry.current(name);
    // Ending the publish ends the stream ("deleted" is no reason to wait for a reconnect); one that is
    // already waiting for its publisher to come back is ended itself.
    if (publish) publish.end("deleted");
    else stream.end("deleted");
    return c.json({ stream: name, requestId, ended: true });
  });
  allowOnly(app, "/:stream/viewers", ["GET", "HEAD"]);
  allowOnly(app, "/:stream/viewers/:id", ["DELETE"]);
  return app;
}

/** One viewer as the API shows it; its addresses only to the admin. */
function describeViewer(viewer: WhepViewer, withAddresses: boolean) {
  const { quality } = viewer;
  const { packetsSent, bytesSent, retransmitted, droppedFrames, queuedFrames } = viewer.stats();
  return {
    id: viewer.id,
    requestId: viewer.requestId,
    state: viewer.connectionState,
    handedOver: viewer.handedOver,
    createdAt: quality.createdAt.toISOString(),
    connectedAt: quality.connectedAt?.toISOString() ?? null,
    timeToFirstPacketMs: quality.timeToFirstPacketMs ?? null,
    packetsSent,
    bytesSent,
    framesSent: quality.framesSent,
    retransmitted,
    nacksReceived: quality.nacks,
    plisReceived: quality.plis,
    firsReceived: quality.firs,
    droppedFrames,
    queuedFrames,
    receiverReports: {
      video: describeReception(quality.reception("video")),
      audio: describeReception(quality.reception("audio")),
    },
    player: quality.player ? { ...quality.player, reportedAt: quality.player.reportedAt.toISOString() } : null,
    ...(withAddresses
      ? { remoteAddress: viewer.remoteAddress ?? null, mediaAddress: viewer.mediaAddress ?? null }
      : {}),
  };
}

function describeReception(reception: Reception | undefined) {
  if (!reception) return null;
  return {
    fractionLost: reception.fractionLost,
    cumulativeLost: reception.cumulativeLost,
    jitterMs: round2(reception.jitterMs),
    roundTripMs: reception.roundTripMs === undefined ? null : round2(reception.roundTripMs),
    reportedAt: new Date(reception.at).toISOString(),
  };
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}
