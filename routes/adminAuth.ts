import type { MiddlewareHandler } from "hono";
import { ForbiddenError } from "../lib/errors.ts";
import { requireBearer } from "./bearerAuth.ts";

/** The API's writes (method and path): only these are refused without ADMIN_TOKEN; any other method still gets its 405. */
const WRITES: ReadonlyArray<[string, RegExp]> = [
  ["DELETE", /^\/api\/streams\/[^/]+$/],
  ["DELETE", /^\/api\/streams\/[^/]+\/viewers\/[^/]+$/],
  ["POST", /^\/api\/streams\/[^/]+\/params$/],
];

function isWrite(method: string, path: string): boolean {
  return WRITES.some(([writeMethod, pattern]) => method === writeMethod && pattern.test(path));
}

/**
 * Every /api route: with ADMIN_TOKEN set, each request needs it as a bearer
 * token (401 otherwise; OPTIONS aside, which a CORS preflight sends without
 * credentials). Without it, reads stay open and a write (ending a viewer or
 * a stream) is refused with 403, saying how to allow it.
 */
export function adminOnly(adminToken: string | undefined): MiddlewareHandler {
  return async (c, next) => {
    const { method } = c.req;
    if (adminToken !== undefined && method !== "OPTIONS") {
      requireBearer(c, adminToken, "the admin API");
    } else if (adminToken === undefined && isWrite(method, c.req.path)) {
      throw new ForbiddenError(
        `${method} on the API is refused: set ADMIN_TOKEN on the server to allow it, then send Authorization: Bearer <ADMIN_TOKEN>`,
      );
    }
    await next();
  };
}
