import { describe, expect, test } from "bun:test";
import type { MediaFrame } from "../../lib/pipeline/mediaFrame.ts";
import { squeezedShifts, ViewerFeed } from "../../lib/pipeline/viewerFeed.ts";

function frame(track: "video" | "audio", keyframe: boolean, pts: number, bytes = 100): MediaFrame {
  return {
    track,
    keyframe,
    pts,
    mediaTimeMs: pts / 90,
    packets: [{ payload: new Uint8Array(bytes), marker: true, timestamp: pts }],
    bytes,
  };
}

/** What is queued now, as [pts, timestampShift] pairs, read out. */
function drain(feed: ViewerFeed): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let next = feed.poll(); next; next = feed.poll()) out.push([next.frame.pts, next.timestampShift]);
  return out;
}

const ptsOf = (feed: ViewerFeed) => drain(feed).map(([pts]) => pts);

describe("ViewerFeed: live frames", () => {
  test("starts at the next video keyframe and drops audio before it", () => {
    const feed = new ViewerFeed({ maxQueueBytes: 10_000 }, () => {});
    feed.offer(frame("video", false, 1), true);
    feed.offer(frame("audio", true, 2), true);
    feed.offer(frame("video", true, 3), true);
    feed.offer(frame("audio", true, 4), true);
    feed.offer(frame("video", false, 5), true);
    expect(drain(feed)).toEqual([[3, 0], [4, 0], [5, 0]]);
    feed.close();
  });

  test("audio-only streams start at once", () => {
    const feed = new ViewerFeed({ maxQueueBytes: 10_000 }, () => {});
    feed.offer(frame("audio", true, 1), false);
    expect(ptsOf(feed)).toEqual([1]);
    feed.close();
  });

  test("a slow viewer drops to the next keyframe and counts what it lost", () => {
    const feed = new ViewerFeed({ maxQueueBytes: 350 }, () => {});
    feed.offer(frame("video", true, 1), true);
    feed.offer(frame("video", false, 2), true);
    feed.offer(frame("video", false, 3), true);
    feed.offer(frame("video", false, 4), true); // overflow: 1-3 dropped, 4 is no keyframe
    feed.offer(frame("audio", true, 5), true); // still waiting for a keyframe
    feed.offer(frame("video", true, 6), true);
    feed.offer(frame("video", false, 7), true);
    expect(feed.droppedFrames).toBe(4);
    expect(ptsOf(feed)).toEqual([6, 7]);
    feed.close();
  });

  test("without video a slow viewer resumes at the next audio frame", () => {
    const feed = new ViewerFeed({ maxQueueBytes: 250 }, () => {});
    for (let pts = 1; pts <= 3; pts++) feed.offer(frame("audio", true, pts), false); // 3 overflows: 1 and 2 dropped
    expect(feed.droppedFrames).toBe(2);
    expect(ptsOf(feed)).toEqual([3]);
    feed.close();
  });

  test("poll() reads without waiting; onReadable tells a push-style consumer when to poll", () => {
    let readable = 0;
    const feed = new ViewerFeed({ maxQueueBytes: 1000, onReadable: () => readable++ }, () => {});
    expect(feed.poll()).toBeUndefined();
    feed.offer(frame("audio", true, 1), true); // before the first keyframe: not admitted, not announced
    feed.offer(frame("video", true, 2), true);
    feed.offer(frame("video", false, 3), true);
    expect(readable).toBe(2);
    expect([feed.size, feed.queuedBytes]).toEqual([2, 200]);
    expect([feed.poll()?.frame.pts, feed.poll()?.frame.pts, feed.poll()]).toEqual([2, 3, undefined]);
    expect(feed.queuedBytes).toBe(0);
    feed.close();
  });

  test("finish(): the stream ended, what is queued is still read, then done settles and the owner is told", async () => {
    let closed = 0;
    let done = false;
    const feed = new ViewerFeed({ maxQueueBytes: 1000 }, () => closed++);
    void feed.done.then(() => (done = true));
    feed.offer(frame("video", true, 1), true);
    feed.offer(frame("video", false, 2), true);
    feed.finish();
    feed.offer(frame("video", false, 3), true); // nothing after the end
    await Bun.sleep(0); // a turn in which done would settle if finish() settled it early (a negative check)
    expect(done).toBe(false);
    expect(feed.poll()?.frame.pts).toBe(1);
    expect(feed.poll()?.frame.pts).toBe(2);
    await feed.done;
    expect(closed).toBe(1);
    expect(feed.poll()).toBeUndefined();
  });

  test("close() drops what is queued, settles done and tells the owner once", async () => {
    let closed = 0;
    const feed = new ViewerFeed({ maxQueueBytes: 1000 }, () => closed++);
    feed.offer(frame("video", true, 1), true);
    feed.close();
    feed.close();
    await feed.done;
    expect(feed.ended).toBe(true);
    expect(feed.poll()).toBeUndefined();
    expect(closed).toBe(1);
  });
});

