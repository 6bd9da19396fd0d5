import { Hono } from "hono";
import type { AppContext } from "./context.ts";
import { requireBearer } from "./bearerAuth.ts";
import { allowOnly } from "./methods.ts";

/** GET /metrics: Prometheus text exposition format (lib/metrics/wispMetrics.ts); METRICS_TOKEN when set. */
export function metricsRoutes(ctx: AppContext): Hono {
  const app = new Hono();
  app.get("/", async (c) => {
    const token = ctx.config.metricsToken;
    if (token !== undefined) requireBearer(c, token, "/metrics");
    c.header("Content-Type", ctx.metrics.contentType);
    return c.body(await ctx.metrics.render());
  });
  allowOnly(app, "/", ["GET", "HEAD"]);
  return app;
}
