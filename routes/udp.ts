import { Hono } from "hono";
import { NotFoundError } from "../lib/errors.ts";
import type { AppContext } from "./context.ts";
import { allowOnly } from "./methods.ts";

/** GET /api/udp: the UDP mux's address, how it encrypts and sends, and its counters. */
export function udpRoutes(ctx: AppContext): Hono {
  const app = new Hono();
  app.get("/", (c) => {
    const mux = ctx.mux;
    if (!mux) throw new NotFoundError("no UDP mux: WEBRTC_UDP_ADDR=off gives every connection its own socket");
    return c.json({
      address: mux.address,
      port: mux.port,
      sendMethod: mux.sendMethod,
      srtpSealing: ctx.srtpSealing,
      peers: mux.transportCount,
      routes: mux.routeCount,
      messagesSent: mux.messagesSent,
      ...mux.stats,
    });
  });
  allowOnly(app, "/", ["GET", "HEAD"]);
  return app;
}
