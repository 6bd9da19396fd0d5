/**
 * The trickle segment protocol as go-livepeer's `trickle` package speaks it
 * (trickle/README.md, trickle_server.go) and as its clients expect: go-livepeer's
 * TricklePublisher / TrickleSubscriber and ai-runner's Python ones
 * (runner/src/runner/live/trickle/). A channel is a sequence of segments;
 * `POST /{channel}/{seq}` writes one (the body, streamed), `GET
 * /{channel}/{seq}` reads one while it is being written.
 */

/** Segments a channel keeps (go-livepeer's maxSegmentsPerStream): older ones are dropped, a GET for them gets 470. */
export const TRICKLE_WINDOW = 5;

/** seq -1: the next segment to be written (a GET waits for it; a POST writes it). */
export const SEQ_NEXT = -1;
/** seq -2: the segment being written now, or the last one written (GET only). */
export const SEQ_CURRENT = -2;

/** "The channel exists but not that segment": go-livepeer's special status for a seq outside the window. */
export const STATUS_OUTSIDE_WINDOW = 470;

/** Header names, as go-livepeer writes them. */
export const TRICKLE_HEADERS = {
  /** The segment a response is about (the effective seq when -1 or -2 was asked). */
  seq: "Lp-Trickle-Seq",
  /** The channel's next write: where a subscriber that fell behind (470) should continue. */
  latest: "Lp-Trickle-Latest",
  /** Present ("terminated") once the channel is closed: the subscriber stops. */
  closed: "Lp-Trickle-Closed",
  /** On a POST: the publisher restarted; earlier segments are closed so their readers stop waiting. */
  reset: "Lp-Trickle-Reset",
} as const;

/** The value go-livepeer gives Lp-Trickle-Closed. */
export const CLOSED_VALUE = "terminated";

/**
 * A seq from a URL path: a whole number >= 0, or -1 / -2 where `allowed`
 * says so; undefined for anything else (the caller says why in a 400).
 */
export function parseSeq(raw: string, allowed: readonly number[]): number | undefined {
  if (!/^-?\d{1,15}$/.test(raw)) return undefined;
  const seq = Number(raw);
  return seq >= 0 || allowed.includes(seq) ? seq : undefined;
}
