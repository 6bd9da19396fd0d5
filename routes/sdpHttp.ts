import type { Context } from "hono";
import { UnsupportedMediaTypeError } from "../lib/errors.ts";

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
