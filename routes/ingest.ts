import { type Context, Hono } from "hono";
import { BadRequestError } from "../lib/errors.ts";
import { pumpPush } from "../lib/ingest/pushPump.ts";
import { assertStreamName } from "../lib/registry.ts";
import { requireAccess } from "./access.ts";
import { type AppContext, disableRequestTimeout } from "./context.ts";
import { allowOnly } from "./methods.ts";
import { publishOptionsOf } from "./publishOptions.ts";

/**
 * MPEG-TS over HTTP: `PUT` or `POST /ingest/{stream}` with a streaming body,
 * e.g. `ffmpeg -re -i in.mp4 -c:v libx264 -bf 0 -c:a libopus -f mpegts http://host:8080/ingest/cam1`.
 * One request is one ingest session; the end of the body ends it. A push
 * lasts as long as its encoder sends (no size limit; INGEST_IDLE_TIMEOUT_MS
 * from the last byte). A second push to a live name replaces the first
 * (Registry's rule; it needs publish permission like any push): the older
 * request gets 409 from then on.
 */
export function ingestRoutes(ctx: AppContext): Hono {
  const app = new Hono();
  const push = async (c: Context) => {
    const name = c.req.param("stream") ?? "";
    assertStreamName(name);
    ctx.drain.assertAccepting();
    await requireAccess(c, ctx, "publish", name);
    const body = c.req.raw.body;
    if (!body) throw new BadRequestError("an MPEG-TS push needs a request body (chunked transfer is fine)");
    // Bun's idle timer is not fed by each chunk of a slow body (FACTS.md): pumpPush keeps its own.
    disableRequestTimeout(c.env, c.req.raw);
    const session = ctx.registry.startSession(name, publishOptionsOf(c, ctx));
    const { ingestIdleTimeoutMs: idleTimeoutMs, ingestProbeBytes: probeBytes, ingestProbeTimeoutMs: probeTimeoutMs } =
      ctx.config;
    const bytes = await pumpPush(body, session, { idleTimeoutMs, probeBytes, probeTimeoutMs });
    const info = session.output.info();
    return c.json({ stream: session.name, requestId: session.requestId, bytes, decodeErrors: info.decodeErrors });
  };
  app.put("/:stream", push);
  app.post("/:stream", push);
  allowOnly(app, "/:stream", ["PUT", "POST"]);
  return app;
}
