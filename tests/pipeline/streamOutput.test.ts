import { describe, expect, test } from "bun:test";
import { silentLogger } from "../../lib/logger.ts";
import type { MediaFrame } from "../../lib/pipeline/mediaFrame.ts";
import { StreamOutput } from "../../lib/pipeline/streamOutput.ts";
import type { ViewerFeed } from "../../lib/pipeline/viewerFeed.ts";
import { FIXTURE_FACTS } from "../fixtures/fixtureFacts.ts";
import { readFixture } from "../fixtures/readFixture.ts";

const TS_PACKET = 188;
const AV = readFixture("av.mpegts"); // 2 s: 60 pictures (keyframes at 0 and 30, 30 fps) + 101 Opus packets
const AV_FACTS = FIXTURE_FACTS.find((f) => f.file === "av.mpegts")!;

/** Everything queued in a feed now. */
function drain(feed: ViewerFeed): Array<{ frame: MediaFrame; timestampShift: number }> {
  const out = [];
  for (let next = feed.poll(); next; next = feed.poll()) out.push(next);
  return out;
}

/**
 * The output fed `bytes` one TS packet at a time, as a push would; `tap`, a
 * feed with room for everything, records the frames as they come out.
 */
function feeding(bytes: Uint8Array) {
  const output = new StreamOutput({ logger: silentLogger });
  const tap = output.subscribe(10_000_000);
  const frames: MediaFrame[] = [];
  let offset = 0;
  const take = () => frames.push(...drain(tap).map((f) => f.frame));
  /** Writes until `done()` holds (checked after every packet), or to the end of the bytes. */
  const writeUntil = (done: () => boolean = () => false, afterEach: () => void = () => {}) => {
    while (offset < bytes.length && !done()) {
      output.write(bytes.subarray(offset, offset += TS_PACKET));
      take();
      afterEach();
    }
  };
  const videoFrames = () => frames.filter((f) => f.track === "video");
  return { output, frames, videoFrames, writeUntil, end: () => (output.end(), take()) };
}

describe("StreamOutput: tracks", () => {
  test.each(
    [
      ["av.mpegts", true, true, ["h264", "opus"]],
      ["video-only.mpegts", true, false, ["h264"]],
      ["audio-only.mpegts", false, true, ["opus"]],
      ["aac.mpegts", true, false, ["h264", "aac"]], // AAC is listed, not playable over WebRTC
    ] as const,
  )("%s: the PMT says what plays (video %p, audio %p)", async (file, video, audio, codecs) => {
    const output = new StreamOutput({ logger: silentLogger });
    expect(output.tracks).toBeUndefined();
    const ready = output.whenReady();
    output.write(readFixture(file).subarray(0, 20 * TS_PACKET)); // the PAT and PMT come first
    expect(output.tracks?.map((t) => t.codec)).toEqual([...codecs]);
    expect([output.hasVideo, output.hasAudio]).toEqual([video, audio]);
    output.write(readFixture(file).subarray(20 * TS_PACKET)); // with video, ready takes a first keyframe too
    expect((await ready).map((t) => t.codec)).toEqual([...codecs]);
    expect(output.ready).toBe(true);
    output.close();
  });

  test("with video, the output is ready at its first keyframe, not at its PMT", () => {
    const output = new StreamOutput({ logger: silentLogger });
    const av = readFixture("av.mpegts");
    output.write(av.subarray(0, 3 * TS_PACKET)); // PAT, PMT and not a whole frame
    expect(output.tracks).toBeDefined();
    expect(output.ready).toBe(false);
    output.write(av);
    expect(output.ready).toBe(true);
    output.close();
    expect(output.ready).toBe(false);
  });

  test("whenReady() rejects when the output ends before it was ready", async () => {
    const output = new StreamOutput({ logger: silentLogger });
    const ready = output.whenReady();
    output.end();
    await expect(ready).rejects.toThrow("the output ended before it had a program map (PMT) and a first keyframe");
  });

  test("every frame is packetized once and offered to every feed: the same objects, counted once in packetsOut", () => {
    const run = feeding(AV);
    const other = run.output.subscribe(10_000_000);
    run.writeUntil();
    run.end();
    expect(run.videoFrames()).toHaveLength(AV_FACTS.video!.count);
    expect(run.frames.filter((f) => f.track === "audio")).toHaveLength(AV_FACTS.opus!.count);
    const theirs = drain(other).map((f) => f.frame);
    expect(theirs).toHaveLength(run.frames.length);
    theirs.forEach((frame, i) => expect(frame).toBe(run.frames[i]!));
    expect(run.output.info().packetsOut).toBe(run.frames.reduce((sum, f) => sum + f.packets.length, 0));
  });
});

