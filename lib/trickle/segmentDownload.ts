import { AbortedError } from "../errors.ts";
import type { TrickleChannel } from "./trickleChannel.ts";
import { segmentStream } from "./trickleSegment.ts";

/**
 * What a GET of one segment comes to (go-livepeer's Stream.handleGet):
 * - "data": the segment has bytes; `body` streams them from its start as they are written.
 * - "ended": it was closed before its first byte (dropped, reset, the channel closed): 200, empty.
 * - "missing": the window does not hold it (470 with `latest`), or the channel is closed (Lp-Trickle-Closed);
 *   also a preconnected GET whose segment did not start within TRICKLE_FIRST_BYTE_TIMEOUT_MS (`waitedMs`).
 */
export type SegmentDownload =
  | { kind: "data"; seq: number; latest: number | undefined; mimeType: string; body: ReadableStream<Uint8Array> }
  | { kind: "ended"; seq: number; latest: number; closed: boolean }
  | { kind: "missing"; seq: number; latest: number; closed: boolean; waitedMs?: number };

export interface DownloadOptions {
  firstByteTimeoutMs: number;
  /** The client went away. */
  signal?: AbortSignal;
  /** Runs once the answer no longer holds the segment: at once unless "data", else at the body's end. */
  onDone?: () => void;
}

/**
 * Opens a segment for a GET of `seq` (-1 next, -2 current). The answer waits
 * for the segment's first byte, so its headers can still say
 * Lp-Trickle-Closed (FACTS.md): a preconnected GET of the next seq is held
 * until its publisher starts, for at most TRICKLE_FIRST_BYTE_TIMEOUT_MS.
 */
export async function openSegment(
  channel: TrickleChannel,
  seq: number,
  options: DownloadOptions,
): Promise<SegmentDownload> {
  const onDone = options.onDone ?? (() => {});
  const lookup = channel.segmentForRead(seq);
  const { segment } = lookup;
  if (!segment) {
    onDone();
    return { kind: "missing", seq: lookup.seq, latest: lookup.latest, closed: lookup.closed };
  }
  const wait = await segment.waitBeyond(0, { timeoutMs: options.firstByteTimeoutMs, signal: options.signal });
  if (wait === "more") {
    // go-livepeer names the latest seq only when it is not this one.
    const latest = segment.seq !== lookup.latest ? lookup.latest : undefined;
    const body = segmentStream(segment, onDone);
    return { kind: "data", seq: segment.seq, latest, mimeType: channel.mimeType, body };
  }
  onDone();
  if (wait === "aborted") {
    throw new AbortedError(`the GET of trickle segment ${segment.seq} was given up by its client`);
  }
  if (wait === "closed") return { kind: "ended", seq: segment.seq, latest: channel.nextWrite, closed: channel.closed };
  return {
    kind: "missing",
    seq: segment.seq,
    latest: channel.nextWrite,
    closed: channel.closed,
    waitedMs: options.firstByteTimeoutMs,
  };
}
