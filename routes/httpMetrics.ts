import type { Context, MiddlewareHandler } from "hono";
import { matchedRoutes } from "hono/route";
import type { WispMetrics } from "../lib/metrics/wispMetrics.ts";

/**
 * Counts every answered request by method, route pattern and status
 * (wisp_http_requests_total). Outermost, so it sees the status the error
 * table gave a thrown error, and a streamed answer once it is made.
 */
export function countRequests(metrics: WispMetrics): MiddlewareHandler {
  return async (c, next) => {
    await next();
    metrics.countRequest(c.req.method, answeringRoute(c), c.res.status);
  };
}

/**
 * The pattern of the handler that answered (`/whep/:stream`). When a
 * middleware answered instead (a 401, a 413) it is the handler's that would
 * have; "unmatched" when no route matched (404). Middleware patterns end
 * in `*`: they are never a route.
 */
function answeringRoute(c: Context): string {
  const routes = matchedRoutes(c);
  const answering = routes[c.req.routeIndex]?.path;
  if (answering && !answering.endsWith("*")) return answering;
  return routes.find((route) => !route.path.endsWith("*"))?.path ?? "unmatched";
}
