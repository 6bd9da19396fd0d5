import type { Context } from "hono";
import { matchesSecret } from "../lib/auth/secretMatch.ts";
import { UnauthorizedError } from "../lib/errors.ts";

/**
 * The operator's routes (ADMIN_TOKEN, METRICS_TOKEN) take their token only
 * as `Authorization: Bearer <token>` (RFC 6750 2.1): not in the query, where
 * it would end up in access logs and browser history.
 */
export function bearerOf(c: Context): string | undefined {
  return /^Bearer\s+(\S+)\s*$/i.exec(c.req.header("Authorization") ?? "")?.[1];
}

/** Throws UnauthorizedError (401 + WWW-Authenticate, RFC 6750 3) unless the request's bearer token is `secret`. */
export function requireBearer(c: Context, secret: string, what: string): void {
  const given = bearerOf(c);
  if (given === undefined) throw new UnauthorizedError(`${what} needs a token: send Authorization: Bearer <token>`);
  if (!matchesSecret(given, secret)) throw new UnauthorizedError(`the token is not accepted for ${what}`, true);
}
