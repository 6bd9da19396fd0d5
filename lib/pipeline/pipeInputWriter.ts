/**
 * Writes a publisher's MPEG-TS into a pipe (a command pipeline's stdin)
 * without ever making ingest wait. What the pipe cannot take yet waits in a
 * bounded queue; when the pipe is full and the queue passes its bound, the
 * queue is dropped and input is skipped up to the next video keyframe, which
 * goes out after the latest PAT and PMT, so the reader starts a clean picture
 * (as a slow viewer skips in lib/pipeline/viewerFeed.ts). Drops are counted.
 */
import { type ScannedPacket, TsKeyframeScanner } from "../mpegts/tsKeyframeScanner.ts";

/** Most bytes handed to the pipe in one write: a few pipe buffers' worth (Linux: 64 KiB each). */
const MAX_WRITE_BYTES = 256 * 1024;

export interface PipeInputWriterOptions {
  /** Input queued while the pipe is full before it skips to the next keyframe (PIPELINE_INPUT_QUEUE_BYTES). */
  maxQueuedBytes: number;
  /** Called once if writing fails (the reader is gone); input is dropped from then on, uncounted. */
  onError?: (error: unknown) => void;
}

export interface PipeInputStats {
  /** Input bytes dropped because the pipe could not take them. */
  droppedBytes: number;
  /** Times the input skipped to a next keyframe. */
  drops: number;
  /** Bytes waiting for the pipe now. */
  queuedBytes: number;
}

export class PipeInputWriter {
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly #maxQueuedBytes: number;
  readonly #onError: (error: unknown) => void;
  readonly #scanner = new TsKeyframeScanner();
  #queue: Uint8Array[] = [];
  #queuedBytes = 0;
  /** A write is in flight: the pipe has not taken the last batch yet. */
  #writing = false;
  /** Skipping input until the next keyframe. */
  #skipping = false;
  #ending = false;
  /** Stopped, closing, or the pipe broke: nothing more is written. */
  #closed = false;
  #aborted = false;
  #failed = false;
  #droppedBytes = 0;
  #drops = 0;

  constructor(sink: WritableStream<Uint8Array>, options: PipeInputWriterOptions) {
    this.#writer = sink.getWriter();
    this.#maxQueuedBytes = options.maxQueuedBytes;
    this.#onError = options.onError ?? (() => {});
  }

  get stats(): PipeInputStats {
    return { droppedBytes: this.#droppedBytes, drops: this.#drops, queuedBytes: this.#queuedBytes };
  }

  /** Queues MPEG-TS in any chunking; returns at once. */
  write(chunk: Uint8Array): void {
    if (this.#closed || this.#ending) return;
    this.#take(this.#scanner.push(chunk));
    if (this.#writing && this.#queuedBytes > this.#maxQueuedBytes) this.#skipToNextKeyframe();
    this.#pump();
  }

  /** The input ended: what is queued is written, then the pipe is closed (the reader sees its end of input). */
  end(): void {
    if (this.#closed || this.#ending) return;
    this.#take(this.#scanner.flush());
    this.#ending = true;
    this.#pump();
  }

  /** Stops at once: drops what is queued and aborts the pipe. Idempotent. */
  abort(): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#closed = true;
    this.#queue = [];
    this.#queuedBytes = 0;
    this.#writer.abort().catch(() => {}); // the pipe's own failure is no news once we stopped
  }

  #take(packets: ScannedPacket[]): void {
    for (const packet of packets) {
      if (this.#skipping && this.#isResumePoint(packet)) {
        this.#skipping = false;
        for (const psi of this.#scanner.programPackets()) this.#enqueue(psi);
      }
      if (this.#skipping) this.#droppedBytes += packet.bytes.length;
      else this.#enqueue(packet.bytes);
    }
  }

  /** A video keyframe; in a program without video, any audio PES start (every audio frame is a random access point). */
  #isResumePoint(packet: ScannedPacket): boolean {
    if (packet.keyframe) return true;
    const noVideo = this.#scanner.programKnown && this.#scanner.videoPid === undefined;
    return noVideo && packet.kind === "audio" && packet.pts !== undefined;
  }

  #skipToNextKeyframe(): void {
    this.#droppedBytes += this.#queuedBytes;
    this.#drops++;
    this.#queue = [];
    this.#queuedBytes = 0;
    this.#skipping = true;
  }

  #enqueue(bytes: Uint8Array): void {
    this.#queue.push(bytes);
    this.#queuedBytes += bytes.length;
  }

  /** Writes batches while there is input and the pipe takes it; closes the pipe after the last one when ending. */
  async #pump(): Promise<void> {
    if (this.#writing) return;
    this.#writing = true;
    try {
      while (!this.#closed && this.#queue.length > 0) await this.#writer.write(this.#nextBatch());
      if (this.#ending && !this.#closed) {
        this.#closed = true;
        await this.#writer.close();
      }
    } catch (error) {
      this.#fail(error);
    } finally {
      this.#writing = false;
    }
  }

  /** Up to MAX_WRITE_BYTES of queued packets in one buffer: one write (and one syscall) per batch, not per packet. */
  #nextBatch(): Uint8Array {
    let size = 0;
    let count = 0;
    while (count < this.#queue.length && size + this.#queue[count]!.length <= MAX_WRITE_BYTES) {
      size += this.#queue[count++]!.length;
    }
    const batch = new Uint8Array(size);
    for (let i = 0, offset = 0; i < count; offset += this.#queue[i++]!.length) batch.set(this.#queue[i]!, offset);
    this.#queue = this.#queue.slice(count);
    this.#queuedBytes -= size;
    return batch;
  }

  #fail(error: unknown): void {
    if (this.#aborted || this.#failed) return;
    this.#failed = true;
    this.#closed = true;
    this.#queue = [];
    this.#queuedBytes = 0;
    this.#onError(error);
  }
}
