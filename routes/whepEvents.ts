import { type Context, Hono } from "hono";
import { NotFoundError, UnsupportedMediaTypeError } from "../lib/errors.ts";
import { parseEventRequest, WHEP_EVENT_TYPES, WHEP_SSE_REL, WhepEventStream } from "../lib/webrtc/whepEventStream.ts";
import type { WhepViewer } from "../lib/webrtc/whepViewer.ts";
import { type AppContext, disableRequestTimeout } from "./context.ts";
import { allowOnly } from "./methods.ts";

/** The Link of a WHEP 201 that offers server-sent events for `viewer` (draft-ietf-wish-whep-02). */
export function whepEventsLink(viewer: WhepViewer): string {
  return `<${entryPoint(viewer.streamName, viewer.id)}>; rel="${WHEP_SSE_REL}"; events="${WHEP_EVENT_TYPES.join(",")}"`;
}

function entryPoint(stream: string, viewerId: string): string {
  return `/whep/${encodeURIComponent(stream)}/${viewerId}/sse`;
}

/**
 * WHEP server-sent events (lib/webrtc/whepEventStream.ts), under /whep:
 * POST {session}/sse with a JSON array of event types -> 201 + Location of the
 * event stream; GET it (text/event-stream) for as long as the session lasts;
 * DELETE it. A session has at most one event stream (a newer POST replaces it),
 * and the session's unguessable URL is the credential, as for PATCH and DELETE.
 */
export function whepEventRoutes(ctx: AppContext): Hono {
  const app = new Hono();
  const byViewer = new Map<string, WhepEventStream>();
  const watched = new WeakSet<WhepViewer>();

  app.post("/:stream/:id/sse", async (c) => {
    const viewer = findViewer(ctx, c);
    const wanted = parseEventRequest(await jsonBody(c));
    byViewer.get(viewer.id)?.close(true);
    const events = new WhepEventStream({
      streamName: viewer.streamName,
      viewerId: viewer.id,
      events: ctx.registry.events,
      wanted,
      active: ctx.registry.stream(viewer.streamName)?.active ?? false,
      viewerCount: () => ctx.registry.viewerCount(viewer.streamName),
    });
    byViewer.set(viewer.id, events);
    events.onClose(() => byViewer.get(viewer.id) === events && byViewer.delete(viewer.id));
    if (!watched.has(viewer)) {
      watched.add(viewer); // one close listener per session, however many POSTs it makes
      viewer.onClose(() => byViewer.get(viewer.id)?.close());
    }
    c.header("Location", `${entryPoint(viewer.streamName, viewer.id)}/${events.id}`);
    return c.body(null, 201);
  });
  allowOnly(app, "/:stream/:id/sse", ["POST"]);

  app.get("/:stream/:id/sse/:events", (c) => {
    const events = findEventStream(byViewer, c);
    // It lives as long as its WHEP session and writes a keep-alive itself; Bun's idle timer ignores writes.
    disableRequestTimeout(c.env, c.req.raw);
    return c.body(events.open(c.req.raw.signal), 200, {
      "Content-Type": "text/event-stream",
      "Cache-Control": "no-cache",
      "X-Accel-Buffering": "no", // nginx: pass each event on at once
    });
  });

  app.delete("/:stream/:id/sse/:events", (c) => {
    findEventStream(byViewer, c).close(true);
    return c.text("event stream ended\n", 200);
  });
  allowOnly(app, "/:stream/:id/sse/:events", ["GET", "DELETE"]);

  return app;
}

function findViewer(ctx: AppContext, c: Context): WhepViewer {
  const stream = c.req.param("stream") ?? "";
  const id = c.req.param("id") ?? "";
  const viewer = ctx.viewers.get(stream, id);
  if (!viewer) throw new NotFoundError(`no WHEP session ${id} on stream "${stream}" (ended or never existed)`);
  return viewer;
}

function findEventStream(byViewer: Map<string, WhepEventStream>, c: Context): WhepEventStream {
  const events = byViewer.get(c.req.param("id") ?? "");
  if (!events || events.id !== c.req.param("events")) {
    throw new NotFoundError(`no event stream ${c.req.param("events")} (ended, replaced or never existed)`);
  }
  return events;
}

/** The POST body: none, or JSON (the draft: "application/json"). */
async function jsonBody(c: Context): Promise<string> {
  const body = await c.req.text();
  const type = c.req.header("Content-Type")?.split(";")[0]?.trim().toLowerCase();
  if (body.trim() !== "" && type !== "application/json") {
    throw new UnsupportedMediaTypeError(
      `an event stream request is application/json (a JSON array of event types), not ${type ?? "untyped"}`,
    );
  }
  return body;
}
