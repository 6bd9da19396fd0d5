import { type Context, Hono } from "hono";
import { BadRequestError, NotFoundError } from "../lib/errors.ts";
import { WhepViewer } from "../lib/webrtc/whepViewer.ts";
import { type AppContext, extendRequestTimeout, serverEnv } from "./context.ts";
import { allowOnly } from "./methods.ts";
import { acceptOffer, patchCandidates, SDP, SDP_FRAGMENT } from "./sdpHttp.ts";
import { whepEventsLink } from "./whepEvents.ts";

/**
 * WHEP (draft-ietf-wish-whep, built on RFC 9725's resource model):
 * POST an offer -> 201 + answer + Location of the session resource;
 * PATCH trickles candidates to it; DELETE ends it.
 */
export function whepRoutes(ctx: AppContext): Hono {
  const app = new Hono();

  app.options("/:stream", (c) => c.body(null, 204));

  app.post("/:stream", async (c) => {
    const { name, offerSdp } = await acceptOffer(c, ctx, "play"); // a bad offer is 400 now, not after the wait
    const viewer = await answerWhenLive(c, ctx, name, offerSdp);
    c.header("Location", `/whep/${encodeURIComponent(name)}/${viewer.id}`);
    c.header("ETag", viewer.etag);
    c.header("Accept-Patch", SDP_FRAGMENT);
    c.header("Wisp-Request-Id", viewer.requestId);
    c.header("Link", whepEventsLink(viewer), { append: true }); // server-sent events (routes/whepEvents.ts)
    c.header("Content-Type", SDP);
    return c.body(viewer.answerSdp, 201);
  });
  allowOnly(app, "/:stream", ["POST"]);

  app.patch("/:stream/:id", (c) => patchCandidates(c, findViewer(ctx, c.req.param("stream"), c.req.param("id"))));

  app.delete("/:stream/:id", (c) => {
    const viewer = findViewer(ctx, c.req.param("stream"), c.req.param("id"));
    viewer.close("DELETE by the client");
    return c.text("session ended\n", 200);
  });
  allowOnly(app, "/:stream/:id", ["PATCH", "DELETE"]);

  return app;
}

/**
 * Waits (bounded in time and in number, abandoned with the client) for the
 * stream's output, then takes a viewer place and negotiates: a POST that is
 * still waiting holds no place.
 */
async function answerWhenLive(c: Context, ctx: AppContext, name: string, offerSdp: string): Promise<WhepViewer> {
  const requestId = c.req.query("requestId");
  const { whepWaitTimeoutMs, maxWaitingPerStream, maxWaiting } = ctx.config;
  extendRequestTimeout(c.env, c.req.raw, whepWaitTimeoutMs / 1000 + 10);
  const stream = await ctx.registry.waitForOutput(name, {
    timeoutMs: whepWaitTimeoutMs,
    signal: c.req.raw.signal,
    limits: { perStream: maxWaitingPerStream, total: maxWaiting },
    ...(requestId ? { requestId } : {}),
  });
  ctx.drain.assertAccepting(); // the drain may have begun while it waited
  const slot = ctx.registry.reserveViewer(name, ctx.config.maxViewersPerStream);
  const viewer = await WhepViewer.create({
    offerSdp,
    stream,
    ...(requestId ? { requestId } : {}),
    registry: ctx.registry,
    slot,
    peers: ctx.peers,
    scheduler: ctx.scheduler,
    ...ctx.viewerSending,
    maxQueueBytes: ctx.config.viewerQueueBytes,
    connectTimeoutMs: ctx.config.connectTimeoutMs,
    logger: stream.logger,
  }).catch((error) => {
    slot.release(); // create() released it too if the viewer got that far; release() is idempotent
    throw error;
  });
  if (c.req.raw.signal.aborted) {
    viewer.close("the client went away before the answer");
    throw new BadRequestError("the client went away before the answer");
  }
  viewer.remoteAddress = serverEnv(c.env)?.remoteAddress?.(c.req.raw); // the admin API shows it
  ctx.viewers.add(viewer);
  return viewer;
}

function findViewer(ctx: AppContext, stream: string, id: string): WhepViewer {
  const viewer = ctx.viewers.get(stream, id);
  if (!viewer) throw new NotFoundError(`no WHEP session ${id} on stream "${stream}" (ended or never existed)`);
  return viewer;
}
