import { declaredPesSize } from "./pes.ts";
import type { TsPacket } from "./tsPacket.ts";

export interface PesPushResult {
  /** Whole PES packets (header included) finished by this TS packet. */
  complete: Uint8Array[];
  /** Set when a continuity-counter gap broke the PES being assembled. */
  continuityError?: string;
  droppedUnit?: boolean;
}

/**
 * Reassembles the PES packets of one PID from TS packet payloads. A PES ends
 * when its declared length is reached or the next unit start arrives (video
 * PES are unbounded). A continuity-counter gap (2.4.3.3) drops the broken PES
 * and waits for the next unit start; a repeated counter is a duplicate.
 */
export class PesAssembler {
  #chunks: Uint8Array[] = [];
  #size = 0;
  #expected: number | undefined;
  #lastCounter: number | undefined;
  #broken = false;

  push(packet: TsPacket): PesPushResult {
    const result: PesPushResult = { complete: [] };
    if (!packet.hasPayload) return result; // CC does not advance without payload
    const last = this.#lastCounter;
    this.#lastCounter = packet.continuityCounter;
    if (last !== undefined && !packet.discontinuity) {
      if (packet.continuityCounter === last) return result; // duplicate packet: ignore
      const expected = (last + 1) & 0x0f;
      if (packet.continuityCounter !== expected || packet.transportError) {
        result.continuityError = `continuity counter ${packet.continuityCounter}, expected ${expected}`;
        if (this.#chunks.length > 0) result.droppedUnit = true;
        this.#reset(true);
      }
    }
    if (packet.payloadUnitStart) {
      const done = this.finish();
      if (done) result.complete.push(done);
      this.#broken = false;
      this.#append(packet.payload);
      this.#expected = declaredPesSize(packet.payload);
    } else if (!this.#broken && this.#chunks.length > 0) {
      this.#append(packet.payload);
    }
    if (this.#expected !== undefined && this.#size >= this.#expected) {
      const done = this.finish();
      if (done) result.complete.push(done);
    }
    return result;
  }

  /** The PES being assembled, if any and intact; the assembler is empty afterwards. */
  finish(): Uint8Array | undefined {
    if (this.#broken || this.#chunks.length === 0) {
      this.#reset(this.#broken);
      return undefined;
    }
    const expected = this.#expected;
    const out = new Uint8Array(this.#size);
    let offset = 0;
    for (const chunk of this.#chunks) {
      out.set(chunk, offset);
      offset += chunk.length;
    }
    this.#reset(false);
    return expected !== undefined ? out.subarray(0, expected) : out;
  }

  #append(payload: Uint8Array): void {
    this.#chunks.push(payload);
    this.#size += payload.length;
  }

  #reset(broken: boolean): void {
    this.#chunks = [];
    this.#size = 0;
    this.#broken = broken;
    if (!broken) this.#expected = undefined;
  }
}
