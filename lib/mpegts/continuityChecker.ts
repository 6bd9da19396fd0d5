/** continuity_counter checking for one PID (ISO/IEC 13818-1 2.4.3.3). */
import type { TsPacket } from "./tsPacket.ts";

/** 4-bit continuity_counter: wraps after 15. */
const COUNTER_MODULO = 16;

export type ContinuityVerdict =
  | { kind: "ok" }
  /** The second of two identical consecutive packets (2.4.3.3 allows one repeat): skip it. */
  | { kind: "duplicate" }
  /**
   * Packets were lost (or repeated more than once): what is being assembled is broken.
   * `repeat`: the counter of the last two packets once more, a third copy or 16 packets
   * lost; either way this packet's payload may have been read already.
   */
  | { kind: "gap"; message: string; repeat?: true };

/**
 * 2.4.3.3: the counter increases by one per packet with payload of a PID;
 * it does not advance on adaptation-only packets, may repeat once for a
 * duplicate packet, and may jump where discontinuity_indicator is set.
 */
export class ContinuityChecker {
  #last: number | undefined;
  #repeated = false;

  check(packet: TsPacket): ContinuityVerdict {
    if (!packet.hasPayload) return { kind: "ok" }; // the counter does not advance
    const last = this.#last;
    const counter = packet.continuityCounter;
    this.#last = counter;
    if (last === undefined || packet.discontinuity) {
      this.#repeated = false;
      return { kind: "ok" };
    }
    if (counter === last && !this.#repeated) {
      this.#repeated = true;
      return { kind: "duplicate" };
    }
    const expected = (last + 1) % COUNTER_MODULO;
    const wasRepeat = this.#repeated;
    this.#repeated = false;
    if (counter === expected) return { kind: "ok" };
    const message = (what: string) => `PID ${packet.pid}: ${what} continuity_counter ${counter}, expected ${expected}`;
    if (counter === last && wasRepeat) return { kind: "gap", message: message("a third copy of"), repeat: true };
    return { kind: "gap", message: message("a jump to") };
  }

  /** Forget the last counter (e.g. the PID is no longer followed). */
  reset(): void {
    this.#last = undefined;
    this.#repeated = false;
  }
}
