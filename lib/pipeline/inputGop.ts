import type { ScannedPacket } from "../mpegts/tsKeyframeScanner.ts";

/**
 * The publisher's input since its latest video keyframe, as whole TS packets:
 * what a new pipeline attempt (a restarted process, a new worker) is given at
 * once, after PAT and PMT, instead of waiting up to a GOP for the next
 * keyframe. Bounded: a GOP longer than `maxBytes` is dropped, and the next
 * attempt waits for the next keyframe as it would without it.
 */
export class InputGop {
  #packets: Uint8Array[] = [];
  #bytes = 0;

  constructor(readonly maxBytes: number) {}

  add(packets: readonly ScannedPacket[]): void {
    for (const packet of packets) {
      if (packet.keyframe) this.#clear();
      else if (this.#packets.length === 0) continue; // none yet, or dropped as too long: wait for a keyframe
      this.#packets.push(packet.bytes);
      this.#bytes += packet.bytes.byteLength;
      if (this.#bytes > this.maxBytes) this.#clear();
    }
  }

  /** From the latest keyframe on; empty before the first, or when the GOP outgrew the bound. */
  get packets(): readonly Uint8Array[] {
    return this.#packets;
  }

  #clear(): void {
    this.#packets = [];
    this.#bytes = 0;
  }
}
