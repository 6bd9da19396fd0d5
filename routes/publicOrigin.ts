import type { Context } from "hono";

/**
 * The origin (scheme://host) clients reach this server at, for the URLs Wisp
 * returns (Wisp-Playback-Url, Wisp-Player-Url). Behind a TLS-terminating
 * proxy (fly.io) the request Wisp sees is http://: with TRUST_PROXY on, the
 * proxy's word is taken, from `Forwarded` (RFC 7239 4: proto=, host=) or
 * else `X-Forwarded-Proto` / `X-Forwarded-Host`. Off, these headers are
 * ignored: anyone could send them.
 */
export function publicOrigin(c: Context, trustProxy: boolean): string {
  const url = new URL(c.req.url);
  if (!trustProxy) return url.origin;
  const forwarded = firstForwarded(c.req.header("Forwarded"));
  const proto = forwarded.proto ?? firstValue(c.req.header("X-Forwarded-Proto"));
  const host = forwarded.host ?? firstValue(c.req.header("X-Forwarded-Host")) ?? url.host;
  const scheme = proto === "https" || proto === "http" ? proto : url.protocol.slice(0, -1);
  return `${scheme}://${host}`;
}

/** The first (client-nearest) element of a Forwarded header: its proto and host, unquoted. */
function firstForwarded(header: string | undefined): { proto?: string; host?: string } {
  const first = header?.split(",")[0];
  if (!first) return {};
  const pairs = new Map<string, string>();
  for (const pair of first.split(";")) {
    const at = pair.indexOf("=");
    if (at > 0) pairs.set(pair.slice(0, at).trim().toLowerCase(), pair.slice(at + 1).trim().replace(/^"(.*)"$/, "$1"));
  }
  const host = pairs.get("host");
  return {
    ...(pairs.has("proto") ? { proto: pairs.get("proto")!.toLowerCase() } : {}),
    ...(host && /^[A-Za-z0-9.\-\[\]:]+$/.test(host) ? { host } : {}),
  };
}

function firstValue(header: string | undefined): string | undefined {
  const value = header?.split(",")[0]?.trim();
  return value && /^[A-Za-z0-9.\-\[\]:]+$/.test(value) ? value.toLowerCase() : undefined;
}
