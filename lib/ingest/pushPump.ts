import { BadRequestError, RequestTimeoutError, ServiceUnavailableError, StaleSessionError } from "../errors.ts";
import type { IngestSession } from "./ingestSession.ts";

export interface PushLimits {
  /** The push ends when no byte has come for this long (INGEST_IDLE_TIMEOUT_MS). */
  idleTimeoutMs: number;
  /** The program (PAT + PMT) must be known within this many bytes (INGEST_PROBE_BYTES)... */
  probeBytes: number;
  /** ...and this long (INGEST_PROBE_TIMEOUT_MS). */
  probeTimeoutMs: number;
}

/** How long to wait for the client after the server gave up on a push that was shutting down. */
const RETRY_AFTER_S = 5;

/**
 * Copies an MPEG-TS push body into its session for as long as the encoder
 * sends: no size limit, and the only clock is the time since the last byte
 * (fed by every chunk, whatever the HTTP server's own timers do). The first
 * bytes must show an MPEG-TS program. Resolves with the byte count when the
 * body ends; throws the reason otherwise (idle, not MPEG-TS, replaced, shut down).
 */
export async function pumpPush(
  body: ReadableStream<Uint8Array>,
  session: IngestSession,
  limits: PushLimits,
): Promise<number> {
  const reader = body.getReader();
  let failure: Error | undefined;
  const fail = (error: Error) => {
    failure ??= error;
    reader.cancel().catch(() => {});
  };
  const watch = watchPush(session, limits, fail);
  const stopOnEnd = session.onEnd(() => reader.cancel().catch(() => {}));
  let bytes = 0;
  try {
    for (let r = await reader.read(); !r.done; r = await reader.read()) {
      bytes += r.value.byteLength;
      watch.bytesArrived(bytes);
      if (!session.ended) session.write(r.value);
    }
  } catch (error) {
    if (!failure && !session.ended) {
      failure = new BadRequestError(`reading the MPEG-TS body failed: ${(error as Error).message}`);
    }
  } finally {
    watch.stop();
    stopOnEnd();
  }
  if (!failure && !session.ended && !session.programKnown) failure = notMpegTs(bytes);
  return settle(session, failure, bytes);
}

/** The idle watchdog and the program probe of one push; `fail` ends it. */
function watchPush(session: IngestSession, limits: PushLimits, fail: (error: Error) => void) {
  let lastByteAt = performance.now();
  let probing = !session.programKnown;
  const idleCheck = () => {
    const silentMs = performance.now() - lastByteAt;
    if (silentMs < limits.idleTimeoutMs) {
      return void (idleTimer = setTimeout(idleCheck, limits.idleTimeoutMs - silentMs));
    }
    fail(
      new RequestTimeoutError(
        `the push sent no byte for ${limits.idleTimeoutMs} ms (INGEST_IDLE_TIMEOUT_MS); it is ended`,
      ),
    );
  };
  // One timer re-armed for the remainder when it fires: a chunk only writes a timestamp.
  let idleTimer = setTimeout(idleCheck, limits.idleTimeoutMs);
  const probeTimer = setTimeout(() => {
    if (probing && !session.programKnown) fail(notMpegTs(undefined, limits.probeTimeoutMs));
  }, limits.probeTimeoutMs);
  return {
    bytesArrived(total: number) {
      lastByteAt = performance.now();
      if (!probing) return;
      if (session.programKnown) probing = false;
      else if (total > limits.probeBytes) fail(notMpegTs(limits.probeBytes));
    },
    stop() {
      clearTimeout(idleTimer);
      clearTimeout(probeTimer);
    },
  };
}

function notMpegTs(bytes?: number, ms?: number): BadRequestError {
  const within = bytes !== undefined ? `the first ${bytes} bytes` : `the first ${ms} ms`;
  const key = bytes !== undefined ? "INGEST_PROBE_BYTES" : "INGEST_PROBE_TIMEOUT_MS";
  return new BadRequestError(
    `not MPEG-TS: ${within} of the push held no program (PAT and PMT, ISO/IEC 13818-1 2.4.4; ${key})`,
  );
}

/** Ends the session for the push's outcome and returns the byte count, or throws what the client is told. */
function settle(session: IngestSession, failure: Error | undefined, bytes: number): number {
  if (failure) {
    session.logger.warn("push refused", { reason: failure.message, bytes });
    session.end(failure instanceof RequestTimeoutError ? "idle" : "error");
    throw failure;
  }
  if (session.endReason === "replaced") {
    throw new StaleSessionError(
      `stream "${session.name}" was taken over by a newer push; request ${session.requestId} is no longer accepted`,
    );
  }
  if (session.endReason === "shutdown") {
    throw new ServiceUnavailableError(
      `the server is shutting down; the push was ended after ${bytes} bytes`,
      RETRY_AFTER_S,
    );
  }
  session.end("finished");
  return bytes;
}