describe("ViewerFeed: fast start (the GOP so far, then live)", () => {
  /** A GOP of `n` video frames 3000 ticks (30 fps) apart from `first`, `bytes` each. */
  const gop = (first: number, n: number, bytes = 100) =>
    Array.from({ length: n }, (_, i) => frame("video", i === 0, first + i * 3000, bytes));

  test("the GOP comes first, squeezed 90 ticks apart before its newest frame; live frames follow unshifted, no keyframe wait", () => {
    const feed = new ViewerFeed({ maxQueueBytes: 10_000 }, () => {});
    feed.startWith(gop(90_000, 4));
    feed.offer(frame("audio", true, 99_500), true); // admitted at once: the viewer has the GOP
    feed.offer(frame("video", false, 102_000), true);
    const sent = drain(feed);
    expect(sent).toEqual([
      [90_000, 9000 - 270], // 3 frames behind the newest: moved from 9000 ticks behind to 270
      [93_000, 6000 - 180],
      [96_000, 3000 - 90],
      [99_000, 0], // the newest keeps its timestamp
      [99_500, 0],
      [102_000, 0],
    ]);
    // After the shift the GOP's frames sit 90 ticks apart, just before the live edge.
    const shifted = sent.slice(0, 4).map(([pts, shift]) => pts + shift);
    expect(shifted).toEqual([98_730, 98_820, 98_910, 99_000]);
  });

  test("one byte limit for both: live frames over it drop the unsent GOP too, and the feed waits for the next keyframe", () => {
    const feed = new ViewerFeed({ maxQueueBytes: 450 }, () => {});
    feed.startWith(gop(0, 4)); // 400 bytes of 450
    expect(feed.queuedBytes).toBe(400);
    feed.offer(frame("video", false, 12_000), true); // 500 > 450: the 4 GOP frames go, this is no keyframe
    feed.offer(frame("video", true, 15_000), true);
    expect(feed.droppedFrames).toBe(5);
    expect(drain(feed)).toEqual([[15_000, 0]]);
  });

  test("a GOP larger than the limit is not queued: the feed starts at the next keyframe, nothing counted as dropped", () => {
    const feed = new ViewerFeed({ maxQueueBytes: 350 }, () => {});
    feed.startWith(gop(0, 4));
    expect(feed.size).toBe(0);
    feed.offer(frame("video", false, 12_000), true);
    feed.offer(frame("video", true, 15_000), true);
    expect(feed.droppedFrames).toBe(0);
    expect(ptsOf(feed)).toEqual([15_000]);
  });

  test("only at the start: a feed that already holds frames, or has ended, takes no GOP", () => {
    const live = new ViewerFeed({ maxQueueBytes: 10_000 }, () => {});
    live.offer(frame("video", true, 1), true);
    live.startWith(gop(0, 2));
    expect(ptsOf(live)).toEqual([1]);
    const ended = new ViewerFeed({ maxQueueBytes: 10_000 }, () => {});
    ended.close();
    ended.startWith(gop(0, 2));
    expect(ended.size).toBe(0);
  });

  test("squeezedShifts across the 32-bit RTP timestamp wrap", () => {
    const frames = [frame("video", true, 2 ** 32 - 3000), frame("video", false, 0), frame("video", false, 3000)];
    expect(squeezedShifts(frames)).toEqual([6000 - 180, 3000 - 90, 0]);
    expect(squeezedShifts([])).toEqual([]);
  });
});
