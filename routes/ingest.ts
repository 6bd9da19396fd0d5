import { Hono, type Context } from "hono";
import type { BlankEnv } from "hono/types";
import { BadRequestError, StaleSessionError } from "../lib/errors.ts";
import type { IngestSession } from "../lib/ingestSession.ts";
import { extendRequestTimeout, type AppContext } from "./context.ts";

/** Seconds an encoder may go silent before Bun drops its push (Bun's default idle timeout is 10 s). */
const INGEST_IDLE_TIMEOUT_S = 60;

/**
 * MPEG-TS over HTTP: `PUT` or `POST /ingest/{stream}` with a streaming body,
 * e.g. `ffmpeg -re -i in.mp4 -c:v libx264 -bf 0 -c:a libopus -f mpegts http://host:8080/ingest/cam1`.
 * One request is one ingest session; the end of the body ends it. A second
 * push to a live name replaces the first (Registry's rule): the older request
 * gets 409 from then on.
 */
export function ingestRoutes(ctx: AppContext): Hono {
  const app = new Hono();
  const push = async (c: Context<BlankEnv, "/:stream">) => {
    const body = c.req.raw.body;
    if (!body) throw new BadRequestError("an MPEG-TS push needs a request body (chunked transfer is fine)");
    extendRequestTimeout(c.env, c.req.raw, INGEST_IDLE_TIMEOUT_S);
    const session = ctx.registry.startSession(c.req.param("stream"));
    const bytes = await pump(body, session);
    session.end("finished");
    const info = session.output.info();
    return c.json({ stream: session.name, requestId: session.requestId, bytes, decodeErrors: info.decodeErrors });
  };
  app.put("/:stream", push);
  app.post("/:stream", push);
  return app;
}

/** Copies the body into the session until it ends, is replaced, or the client goes away. */
async function pump(body: ReadableStream<Uint8Array>, session: IngestSession): Promise<number> {
  const reader = body.getReader();
  const stopOnReplace = session.onEnd(() => reader.cancel().catch(() => {}));
  let bytes = 0;
  try {
    for (let r = await reader.read(); !r.done; r = await reader.read()) {
      session.write(r.value);
      bytes += r.value.byteLength;
    }
  } catch (error) {
    if (!session.ended) session.end("error");
    if (session.endReason === "replaced") throw new StaleSessionError(replacedMessage(session));
    throw new BadRequestError(`reading the MPEG-TS body failed: ${(error as Error).message}`);
  } finally {
    stopOnReplace();
  }
  if (session.endReason === "replaced") throw new StaleSessionError(replacedMessage(session));
  return bytes;
}

function replacedMessage(session: IngestSession): string {
  return `stream "${session.name}" was taken over by a newer push; request ${session.requestId} is no longer accepted`;
}
