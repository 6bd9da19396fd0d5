import { AbortedError, PayloadTooLargeError, RequestTimeoutError } from "../errors.ts";
import type { TrickleChannel } from "./trickleChannel.ts";
import type { TrickleSegment } from "./trickleSegment.ts";
import type { TrickleLimits } from "./trickleServer.ts";

export interface UploadOptions {
  /** Lp-Trickle-Reset was sent: the publisher restarted, earlier segments are closed first. */
  reset: boolean;
  limits: Pick<TrickleLimits, "maxSegmentBytes" | "firstByteTimeoutMs">;
}

export interface UploadResult {
  /** The segment written (Lp-Trickle-Seq): the effective seq of a POST to -1. */
  seq: number;
  bytes: number;
  /** The channel closed meanwhile (Lp-Trickle-Closed: the publisher should stop). */
  closed: boolean;
}

type ReadStep = Awaited<ReturnType<ReadableStreamDefaultReader<Uint8Array>["read"]>> | "closed" | "timeout";

/**
 * A POST body into one segment of `channel`, chunk by chunk as it arrives,
 * so subscribers read it while it is written (go-livepeer's Stream.handlePost).
 * A preconnected POST waits here for its first byte. Bounded: no byte for
 * TRICKLE_FIRST_BYTE_TIMEOUT_MS (before the first one or between two) ends it
 * with 408, more than TRICKLE_MAX_SEGMENT_BYTES with 413; a segment begun is
 * then closed with what it got. If the segment is closed under it (the
 * window moved past it, a reset, the channel closed) the POST ends at once.
 * A body that ends before its first byte still moves the channel's next write
 * past this seq, as go-livepeer does.
 */
export async function receiveSegment(
  channel: TrickleChannel,
  seq: number,
  body: ReadableStream<Uint8Array> | null,
  options: UploadOptions,
): Promise<UploadResult> {
  const segment = channel.segmentForWrite(seq);
  if (options.reset) channel.resetBefore(segment.seq);
  const bytes = body ? await copyBody(body, segment, options) : 0;
  if (bytes === 0) channel.skipEmpty(segment);
  else segment.close();
  return { seq: segment.seq, bytes, closed: channel.closed };
}

/** Copies the body into the segment; returns the byte count, or throws after closing the segment. */
async function copyBody(
  body: ReadableStream<Uint8Array>,
  segment: TrickleSegment,
  options: UploadOptions,
): Promise<number> {
  const { maxSegmentBytes, firstByteTimeoutMs } = options.limits;
  const reader = body.getReader();
  let bytes = 0;
  try {
    for (;;) {
      const step = await nextStep(reader, segment, firstByteTimeoutMs);
      if (step === "closed") break;
      if (step === "timeout") throw silence(segment, bytes, firstByteTimeoutMs);
      if (step.done) return bytes;
      bytes += step.value.byteLength;
      if (bytes > maxSegmentBytes) {
        throw new PayloadTooLargeError(
          `trickle segment ${segment.seq} is larger than ${maxSegmentBytes} bytes (TRICKLE_MAX_SEGMENT_BYTES)`,
        );
      }
      segment.write(step.value);
    }
  } catch (error) {
    // A segment begun ends with what it got; one never begun stays for a new POST and the GETs waiting on it.
    if (bytes > 0) segment.close();
    reader.cancel().catch(() => {});
    if (error instanceof PayloadTooLargeError || error instanceof RequestTimeoutError) throw error;
    throw new AbortedError(`the POST of trickle segment ${segment.seq} broke off: ${(error as Error).message}`);
  }
  reader.cancel().catch(() => {});
  return bytes;
}

/** The body's next chunk, unless the segment closes first or the body stays silent too long. */
async function nextStep(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  segment: TrickleSegment,
  timeoutMs: number,
): Promise<ReadStep> {
  const stop = new AbortController();
  const read = reader.read();
  // If the segment's close or the timeout wins, the read is cancelled with the reader: no unhandled rejection.
  read.catch(() => {});
  const waited = segment.waitBeyond(Infinity, { timeoutMs, signal: stop.signal }).then((result) =>
    result === "timeout" ? "timeout" as const : "closed" as const
  );
  try {
    return await Promise.race([read, waited]);
  } finally {
    stop.abort();
  }
}

function silence(segment: TrickleSegment, bytes: number, timeoutMs: number): RequestTimeoutError {
  const what = bytes === 0 ? "no first byte" : `no byte after ${bytes}`;
  return new RequestTimeoutError(
    `the POST of trickle segment ${segment.seq} sent ${what} within ${timeoutMs} ms (TRICKLE_FIRST_BYTE_TIMEOUT_MS)`,
  );
}
