// The gap in a viewer's picture around a swap: the longest wait between two presented frames.
// Frames in a live stream come every ~33 ms, so anything much longer is the swap's doing.

export interface FrameGap {
  /** Last frame presented before the gap -> first presented after it (ms). */
  gapMs: number;
  /** Epoch ms of those two frames. */
  lastBefore: number;
  firstAfter: number;
}

/** The longest interval between consecutive presentation times (epoch ms, ascending); undefined with fewer than two. */
export function longestGap(frames: readonly number[]): FrameGap | undefined {
  let best: FrameGap | undefined;
  for (let i = 1; i < frames.length; i++) {
    const gapMs = frames[i]! - frames[i - 1]!;
    if (!best || gapMs > best.gapMs) best = { gapMs, lastBefore: frames[i - 1]!, firstAfter: frames[i]! };
  }
  return best;
}
