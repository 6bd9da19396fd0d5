import type { Context } from "hono";
import type { AccessAction } from "../lib/auth/accessControl.ts";
import { UnsupportedMediaTypeError } from "../lib/errors.ts";
import { assertStreamName } from "../lib/registry.ts";
import { parseOffer } from "../lib/webrtc/offer.ts";
import { requireAccess } from "./access.ts";
import type { AppContext } from "./context.ts";

export const SDP = "application/sdp";
export const SDP_FRAGMENT = "application/trickle-ice-sdpfrag";

/** 415 unless the request's Content-Type (parameters aside) is `expected`. */
export function requireContentType(c: Context, expected: string): void {
  const got = c.req.header("Content-Type")?.split(";")[0]?.trim().toLowerCase();
  if (got !== expected) {
    throw new UnsupportedMediaTypeError(`Content-Type must be ${expected}, got ${got ?? "none"}`);
  }
}

/** A WHIP or WHEP session resource that takes trickled candidates. */
export interface TrickleTarget {
  etag: string;
  addCandidates(fragment: string): Promise<void>;
}

/**
 * PATCH on a session resource (RFC 9725 4.3.1): a trickle-ice-sdpfrag body,
 * If-Match checked against the session's ETag (412 when it differs), 204.
 */
export async function patchCandidates(c: Context, session: TrickleTarget): Promise<Response> {
  requireContentType(c, SDP_FRAGMENT);
  const ifMatch = c.req.header("If-Match");
  if (ifMatch && ifMatch !== "*" && ifMatch !== session.etag) {
    return c.text(`If-Match ${ifMatch} does not match this session's ETag ${session.etag}\n`, 412);
  }
  await session.addCandidates(await c.req.text());
  return c.body(null, 204);
}

/** A WHIP or WHEP offer that may go ahead: its stream name and SDP. */
export interface AcceptedOffer {
  name: string;
  offerSdp: string;
}

/**
 * What every WHIP and WHEP POST checks before it negotiates, in this order:
 * the stream name (400), the drain (503), who may `action` (401/403), the
 * Content-Type (415) and the offer itself, with at most MAX_OFFER_MEDIA
 * media sections (400), before any waiting.
 */
export async function acceptOffer(c: Context, ctx: AppContext, action: AccessAction): Promise<AcceptedOffer> {
  const name = c.req.param("stream") ?? "";
  assertStreamName(name);
  ctx.drain.assertAccepting();
  await requireAccess(c, ctx, action, name);
  requireContentType(c, SDP);
  const offerSdp = await c.req.text(); // already read within MAX_BODY_BYTES (routes/bodyLimits.ts)
  parseOffer(offerSdp, ctx.config.maxOfferMedia);
  return { name, offerSdp };
}
