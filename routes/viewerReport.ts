import { Hono } from "hono";
import { NotFoundError } from "../lib/errors.ts";
import { parsePlayerReport } from "../lib/webrtc/playerReport.ts";
import type { AppContext } from "./context.ts";
import { allowOnly } from "./methods.ts";

/**
 * POST /whep/{stream}/{id}/report: a player's own report on its playback
 * (time to first frame, stalls, frames, round trip; lib/webrtc/playerReport.ts),
 * kept on the viewer for the viewers API and /metrics: 204. Like PATCH and
 * DELETE, the unguessable session URL is its credential: no token. The body
 * is JSON whatever its Content-Type (navigator.sendBeacon sends text/plain),
 * within MAX_BODY_BYTES.
 */
export function viewerReportRoutes(ctx: AppContext): Hono {
  const app = new Hono();
  app.post("/:stream/:id/report", async (c) => {
    const { stream, id } = c.req.param();
    const viewer = ctx.viewers.get(stream, id);
    if (!viewer) throw new NotFoundError(`no WHEP session ${id} on stream "${stream}" (ended or never existed)`);
    viewer.quality.playerReported(parsePlayerReport(await c.req.text()));
    return c.body(null, 204);
  });
  allowOnly(app, "/:stream/:id/report", ["POST"]);
  return app;
}
