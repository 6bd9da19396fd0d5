/** PES reassembly for one PID from TS packet payloads (ISO/IEC 13818-1 2.4.3.2 / 2.4.3.6). */
import { declaredPesSize, PES_PREFIX_SIZE } from "./pes.ts";
import type { TsPacket } from "./tsPacket.ts";

/** Largest PES held: 8 MiB, a 1 s I-frame at 64 Mbit/s; beyond it an unbounded PES is dropped, not grown. */
export const MAX_PES_SIZE = 8 * 1024 * 1024;

/** A PES the assembler let go of: whole (header included), or dropped and why. */
export type PesOutput = { ok: true; bytes: Uint8Array } | { ok: false; message: string };

export interface PesAssemblerOptions {
  /** Let an unbounded PES go at a packet with adaptation-field stuffing (default true; see the class). */
  endAtStuffing?: boolean;
}

/**
 * A payload_unit_start packet begins a PES (2.4.3.2). A PES with a
 * PES_packet_length is let go as soon as that many bytes are in. An
 * unbounded one (length 0: what ffmpeg and most encoders write for video)
 * when the next PES starts, at flush, or, sooner, at its last TS packet:
 *
 * Waiting for the next unit start holds every picture back one frame interval
 * (33 ms at 30 fps). But muxers fill each TS packet of a PES to the brim except
 * the last, whose spare room becomes adaptation-field stuffing (2.4.3.5), so a
 * packet with stuffing ends the PES. The standard does not promise that; if a
 * PES goes on after such a packet (the next packet with payload is no unit
 * start), this muxer stuffs elsewhere: the rule is switched off for this PID
 * and that one unit, already let go in two, is reported and lost.
 *
 * The caller checks continuity and calls interrupt() on a gap; after that,
 * and after an oversized PES, data is ignored until the next unit start.
 */
export class PesAssembler {
  #endAtStuffing: boolean;
  /** The last PES was let go at a stuffed packet: the next payload must start a new one. */
  #endedAtStuffing = false;
  #open = false;
  #chunks: Uint8Array[] = [];
  #size = 0;
  /** Total bytes the header declares; undefined while unknown or unbounded. */
  #declared: number | undefined;
  #prefixRead = false;

  constructor(
    readonly pid: number,
    options: PesAssemblerOptions = {},
  ) {
    this.#endAtStuffing = options.endAtStuffing ?? true;
  }

  push(packet: TsPacket): PesOutput[] {
    const out: PesOutput[] = [];
    if (this.#endedAtStuffing && packet.payload.length > 0) {
      this.#endedAtStuffing = false;
      if (!packet.payloadUnitStart) return [this.#stuffingRuleFailed()];
    }
    if (packet.payloadUnitStart) {
      if (this.#open) out.push(this.#finish("the next unit start"));
      this.#open = true;
    } else if (!this.#open) {
      return out; // joined mid-PES, or skipping after a drop: wait for the next unit start
    }
    this.#add(packet.payload);
    if (this.#declared !== undefined && this.#size >= this.#declared) {
      out.push({ ok: true, bytes: this.#join().subarray(0, this.#declared) });
      this.#close();
    } else if (
      this.#endAtStuffing && this.#declared === undefined && this.#prefixRead && packet.stuffed &&
      packet.payload.length > 0
    ) {
      out.push({ ok: true, bytes: this.#join() });
      this.#close();
      this.#endedAtStuffing = true;
    } else if (this.#size > MAX_PES_SIZE) {
      out.push({ ok: false, message: `PID ${this.pid}: PES grew past ${MAX_PES_SIZE} bytes without ending; dropped` });
      this.#close();
    }
    return out;
  }

  /** A continuity gap: drops the PES being assembled; true if there was one. */
  interrupt(): boolean {
    this.#endedAtStuffing = false; // what follows a gap proves nothing about the stuffing rule
    const had = this.#open;
    this.#close();
    return had;
  }

  /** End of the stream: lets go of the PES being assembled, if any. */
  flush(): PesOutput[] {
    if (!this.#open) return [];
    const last = this.#finish("the end of the stream");
    return [last];
  }

  #stuffingRuleFailed(): PesOutput {
    this.#endAtStuffing = false;
    return {
      ok: false,
      message:
        `PID ${this.pid}: a PES went on after a TS packet with adaptation-field stuffing; from now on its PES end only at the next unit start (one unit lost)`,
    };
  }

  /** The PES ends here (a new one starts, or the stream ends). */
  #finish(endedBy: string): PesOutput {
    const declared = this.#declared;
    const size = this.#size;
    const bytes = this.#join();
    this.#close();
    if (declared !== undefined && size < declared) {
      return {
        ok: false,
        message: `PID ${this.pid}: PES cut short by ${endedBy} at ${size} of ${declared} declared bytes`,
      };
    }
    return { ok: true, bytes };
  }

  #add(payload: Uint8Array): void {
    if (payload.length === 0) return;
    this.#chunks.push(payload);
    this.#size += payload.length;
    if (!this.#prefixRead && this.#size >= PES_PREFIX_SIZE) {
      this.#prefixRead = true;
      this.#declared = declaredPesSize(this.#join());
    }
  }

  /** The bytes held as one array (and as the only chunk from now on). */
  #join(): Uint8Array {
    if (this.#chunks.length === 1) return this.#chunks[0]!;
    const out = new Uint8Array(this.#size);
    let offset = 0;
    for (const chunk of this.#chunks) {
      out.set(chunk, offset);
      offset += chunk.length;
    }
    this.#chunks = [out];
    return out;
  }

  #close(): void {
    this.#open = false;
    this.#chunks = [];
    this.#size = 0;
    this.#declared = undefined;
    this.#prefixRead = false;
  }
}
