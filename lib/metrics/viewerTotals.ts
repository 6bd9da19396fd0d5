import type { WhepViewer } from "../webrtc/whepViewer.ts";

/** What a viewer's session has counted so far (its tracks, its feed, its RTCP, its player's reports). */
export interface ViewerCounts {
  packetsSent: number;
  /** RTP payload bytes. */
  bytesSent: number;
  framesSent: number;
  /** Frames its queue skipped because it fell behind. */
  droppedFrames: number;
  /** Packets resent on NACK. */
  retransmitted: number;
  nacks: number;
  plis: number;
  firs: number;
  /** From its player's reports. */
  stalls: number;
  stalledMs: number;
}

export const VIEWER_COUNT_KEYS = [
  "packetsSent",
  "bytesSent",
  "framesSent",
  "droppedFrames",
  "retransmitted",
  "nacks",
  "plis",
  "firs",
  "stalls",
  "stalledMs",
] as const satisfies ReadonlyArray<keyof ViewerCounts>;

export function viewerCounts(viewer: WhepViewer): ViewerCounts {
  const { packetsSent, bytesSent, droppedFrames, retransmitted } = viewer.stats();
  const { framesSent, nacks, plis, firs, player } = viewer.quality;
  const stalls = player?.stalls ?? 0;
  const stalledMs = player?.stalledMs ?? 0;
  return { packetsSent, bytesSent, framesSent, droppedFrames, retransmitted, nacks, plis, firs, stalls, stalledMs };
}

function zero(): ViewerCounts {
  return Object.fromEntries(VIEWER_COUNT_KEYS.map((key) => [key, 0])) as unknown as ViewerCounts;
}

/**
 * Per live stream, the counts of its viewers added up, those that have left
 * included: a counter per stream that only grows while the stream lives
 * (a viewer leaving moves its counts from the live sum to the ended one),
 * read at scrape time. A stream's entry goes when the stream ends, so its
 * label leaves /metrics with it.
 */
export class ViewerTotals {
  readonly #ended = new Map<string, ViewerCounts>();

  /** A viewer of a live stream left: its final counts join the stream's. */
  addEnded(stream: string, counts: ViewerCounts): void {
    const total = this.#ended.get(stream) ?? zero();
    for (const key of VIEWER_COUNT_KEYS) total[key] += counts[key];
    this.#ended.set(stream, total);
  }

  /** The stream ended: its totals go. */
  forget(stream: string): void {
    this.#ended.delete(stream);
  }

  /** Drops the entries of streams no longer live (a viewer that left after its stream ended). */
  keepOnly(liveStreams: ReadonlySet<string>): void {
    for (const stream of this.#ended.keys()) if (!liveStreams.has(stream)) this.#ended.delete(stream);
  }

  /** The stream's viewers' counts now: those that left, plus `live`. */
  total(stream: string, live: readonly WhepViewer[]): ViewerCounts {
    const total = { ...(this.#ended.get(stream) ?? zero()) };
    for (const viewer of live) {
      const counts = viewerCounts(viewer);
      for (const key of VIEWER_COUNT_KEYS) total[key] += counts[key];
    }
    return total;
  }
}
