import type { RtpPacket } from "werift";

/**
 * Sequence numbers given up on, released in their place. `gap` is how many
 * are missing; 0 when the sender's sequence restarted (RFC 3550 A.1 resync),
 * where the number lost is unknown. Either way the stream is broken there.
 */
export interface RtpGap {
  gap: number;
}

/** What the jitter buffer releases: packets in sequence order, with gaps where packets were lost. */
export type RtpItem = RtpPacket | RtpGap;

export function isGap(item: RtpItem): item is RtpGap {
  return "gap" in item;
}

/** RTP sequence numbers are 16-bit (RFC 3550 5.1). */
const SEQ_MOD = 0x10000;
/** RFC 3550 A.1: a step ahead of more than this is a restart of the sequence, not loss. */
const MAX_DROPOUT = 3000;
/** RFC 3550 A.1: a step back of more than this is a restart of the sequence, not reordering. */
const MAX_MISORDER = 100;
/** Released sequence numbers remembered to tell duplicates from late packets: the MAX_MISORDER window, rounded up. */
const RELEASED_MEMORY = 128;
/** Default window: 256 packets, ~0.5 s of 5 Mbit/s video in 1200-byte packets (5e6 / 8 / 1200 = 520 packets/s). */
const DEFAULT_CAPACITY = 256;
/** Default wait for a missing packet: 50 ms, several LAN round trips (a NACKed retransmission), little added delay. */
const DEFAULT_MAX_WAIT_MS = 50;

export interface JitterBufferOptions {
  /**
   * Window in sequence numbers (and most packets held): a packet this far
   * ahead of a hole gives it up at once. Default 256.
   */
  capacity?: number;
  /** How long a held packet waits for a missing earlier one before that one is declared lost, in ms. Default 50. */
  maxWaitMs?: number;
  /** Clock in ms; default performance.now. Injected by tests. */
  now?: () => number;
}

export interface JitterBufferStats {
  /** Packets pushed, all of them. */
  received: number;
  /** Copies of a packet that was held or recently released. */
  duplicates: number;
  /** Sequence numbers given up on (the sum of the gaps). */
  lost: number;
  /** Packets that arrived after their slot was given up on, or too far from the sequence to place (dropped). */
  late: number;
  /** Times the sequence restarted (RFC 3550 A.1) and the buffer followed it. */
  resyncs: number;
}

interface Held {
  extended: number;
  packet: RtpPacket;
  arrivedAt: number;
}

/**
 * Reorders RTP packets by sequence number within a small window. Sequence
 * numbers are extended beyond 16 bits as in RFC 3550 A.1, relative to the next
 * one expected, so the 65535 -> 0 wrap is seamless. A missing packet is waited
 * for at most maxWaitMs (call poll() from a timer), or until the window is
 * full, and then released as a gap, so the depacketizer can drop the broken
 * picture and ask for a keyframe. Duplicates and late packets are dropped and
 * counted. The first packet pushed starts the sequence (no probation).
 */
export class JitterBuffer {
  readonly stats: JitterBufferStats = { received: 0, duplicates: 0, lost: 0, late: 0, resyncs: 0 };
  /** Called with the number of packets given up on, each time some are. */
  onLoss?: (count: number) => void;
  readonly #capacity: number;
  readonly #maxWaitMs: number;
  readonly #now: () => number;
  readonly #slots: Array<Held | undefined>;
  readonly #released = new Float64Array(RELEASED_MEMORY).fill(-1);
  #held = 0;
  /** Extended sequence number of the next packet to release. */
  #next: number | undefined;
  /** RFC 3550 A.1 bad_seq: the sequence number that confirms a restart. */
  #badSeq: number | undefined;

  constructor(options: JitterBufferOptions = {}) {
    const capacity = options.capacity ?? DEFAULT_CAPACITY;
    if (!Number.isInteger(capacity) || capacity < 1 || capacity > MAX_DROPOUT) {
      throw new RangeError(
        `JitterBuffer: capacity must be an integer from 1 to ${MAX_DROPOUT} packets, got ${capacity}`,
      );
    }
    this.#capacity = capacity;
    this.#maxWaitMs = options.maxWaitMs ?? DEFAULT_MAX_WAIT_MS;
    this.#now = options.now ?? (() => performance.now());
    this.#slots = new Array<Held | undefined>(capacity).fill(undefined);
  }

  /** Packets held, waiting for a missing earlier one. */
  get size(): number {
    return this.#held;
  }

