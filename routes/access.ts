import type { Context } from "hono";
import type { AccessAction } from "../lib/auth/accessControl.ts";
import { type AppContext, serverEnv } from "./context.ts";

/**
 * Every route that publishes or plays calls this before it does anything
 * else: the one auth model (lib/auth/accessControl.ts) for /ingest, /whip and /whep.
 */
export async function requireAccess(c: Context, ctx: AppContext, action: AccessAction, stream: string): Promise<void> {
  const url = new URL(c.req.url);
  await ctx.access.check({
    action,
    stream,
    token: tokenOf(c, url),
    remoteAddr: serverEnv(c.env)?.remoteAddress?.(c.req.raw),
    userAgent: c.req.header("User-Agent"),
    query: url.search.slice(1),
  });
}

/**
 * The bearer token of a request (RFC 6750): the Authorization header (2.1),
 * else the query (2.3's `access_token`, or `token` for encoders that cannot
 * set headers and the pages' links).
 */
export function tokenOf(c: Context, url = new URL(c.req.url)): string | undefined {
  const header = /^Bearer\s+(\S+)\s*$/i.exec(c.req.header("Authorization") ?? "")?.[1];
  return header ?? url.searchParams.get("token") ?? url.searchParams.get("access_token") ?? undefined;
}
