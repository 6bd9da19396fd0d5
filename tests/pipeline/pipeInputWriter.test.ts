import { describe, expect, test } from "bun:test";
import { concatBytes } from "../../bench/lib/mpegts/tsBuilders.ts";
import { randomChunks, seededRandom } from "../../bench/lib/random.ts";
import { TsKeyframeScanner } from "../../lib/mpegts/tsKeyframeScanner.ts";
import { TS_PACKET_SIZE } from "../../lib/mpegts/tsPacket.ts";
import { PipeInputWriter } from "../../lib/pipeline/pipeInputWriter.ts";
import { readFixture } from "../fixtures/readFixture.ts";
import { countResumes } from "../helpers/tsResumes.ts";

const PMT_PID = 0x1000;

/** A pipe whose writes complete only when the test lets them: a reader that does not read. */
class HeldPipe {
  readonly written: Uint8Array[] = [];
  readonly #pending: Array<() => void> = [];
  closed = false;
  aborted = false;
  failWith: Error | undefined;
  readonly stream = new WritableStream<Uint8Array>({
    write: (chunk) => {
      if (this.failWith) return Promise.reject(this.failWith);
      this.written.push(chunk.slice());
      return new Promise<void>((resolve) => this.#pending.push(resolve));
    },
    close: () => {
      this.closed = true;
    },
    abort: () => {
      this.aborted = true;
    },
  });

  /** Lets every write through, now and from now on, until the queue is empty. */
  async drain(): Promise<void> {
    for (let turns = 0; turns < 1000 && (this.#pending.length > 0 || turns < 3); turns++) {
      this.#pending.splice(0).forEach((resolve) => resolve());
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  get bytes(): Uint8Array {
    return concatBytes(this.written);
  }
}

const AV6 = readFixture("av-6s.mpegts");
const chunksOf = (bytes: Uint8Array, size: number) =>
  Array.from({ length: Math.ceil(bytes.length / size) }, (_, i) => bytes.subarray(i * size, (i + 1) * size));

describe("PipeInputWriter", () => {
  test.each([1, 100, 5000])("a pipe that keeps up gets every byte (random chunks up to %d)", async (max) => {
    const pipe = new HeldPipe();
    const writer = new PipeInputWriter(pipe.stream, { maxQueuedBytes: 10_000_000 });
    for (const chunk of randomChunks(AV6, seededRandom(max), max)) writer.write(chunk);
    writer.end();
    await pipe.drain();
    expect(pipe.bytes).toEqual(AV6);
    expect(pipe.closed).toBe(true);
    expect(writer.stats).toEqual({ droppedBytes: 0, drops: 0, queuedBytes: 0 });
  });

  test("a full pipe: the queue is dropped past its bound, and input resumes with PAT, PMT and a keyframe", async () => {
    const pipe = new HeldPipe();
    const writer = new PipeInputWriter(pipe.stream, { maxQueuedBytes: 20_000 });
    const chunks = chunksOf(AV6, 7 * TS_PACKET_SIZE);
    writer.write(chunks[0]!); // in flight, never completed while the rest arrives
    for (const chunk of chunks.slice(1, 40)) writer.write(chunk);
    expect(writer.stats.drops).toBe(1);
    expect(writer.stats.queuedBytes).toBe(0); // skipping: nothing queued until a keyframe
    for (const chunk of chunks.slice(40)) {
      writer.write(chunk);
      if (writer.stats.queuedBytes > 0) break; // the next keyframe came: stop before the queue overflows again
    }
    await pipe.drain();
    expect(pipe.written.length).toBe(2);
    expect(pipe.written[0]).toEqual(chunks[0]!);
    const resumed = new TsKeyframeScanner().push(pipe.written[1]!);
    expect(resumed.map((p) => p.kind).slice(0, 3)).toEqual(["pat", "pmt", "video"]);
    expect(resumed[2]!.keyframe).toBe(true);
    expect(resumed[2]!.pts).toBe(306585); // the second IDR of av-6s.mpegts (GOP 60 at 30 fps after 126585)
  });

  test("several drops: every gap in what was written is followed by PAT, PMT and a keyframe", async () => {
    const pipe = new HeldPipe();
    const writer = new PipeInputWriter(pipe.stream, { maxQueuedBytes: 30_000 });
    const CHUNK_PACKETS = 10;
    const chunks = chunksOf(AV6, CHUNK_PACKETS * TS_PACKET_SIZE);
    // The reader stalls for the 40 chunks (75 KB) before each later keyframe, and keeps up otherwise.
    const keyframeChunks = new TsKeyframeScanner().push(AV6).flatMap((p, i) =>
      p.keyframe ? [Math.floor(i / CHUNK_PACKETS)] : []
    ).slice(1);
    const stalled = (index: number) => keyframeChunks.some((k) => index >= k - 40 && index < k);
    for (const [index, chunk] of chunks.entries()) {
      writer.write(chunk);
      if (!stalled(index)) await pipe.drain();
    }
    writer.end();
    await pipe.drain();
    const { drops, droppedBytes } = writer.stats;
    expect(drops).toBe(2);
    expect(countResumes(AV6, pipe.bytes, PMT_PID)).toBe(2);
    expect(pipe.bytes.length + droppedBytes).toBe(AV6.length + drops * 2 * TS_PACKET_SIZE);
  });

  test("audio only: input resumes at the next audio PES after PAT and PMT", async () => {
    const audio = readFixture("audio-only.mpegts");
    const pipe = new HeldPipe();
    const writer = new PipeInputWriter(pipe.stream, { maxQueuedBytes: 10_000 });
    const chunks = chunksOf(audio, 5 * TS_PACKET_SIZE);
    writer.write(chunks[0]!);
    let index = 1;
    while (writer.stats.drops === 0) writer.write(chunks[index++]!);
    while (writer.stats.queuedBytes === 0) writer.write(chunks[index++]!);
    await pipe.drain();
    const resumed = new TsKeyframeScanner().push(pipe.written[1]!);
    expect(resumed.map((p) => p.kind).slice(0, 3)).toEqual(["pat", "pmt", "audio"]);
    expect(resumed[2]!.pts).toBeNumber();
  });

  test("a broken pipe is reported once; later input is ignored", async () => {
    const pipe = new HeldPipe();
    pipe.failWith = new Error("EPIPE: broken pipe, write");
    const errors: unknown[] = [];
    const writer = new PipeInputWriter(pipe.stream, { maxQueuedBytes: 20_000, onError: (e) => errors.push(e) });
    writer.write(AV6.subarray(0, 1880));
    await pipe.drain();
    writer.write(AV6.subarray(1880, 3760));
    writer.end();
    await pipe.drain();
    expect(errors).toEqual([pipe.failWith]);
    expect(writer.stats.queuedBytes).toBe(0);
  });

  test("abort() drops what is queued and aborts the pipe; it is idempotent and later writes are ignored", async () => {
    const pipe = new HeldPipe();
    const errors: unknown[] = [];
    const writer = new PipeInputWriter(pipe.stream, { maxQueuedBytes: 1_000_000, onError: (e) => errors.push(e) });
    writer.write(AV6.subarray(0, 18800));
    await new Promise((resolve) => setImmediate(resolve)); // the stream hands the first write to the pipe
    writer.write(AV6.subarray(18800, 37600));
    writer.abort();
    writer.abort();
    writer.write(AV6.subarray(37600, 56400));
    await pipe.drain();
    expect(pipe.aborted).toBe(true);
    expect(pipe.written).toEqual([AV6.subarray(0, 18800)]);
    expect(errors).toEqual([]);
  });
});
