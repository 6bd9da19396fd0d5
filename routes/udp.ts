import { Hono } from "hono";
import { NotFoundError } from "../lib/errors.ts";
import { runtime } from "../lib/runtime/runtime.ts";
import type { AppContext } from "./context.ts";
import { allowOnly } from "./methods.ts";

/** GET /api/udp: the UDP mux's address, the runtime, how it encrypts and sends, and its counters. */
export function udpRoutes(ctx: AppContext): Hono {
  const app = new Hono();
  app.get("/", (c) => {
    const mux = ctx.mux;
    if (!mux) throw new NotFoundError("no UDP mux: WEBRTC_UDP_ADDR=off gives every connection its own socket");
    return c.json({
      address: mux.address,
      port: mux.port,
      runtime: runtime.name,
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
