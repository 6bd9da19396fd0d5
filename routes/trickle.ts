import { type Context, Hono } from "hono";
import { BadRequestError, NotFoundError } from "../lib/errors.ts";
import { openSegment, type SegmentDownload } from "../lib/trickle/segmentDownload.ts";
import { receiveSegment } from "../lib/trickle/segmentUpload.ts";
import {
  CLOSED_VALUE,
  parseSeq,
  SEQ_CURRENT,
  SEQ_NEXT,
  STATUS_OUTSIDE_WINDOW,
  TRICKLE_HEADERS as H,
  TRICKLE_WINDOW,
} from "../lib/trickle/trickleProtocol.ts";
import type { TrickleServer } from "../lib/trickle/trickleServer.ts";
import { type AppContext, disableRequestTimeout, extendRequestTimeout } from "./context.ts";
import { allowOnly } from "./methods.ts";

/** Bun's per-request idle timeout cannot go above this (seconds). */
const MAX_IDLE_TIMEOUT_S = 255;

/**
 * The trickle channels Wisp hosts for its runner pipelines' workers, as
 * go-livepeer's trickle server answers them (lib/trickle/trickleProtocol.ts):
 *
 *   POST   /trickle/{channel}/{seq}   write a segment (streamed body; seq -1 = next)
 *   GET    /trickle/{channel}/{seq}   read one while it is written (-1 next, -2 current)
 *   GET    /trickle/{channel}/next    the next seq to be written
 *   DELETE /trickle/{channel}/{seq}   close one segment
 *   DELETE /trickle/{channel}         close the channel
 *   POST   /trickle/{channel}         200 if the channel exists (only Wisp creates channels)
 *
 * No publish or play token here, on purpose: as in go-livepeer, a channel's
 * unguessable name (128 random bits, created per pipeline attempt) is its
 * credential, and the worker that is handed the URLs has nothing else. Bodies
 * are bounded by TRICKLE_MAX_SEGMENT_BYTES and TRICKLE_FIRST_BYTE_TIMEOUT_MS,
 * requests per channel by TRICKLE_MAX_REQUESTS_PER_CHANNEL.
 */
export function trickleRoutes(ctx: AppContext): Hono {
  const server = ctx.trickle;
  const app = new Hono();
  app.post("/:channel", (c) => {
    c.req.raw.body?.cancel().catch(() => {});
    server.requireChannel(c.req.param("channel"));
    return c.text("channel exists\n");
  });
  app.delete("/:channel", (c) => {
    server.requireChannel(c.req.param("channel"));
    server.removeChannel(c.req.param("channel"));
    return c.text("channel closed\n");
  });
  app.get("/:channel/next", (c) => {
    const channel = server.requireChannel(c.req.param("channel"));
    c.header(H.latest, String(channel.nextWrite));
    return c.text(String(channel.nextWrite));
  });
  app.post("/:channel/:seq", (c) => postSegment(c, server));
  app.get("/:channel/:seq", (c) => getSegment(c, server));
  app.delete("/:channel/:seq", (c) => {
    const channel = server.requireChannel(c.req.param("channel"));
    const seq = seqParam(c, []);
    const segment = channel.segmentForRead(seq).segment;
    if (segment?.seq !== seq) {
      throw new NotFoundError(`trickle channel "${channel.name}" has no segment ${seq} in its window`);
    }
    segment.close();
    return c.text("segment closed\n");
  });
  allowOnly(app, "/:channel", ["POST", "DELETE"]);
  allowOnly(app, "/:channel/:seq", ["GET", "HEAD", "POST", "DELETE"]);
  return app;
}

async function postSegment(c: Context, server: TrickleServer): Promise<Response> {
  const body = c.req.raw.body;
  const channel = server.channel(c.req.param("channel") ?? "");
  if (!channel) {
    body?.cancel().catch(() => {});
    c.header("Connection", "close"); // go-livepeer: wakes up a preconnected publisher
    throw new NotFoundError(`trickle channel "${c.req.param("channel")}" does not exist (or was closed)`);
  }
  const seq = seqParam(c, [SEQ_NEXT]);
  const release = server.admitRequest(channel);
  // A preconnected POST may wait long for its first byte; the upload keeps its own clock (FACTS.md).
  disableRequestTimeout(c.env, c.req.raw);
  try {
    const reset = c.req.header(H.reset) !== undefined;
    const result = await receiveSegment(channel, seq, body, { reset, limits: server.limits });
    c.header(H.seq, String(result.seq));
    if (result.closed) c.header(H.closed, CLOSED_VALUE);
    return c.text(`segment ${result.seq}: ${result.bytes} bytes\n`);
  } finally {
    release();
  }
}

async function getSegment(c: Context, server: TrickleServer): Promise<Response> {
  const channel = server.requireChannel(c.req.param("channel") ?? "");
  const seq = seqParam(c, [SEQ_NEXT, SEQ_CURRENT]);
  const { firstByteTimeoutMs } = server.limits;
  const release = server.admitRequest(channel);
  // Waits up to TRICKLE_FIRST_BYTE_TIMEOUT_MS for the first byte, then streams: more than Bun's 10 s.
  extendRequestTimeout(c.env, c.req.raw, Math.min(MAX_IDLE_TIMEOUT_S, Math.ceil(firstByteTimeoutMs / 1000) + 10));
  let answer: SegmentDownload;
  try {
    answer = await openSegment(channel, seq, { firstByteTimeoutMs, signal: c.req.raw.signal, onDone: release });
  } catch (error) {
    release();
    throw error;
  }
  return downloadResponse(answer, channel.name);
}

/** go-livepeer's answers to a GET: the segment streamed, an empty end, 470, or Lp-Trickle-Closed. */
function downloadResponse(answer: SegmentDownload, channel: string): Response {
  const headers = new Headers({ [H.seq]: String(answer.seq) });
  if (answer.kind === "data") {
    headers.set("Content-Type", answer.mimeType);
    if (answer.latest !== undefined) headers.set(H.latest, String(answer.latest));
    return new Response(answer.body, { headers });
  }
  headers.set(H.latest, String(answer.latest));
  headers.set("Content-Type", "text/plain; charset=UTF-8");
  if (answer.closed) {
    headers.set(H.closed, CLOSED_VALUE);
    return new Response(`trickle channel "${channel}" is closed\n`, { headers });
  }
  if (answer.kind === "ended") return new Response(null, { headers });
  const why = answer.waitedMs !== undefined
    ? `segment ${answer.seq} did not start within ${answer.waitedMs} ms (TRICKLE_FIRST_BYTE_TIMEOUT_MS)`
    : `segment ${answer.seq} is not in the window (the last ${TRICKLE_WINDOW} segments)`;
  return new Response(`trickle channel "${channel}": ${why}; the next write is ${answer.latest}\n`, {
    status: STATUS_OUTSIDE_WINDOW,
    headers,
  });
}

function seqParam(c: Context, allowed: readonly number[]): number {
  const raw = c.req.param("seq") ?? "";
  const seq = parseSeq(raw, allowed);
  if (seq === undefined) {
    const also = allowed.map((s) => (s === SEQ_NEXT ? "-1 (next)" : "-2 (current)"));
    throw new BadRequestError(
      `trickle seq ${JSON.stringify(raw)} is not a whole number >= 0${also.map((a) => `, ${a}`).join("")}`,
    );
  }
  return seq;
}
