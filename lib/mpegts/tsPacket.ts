/** MPEG-TS transport packets (ISO/IEC 13818-1 2.4.3.2). */

export const TS_PACKET_SIZE = 188;
export const SYNC_BYTE = 0x47;
/** Sync bytes that must line up at packet spacing before a resync is trusted. */
const RESYNC_CONFIRMATIONS = 3;

export interface TsPacket {
  pid: number;
  payloadUnitStart: boolean;
  transportError: boolean;
  continuityCounter: number;
  hasPayload: boolean;
  discontinuity: boolean;
  randomAccess: boolean;
  /** Program clock reference base (90 kHz, 33 bits), if present. */
  pcr: number | undefined;
  payload: Uint8Array;
}

/** Parses one 188-byte packet; undefined when its adaptation field length is impossible. */
export function parseTsPacket(bytes: Uint8Array): TsPacket | undefined {
  const pid = ((bytes[1]! & 0x1f) << 8) | bytes[2]!;
  const control = (bytes[3]! >> 4) & 0x03; // adaptation_field_control
  let offset = 4;
  let discontinuity = false;
  let randomAccess = false;
  let pcr: number | undefined;
  if (control & 0x02) {
    const length = bytes[4]!;
    if (length > TS_PACKET_SIZE - 5) return undefined;
    if (length > 0) {
      const flags = bytes[5]!;
      discontinuity = (flags & 0x80) !== 0;
      randomAccess = (flags & 0x40) !== 0;
      if (flags & 0x10 && length >= 7) pcr = bytes[6]! * 2 ** 25 + ((bytes[7]! << 17) | (bytes[8]! << 9) | (bytes[9]! << 1) | (bytes[10]! >> 7));
    }
    offset = 5 + length;
  }
  const hasPayload = (control & 0x01) !== 0 && offset < TS_PACKET_SIZE;
  return {
    pid,
    payloadUnitStart: (bytes[1]! & 0x40) !== 0,
    transportError: (bytes[1]! & 0x80) !== 0,
    continuityCounter: bytes[3]! & 0x0f,
    hasPayload,
    discontinuity,
    randomAccess,
    pcr,
    payload: hasPayload ? bytes.subarray(offset, TS_PACKET_SIZE) : new Uint8Array(0),
  };
}

/**
 * Cuts arbitrary chunks into whole 188-byte packets. When a packet does not
 * start with 0x47 (garbage, a stream joined mid-packet) it looks for a 0x47
 * that repeats at packet spacing (RESYNC_CONFIRMATIONS in a row, fewer only at
 * the end of the data held, then it waits for more) and counts a resync.
 */
export class TsPacketSplitter {
  resyncs = 0;
  skippedBytes = 0;
  #pending: Uint8Array = new Uint8Array(0);
  #inSync = true;

  push(chunk: Uint8Array): Uint8Array[] {
    const data = this.#pending.length ? concat(this.#pending, chunk) : chunk;
    const packets: Uint8Array[] = [];
    let offset = 0;
    while (data.length - offset >= TS_PACKET_SIZE) {
      if (this.#inSync && data[offset] === SYNC_BYTE) {
        packets.push(data.slice(offset, offset + TS_PACKET_SIZE));
        offset += TS_PACKET_SIZE;
        continue;
      }
      const found = findSync(data, this.#inSync ? offset + 1 : offset);
      this.#inSync = found !== undefined;
      // Offsets past the last checkable one may still be confirmed by the next chunk.
      const resumeAt = found ?? Math.max(offset, data.length - TS_PACKET_SIZE * RESYNC_CONFIRMATIONS + 1);
      this.skippedBytes += resumeAt - offset;
      if (found !== undefined) this.resyncs++;
      offset = resumeAt;
      if (found === undefined) break; // wait for more data to confirm a sync byte
    }
    this.#pending = data.slice(offset);
    return packets;
  }

  /** Bytes held that never formed a packet (end of stream). */
  get pendingBytes(): number {
    return this.#pending.length;
  }
}

/** First offset with a sync byte repeated RESYNC_CONFIRMATIONS times at packet spacing. */
function findSync(data: Uint8Array, from: number): number | undefined {
  const last = data.length - TS_PACKET_SIZE * RESYNC_CONFIRMATIONS;
  for (let i = from; i <= last; i++) {
    let confirmed = true;
    for (let k = 0; k < RESYNC_CONFIRMATIONS && confirmed; k++) confirmed = data[i + k * TS_PACKET_SIZE] === SYNC_BYTE;
    if (confirmed) return i;
  }
  return undefined;
}

export function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}
