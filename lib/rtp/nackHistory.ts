/** A packet as it was sent: what a retransmission sends again under the same index. */
export interface SentPacket {
  /** RFC 3711 3.3.1 index: rollover counter * 65536 + sequence number. */
  packetIndex: number;
  timestamp: number;
  marker: boolean;
  payload: Uint8Array;
}

/**
 * The packets a sender can still resend when its receiver reports them lost
 * (RFC 4585 6.2.1 Generic NACK): a ring of the last `size` packets (rounded
 * up to a power of two), each slot a reference to the stream's shared payload
 * plus the packet's index, timestamp and marker, so a viewer holds no packet
 * copies. A packet older than the ring is gone.
 */
export class NackHistory {
  readonly #mask: number;
  readonly #payload: Array<Uint8Array | undefined>;
  readonly #index: Float64Array;
  readonly #timestamp: Uint32Array;
  readonly #marker: Uint8Array;

  /** `size` 0: no history (NACK not negotiated); nothing is kept. */
  constructor(size: number) {
    const slots = size > 0 ? 2 ** Math.ceil(Math.log2(size)) : 0;
    this.#mask = slots - 1;
    this.#payload = new Array(slots);
    this.#index = new Float64Array(slots).fill(-1);
    this.#timestamp = new Uint32Array(slots);
    this.#marker = new Uint8Array(slots);
  }

  get enabled(): boolean {
    return this.#mask >= 0;
  }

  remember(packetIndex: number, timestamp: number, marker: boolean, payload: Uint8Array): void {
    if (this.#mask < 0) return;
    const slot = packetIndex & this.#mask;
    this.#payload[slot] = payload;
    this.#index[slot] = packetIndex;
    this.#timestamp[slot] = timestamp;
    this.#marker[slot] = marker ? 1 : 0;
  }

  /** The packet last sent with this 16-bit sequence number, if the ring still holds it. */
  find(sequenceNumber: number): SentPacket | undefined {
    if (this.#mask < 0) return undefined;
    const slot = sequenceNumber & this.#mask;
    const packetIndex = this.#index[slot]!;
    const payload = this.#payload[slot];
    if (packetIndex < 0 || (packetIndex & 0xffff) !== sequenceNumber || !payload) return undefined;
    return { packetIndex, timestamp: this.#timestamp[slot]!, marker: this.#marker[slot] === 1, payload };
  }
}