  /** Takes a packet; returns what is now releasable in order (possibly nothing). */
  push(packet: RtpPacket): RtpItem[] {
    this.stats.received++;
    const seq = packet.header.sequenceNumber;
    this.#next ??= SEQ_MOD + seq; // one cycle up: packets from before the first stay non-negative
    const delta = ((seq - (this.#next % SEQ_MOD) + SEQ_MOD + SEQ_MOD / 2) % SEQ_MOD) - SEQ_MOD / 2; // signed 16-bit
    if (delta < 0 && delta >= -MAX_MISORDER) {
      this.#dropBehind(this.#next + delta);
      return [];
    }
    if (delta < 0 || delta >= MAX_DROPOUT) return this.#jump(packet);
    return this.#place(packet, this.#next + delta);
  }

  /** Gives up on missing packets that a held packet has waited for maxWaitMs or longer. */
  poll(): RtpItem[] {
    const out: RtpItem[] = [];
    while (this.#held > 0 && this.#now() - this.#oldestArrival() >= this.#maxWaitMs) this.#skipHole(out);
    return out;
  }

  /** Releases everything held, with gaps for what is still missing (end of stream). */
  flush(): RtpItem[] {
    const out: RtpItem[] = [];
    while (this.#held > 0) this.#skipHole(out);
    return out;
  }

  #place(packet: RtpPacket, extended: number): RtpItem[] {
    const held = this.#slots[extended % this.#capacity];
    if (held?.extended === extended) {
      this.stats.duplicates++;
      return [];
    }
    const out: RtpItem[] = [];
    const next = this.#next!;
    if (extended >= next + this.#capacity) this.#advance(extended - this.#capacity + 1, out); // window full
    this.#slots[extended % this.#capacity] = { extended, packet, arrivedAt: this.#now() };
    this.#held++;
    this.#releaseRun(out);
    return out;
  }

  /** A packet behind the next expected one: a copy of a released packet, or one already given up on. */
  #dropBehind(extended: number): void {
    if (this.#released[extended % RELEASED_MEMORY] === extended) this.stats.duplicates++;
    else this.stats.late++;
  }

  /** RFC 3550 A.1: a far-off sequence number is dropped, unless the next packet follows it (a restart). */
  #jump(packet: RtpPacket): RtpItem[] {
    const seq = packet.header.sequenceNumber;
    if (seq !== this.#badSeq) {
      this.#badSeq = (seq + 1) % SEQ_MOD;
      this.stats.late++;
      return [];
    }
    const out = this.flush();
    out.push({ gap: 0 });
    this.stats.resyncs++;
    this.#badSeq = undefined;
    this.#next = (Math.floor(this.#next! / SEQ_MOD) + 2) * SEQ_MOD + seq; // beyond every number used so far
    this.#released.fill(-1);
    return [...out, ...this.#place(packet, this.#next)];
  }

  /** Releases held packets up to (not including) `target`, with gaps for missing ones, then the run from there. */
  #advance(target: number, out: RtpItem[]): void {
    let missing = 0;
    for (; this.#next! < target && this.#held > 0; this.#next!++) {
      const held = this.#take(this.#next!);
      if (!held) {
        missing++;
        continue;
      }
      this.#gap(missing, out);
      missing = 0;
      this.#release(held, out);
    }
    this.#gap(missing + (target - this.#next!), out);
    this.#next = Math.max(this.#next!, target);
    this.#releaseRun(out);
  }

  /** Gives up on the hole at the next expected number: releases up to the next held packet and its run. */
  #skipHole(out: RtpItem[]): void {
    let lowest = this.#next!;
    while (!this.#slots[lowest % this.#capacity] || this.#slots[lowest % this.#capacity]!.extended !== lowest) lowest++;
    this.#advance(lowest, out);
  }

  #releaseRun(out: RtpItem[]): void {
    for (let held = this.#take(this.#next!); held; held = this.#take(this.#next!)) {
      this.#release(held, out);
      this.#next!++;
    }
  }

  #take(extended: number): Held | undefined {
    const slot = extended % this.#capacity;
    const held = this.#slots[slot];
    if (held?.extended !== extended) return undefined;
    this.#slots[slot] = undefined;
    this.#held--;
    return held;
  }

  #release(held: Held, out: RtpItem[]): void {
    this.#released[held.extended % RELEASED_MEMORY] = held.extended;
    out.push(held.packet);
  }

  #gap(count: number, out: RtpItem[]): void {
    if (count <= 0) return;
    this.stats.lost += count;
    out.push({ gap: count });
    this.onLoss?.(count);
  }

  #oldestArrival(): number {
    let oldest = Infinity;
    for (const held of this.#slots) if (held && held.arrivedAt < oldest) oldest = held.arrivedAt;
    return oldest;
  }
}