describe("StreamOutput: subscribe", () => {
  test("fast start: a mid-GOP joiner gets the GOP so far at once (the same frames, squeezed), then everything live", () => {
    const run = feeding(AV);
    run.writeUntil(() => run.videoFrames().length === 40); // 10 pictures into the second GOP
    const joiner = run.output.subscribe(10_000_000, { fastStart: true });
    const gop = run.videoFrames().slice(30);
    const fastStart = drain(joiner);
    expect(fastStart.map((f) => f.frame)).toEqual(gop);
    fastStart.forEach((f, i) => expect(f.frame).toBe(gop[i]!)); // shared, not copied
    expect(fastStart[0]!.frame.keyframe).toBe(true);
    expect(fastStart.map((f) => f.timestampShift)).toEqual(gop.map((_, i) => (9 - i) * (3000 - 90))); // 30 fps, squeezed to 1 ms apart
    const before = run.frames.length;
    run.writeUntil();
    run.end();
    const live = drain(joiner);
    expect(live.map((f) => f.frame)).toEqual(run.frames.slice(before));
    expect(live.every((f) => f.timestampShift === 0)).toBe(true);
    expect(joiner.droppedFrames).toBe(0);
  });

  test("without fast start a joiner waits for the next keyframe, audio included", () => {
    const run = feeding(AV);
    run.writeUntil(() => run.videoFrames().length === 20); // mid first GOP: the next keyframe is picture 30
    const joiner = run.output.subscribe(10_000_000);
    expect(joiner.size).toBe(0);
    run.writeUntil();
    run.end();
    const got = drain(joiner).map((f) => f.frame);
    expect(got[0]).toBe(run.videoFrames()[30]!);
    expect(got).toEqual(run.frames.slice(run.frames.indexOf(got[0]!)));
  });

  test("an audio-only stream: a fast-start joiner has no GOP to wait for and gets audio at once", () => {
    const run = feeding(readFixture("audio-only.mpegts"));
    run.writeUntil(() => run.frames.length === 10);
    const joiner = run.output.subscribe(10_000_000, { fastStart: true });
    expect(joiner.size).toBe(0);
    run.writeUntil(() => run.frames.length === 12);
    expect(drain(joiner).map((f) => f.frame)).toEqual(run.frames.slice(10));
    run.output.close();
  });

  test("a slow viewer over its byte limit drops to the next keyframe, counts it, and goes on from there", () => {
    const run = feeding(AV);
    const slow = run.output.subscribe(10_000); // not read during the first GOP (~24 KB): it overflows
    run.writeUntil(() => run.videoFrames().length === 25);
    expect(slow.droppedFrames).toBeGreaterThan(0);
    expect(slow.size).toBe(0); // waiting for a keyframe: nothing of this GOP is worth sending
    const got: MediaFrame[] = [];
    run.writeUntil(undefined, () => got.push(...drain(slow).map((f) => f.frame))); // from now on it keeps up
    run.end();
    got.push(...drain(slow).map((f) => f.frame));
    const secondKeyframe = run.videoFrames()[30]!;
    expect(got[0]).toBe(secondKeyframe);
    expect(got).toEqual(run.frames.slice(run.frames.indexOf(secondKeyframe)));
  });

  test("rotation: which feed is offered a frame first moves on with every frame", () => {
    const output = new StreamOutput({ logger: silentLogger });
    const order: string[] = [];
    output.subscribe(10_000_000, { onReadable: () => order.push("a") });
    output.subscribe(10_000_000, { onReadable: () => order.push("b") });
    output.write(AV.subarray(0, 200 * TS_PACKET));
    const firsts = order.filter((_, i) => i % 2 === 0);
    expect(firsts.length).toBeGreaterThan(4);
    firsts.forEach((first, i) => i > 0 && expect(first).not.toBe(firsts[i - 1]));
    output.close();
  });
});

describe("StreamOutput: end of stream", () => {
  test("end(): what the demuxer held comes out, feeds are read to their end, then done settles; later feeds start ended", async () => {
    const run = feeding(AV);
    const viewer = run.output.subscribe(10_000_000, { fastStart: true });
    run.writeUntil();
    let done = false;
    void viewer.done.then(() => (done = true));
    run.end();
    expect(run.videoFrames()).toHaveLength(AV_FACTS.video!.count); // with whatever the demuxer still held
    await Bun.sleep(0); // a turn in which done would settle if end() settled it early (a negative check)
    expect(done).toBe(false);
    expect(drain(viewer).map((f) => f.frame)).toEqual(run.frames);
    await viewer.done;
    expect(run.output.feedCount).toBe(0);
    expect(run.output.closed).toBe(true);
    const late = run.output.subscribe(10_000_000, { fastStart: true });
    expect(late.ended).toBe(true);
    expect(late.poll()).toBeUndefined();
  });

  test("close(): every feed ends at once, what it held dropped", async () => {
    const run = feeding(AV);
    const viewer = run.output.subscribe(10_000_000);
    run.writeUntil(() => run.videoFrames().length === 5);
    expect(viewer.size).toBeGreaterThan(0);
    run.output.close();
    await viewer.done;
    expect(viewer.poll()).toBeUndefined();
    expect(run.output.feedCount).toBe(0);
    run.output.write(AV); // ignored after the end
    expect(run.output.info().packetsOut).toBe(run.frames.reduce((sum, f) => sum + f.packets.length, 0));
  });
});
