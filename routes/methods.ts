import type { Hono } from "hono";

/**
 * Registers, after a path's handlers, the answer for every other method:
 * 405 with the Allow header (RFC 9110 15.5.6) instead of a 404 that would
 * say the resource does not exist. OPTIONS is always allowed (CORS, WHIP/WHEP).
 */
export function allowOnly(app: Hono, path: string, methods: string[]): void {
  const allow = [...methods, "OPTIONS"].join(", ");
  app.all(path, (c) => {
    c.header("Allow", allow);
    return c.text(`${c.req.method} is not allowed here; this resource allows ${allow}\n`, 405);
  });
}
