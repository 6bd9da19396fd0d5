import { describe, expect, test } from "bun:test";
import { FrameReader } from "../../lib/pipeline/frameReader.ts";
import type { MediaFrame } from "../../lib/pipeline/mediaFrame.ts";

function frame(track: "video" | "audio", keyframe: boolean, pts: number, bytes = 100): MediaFrame {
  return { track, keyframe, pts, mediaTimeMs: pts / 90, packets: [{ payload: new Uint8Array(bytes), marker: true, timestamp: pts }], bytes };
}

async function take(reader: FrameReader, n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push((await reader.next())!.pts);
  return out;
}

describe("FrameReader", () => {
  test("starts at the next video keyframe and drops audio before it", async () => {
    const reader = new FrameReader({ maxQueueBytes: 10_000 }, () => {});
    reader.offer(frame("video", false, 1), true);
    reader.offer(frame("audio", true, 2), true);
    reader.offer(frame("video", true, 3), true);
    reader.offer(frame("audio", true, 4), true);
    reader.offer(frame("video", false, 5), true);
    expect(await take(reader, 3)).toEqual([3, 4, 5]);
    reader.close();
  });

  test("audio-only streams start at once", async () => {
    const reader = new FrameReader({ maxQueueBytes: 10_000 }, () => {});
    reader.offer(frame("audio", true, 1), false);
    expect(await take(reader, 1)).toEqual([1]);
    reader.close();
  });

  test("a slow reader drops to the next keyframe and counts what it lost", async () => {
    const reader = new FrameReader({ maxQueueBytes: 350 }, () => {});
    reader.offer(frame("video", true, 1), true);
    reader.offer(frame("video", false, 2), true);
    reader.offer(frame("video", false, 3), true);
    reader.offer(frame("video", false, 4), true); // overflow: 1-3 dropped, 4 is no keyframe
    reader.offer(frame("audio", true, 5), true); // still waiting for a keyframe
    reader.offer(frame("video", true, 6), true);
    reader.offer(frame("video", false, 7), true);
    expect(reader.droppedFrames).toBe(4);
    expect(await take(reader, 2)).toEqual([6, 7]);
    reader.close();
  });

  test("close wakes a pending next() with the end and tells the owner once", async () => {
    let closed = 0;
    const reader = new FrameReader({ maxQueueBytes: 1000 }, () => closed++);
    const pending = reader.next();
    reader.close();
    reader.close();
    expect(await pending).toBeUndefined();
    expect(await reader.next()).toBeUndefined();
    expect(closed).toBe(1);
  });

  test("a waiting next() gets the frame directly", async () => {
    const reader = new FrameReader({ maxQueueBytes: 1000 }, () => {});
    const pending = reader.next();
    reader.offer(frame("video", true, 9), true);
    expect((await pending)?.pts).toBe(9);
    reader.close();
  });

  test("poll() reads without waiting; onReadable tells a push-style consumer when to poll", () => {
    let readable = 0;
    const reader = new FrameReader({ maxQueueBytes: 1000, onReadable: () => readable++ }, () => {});
    expect(reader.poll()).toBeUndefined();
    reader.offer(frame("audio", true, 1), true); // before the first keyframe: not admitted, not announced
    reader.offer(frame("video", true, 2), true);
    reader.offer(frame("video", false, 3), true);
    expect(readable).toBe(2);
    expect(reader.size).toBe(2);
    expect([reader.poll()?.pts, reader.poll()?.pts, reader.poll()]).toEqual([2, 3, undefined]);
    reader.close();
  });

  test("finish(): the stream ended, what is queued is still read, then done settles and the owner is told", async () => {
    let closed = 0;
    let done = false;
    const reader = new FrameReader({ maxQueueBytes: 1000 }, () => closed++);
    void reader.done.then(() => (done = true));
    reader.offer(frame("video", true, 1), true);
    reader.offer(frame("video", false, 2), true);
    reader.finish();
    reader.offer(frame("video", false, 3), true); // nothing after the end
    await Bun.sleep(0);
    expect(done).toBe(false);
    expect(reader.poll()?.pts).toBe(1);
    expect(reader.poll()?.pts).toBe(2);
    await reader.done;
    expect(closed).toBe(1);
    expect(reader.poll()).toBeUndefined();
  });

  test("close() drops what is queued and settles done", async () => {
    const reader = new FrameReader({ maxQueueBytes: 1000 }, () => {});
    reader.offer(frame("video", true, 1), true);
    reader.close();
    await reader.done;
    expect(reader.poll()).toBeUndefined();
  });
});
