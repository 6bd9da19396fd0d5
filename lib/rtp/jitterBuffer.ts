import type { RtpPacket } from "werift";

/** What the jitter buffer releases: packets in sequence order, or a gap of N packets given up as lost. */
export type RtpItem = RtpPacket | { gap: number };

export interface JitterBufferOptions {
  /** Most packets held while waiting for a missing one. */
  capacity?: number;
  /** How long a held packet waits for a missing earlier one before that one is declared lost, in ms. */
  maxWaitMs?: number;
  now?: () => number;
}

export interface JitterBufferStats {
  received: number;
  duplicates: number;
  lost: number;
  late: number;
}

/**
 * Reorders RTP packets by sequence number (16 bits extended as in RFC 3550
 * A.1) within a small window. A missing packet is waited for at most
 * maxWaitMs (call poll() from a timer), then reported as a gap so the
 * depacketizer can drop the broken frame and ask for a keyframe.
 */
export class JitterBuffer {
  readonly stats: JitterBufferStats = { received: 0, duplicates: 0, lost: 0, late: 0 };
  readonly #capacity: number;
  readonly #maxWaitMs: number;
  readonly #now: () => number;
  readonly #held = new Map<number, { packet: RtpPacket; at: number }>();
  #next: number | undefined;

  constructor(options: JitterBufferOptions = {}) {
    this.#capacity = options.capacity ?? 256;
    this.#maxWaitMs = options.maxWaitMs ?? 50;
    this.#now = options.now ?? performance.now.bind(performance);
  }

  push(packet: RtpPacket): RtpItem[] {
    this.stats.received++;
    const seq = packet.header.sequenceNumber;
    if (this.#next === undefined) this.#next = seq;
    const extended = this.#extend(seq);
    if (extended < this.#next) {
      this.stats.late++;
      return [];
    }
    if (this.#held.has(extended)) {
      this.stats.duplicates++;
      return [];
    }
    this.#held.set(extended, { packet, at: this.#now() });
    const out = this.#release();
    if (this.#held.size > this.#capacity) out.push(...this.#skipToHeld(), ...this.#release());
    return out;
  }

  /** Gives up on missing packets that held packets waited for longer than maxWaitMs. */
  poll(): RtpItem[] {
    const out: RtpItem[] = [];
    while (this.#held.size > 0 && this.#now() - this.#oldestArrival() >= this.#maxWaitMs) {
      out.push(...this.#skipToHeld(), ...this.#release());
    }
    return out;
  }

  /** The extended sequence number nearest to the next expected one. */
  #extend(seq: number): number {
    const next = this.#next!;
    const delta = ((seq - (next & 0xffff) + 0x18000) & 0xffff) - 0x8000; // signed 16-bit distance
    return next + delta;
  }

  #release(): RtpItem[] {
    const out: RtpItem[] = [];
    for (let entry = this.#held.get(this.#next!); entry; entry = this.#held.get(this.#next!)) {
      this.#held.delete(this.#next!);
      out.push(entry.packet);
      this.#next!++;
    }
    return out;
  }

  /** Declares everything before the lowest held packet lost. */
  #skipToHeld(): RtpItem[] {
    const lowest = Math.min(...this.#held.keys());
    const gap = lowest - this.#next!;
    this.#next = lowest;
    if (gap <= 0) return [];
    this.stats.lost += gap;
    return [{ gap }];
  }

  #oldestArrival(): number {
    let oldest = Infinity;
    for (const { at } of this.#held.values()) oldest = Math.min(oldest, at);
    return oldest;
  }
}
